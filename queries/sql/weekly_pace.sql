-- Pace against the shared revenue target in the month that contains the end of a week: one
-- row. target is the shared team's revenue target for the month (null when none is set);
-- won_revenue and n_won count the amounts and leads of last-stage events (closed won) from
-- the first of the month up to $as_of (the end of the week).
-- Parameters: $month_start (date), $as_of (timestamp), $won_stage (last stage key),
--   $target_metric ('revenue').

with

targets as (select * from targets),
events as (select * from events),

target as (
    select max(value) as target
    from targets
    where period = $month_start
      and team = 'shared'
      and metric = $target_metric
),

won as (
    select
        coalesce(sum(amount), 0) as won_revenue,
        count(distinct lead_id) as n_won
    from events
    where event_type = $won_stage
      and occurred_at >= $month_start
      and occurred_at < $as_of
),

final as (
    select target.target, won.won_revenue, won.n_won
    from target cross join won
)

select * from final

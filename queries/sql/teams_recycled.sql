-- Recycled leads: who was sent back to nurture, and what happened after.
-- Population: cohort leads (cohort_funnel.sql's cohort and filters) with an exit of type
-- $recycle_exit by $as_of. Per lead, its first recycle: the reason on it; the furthest stage it
-- had entered before it; whether it came back (a stage event after the recycle, by $as_of);
-- whether it converted (after the recycle it entered a stage beyond the furthest one before);
-- whether it won (after the recycle it entered the last stage). Returns are not bounded by the
-- conversion window: a lead may come back from nurture a year later.
-- Read from team_recycles (data/team_layouts.sql), which keeps each recycled lead's first
-- recycle and per stage its entry before and first event after, with their times, so the
-- counts here are those of the lead's events up to $as_of without grouping the events.
-- Grain: grouping sets told apart by `grain`: one 'total' row, one 'reason' row per reason.
-- Parameters: $start_at, $end_before, $as_of, $is_strict, $channels, $regions, $segments,
--   $owners (as cohort_funnel.sql); $recycle_exit (exit key); $stage_rows (one per
--   stage: stage_key, stage_order; teams.contract_params); $n_stages.

with

journey_leads as (select * from journey_leads),

team_recycles as (select * from team_recycles),

stages as (
    select
        stage_row.stage_key,
        stage_row.stage_order
    from (select unnest($stage_rows) as stage_row) as stage_rows
),

cohort as (
    select lead_id
    from journey_leads
    where start_at >= $start_at
      and start_at < $end_before
      and start_at <= $as_of
      and {{ lead_filters() }}
      and (not $is_strict or has_first_entry)
),

recycled_stages as (
    select
        team_recycles.lead_id,
        -- the first reason given on the lead's recycles by $as_of
        case when team_recycles.first_reason_at <= $as_of then team_recycles.reason_code end as reason_code,
        case when team_recycles.is_before then stages.stage_order end as order_before,
        case when team_recycles.first_after_at <= $as_of then stages.stage_order end as order_after
    from team_recycles
    inner join cohort on cohort.lead_id = team_recycles.lead_id
    left join stages on stages.stage_key = team_recycles.stage_key
    where team_recycles.recycle_key = $recycle_exit
      and team_recycles.recycled_at <= $as_of
),

journeys as (
    select
        lead_id,
        coalesce(reason_code, '(no reason)') as reason_code,
        max(order_before) as order_before,
        max(order_after) as order_after
    from recycled_stages
    group by lead_id, reason_code
),

final as (
    select
        case when grouping(reason_code) = 0 then 'reason' else 'total' end as grain,
        reason_code,
        count(*) as n_recycled,
        count(order_after) as n_came_back,
        count(*) filter (where order_after > coalesce(order_before, 0)) as n_converted,
        count(*) filter (where order_after = $n_stages) as n_won
    from journeys
    group by grouping sets ((reason_code), ())
)

select * from final
order by grain, n_recycled desc, reason_code

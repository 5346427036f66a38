-- Stage decisions per ISO week: one row per (week, stage) with at least one decision.
-- A lead is decided at stage k in week W when it had an entry of its own into stage k and,
-- during W, either moved on (reached stage k+1 or later: next_reached_at) or ended its journey
-- with an exit while k was its furthest stage (final_exit_at). The share that moved on is a
-- proportion of the same leads, so two weeks can be compared with a two-proportion test.
-- The last stage has no next stage and is left out.
-- Parameters: $from_at (Monday 00:00 of the first week), $to_before (Monday 00:00 after the
--   last week), $n_stages (number of stages in the contract).

with

journey_stages as (select * from journey_stages),

outcomes as (
    select
        stage_order,
        next_reached_at as moved_at,
        case when next_reached_at is null then final_exit_at end as ended_at
    from journey_stages
    where entered_at is not null
      and stage_order < $n_stages
),

decided as (
    select
        cast(date_trunc('week', coalesce(moved_at, ended_at)) as date) as week_start,
        stage_order,
        moved_at is not null as is_moved
    from outcomes
    where coalesce(moved_at, ended_at) >= $from_at
      and coalesce(moved_at, ended_at) < $to_before
),

final as (
    select
        week_start,
        stage_order,
        count(*) as n_decided,
        count(*) filter (where is_moved) as n_moved
    from decided
    group by week_start, stage_order
)

select * from final
order by week_start, stage_order

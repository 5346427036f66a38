-- Decision rollup rows: one row per (decision day, stage) over the whole store: the decisions
-- of weekly_decision_rows.sql (read with ref('weekly_decision_rows'), where a decision is
-- defined) counted as weekly_decisions.sql counts them, per day. A decision depends only on
-- events up to its own time, never on the as-of date or a range, so the decisions of any weeks
-- are the days' rows summed (cube_weekly_decisions.sql). Built by queries/cube.py (HISTORY) and
-- kept in memory per store version: at 1M leads about 3,000 rows.
-- Parameters: those of weekly_decision_rows.sql ($from_at, $to_before: the whole store).

with

decided as (
    select * from {{ ref('weekly_decision_rows') }}
),

final as (
    select
        cast(decided_at as date) as day,
        stage_order,
        count(*) as n_decided,
        count(*) filter (where outcome = 'moved') as n_moved,
        count(*) filter (where outcome = 'window_ended') as n_window_ended
    from decided
    group by cast(decided_at as date), stage_order
)

select * from final

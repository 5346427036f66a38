-- Stage decisions per ISO week: one row per (week, stage) with at least one decision, the
-- decisions of weekly_decision_rows.sql (read with ref('weekly_decision_rows'), where a
-- decision is defined) counted per week: n_decided, n_moved, n_window_ended.
-- Parameters: those of weekly_decision_rows.sql.

with

decided as (
    select * from {{ ref('weekly_decision_rows') }}
),

weeks as (
    select
        cast(date_trunc('week', decided_at) as date) as week_start,
        stage_order,
        outcome
    from decided
),

final as (
    select
        week_start,
        stage_order,
        count(*) as n_decided,
        count(*) filter (where outcome = 'moved') as n_moved,
        count(*) filter (where outcome = 'window_ended') as n_window_ended
    from weeks
    group by week_start, stage_order
)

select * from final
order by week_start, stage_order

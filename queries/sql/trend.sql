-- Trend: one row per (period, stage): cohort conversion for the leads that started in each
-- week (ISO, Monday) or month of the range, with the same reached-in-time rules as the cohort
-- funnel. The page marks a period immature while its end + window is after $as_of.
-- Parameters: $period ('week' or 'month'), $start_at, $end_before, $as_of, $window_days,
--   $is_strict, $channels, $regions, $segments, $owners ($by is null: one group). The cohort
--   is cohort_rows.sql, read with ref('cohort_rows').

with

cohort as (
    select
        date_trunc($period, start_at) as period_start,
        stage_order,
        case when $is_strict then strict_at else reached_at end as reach_at,
        cutoff
    from {{ ref('cohort_rows') }}
),

final as (
    select
        cast(period_start as date) as period_start,
        stage_order,
        count(*) filter (where reach_at <= cutoff) as n_reached
    from cohort
    group by period_start, stage_order
)

select * from final
order by period_start, stage_order

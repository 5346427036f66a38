-- Stage times: one row per (group, stage k) for the cohort: days from the lead's own entry into
-- stage k until it reached stage k+1 (implied: k+1 or any later stage; strict: entry(k+1) in
-- order), for leads that reached k+1 in time; and, on the row of the last stage, total days
-- from start to entering the last stage. Median, p75 and p90, never a mean alone.
-- Parameters: $start_at, $end_before, $as_of, $window_days, $is_strict, $channels, $regions,
--   $segments, $owners, $by (null or an attribute name: the allow-list in cohort_rows.sql),
--   $n_stages. The cohort is cohort_rows.sql, read with ref('cohort_rows').

with

cohort as (
    select
        group_value,
        stage_order,
        start_at,
        case when $is_strict then strict_at else entered_at end as from_at,
        case when $is_strict then strict_next_at else next_reached_at end as to_at,
        cutoff
    from {{ ref('cohort_rows') }}
),

durations as (
    select
        group_value,
        stage_order,
        case
            when stage_order < $n_stages and from_at <= cutoff and to_at <= cutoff and to_at >= from_at
                then date_diff('microsecond', from_at, to_at) / 86400e6
        end as step_days,
        case
            when stage_order = $n_stages and from_at <= cutoff
                then date_diff('microsecond', start_at, from_at) / 86400e6
        end as total_days
    from cohort
),

final as (
    select
        group_value,
        stage_order,
        count(step_days) + count(total_days) as n_leads,
        coalesce(
            percentile_cont(0.5) within group (order by step_days),
            percentile_cont(0.5) within group (order by total_days)
        ) as median_days,
        coalesce(
            percentile_cont(0.75) within group (order by step_days),
            percentile_cont(0.75) within group (order by total_days)
        ) as p75_days,
        coalesce(
            percentile_cont(0.9) within group (order by step_days),
            percentile_cont(0.9) within group (order by total_days)
        ) as p90_days
    from durations
    group by group_value, stage_order
)

select * from final
order by group_value, stage_order

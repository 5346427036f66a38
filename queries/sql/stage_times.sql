-- Stage times: one row per (group, stage k) for the cohort: the median, p75 and p90 of the
-- days each lead took from its own entry into stage k to reaching stage k+1, and, on the row of
-- the last stage, of the total days from start to entering the last stage (stage_time_rows.sql,
-- read with ref('stage_time_rows'), where those days are defined). Never a mean alone.
-- Parameters: $start_at, $end_before, $as_of, $window_days, $is_strict, $channels, $regions,
--   $segments, $owners, $by (null or an attribute name: the allow-list in cohort_rows.sql),
--   $n_stages.

with

durations as (
    select
        -- Over the journeys the cohort's own group; rows kept whole carry none, and a view of
        -- them breaks down only by what rollup_group() takes (queries/cube.py answers()).
        coalesce(group_value, {{ rollup_group() }}) as group_value,
        stage_order,
        days
    from {{ ref('stage_time_rows') }}
),

final as (
    select
        group_value,
        stage_order,
        count(days) as n_leads,
        percentile_cont(0.5) within group (order by days) as median_days,
        percentile_cont(0.75) within group (order by days) as p75_days,
        percentile_cont(0.9) within group (order by days) as p90_days
    from durations
    group by group_value, stage_order
)

select * from final
order by group_value, stage_order

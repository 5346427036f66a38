-- Outcome rollup rows: one row per (start day, channel, region, segment) of the cohort outcomes
-- over the whole store, built by queries/cube.py and kept in memory per store version
-- (cube_outcomes.sql sums them). The counts are cohort_outcomes.sql's own, read with
-- ref('cohort_outcomes') and grouped by cohort_rows.sql's key for $by = 'cube', taken apart here.
-- Parameters: those of cohort_outcomes.sql, with $by = 'cube'.

with

outcomes as (
    select * from {{ ref('cohort_outcomes') }}
),

final as (
    select
        cast(json_extract_string(group_value, '$.start_day') as date) as start_day,
        json_extract_string(group_value, '$.channel') as channel,
        json_extract_string(group_value, '$.region') as region,
        json_extract_string(group_value, '$.segment') as segment,
        -- No owner: the rollups answer only views without an owner filter (queries/cube.py),
        -- so the list filters' macro reads this as "every owner".
        cast(null as varchar) as owner_id,
        n_cohort,
        n_won,
        n_lost,
        n_after_window,
        n_other_exit,
        n_open,
        n_open_past_window
    from outcomes
)

select * from final

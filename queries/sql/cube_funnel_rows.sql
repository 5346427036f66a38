-- Funnel rollup rows: one row per (start day, channel, region, segment, stage) of the cohort
-- funnel over the whole store, built by queries/cube.py and kept in memory per store version
-- (cube_funnel.sql and cube_trend.sql sum them). The counts are cohort_funnel.sql's own, read
-- with ref('cohort_funnel') and grouped by cohort_rows.sql's key for $by = 'cube', which is
-- taken apart here; every count is one lead's, so a sum over the rows is the count over their
-- leads.
-- Parameters: those of cohort_funnel.sql, with $by = 'cube'.

with

funnel as (
    select * from {{ ref('cohort_funnel') }}
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
        stage_order,
        n_reached,
        n_skipped,
        n_in_progress,
        n_dropped,
        revenue
    from funnel
)

select * from final

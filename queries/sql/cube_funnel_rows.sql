-- Funnel rollup rows: one row per (start day, channel, region, segment, stage) of the cohort
-- over the whole store: the counts of cohort_flags.sql (read with ref('cohort_flags')), as
-- cohort_funnel.sql counts them, kept apart by what the rollup's views filter and break down
-- by. Built by queries/cube.py and kept in memory per store version; cube_funnel.sql and
-- cube_trend.sql sum them. Every count is one lead-stage's, so a sum over rows is the count
-- over their leads.
-- Parameters: those of cohort_flags.sql ($by null).

with

flags as (
    select * from {{ ref('cohort_flags') }}
),

final as (
    select
        start_day as day,
        channel,
        region,
        segment,
        -- No owner: the rollups answer only views without an owner filter (queries/cube.py),
        -- so the list filters' macro reads this as "every owner".
        cast(null as varchar) as owner_id,
        stage_order,
        count(*) filter (where is_reached) as n_reached,
        count(*) filter (where is_skipped) as n_skipped,
        count(*) filter (where is_in_progress) as n_in_progress,
        count(*) filter (where is_dropped) as n_dropped,
        coalesce(sum(won_revenue), 0) as revenue
    from flags
    group by start_day, channel, region, segment, stage_order
)

select * from final

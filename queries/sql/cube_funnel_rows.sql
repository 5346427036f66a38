-- Funnel rollup rows: one row per (start day, channel, region, segment, stage) of the cohort
-- over the whole store: the reach-age rollup (cube_reach_age_rows.sql, where the counts of
-- cohort_flags.sql are taken, held in memory as `reach_age_cube` by queries/cube.py DERIVED)
-- summed over the ages, so one scan of the cohort builds both. cube_funnel.sql and
-- cube_trend.sql sum these rows for a view. Every count is one lead-stage's, so a sum over rows
-- is the count over their leads.
-- Parameters: none (the reach-age rollup's are in it).

with

aged as (
    select * from reach_age_cube
),

final as (
    select
        day,
        channel,
        region,
        segment,
        owner_id,
        stage_order,
        cast(sum(n_reached) as bigint) as n_reached,
        cast(sum(n_skipped) as bigint) as n_skipped,
        cast(sum(n_in_progress) as bigint) as n_in_progress,
        cast(sum(n_dropped) as bigint) as n_dropped,
        sum(revenue) as revenue
    from aged
    group by day, channel, region, segment, owner_id, stage_order
)

select * from final

-- Outcome rollup rows: one row per (start day, channel, region, segment) of the cohort over
-- the whole store: the outcome-age rollup (cube_outcome_age_rows.sql, where the leads of each
-- outcome of cohort_outcome_rows.sql are counted, held in memory as `outcome_age_cube` by
-- queries/cube.py DERIVED) summed over the ages, as cohort_outcomes.sql counts them, so one
-- scan of the cohort builds both. cube_outcomes.sql sums these rows for a view.
-- Parameters: none (the outcome-age rollup's are in it).

with

aged as (
    select * from outcome_age_cube
),

final as (
    select
        day,
        channel,
        region,
        segment,
        owner_id,
        cast(sum(n_cohort) as bigint) as n_cohort,
        cast(coalesce(sum(n_cohort) filter (where outcome = 'won'), 0) as bigint) as n_won,
        cast(coalesce(sum(n_cohort) filter (where outcome = 'lost'), 0) as bigint) as n_lost,
        cast(coalesce(sum(n_cohort) filter (where outcome = 'after_window'), 0) as bigint)
            as n_after_window,
        cast(coalesce(sum(n_cohort) filter (where outcome = 'other_exit'), 0) as bigint) as n_other_exit,
        cast(coalesce(sum(n_cohort) filter (where outcome = 'open'), 0) as bigint) as n_open,
        cast(coalesce(sum(n_cohort) filter (where outcome = 'open' and is_window_over), 0) as bigint)
            as n_open_past_window
    from aged
    group by day, channel, region, segment, owner_id
)

select * from final

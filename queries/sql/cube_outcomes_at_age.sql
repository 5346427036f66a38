-- Cohort outcomes at a younger age from the outcome-age rollup (cube_outcome_age_rows.sql,
-- held in memory as `outcome_age_cube` by queries/cube.py): one row per group with n_cohort,
-- n_won and n_lost as cohort_outcomes.sql counts them at a window of $age_days (the
-- comparison of two periods at equal age, queries/funnel.py compare_periods): won when won
-- within $age_days of the start, else lost when its lost exit came within them.
-- Parameters: $start_at, $end_before (timestamps at midnight), $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all; $owners always null here), $by (null, 'channel',
--   'region', 'segment' or 'month'), $age_days (whole days, at most the contract's window).

with

rollup as (
    select * from outcome_age_cube
),

filtered as (
    select
        *,
        coalesce(won_days <= $age_days, false) as is_won,
        coalesce(lost_days <= $age_days, false) as is_lost_by_age
    from rollup
    where {{ rollup_range() }}
      and {{ lead_filters() }}
),

final as (
    select
        {{ rollup_group() }} as group_value,
        cast(sum(n_cohort) as bigint) as n_cohort,
        cast(coalesce(sum(n_cohort) filter (where is_won), 0) as bigint) as n_won,
        cast(coalesce(sum(n_cohort) filter (where not is_won and is_lost_by_age), 0) as bigint) as n_lost
    from filtered
    group by all
)

select * from final
order by group_value

-- Cohort outcomes of several periods, each at an age of its own, from the outcome-age rollup
-- (cube_outcome_age_rows.sql, held in memory as `outcome_age_cube` by queries/cube.py): one row
-- per period with n_cohort, n_won and n_lost as cohort_outcomes.sql counts them at a window of
-- the period's age_days (the comparison of two periods at equal age, queries/funnel.py
-- compare_periods): won when won within age_days of the start, else lost when its lost exit
-- came within them.
-- Parameters: $period_rows (one row per period: period, its position in the list, start_at
--   and end_before, timestamps at midnight, and age_days, whole days, at most the contract's
--   window), $start_at, $end_before (a range that holds every period), $channels, $regions, $segments, $owners
--   (lists; $all_<list>: all; $owners always null here).

with

rollup as (
    select * from outcome_age_cube
),

{{ period_rows() }},

filtered as (
    select
        periods.period,
        rollup.n_cohort,
        coalesce(rollup.won_days <= periods.age_days, false) as is_won,
        coalesce(rollup.lost_days <= periods.age_days, false) as is_lost_by_age
    from rollup
    inner join periods
        on rollup.day >= periods.from_day
        and rollup.day < periods.before_day
    where {{ rollup_range('rollup') }}
      and {{ lead_filters('rollup') }}
),

final as (
    select
        period,
        cast(sum(n_cohort) as bigint) as n_cohort,
        cast(coalesce(sum(n_cohort) filter (where is_won), 0) as bigint) as n_won,
        cast(coalesce(sum(n_cohort) filter (where not is_won and is_lost_by_age), 0) as bigint) as n_lost
    from filtered
    group by all
)

select * from final
order by period

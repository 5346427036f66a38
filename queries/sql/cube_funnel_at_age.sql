-- Cohort funnels of several periods, each at an age of its own, from the reach-age rollup
-- (cube_reach_age_rows.sql, held in memory as `reach_age_cube` by queries/cube.py): one row per
-- (period, stage), the stages reached within the period's age_days of each record's start,
-- with n_reached and revenue as cohort_funnel.sql counts them at a window of that many days,
-- and the currencies of the won amounts (cohort_revenue.sql's at that window)
-- (the comparison of two periods at equal age, queries/funnel.py compare_periods: the current
-- period as it stands, at the window, and both periods at the comparison's age, in one scan).
-- Only those two counts: being in progress or dropped at an age is not asked of it.
-- Parameters: $period_rows (one row per period: period, its position in the list, start_at
--   and end_before, timestamps at midnight, and age_days, whole days, at most the contract's
--   window), $start_at, $end_before (a range that holds every period: the rows queries/cube.py
--   hands over), $channels, $regions, $segments, $owners (lists; $all_<list>: all; $owners
--   always null here).

with

rollup as (
    select * from reach_age_cube
),

{{ period_rows() }},

filtered as (
    select
        periods.period,
        rollup.stage_order,
        rollup.n_reached,
        rollup.revenue,
        rollup.currency
    from rollup
    inner join periods
        on rollup.day >= periods.from_day
        and rollup.day < periods.before_day
        and rollup.reach_days <= periods.age_days
    where {{ rollup_range('rollup') }}
      and {{ lead_filters('rollup') }}
),

final as (
    select
        period,
        stage_order,
        cast(sum(n_reached) as bigint) as n_reached,
        cast(sum(revenue) as decimal(38, 2)) as revenue,
        -- The won amounts' currencies (the last stage's rows reached in time name one), sorted:
        -- those of cohort_revenue.sql for the period at its age.
        list_sort(list_distinct(list(currency))) as currencies
    from filtered
    group by all
)

select * from final
order by period, stage_order

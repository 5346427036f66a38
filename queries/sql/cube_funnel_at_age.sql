-- Cohort funnel at a younger age from the reach-age rollup (cube_reach_age_rows.sql, held in
-- memory as `reach_age_cube` by queries/cube.py): one row per (group, stage), the stages
-- reached within $age_days of each record's start, with n_reached and revenue as
-- cohort_funnel.sql counts them at a window of $age_days (the comparison of two periods at
-- equal age, queries/funnel.py compare_periods). Only those two counts: being in progress or
-- dropped at an age is not asked of it.
-- Parameters: $start_at, $end_before (timestamps at midnight), $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all; $owners always null here), $by (null, 'channel',
--   'region', 'segment' or 'month'), $age_days (whole days, at most the contract's window).

with

rollup as (
    select * from reach_age_cube
),

filtered as (
    select *
    from rollup
    where {{ rollup_range() }}
      and {{ lead_filters() }}
      and reach_days <= $age_days
),

final as (
    select
        {{ rollup_group() }} as group_value,
        stage_order,
        cast(sum(n_reached) as bigint) as n_reached,
        cast(sum(revenue) as decimal(38, 2)) as revenue
    from filtered
    group by all
)

select * from final
order by group_value, stage_order

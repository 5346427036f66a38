-- Cohort revenue from the reach-age rollup (cube_reach_age_rows.sql, held in memory as
-- `reach_age_cube` by queries/cube.py): one row per (group, currency), the columns and order of
-- cohort_revenue.sql, for a view the rollup answers (queries/cube.py says which: the store's
-- latest date, the contract's window, no filter or breakdown but these). Only the last stage's
-- rows reached in time name a currency, so those are the won leads, at every age.
-- Parameters: $start_at, $end_before (timestamps at midnight), $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all; $owners always null here), $by (null, 'channel',
--   'region', 'segment' or 'month').

with

rollup as (
    select * from reach_age_cube
),

won as (
    select *
    from rollup
    where {{ rollup_range() }}
      and {{ lead_filters() }}
      and currency is not null
),

final as (
    select
        {{ rollup_group() }} as group_value,
        currency,
        cast(sum(n_reached) as bigint) as n_won,
        cast(sum(n_with_amount) as bigint) as n_with_amount,
        coalesce(sum(revenue), 0) as revenue
    from won
    group by all
)

select * from final
order by group_value, currency

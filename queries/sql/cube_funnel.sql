-- Cohort funnel from the funnel rollup (cube_funnel_rows.sql, held in memory as `funnel_cube`
-- by queries/cube.py): one row per (group, stage), the columns and order of cohort_funnel.sql,
-- for a view the rollup answers (queries/cube.py says which: the store's latest date, the
-- contract's window, no filter or breakdown but these).
-- Parameters: $start_at, $end_before (timestamps at midnight: a start day is in the range as
--   its leads are), $channels, $regions, $segments, $owners (lists; $all_<list>: all;
--   $owners always null here), $by (null, 'channel',
--   'region', 'segment' or 'month').

with

rollup as (
    select * from funnel_cube
),

filtered as (
    select *
    from rollup
    where {{ rollup_range() }}
      and {{ lead_filters() }}
),

final as (
    select
        {{ rollup_group() }} as group_value,
        stage_order,
        cast(sum(n_reached) as bigint) as n_reached,
        cast(sum(n_skipped) as bigint) as n_skipped,
        cast(sum(n_in_progress) as bigint) as n_in_progress,
        cast(sum(n_dropped) as bigint) as n_dropped,
        cast(sum(revenue) as decimal(38, 2)) as revenue
    from filtered
    group by all
)

select * from final
order by group_value, stage_order

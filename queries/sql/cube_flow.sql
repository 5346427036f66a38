-- Flow funnel from the flow rollup (cube_flow_rows.sql, held in memory as `flow_cube` by
-- queries/cube.py): one row per (group, stage), the columns, rows and order of flow_funnel.sql,
-- for a view the rollup answers (queries/cube.py). A (group, stage) is listed when the range
-- holds a stage event of its records for it, as in flow_funnel.sql.
-- Parameters: $start_at, $end_before (timestamps at midnight: an entry day is in the range as
--   its entries are), $channels, $regions, $segments, $owners (lists; $all_<list>: all; $owners
--   always null here), $by (null, 'channel', 'region' or 'segment').

with

rollup as (
    select * from flow_cube
),

filtered as (
    select *
    from rollup
    where {{ rollup_range() }}
      and {{ lead_filters() }}
),

counted as (
    select
        {{ rollup_group() }} as group_value,
        stage_order,
        sum(n_entries) as n_entries,
        sum(n_events) as n_events,
        sum(revenue) as revenue
    from filtered
    group by all
),

final as (
    select
        group_value,
        stage_order,
        cast(n_entries as bigint) as n_entries,
        cast(n_events - n_entries as bigint) as n_reentries,
        cast(revenue as decimal(38, 2)) as revenue
    from counted
    where n_events > 0
)

select * from final
order by group_value, stage_order

-- Trend from the funnel rollup (cube_funnel_rows.sql, held in memory as `funnel_cube` by
-- queries/cube.py): one row per (period, stage), the columns and order of trend.sql, for a
-- view the rollup answers (queries/cube.py).
-- Parameters: $period ('week' or 'month'), $start_at, $end_before, $channels, $regions,
--   $segments, $owners (null here).

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
        cast(date_trunc($period, day) as date) as period_start,
        stage_order,
        cast(sum(n_reached) as bigint) as n_reached
    from filtered
    group by all
)

select * from final
order by period_start, stage_order

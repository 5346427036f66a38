-- Stage decisions per ISO week from the decision rollup (cube_decision_rows.sql, held in
-- memory as `decision_cube` by queries/cube.py): the columns and order of
-- weekly_decisions.sql, its days' rows summed per week.
-- Parameters: $from_at, $to_before (Mondays 00:00: a day is in the weeks as its decisions are).

with

rollup as (
    select * from decision_cube
),

filtered as (
    select *
    from rollup
    where day >= cast($from_at as date)
      and day < cast($to_before as date)
),

final as (
    select
        cast(date_trunc('week', day) as date) as week_start,
        stage_order,
        cast(sum(n_decided) as bigint) as n_decided,
        cast(sum(n_moved) as bigint) as n_moved,
        cast(sum(n_window_ended) as bigint) as n_window_ended
    from filtered
    group by all
)

select * from final
order by week_start, stage_order

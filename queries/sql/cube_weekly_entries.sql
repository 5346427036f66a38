-- Stage entries per ISO week from the entry rollup (cube_entry_rows.sql, held in memory as
-- `entry_cube` by queries/cube.py): the columns and order of weekly_entries.sql, its days' rows
-- summed per week.
-- Parameters: $from_at, $to_before (Mondays 00:00: a day is in the weeks as its entries are).

with

rollup as (
    select * from entry_cube
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
        team,
        cast(sum(n_entries) as bigint) as n_entries
    from filtered
    group by all
)

select * from final
order by week_start, stage_order, team

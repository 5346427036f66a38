-- Per-owner conversion from the owners' rollup (cube_owner_rows.sql, held in memory as
-- `owner_cube` by queries/cube.py): one row per (owner, team), the columns and order of
-- teams_owners.sql, for a view the rollup answers (queries/cube.py).
-- Parameters: $start_at, $end_before, $channels, $regions, $segments, $owners (null here).

with

rollup as (
    select * from owner_cube
),

owners as (select * from owners),

filtered as (
    select *
    from rollup
    where {{ rollup_range() }}
      and {{ lead_filters() }}
),

summed as (
    select
        handler_id,
        transition_team,
        first_order,
        last_order,
        cast(sum(n_handled) as bigint) as n_handled,
        cast(sum(n_converted) as bigint) as n_converted
    from filtered
    group by handler_id, transition_team, first_order, last_order
),

final as (
    select
        summed.handler_id as owner_id,
        owners.owner_name,
        summed.transition_team as team,
        summed.first_order,
        summed.last_order,
        summed.n_handled,
        summed.n_converted
    from summed
    left join owners on owners.owner_id = summed.handler_id
)

select * from final
order by team, owner_name, owner_id

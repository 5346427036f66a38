-- Leakage by team from the leakage rollup (cube_leakage_rows.sql, held in memory as
-- `leakage_cube` by queries/cube.py): one row per (group, transition, charged team, loss kind,
-- drop owner), the columns and order of teams_leakage.sql, for a view the rollup answers
-- (queries/cube.py).
-- Parameters: $start_at, $end_before, $channels, $regions, $segments, $owners (null here), $by
--   (null, 'channel', 'region', 'segment' or 'month').

with

rollup as (
    select * from leakage_cube
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
        charged_team,
        loss_kind,
        drop_owner_id as owner_id,
        owner_name,
        cast(sum(n_dropped) as bigint) as n_dropped
    from filtered
    group by {{ rollup_group() }}, stage_order, charged_team, loss_kind, drop_owner_id, owner_name
)

select * from final
order by group_value, stage_order, charged_team, loss_kind, owner_id

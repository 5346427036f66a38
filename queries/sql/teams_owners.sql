-- Per-owner conversion: one row per (owner, team) over the span of moves the team owns, from
-- its first owned stage (first_order) to the stage after its last owned one (last_order + 1):
-- n_handled = the owner's cohort leads with an entry of their own into first_order in time;
-- n_converted = of those, the ones that reached last_order + 1 in time. Counts the rows of
-- teams_owner_rows.sql (who handled what, and whose it was), read with ref('teams_owner_rows').
-- Parameters: teams_owner_rows.sql's.

with

attributed as (select * from {{ ref('teams_owner_rows') }}),

owners as (select * from owners),

final as (
    select
        attributed.owner_id,
        owners.owner_name,
        attributed.transition_team as team,
        attributed.first_order,
        attributed.last_order,
        count(*) filter (where attributed.stage_order = attributed.first_order) as n_handled,
        count(*) filter (
            where attributed.stage_order = attributed.last_order and attributed.is_reached_next
        ) as n_converted
    from attributed
    left join owners on owners.owner_id = attributed.owner_id
    group by
        attributed.owner_id,
        owners.owner_name,
        attributed.transition_team,
        attributed.first_order,
        attributed.last_order
)

select * from final
order by team, owner_name, owner_id

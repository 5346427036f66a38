-- Leakage by team: one row per (group, transition k -> k+1, charged team, loss kind, drop owner)
-- with the number of cohort leads that dropped there (docs/design.md "Drop-off and who owns it").
-- Counts the rows of teams_drops.sql, the one lead-level definition of a drop, which it
-- reads with ref('teams_drops') (queries/sql_refs.py); summed per stage they equal
-- cohort_funnel's n_dropped for the same filters.
-- Parameters: teams_drops.sql's (the cohort filters, $by and the contract's mappings).

with

drops as (select * from {{ ref('teams_drops') }}),

final as (
    select
        group_value,
        stage_order,
        charged_team,
        loss_kind,
        owner_id,
        owner_name,
        count(*) as n_dropped
    from drops
    group by group_value, stage_order, charged_team, loss_kind, owner_id, owner_name
)

select * from final
order by group_value, stage_order, charged_team, loss_kind, owner_id

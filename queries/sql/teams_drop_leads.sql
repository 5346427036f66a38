-- Drill-down behind the leakage numbers: one row per dropped cohort lead, filtered to one
-- transition, charged team, loss kind and/or drop owner, oldest exit first. Selects from
-- teams_drops.sql (read with ref('teams_drops')), the same rows
-- teams_leakage.sql counts, so a list always adds up to its number.
-- Parameters: teams_drops.sql's, plus the selection ($sel_stage_order, $sel_team,
--   $sel_loss_kind, $sel_owner_id; $sel_keys, a list of "stage_order:charged_team:loss_kind"
--   keys (a category, queries.teams.category_keys; never null, $all_sel_keys true for any);
--   $sel_group, a value of the attribute $by, '(none)' for leads without one; null = any) and
--   $limit_rows (rows returned; n_total counts all matching rows).

with

leads as (select * from leads),

drops as (select * from {{ ref('teams_drops') }}),

-- Counted and limited first; names are looked up for the listed rows only (a join with every
-- dropped lead's name first cost more than the rest of the list).
listed as (
    select
        *,
        count(*) over () as n_total
    from drops
    where ($sel_stage_order is null or stage_order = $sel_stage_order)
      and ($sel_team is null or charged_team = $sel_team)
      and ($sel_loss_kind is null or loss_kind = $sel_loss_kind)
      and ($sel_owner_id is null or owner_id = $sel_owner_id)
      and ($all_sel_keys or list_contains($sel_keys, concat_ws(':', stage_order, charged_team, loss_kind)))
      and ($sel_group is null or coalesce(group_value, '(none)') = $sel_group)
    order by stage_order, coalesce(exit_at, stage_reached_at), lead_id
    limit $limit_rows
),

final as (
    select
        listed.lead_id,
        leads.lead_name,
        leads.company,
        listed.channel,
        listed.stage_order,
        listed.transition_team,
        listed.charged_team,
        listed.loss_kind,
        listed.owner_id,
        listed.owner_name,
        listed.start_at,
        listed.stage_reached_at,
        listed.first_action_at,
        listed.exit_at,
        listed.exit_type,
        listed.exit_reason,
        listed.days_in_stage,
        listed.n_total
    from listed
    left join leads on leads.lead_id = listed.lead_id
)

select * from final
order by stage_order, coalesce(exit_at, stage_reached_at), lead_id

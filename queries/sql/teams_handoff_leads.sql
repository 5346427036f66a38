-- Handoff drill-down: one row per handed-over cohort lead behind the handoff numbers, with
-- its response time, SLA status, first action and owner; filtered to one owner and/or SLA
-- status, slowest first. Selects from teams_handoffs.sql (inlined by queries/teams.py as the
-- CTE teams_handoffs), the same rows teams_handoff.sql counts.
-- Parameters: teams_handoffs.sql's, plus $sel_owner_id, $sel_status ('within', 'breached',
--   'pending'; null = any) and $limit_rows (rows returned; n_total counts all).

with

handoffs as (select * from teams_handoffs),

final as (
    select
        lead_id,
        channel,
        owner_id,
        owner_name,
        handoff_at,
        first_action_at,
        first_action_type,
        first_action_reason,
        response_hours,
        hours_open,
        sla_status,
        action_kind,
        count(*) over () as n_total
    from handoffs
    where ($sel_owner_id is null or owner_id = $sel_owner_id)
      and ($sel_status is null or sla_status = $sel_status)
)

select * from final
order by coalesce(response_hours, 1e12) desc, handoff_at, lead_id
limit $limit_rows

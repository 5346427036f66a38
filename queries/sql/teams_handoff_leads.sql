-- Handoff drill-down: one row per handed-over cohort lead behind the handoff numbers, with
-- its name, company, response time, SLA status, first action and owner; filtered to one owner and/or SLA
-- status, slowest first. Selects from teams_handoffs.sql (read with ref('teams_handoffs'),
-- queries/sql_refs.py), the same rows teams_handoff.sql counts.
-- Parameters: teams_handoffs.sql's, plus $sel_owner_id, $sel_status ('within', 'breached',
--   'pending'; null = any) and $limit_rows (rows returned; n_total counts all).

with

handoffs as (select * from {{ ref('teams_handoffs') }}),

leads as (select * from leads),

final as (
    select
        handoffs.lead_id,
        leads.lead_name,
        leads.company,
        handoffs.channel,
        handoffs.owner_id,
        handoffs.owner_name,
        handoffs.handoff_at,
        handoffs.first_action_at,
        handoffs.first_action_type,
        handoffs.first_action_reason,
        handoffs.response_hours,
        handoffs.hours_open,
        handoffs.sla_status,
        handoffs.action_kind,
        count(*) over () as n_total
    from handoffs
    left join leads on leads.lead_id = handoffs.lead_id
    where ($sel_owner_id is null or handoffs.owner_id = $sel_owner_id)
      and ($sel_status is null or handoffs.sla_status = $sel_status)
)

select * from final
order by coalesce(response_hours, 1e12) desc, handoff_at, lead_id
limit $limit_rows

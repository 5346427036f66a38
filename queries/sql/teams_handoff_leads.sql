-- Handoff drill-down: one row per handed-over cohort lead behind the handoff numbers, with
-- its name, company, response time, SLA status, first action and owner; filtered to one owner and/or SLA
-- status, slowest first. Selects from teams_handoffs.sql (read with ref('teams_handoffs'),
-- queries/sql_refs.py), the same rows teams_handoff.sql counts.
-- Parameters: teams_handoffs.sql's, plus $sel_owner_id, $sel_status ('within', 'breached',
--   'pending'; null = any) and $limit_rows (rows returned; n_total counts all).

with

handoffs as (select * from {{ ref('teams_handoffs') }}),

leads as (select * from leads),

-- Counted and limited first; names are looked up for the listed rows only (a join with every
-- lead's name before the limit cost more than the rest of the query).
listed as (
    select
        *,
        count(*) over () as n_total
    from handoffs
    where ($sel_owner_id is null or handoffs.owner_id = $sel_owner_id)
      and ($sel_status is null or handoffs.sla_status = $sel_status)
    order by coalesce(response_hours, 1e12) desc, handoff_at, lead_id
    limit $limit_rows
),

final as (
    select
        listed.lead_id,
        leads.lead_name,
        leads.company,
        listed.channel,
        listed.owner_id,
        listed.owner_name,
        listed.handoff_at,
        listed.first_action_at,
        listed.first_action_type,
        listed.first_action_reason,
        listed.response_hours,
        listed.hours_open,
        listed.sla_status,
        listed.action_kind,
        listed.n_total
    from listed
    left join leads on leads.lead_id = listed.lead_id
)

select * from final
order by coalesce(response_hours, 1e12) desc, handoff_at, lead_id

-- Handoff SLA breaches of one week, listed: the rows of weekly_sla_breach_rows.sql (read with
-- ref('weekly_sla_breach_rows'); the rules, the week and the owner are defined there) with each
-- lead's name and company.
-- Parameters: those of weekly_sla_breach_rows.sql.

with

leads as (select * from leads),

breaches as (select * from {{ ref('weekly_sla_breach_rows') }}),

final as (
    select
        breaches.lead_id,
        leads.lead_name,
        leads.company,
        breaches.owner_id,
        breaches.owner_name,
        breaches.owner_team,
        breaches.handoff_at,
        breaches.deadline_at,
        breaches.acted_at,
        breaches.action_type,
        breaches.is_waiting,
        breaches.hours_late
    from breaches
    left join leads on leads.lead_id = breaches.lead_id
)

select * from final
order by owner_name, is_waiting desc, hours_late desc, lead_id

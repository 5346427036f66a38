-- The people on each opportunity: one row per (opportunity, person), each person once: the
-- lead it was converted from (an event that names both) and its contacts (opportunity_contacts,
-- the buying group). docs/design.md "The bridge between the grains".
--   link        'converted' when the opportunity's own events name the person, else 'contact'
--   role        the contact's role as the CRM gives it, trimmed (null: none given, or a
--               converted lead that the contact roles do not list)
--   is_primary  the CRM's primary-contact flag (null: not given)
-- Parameters: none.

with

events as (select * from events),
opportunity_contacts as (select * from opportunity_contacts),

converted as (
    select distinct
        deal_id as opportunity_id,
        lead_id
    from events
    where deal_id is not null
      and lead_id is not null
),

contacts as (
    select
        opportunity_id,
        lead_id,
        nullif(trim(role), '') as role,
        is_primary
    from opportunity_contacts
),

final as (
    select
        coalesce(v.opportunity_id, c.opportunity_id) as opportunity_id,
        coalesce(v.lead_id, c.lead_id) as lead_id,
        case when v.lead_id is not null then 'converted' else 'contact' end as link,
        c.role,
        c.is_primary
    from converted as v
    full outer join contacts as c
        on c.opportunity_id = v.opportunity_id
       and c.lead_id = v.lead_id
)

select * from final

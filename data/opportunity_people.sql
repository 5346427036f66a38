-- The people on each opportunity: one row per (opportunity, person), each person once: the
-- lead it was converted from and its contacts (opportunity_contacts, the buying group).
-- docs/design.md "The bridge between the grains".
--   link        'converted' for the lead the opportunity was converted from (an event that
--               names both, the lead record's converted opportunity, or the lead's link to the
--               opportunity it became, stored in opportunity_contacts with the role
--               $converted_role), else 'contact'
--   role        the contact's role as the CRM gives it (a contact role, an association label),
--               trimmed; null when none is given. The link of a converted lead is no role: a
--               converted lead without a contact-role row is a person with no role.
--   is_primary  the CRM's primary-contact flag (null: not given)
-- Parameters: $converted_role (the role text the importer stores for a lead's link to the
--   opportunity it became: data/import_read.CONVERTED_ROLE).

with

events as (select * from events),
leads as (select * from leads),
opportunity_contacts as (select * from opportunity_contacts),

-- The lead an opportunity was converted from: an event that names both, or the lead's record
-- (Salesforce's ConvertedOpportunityId).
converted as (
    select
        deal_id as opportunity_id,
        lead_id
    from events
    where deal_id is not null
      and lead_id is not null
    union
    select
        converted_opportunity_id as opportunity_id,
        lead_id
    from leads
    where nullif(trim(converted_opportunity_id), '') is not null
),

contacts as (
    select
        opportunity_id,
        lead_id,
        case when trim(role) = $converted_role then null else nullif(trim(role), '') end as role,
        coalesce(trim(role) = $converted_role, false) as is_converted_link,
        is_primary
    from opportunity_contacts
),

final as (
    select
        coalesce(v.opportunity_id, c.opportunity_id) as opportunity_id,
        coalesce(v.lead_id, c.lead_id) as lead_id,
        case when v.lead_id is not null or c.is_converted_link then 'converted' else 'contact' end as link,
        c.role,
        c.is_primary
    from converted as v
    full outer join contacts as c
        on c.opportunity_id = v.opportunity_id
       and c.lead_id = v.lead_id
)

select * from final

-- Buying-group coverage: one row per contact role found on the opportunities of
-- bridge_opportunity_rows.sql (read with ref('bridge_opportunity_rows'): created in the range), most
-- covered first. Roles are the CRM's own words, compared ignoring case, spaces, '_' and '-'.
--   role             the role as written (the first spelling, alphabetically, of its variants)
--   n_opportunities  the view's opportunities with at least one contact in that role
--   n_contacts       contacts in that role on them
-- Parameters: those of bridge_opportunity_rows.sql.

with

opportunities as (select * from {{ ref('bridge_opportunity_rows') }}),
opportunity_people as (select * from opportunity_people),

roles as (
    select
        p.opportunity_id,
        p.role,
        trim(regexp_replace(lower(p.role), '[\s_\-]+', ' ', 'g')) as role_key
    from opportunity_people as p
    semi join opportunities as o on o.opportunity_id = p.opportunity_id
    where p.role is not null
),

final as (
    select
        role_key,
        min(role) as role,
        count(distinct opportunity_id) as n_opportunities,
        count(*) as n_contacts
    from roles
    group by role_key
)

select * from final
order by n_opportunities desc, role

-- What the store holds to bridge the grains: one row. n_opportunities counts the opportunities
-- of the opportunity grain (opportunity_bridge); n_linked those with at least one known contact;
-- n_contact_roles the contact-role rows (opportunity_contacts). Without opportunities (an
-- export whose deals are only stages of their leads, with no deal id) there is nothing to bridge.
-- Parameters: none.

with

opportunity_bridge as (select * from opportunity_bridge),
opportunity_contacts as (select * from opportunity_contacts),

final as (
    select
        (select count(*) from opportunity_bridge) as n_opportunities,
        (select count(*) from opportunity_bridge where n_contacts > 0) as n_linked,
        (select count(*) from opportunity_contacts) as n_contact_roles
)

select * from final

-- Sourcing and buying groups of a bridge view's opportunities: one row for the opportunities
-- of bridge_opportunity_rows.sql (read with ref('bridge_opportunity_rows'): created in the range).
--   n_marketing_touched  with at least one Marketing-touched contact (an event or touch made by
--                        Marketing on or before the opportunity's creation: data/bridge.py)
--   n_sales_sourced      with none; n_without_contacts of them have no known contact at all
--   n_contacts_*         opportunities with 0, 1, 2, 3, 4 or more contacts (its converted lead
--                        and its contact roles, each person once); mean_contacts and
--                        median_contacts over all the view's opportunities
--   n_with_role          opportunities with at least one contact whose role is given
-- Parameters: those of bridge_opportunity_rows.sql.

with

opportunities as (select * from {{ ref('bridge_opportunity_rows') }}),
opportunity_people as (select * from opportunity_people),

with_role as (
    select distinct p.opportunity_id
    from opportunity_people as p
    semi join opportunities as o on o.opportunity_id = p.opportunity_id
    where p.role is not null
),

final as (
    select
        count(*) as n_opportunities,
        count(*) filter (where o.is_marketing_touched) as n_marketing_touched,
        count(*) filter (where not o.is_marketing_touched) as n_sales_sourced,
        count(*) filter (where o.n_contacts = 0) as n_without_contacts,
        count(*) filter (where o.n_contacts = 0) as n_contacts_0,
        count(*) filter (where o.n_contacts = 1) as n_contacts_1,
        count(*) filter (where o.n_contacts = 2) as n_contacts_2,
        count(*) filter (where o.n_contacts = 3) as n_contacts_3,
        count(*) filter (where o.n_contacts >= 4) as n_contacts_4_plus,
        avg(o.n_contacts) as mean_contacts,
        percentile_cont(0.5) within group (order by o.n_contacts) as median_contacts,
        count(r.opportunity_id) as n_with_role
    from opportunities as o
    left join with_role as r on r.opportunity_id = o.opportunity_id
)

select * from final

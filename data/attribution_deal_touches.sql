-- Attribution deal touches: one row per (opportunity, touch of one of its people), the people
-- of opportunity_people (the lead it was converted from and its contacts), with the touch's
-- columns the attribution queries read. Rebuilt with the journeys (data/attribution_layouts.py).
-- Why this layout: the attribution queries joined their deals' people to all of touches (1.3M
-- rows at 1M leads) three times per page; this is the join done once, before any date: a query
-- still keeps only the touches up to its deals' close or $as_of itself.
-- Parameters: none.

with

opportunity_people as (select * from opportunity_people),
touches as (select * from touches),

deal_touches as (
    select
        p.opportunity_id,
        t.touch_id,
        t.lead_id,
        t.content_id,
        t.campaign,
        t.touched_at,
        t.team
    from opportunity_people as p
    inner join touches as t on t.lead_id = p.lead_id
)

select * from deal_touches

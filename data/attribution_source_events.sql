-- Attribution source events: for each row of attribution_deal_leads, the first event of each
-- type of that lead (of the deal itself on the row without a lead), ties broken by event id:
-- one row per (deal_id, lead_id, event_type).
-- A deal is sourced by the team on the first stage event of its lead by $as_of
-- (queries/sql/attribution_deals.sql). The first of a set of events by a moment is the first
-- of the first of each type by then, and a type's first event by then is its first event at
-- all when that is by then: so the query can still take the contract's stage keys and the
-- as-of itself and get exactly the answer it got from every event.
-- Rebuilt with the journeys (data/attribution_layouts.py). Why this layout: the deals' query
-- read every stage event (1.8M at 1M leads) to find a few thousand deals' first ones.
-- Parameters: none.

with

events as (select * from events),
attribution_deal_leads as (select * from attribution_deal_leads),

lead_events as (
    select l.deal_id, l.lead_id, e.event_type, e.occurred_at, e.event_id, e.team
    from attribution_deal_leads as l
    inner join events as e on e.lead_id = l.lead_id
    union all
    select l.deal_id, l.lead_id, e.event_type, e.occurred_at, e.event_id, e.team
    from attribution_deal_leads as l
    inner join events as e on e.deal_id = l.deal_id
    where l.lead_id is null
),

first_events as (
    select
        deal_id,
        lead_id,
        event_type,
        min(occurred_at) as occurred_at,
        arg_min(event_id, (occurred_at, event_id)) as event_id,
        arg_min_null(team, (occurred_at, event_id)) as team
    from lead_events
    group by deal_id, lead_id, event_type
)

select * from first_events

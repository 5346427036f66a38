-- Attribution deal events: one row per stored event that names an opportunity (events.deal_id),
-- with the columns queries/sql/attribution_deals.sql reads to find a deal's opening, close,
-- amounts and lead. Rebuilt with the journeys (data/attribution_layouts.py).
-- Why this layout: about one event in seven names a deal; the deals' query read all of events
-- (2.7M rows at 1M leads) to find them. Nothing is aggregated here, so the query still applies
-- $as_of and the contract's stage keys itself, exactly as before.
-- Parameters: none.

with

events as (select * from events),

deal_events as (
    select deal_id, lead_id, event_type, occurred_at, amount
    from events
    where deal_id is not null
)

select * from deal_events

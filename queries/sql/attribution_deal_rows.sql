-- Attribution deal rows: one row per deal with its lead, as of $as_of: when it was opened, won
-- and lost, its won and last amounts, and its lead's attributes (else the opportunity's own).
-- The one definition of a deal's facts, read with ref('attribution_deal_rows') by
-- attribution_deals.sql, which selects the deals of a view and their sourcing team. Kept whole
-- per store version for the views at the latest date (queries/cube.py ROWS, UNRANGED: a deal
-- is selected by when it was won or opened, not by a start), so those views do not group every
-- deal event again.
-- The deal's lead: the lead its events name (the lead it was converted from), else its primary
--   contact, else its first contact by id (opportunity_people, as the journeys give its amount
--   to one person only). Its attributes are that lead's, else the opportunity's own
--   (deal_journey_leads), so a deal no lead is known for still counts.
-- Parameters: $as_of (timestamp); $opportunity_stage, $won_stage, $exit_keys (an exit carrying a
--   deal id closes it lost), $amount_event.
-- Read from the layouts built with the journeys (data/attribution_layouts.py): the events
--   that name a deal and each deal's candidate leads with their attributes.

with

attribution_deal_events as (select * from attribution_deal_events),
attribution_deal_leads as (select * from attribution_deal_leads),

event_deals as (
    select
        deal_id,
        min(lead_id) as lead_id,
        min(occurred_at) filter (where event_type = $opportunity_stage) as opened_at,
        min(occurred_at) filter (where event_type = $won_stage) as won_at,
        min(occurred_at) filter (where event_type = any($exit_keys)) as lost_at,
        -- DuckDB's arg_min/arg_max: the amount on the first won event / the latest amount set.
        arg_min(amount, occurred_at) filter (where event_type = $won_stage) as won_amount,
        arg_max(amount, occurred_at) filter (where event_type = $amount_event and amount is not null)
            as last_amount
    from attribution_deal_events
    where occurred_at <= $as_of
    group by deal_id
),

deal_events as (
    -- A deal's lead when its events name none by $as_of: its contact lead (is_contact: its
    -- primary contact, else its first by id).
    select
        d.* replace (coalesce(d.lead_id, c.lead_id) as lead_id)
    from event_deals as d
    left join attribution_deal_leads as c on c.deal_id = d.deal_id and c.is_contact
),

final as (
    -- The deal's lead's attributes, else the opportunity's own: the layout's row for the deal
    -- and that lead (every lead a deal can have has one, no lead too).
    select
        d.*,
        l.lead_start_at,
        l.channel,
        l.campaign,
        l.region,
        l.segment,
        l.owner_id,
        l.owner_team,
        l.manager,
        l.office,
        l.sector,
        l.account_size
    from deal_events as d
    inner join attribution_deal_leads as l
        on l.deal_id = d.deal_id
       and l.lead_id is not distinct from d.lead_id
    where l.is_known
)

select * from final

-- Attribution deal rows: one row per deal with its lead that a view can select (won or opened
-- in [$start_at, $end_before), its lead passing the list filters), as of $as_of: when it was opened, won
-- and lost, its won and last amounts, its lead's attributes (else the opportunity's own), the
-- team that sourced it and whether Marketing influenced it or Sales shared Marketing content on
-- it. The one definition of a deal's facts, read with ref('attribution_deal_rows') by
-- attribution_deals.sql, which selects the deals of a view. Kept whole per store version for
-- the views at the latest date (queries/cube.py DEALS: a deal is selected by when it was won or
-- opened, not by a start), so those views neither group every deal event nor look up every
-- deal's first events and touches again.
--   cutoff_at       what counts for the deal happened by then: its win, else its loss, else
--                   $as_of (still open)
--   sourced_by      the team on the first stage event of the deal's lead (of the deal itself
--                   when it has no lead; ties broken by event id): an inquiry Marketing
--                   captured, or a lead imported straight at MQL by Marketing, is
--                   Marketing-sourced; a lead Sales created (outbound, straight at SQL) is
--                   Sales-sourced. A first event that names no team, or none at all, counts as
--                   $marketing_team.
--   is_influenced   at least one counted touch (a touch of one of its people,
--                   opportunity_people, up to cutoff_at) made by $marketing_team or on content
--                   $marketing_team made
--   is_shared       a touch made by $sales_team on content made by $marketing_team between the
--                   opportunity entry and cutoff_at
-- The deal's lead: the lead its events name (the lead it was converted from), else its primary
--   contact, else its first contact by id (opportunity_people, as the journeys give its amount
--   to one person only). Its attributes are that lead's, else the opportunity's own
--   (deal_journey_leads), so a deal no lead is known for still counts.
-- Parameters: $as_of, $start_at, $end_before (timestamps); $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all); $opportunity_stage, $won_stage, $exit_keys (an exit
--   carrying a deal id closes it lost), $amount_event; $stage_keys (stage keys in funnel
--   order); $marketing_team, $sales_team.
-- Read from the layouts built with the journeys (data/attribution_layouts.py): the events
--   that name a deal, each deal's candidate leads with their attributes, the first event of
--   each type of the deals' leads (so the sourcing team is found without reading all of
--   events; $as_of and the stage keys are still applied here) and each opportunity's people's
--   touches (data/attribution_deal_touches.sql).

with

attribution_deal_events as (select * from attribution_deal_events),
attribution_deal_leads as (select * from attribution_deal_leads),
attribution_source_events as (select * from attribution_source_events),
attribution_deal_touches as (select * from attribution_deal_touches),
content as (select * from content),

event_deals as (
    select
        deal_id,
        min(lead_id) as lead_id,
        min(occurred_at) filter (where event_type = $opportunity_stage) as opened_at,
        min(occurred_at) filter (where event_type = $won_stage) as won_at,
        min(occurred_at) filter (where list_contains($exit_keys, event_type)) as lost_at,
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

known_deals as (
    -- The deal's lead's attributes, else the opportunity's own: the layout's row for the deal
    -- and that lead (every lead a deal can have has one, no lead too).
    select
        d.*,
        coalesce(d.won_at, d.lost_at, $as_of) as cutoff_at,
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
      -- Only the deals a view can select (attribution_deals.sql chooses among them): won or
      -- opened in its range, its lead passing its filters, so the sourcing and the touches
      -- below are looked up for those alone. Kept per store version, the range is the whole
      -- store and no filter is set: every deal any view can select.
      and (
          d.won_at >= $start_at and d.won_at < $end_before
          or d.opened_at >= $start_at and d.opened_at < $end_before
      )
      and {{ lead_filters('l') }}
),

source_events as (
    -- The first stage events by $as_of of each deal's lead, or of the deal itself when it has
    -- no lead: of each type's first event, those by then.
    select d.deal_id, e.event_id, e.team, e.occurred_at
    from known_deals as d
    inner join attribution_source_events as e
        on e.deal_id = d.deal_id
       and e.lead_id is not distinct from d.lead_id
    where list_contains($stage_keys, e.event_type)
      and e.occurred_at <= $as_of
),

lead_sources as (
    -- Sourced by the team on the first of them (ties by event id).
    select deal_id, arg_min_null(team, (occurred_at, event_id)) as sourced_by
    from source_events
    group by deal_id
),

influenced as (
    select distinct d.deal_id
    from known_deals as d
    inner join attribution_deal_touches as t
        on t.opportunity_id = d.deal_id
       and t.touched_at <= d.cutoff_at
    left join content as c on c.content_id = t.content_id
    where t.team = $marketing_team
       or c.team = $marketing_team
),

shared as (
    select distinct d.deal_id
    from known_deals as d
    inner join attribution_deal_touches as t
        on t.opportunity_id = d.deal_id
       and t.touched_at >= d.opened_at
       and t.touched_at <= d.cutoff_at
    inner join content as c on c.content_id = t.content_id
    where t.team = $sales_team
      and c.team = $marketing_team
),

final as (
    select
        d.*,
        coalesce(s.sourced_by, $marketing_team) as sourced_by,
        i.deal_id is not null as is_influenced,
        h.deal_id is not null as is_shared
    from known_deals as d
    left join lead_sources as s on s.deal_id = d.deal_id
    left join influenced as i on i.deal_id = d.deal_id
    left join shared as h on h.deal_id = d.deal_id
)

select * from final

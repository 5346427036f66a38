-- Attribution deals: one row per deal in range, the deals both attribution_credits and
-- attribution_deal_outcomes read (they read this file with ref('attribution_deals'),
-- queries/sql_refs.py), so selection, amounts, close rule and sourcing team have one
-- definition. Each deal once, whatever the number of its contacts.
-- Deals: revenue basis = deals won in [$start_at, $end_before); pipeline basis = opportunities
--   opened in the range. The deal's lead: the lead its events name (the lead it was converted
--   from), else its primary contact, else its first contact by id (opportunity_people, as the
--   journeys give its amount to one person only). Its attributes are that lead's, else the
--   opportunity's own (deal_journey_leads), so a deal no lead is known for still counts.
--   sourced_by: the team on the first stage event of the deal's lead (of the deal itself when
--   it has no lead; ties broken by event id); a first event that names no team counts as
--   $marketing_team.
-- Parameters: $start_at, $end_before, $as_of (timestamps); $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all); $opportunity_stage, $won_stage, $exit_keys (an exit carrying a
--   deal id closes it lost), $amount_event; $basis ('revenue' or 'pipeline'); $stage_keys;
--   $marketing_team; $sourced_by (null = all deals, or a team); $deal_by (null, or an attribute
--   mapped below: the allow-list).
-- Read from the layouts built with the journeys (data/attribution_layouts.py): the events
--   that name a deal, each deal's candidate leads with their attributes, the first event of
--   each type of those leads, so the deals are found without reading all of events and
--   journey_leads. $as_of and the stage keys are still applied here.

with

attribution_deal_events as (select * from attribution_deal_events),
attribution_deal_leads as (select * from attribution_deal_leads),
attribution_source_events as (select * from attribution_source_events),

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

deal_attributes as (
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
),

selected_deals as (
    -- The deals in scope, before the sourcing team: filtered, won (revenue) or opened
    -- (pipeline) in the range.
    select
        d.*,
        case $deal_by
            when 'channel' then d.channel
            when 'campaign' then d.campaign
            when 'region' then d.region
            when 'segment' then d.segment
            when 'owner' then d.owner_id
            when 'team' then d.owner_team
            when 'manager' then d.manager
            when 'office' then d.office
            when 'sector' then d.sector
            when 'size' then d.account_size
        end as group_value
    from deal_attributes as d
    where {{ lead_filters('d') }}
      and case
          when $basis = 'revenue' then d.won_at >= $start_at and d.won_at < $end_before
          else d.opened_at >= $start_at and d.opened_at < $end_before
      end
),

source_events as (
    -- The first stage events by $as_of of each selected deal's lead, or of the deal itself when
    -- it has no lead: of each type's first event, those by then.
    select d.deal_id, e.event_id, e.team, e.occurred_at
    from selected_deals as d
    inner join attribution_source_events as e
        on e.deal_id = d.deal_id
       and e.lead_id is not distinct from d.lead_id
    where e.event_type = any($stage_keys)
      and e.occurred_at <= $as_of
),

lead_sources as (
    -- Sourced by the team on the first of them (ties by event id); Marketing when it names none.
    select
        deal_id,
        coalesce(arg_min_null(team, (occurred_at, event_id)), $marketing_team) as sourced_by
    from source_events
    group by deal_id
),

deals as (
    select
        d.deal_id,
        d.lead_id,
        d.opened_at,
        d.lead_start_at,
        d.won_at is not null as is_won,
        d.won_at is not null or d.lost_at is not null as is_closed,
        coalesce(d.won_at, d.lost_at, $as_of) as cutoff_at,
        cast(
            coalesce(
                case when $basis = 'revenue' then coalesce(d.won_amount, d.last_amount)
                     else coalesce(d.last_amount, d.won_amount) end,
                0
            ) as double
        ) as amount,
        coalesce(s.sourced_by, $marketing_team) as sourced_by,
        d.channel,
        d.campaign,
        d.group_value
    from selected_deals as d
    left join lead_sources as s on s.deal_id = d.deal_id
    where $sourced_by is null or coalesce(s.sourced_by, $marketing_team) = $sourced_by
)

select * from deals

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
--   $owners (lists, null = all); $opportunity_stage, $won_stage, $exit_keys (an exit carrying a
--   deal id closes it lost), $amount_event; $basis ('revenue' or 'pipeline'); $stage_keys;
--   $marketing_team; $sourced_by (null = all deals, or a team); $deal_by (null, or an attribute
--   mapped below: the allow-list).

with

events as (select * from events),
journey_leads as (select * from journey_leads),
deal_journey_leads as (select * from deal_journey_leads),
opportunity_people as (select * from opportunity_people),

contact_leads as (
    -- A deal's lead when its events name none: its primary contact, else its first by id.
    select opportunity_id, arg_min(lead_id, (not coalesce(is_primary, false), lead_id)) as lead_id
    from opportunity_people
    group by opportunity_id
),

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
    from events
    where deal_id is not null
      and occurred_at <= $as_of
    group by deal_id
),

deal_events as (
    select
        d.* replace (coalesce(d.lead_id, c.lead_id) as lead_id)
    from event_deals as d
    left join contact_leads as c on c.opportunity_id = d.deal_id
),

deal_attributes as (
    -- The deal's lead's attributes, else the opportunity's own.
    select
        d.*,
        j.start_at as lead_start_at,
        coalesce(j.channel, o.channel) as channel,
        coalesce(j.campaign, o.campaign) as campaign,
        coalesce(j.region, o.region) as region,
        coalesce(j.segment, o.segment) as segment,
        coalesce(j.owner_id, o.owner_id) as owner_id,
        coalesce(j.owner_team, o.owner_team) as owner_team,
        coalesce(j.manager, o.manager) as manager,
        coalesce(j.office, o.office) as office,
        coalesce(j.sector, o.sector) as sector,
        coalesce(j.account_size, o.account_size) as account_size
    from deal_events as d
    left join journey_leads as j on j.lead_id = d.lead_id
    left join deal_journey_leads as o on o.lead_id = d.deal_id
    where j.lead_id is not null or o.lead_id is not null
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

stage_events as (
    select event_id, lead_id, deal_id, team, occurred_at
    from events
    where event_type = any($stage_keys)
      and occurred_at <= $as_of
),

source_events as (
    -- The stage events of each selected deal's lead, or of the deal itself when it has no lead.
    select d.deal_id, e.event_id, e.team, e.occurred_at
    from selected_deals as d
    inner join stage_events as e on e.lead_id = d.lead_id
    union all
    select d.deal_id, e.event_id, e.team, e.occurred_at
    from selected_deals as d
    inner join stage_events as e on e.deal_id = d.deal_id
    where d.lead_id is null
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

-- Attribution deals: one row per deal in range, the deals both attribution_credits and
-- attribution_deal_outcomes read (they read this file with ref('attribution_deals'),
-- queries/sql_refs.py), so selection, amounts, close rule and sourcing team have one
-- definition. Each deal once, whatever the number of its contacts.
-- Deals: revenue basis = deals won in [$start_at, $end_before); pipeline basis = opportunities
--   opened in the range. Each deal's lead, dates, amounts and attributes:
--   attribution_deal_rows.sql.
--   sourced_by: the team on the first stage event of the deal's lead (of the deal itself when
--   it has no lead; ties broken by event id); a first event that names no team counts as
--   $marketing_team.
-- Parameters: $start_at, $end_before, $as_of (timestamps); $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all); $opportunity_stage, $won_stage, $exit_keys (an exit carrying a
--   deal id closes it lost), $amount_event; $basis ('revenue' or 'pipeline'); $stage_keys;
--   $marketing_team; $sourced_by (null = all deals, or a team); $deal_by (null, or an attribute
--   mapped below: the allow-list).
-- Read from the layouts built with the journeys (data/attribution_layouts.py): the first event
--   of each type of the deals' leads, so the sourcing team is found without reading all of
--   events. $as_of and the stage keys are still applied here.

with

attribution_source_events as (select * from attribution_source_events),

-- The deals' facts, one row per deal with its lead: attribution_deal_rows.sql.
deal_attributes as (
    select * from {{ ref('attribution_deal_rows') }}
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

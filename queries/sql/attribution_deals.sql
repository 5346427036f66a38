-- Attribution deals: one row per deal in range, the deals both attribution_credits and
-- attribution_deal_outcomes read (they inline this file as a CTE named attribution_deals, see
-- queries/executor.compose), so selection, amounts, close rule and sourcing team have one
-- definition.
-- Deals: revenue basis = deals won in [$start_at, $end_before); pipeline basis = opportunities
--   opened in the range. sourced_by: the team on the lead's first stage event (ties broken by
--   event id); a first event that names no team counts as $marketing_team.
-- Parameters: $start_at, $end_before, $as_of (timestamps); $channels, $regions, $segments,
--   $owners (lists, null = all); $opportunity_stage, $won_stage, $exit_keys (an exit carrying a
--   deal id closes it lost), $amount_event; $basis ('revenue' or 'pipeline'); $stage_keys;
--   $marketing_team; $sourced_by (null = all deals, or a team); $deal_by (null, or an attribute
--   mapped below: the allow-list).

with

events as (select * from events),
journey_leads as (select * from journey_leads),

deal_events as (
    select
        deal_id,
        min(lead_id) as lead_id,
        min(occurred_at) filter (where event_type = $opportunity_stage) as opened_at,
        min(occurred_at) filter (where event_type = $won_stage) as won_at,
        min(occurred_at) filter (where event_type = any($exit_keys)) as lost_at,
        -- DuckDB's arg_min/arg_max: the amount on the first won event / the latest amount set.
        arg_min(amount, occurred_at) filter (where event_type = $won_stage) as won_amount,
        arg_max(amount, occurred_at) filter (where event_type = $amount_event) as last_amount
    from events
    where deal_id is not null
      and occurred_at <= $as_of
    group by deal_id
),

selected_deals as (
    -- The deals in scope, before the sourcing team: filtered leads, won (revenue) or opened
    -- (pipeline) in the range.
    select
        d.*,
        j.start_at as lead_start_at,
        j.channel,
        j.campaign,
        case $deal_by
            when 'channel' then j.channel
            when 'campaign' then j.campaign
            when 'region' then j.region
            when 'segment' then j.segment
            when 'owner' then j.owner_id
            when 'team' then j.owner_team
            when 'manager' then j.manager
            when 'office' then j.office
            when 'sector' then j.sector
            when 'size' then j.account_size
        end as group_value
    from deal_events as d
    inner join journey_leads as j on j.lead_id = d.lead_id
    where ($channels is null or j.channel = any($channels))
      and ($regions is null or j.region = any($regions))
      and ($segments is null or j.segment = any($segments))
      and ($owners is null or j.owner_id = any($owners))
      and case
          when $basis = 'revenue' then d.won_at >= $start_at and d.won_at < $end_before
          else d.opened_at >= $start_at and d.opened_at < $end_before
      end
),

first_stage_events as (
    -- The selected deals' leads' stage events, earliest first (ties by event id).
    select
        e.lead_id,
        e.team,
        row_number() over (partition by e.lead_id order by e.occurred_at, e.event_id) as event_rank
    from events as e
    where e.event_type = any($stage_keys)
      and e.occurred_at <= $as_of
      and e.lead_id in (select lead_id from selected_deals)
),

lead_sources as (
    -- Sourced by the team on the lead's first stage event; Marketing when it names none.
    select
        lead_id,
        coalesce(team, $marketing_team) as sourced_by
    from first_stage_events
    where event_rank = 1
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
    left join lead_sources as s on s.lead_id = d.lead_id
    where $sourced_by is null or coalesce(s.sourced_by, $marketing_team) = $sourced_by
)

select * from deals

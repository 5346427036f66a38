-- Deal outcomes for Sales use of Marketing content and for sourced vs influenced deals: one
-- row per (group_value, sourced_by, is_influenced, is_shared) with counts and amounts, summed
-- further in queries/content.py and queries/attribution.py. The deals (selection, amounts,
-- close rule, sourcing team) are those of attribution_credits.sql, from the same block.
-- Deals: revenue basis = deals won in [$start_at, $end_before); pipeline basis = opportunities
--   opened in the range (Sales use of Marketing content always reads the pipeline basis).
-- group_value: the lead's attribute named by $deal_by (null = one group).
-- sourced_by: the team on the lead's first stage event (events.team of its earliest stage
--   event, ties broken by event id): an inquiry Marketing captured, or a lead imported straight
--   at MQL by Marketing, is Marketing-sourced; a lead Sales created (outbound, straight at SQL)
--   is Sales-sourced. A first event that names no team counts as Marketing.
-- is_influenced: the deal had at least one counted touch (up to its close, or $as_of while
--   open) made by $marketing_team or on content $marketing_team made.
-- is_shared: a touch made by $sales_team on content made by $marketing_team between the
--   opportunity entry and the close (won or lost), or $as_of while it is still open.
-- n_closed counts won or lost deals: open deals are in progress, neither won nor lost.
-- Parameters: $start_at, $end_before, $as_of (timestamps); $channels, $regions, $segments,
--   $owners (lists, null = all); $opportunity_stage, $won_stage, $exit_keys (an exit carrying a
--   deal id closes it lost), $amount_event; $basis ('revenue' or 'pipeline'); $stage_keys
--   (stage keys in funnel order); $marketing_team (also the source of a lead whose first stage
--   event names no team), $sales_team; $sourced_by (null = all deals, or a team);
--   $deal_by (null, or an attribute mapped in `deals`: the allow-list).

with

events as (select * from events),
touches as (select * from touches),
content as (select * from content),
journey_leads as (select * from journey_leads),

-- Deals: the same block, word for word, opens attribution_credits.sql
-- (tests/test_attribution.py checks that the two copies are identical).
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
),
-- End of the deals block.
influenced as (
    select distinct d.deal_id
    from deals as d
    inner join touches as t
        on t.lead_id = d.lead_id
       and t.touched_at <= d.cutoff_at
    left join content as c on c.content_id = t.content_id
    where t.team = $marketing_team
       or c.team = $marketing_team
),

shared as (
    select distinct d.deal_id
    from deals as d
    inner join touches as t
        on t.lead_id = d.lead_id
       and t.touched_at >= d.opened_at
       and t.touched_at <= d.cutoff_at
    inner join content as c on c.content_id = t.content_id
    where t.team = $sales_team
      and c.team = $marketing_team
),

final as (
    select
        d.group_value,
        d.sourced_by,
        i.deal_id is not null as is_influenced,
        s.deal_id is not null as is_shared,
        count(*) as n_deals,
        count(*) filter (where d.is_won) as n_won,
        count(*) filter (where d.is_closed) as n_closed,
        sum(d.amount) as amount
    from deals as d
    left join influenced as i on i.deal_id = d.deal_id
    left join shared as s on s.deal_id = d.deal_id
    group by 1, 2, 3, 4
)

select * from final
order by group_value, sourced_by, is_influenced desc, is_shared desc

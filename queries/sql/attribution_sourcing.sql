-- Sourced and influenced pipeline: one row per (sourced_by, is_influenced) over the deals of
-- attribution_credits (same deal selection, amounts and close rule).
-- sourced_by: the team on the lead's first stage event (events.team of its earliest stage
--   event, ties broken by event id): an inquiry Marketing captured, or a lead imported straight
--   at MQL by Marketing, is Marketing-sourced; a lead Sales created (outbound, straight at SQL)
--   is Sales-sourced. A first event that names no team counts as Marketing.
-- is_influenced: the deal had at least one counted touch (up to its close, or $as_of while
--   open) made by $marketing_team or on content $marketing_team made.
-- Parameters: $start_at, $end_before, $as_of (timestamps); $channels, $regions, $segments,
--   $owners (lists, null = all); $opportunity_stage, $won_stage, $exit_keys, $amount_event,
--   $basis ('revenue' or 'pipeline'); $stage_keys (stage keys in funnel order);
--   $marketing_team (also the source of a lead whose first stage event names no team).

with

events as (select * from events),
touches as (select * from touches),
content as (select * from content),
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

first_stage_events as (
    -- Each deal's lead's stage events, earliest first (ties by event id).
    select
        e.lead_id,
        e.team,
        row_number() over (partition by e.lead_id order by e.occurred_at, e.event_id) as event_rank
    from events as e
    where e.event_type = any($stage_keys)
      and e.occurred_at <= $as_of
      and e.lead_id in (select lead_id from deal_events)
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
        d.won_at is not null as is_won,
        coalesce(d.won_at, d.lost_at, $as_of) as cutoff_at,
        cast(
            coalesce(
                case when $basis = 'revenue' then coalesce(d.won_amount, d.last_amount)
                     else coalesce(d.last_amount, d.won_amount) end,
                0
            ) as double
        ) as amount,
        coalesce(s.sourced_by, $marketing_team) as sourced_by
    from deal_events as d
    inner join journey_leads as j on j.lead_id = d.lead_id
    left join lead_sources as s on s.lead_id = d.lead_id
    where ($channels is null or j.channel = any($channels))
      and ($regions is null or j.region = any($regions))
      and ($segments is null or j.segment = any($segments))
      and ($owners is null or j.owner_id = any($owners))
      and case
          when $basis = 'revenue' then d.won_at >= $start_at and d.won_at < $end_before
          else d.opened_at >= $start_at and d.opened_at < $end_before
      end
),

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

final as (
    select
        d.sourced_by,
        i.deal_id is not null as is_influenced,
        count(*) as n_deals,
        count(*) filter (where d.is_won) as n_won,
        sum(d.amount) as amount
    from deals as d
    left join influenced as i on i.deal_id = d.deal_id
    group by 1, 2
)

select * from final
order by sourced_by, is_influenced desc

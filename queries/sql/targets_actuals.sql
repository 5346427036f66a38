-- Actuals for a period, to date: one row per target metric with its value in
-- [$period_start, $period_end) up to $as_of.
--   content_published  pieces of content published by $content_team
--   leads, mqls        first entries (journey_stages.entered_at; re-entries never count) of
--                      leads into the stages at $lead_order and $handoff_order
--   opportunities, deals_won
--                      opportunities whose first entry into $opportunity_stage, $won_stage
--                      falls in the period, each once however many contacts reach its stages
--                      (an opportunity is its deal id; a lead whose events name no deal is its
--                      own opportunity)
--   revenue            the amount on the first event of the last stage ($won_stage) of each
--                      opportunity won (first entry) in the period
--   pipeline           the first amount set on each opportunity opened (first entry into
--                      $opportunity_stage) in the period: an $amount_event, or the amount on an
--                      $opportunity_stage event when that came first
-- Stage orders and keys come from the contract (funnel.toml), never from this file.
-- arg_min(amount, occurred_at) is DuckDB's "value at the earliest time" (min_by elsewhere).
-- Parameters: $period_start, $period_end (timestamps, end exclusive), $as_of (timestamp),
--   $lead_order, $handoff_order (ints), $opportunity_stage, $won_stage, $amount_event,
--   $content_team (text).

with

journey_stages as (select * from journey_stages),

events as (select * from events),

content as (select * from content),

lead_entries as (
    select
        lead_id,
        stage_order
    from journey_stages
    where entered_at >= $period_start
      and entered_at < $period_end
      and entered_at <= $as_of
      and stage_order in ($lead_order, $handoff_order)
),

lead_totals as (
    select
        count(*) filter (where stage_order = $lead_order) as leads,
        count(*) filter (where stage_order = $handoff_order) as mqls
    from lead_entries
),

deals as (
    -- One row per opportunity: its first entries, the amount at signature and the amount
    -- first set on it.
    select
        coalesce(deal_id, lead_id) as deal_key,
        min(occurred_at) filter (where event_type = $opportunity_stage) as opened_at,
        min(occurred_at) filter (where event_type = $won_stage) as won_at,
        arg_min(amount, occurred_at) filter (where event_type = $won_stage) as won_amount,
        arg_min(amount, occurred_at) filter (
            where event_type in ($amount_event, $opportunity_stage) and amount is not null
        ) as opened_amount
    from events
    where event_type in ($opportunity_stage, $won_stage, $amount_event)
    group by 1
),

in_period as (
    select
        *,
        opened_at >= $period_start and opened_at < $period_end and opened_at <= $as_of as is_opened,
        won_at >= $period_start and won_at < $period_end and won_at <= $as_of as is_won
    from deals
),

deal_totals as (
    select
        count(*) filter (where is_opened) as opportunities,
        count(*) filter (where is_won) as deals_won,
        coalesce(sum(won_amount) filter (where is_won), 0) as revenue,
        coalesce(sum(opened_amount) filter (where is_opened), 0) as pipeline
    from in_period
),

content_total as (
    select count(*) as content_published
    from content
    where team = $content_team
      and published_at >= $period_start
      and published_at < $period_end
      and published_at <= $as_of
),

final as (
    select 'content_published' as metric, cast(content_published as double) as actual
    from content_total
    union all select 'leads', cast(leads as double) from lead_totals
    union all select 'mqls', cast(mqls as double) from lead_totals
    union all select 'opportunities', cast(opportunities as double) from deal_totals
    union all select 'deals_won', cast(deals_won as double) from deal_totals
    union all select 'revenue', cast(revenue as double) from deal_totals
    union all select 'pipeline', cast(pipeline as double) from deal_totals
)

select * from final

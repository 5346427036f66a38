-- Actuals for a period, to date: one row per target metric with its value in
-- [$period_start, $period_end) up to $as_of.
--   content_published  pieces of content published by $content_team
--   leads, mqls, opportunities, deals_won
--                      first entries (journey_stages.entered_at; re-entries never count) into
--                      the stages at $lead_order, $handoff_order, $opportunity_order, $won_order
--   revenue            amount of the first event of the last stage ($won_stage) per deal won
--                      (first entry) in the period
--   pipeline           amount first set ($amount_event events) on the opportunities opened
--                      (first entry into $opportunity_order) in the period
-- Stage orders and keys come from the contract (funnel.toml), never from this file.
-- arg_min(amount, occurred_at) is DuckDB's "value at the earliest time" (min_by elsewhere).
-- Parameters: $period_start, $period_end (timestamps, end exclusive), $as_of (timestamp),
--   $lead_order, $handoff_order, $opportunity_order, $won_order (ints), $won_stage,
--   $amount_event, $content_team (text).

with

journey_stages as (select * from journey_stages),

events as (select * from events),

content as (select * from content),

entries as (
    select
        lead_id,
        stage_order
    from journey_stages
    where entered_at >= $period_start
      and entered_at < $period_end
      and entered_at <= $as_of
      and stage_order in ($lead_order, $handoff_order, $opportunity_order, $won_order)
),

deal_amounts as (
    -- One row per lead with a won or amount event: the amount at signature and the amount
    -- first set on the opportunity.
    select
        lead_id,
        arg_min(amount, occurred_at) filter (where event_type = $won_stage) as won_amount,
        arg_min(amount, occurred_at) filter (where event_type = $amount_event and amount is not null)
            as opened_amount
    from events
    where event_type in ($won_stage, $amount_event)
    group by lead_id
),

stage_totals as (
    select
        count(*) filter (where e.stage_order = $lead_order) as leads,
        count(*) filter (where e.stage_order = $handoff_order) as mqls,
        count(*) filter (where e.stage_order = $opportunity_order) as opportunities,
        count(*) filter (where e.stage_order = $won_order) as deals_won,
        coalesce(sum(a.won_amount) filter (where e.stage_order = $won_order), 0) as revenue,
        coalesce(sum(a.opened_amount) filter (where e.stage_order = $opportunity_order), 0)
            as pipeline
    from entries as e
    left join deal_amounts as a on a.lead_id = e.lead_id
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
    union all select 'leads', cast(leads as double) from stage_totals
    union all select 'mqls', cast(mqls as double) from stage_totals
    union all select 'opportunities', cast(opportunities as double) from stage_totals
    union all select 'deals_won', cast(deals_won as double) from stage_totals
    union all select 'revenue', cast(revenue as double) from stage_totals
    union all select 'pipeline', cast(pipeline as double) from stage_totals
)

select * from final

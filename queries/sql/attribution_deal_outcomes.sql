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
-- is_influenced: the deal had at least one counted touch (a touch of one of its people,
--   opportunity_people, up to its close, or $as_of while open) made by $marketing_team or on
--   content $marketing_team made.
-- is_shared: a touch made by $sales_team on content made by $marketing_team between the
--   opportunity entry and the close (won or lost), or $as_of while it is still open.
-- n_closed counts won or lost deals: open deals are in progress, neither won nor lost.
-- Parameters: $start_at, $end_before, $as_of (timestamps); $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all); $opportunity_stage, $won_stage, $exit_keys (an exit carrying a
--   deal id closes it lost), $amount_event; $basis ('revenue' or 'pipeline'); $stage_keys
--   (stage keys in funnel order); $marketing_team (also the source of a lead whose first stage
--   event names no team), $sales_team; $sourced_by (null = all deals, or a team);
--   $deal_by (null, or an attribute mapped in `deals`: the allow-list).

with

content as (select * from content),
-- Each opportunity's people's touches (data/attribution_deal_touches.sql): the join of
-- opportunity_people and touches, done once with the journeys.
attribution_deal_touches as (select * from attribution_deal_touches),

-- The deals: queries/sql/attribution_deals.sql, read with ref('attribution_deals').
deals as (select * from {{ ref('attribution_deals') }}),
influenced as (
    select distinct d.deal_id
    from deals as d
    inner join attribution_deal_touches as t
        on t.opportunity_id = d.deal_id
       and t.touched_at <= d.cutoff_at
    left join content as c on c.content_id = t.content_id
    where t.team = $marketing_team
       or c.team = $marketing_team
),

shared as (
    select distinct d.deal_id
    from deals as d
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

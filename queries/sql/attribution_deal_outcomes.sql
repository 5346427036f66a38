-- Deal outcomes for Sales use of Marketing content and for sourced vs influenced deals: one
-- row per (group_value, sourced_by, is_influenced, is_shared) with counts and amounts, summed
-- further in queries/content.py and queries/attribution.py. The deals (selection, amounts,
-- close rule, sourcing team) are those of attribution_credits.sql, from the same block.
-- Deals: revenue basis = deals won in [$start_at, $end_before); pipeline basis = opportunities
--   opened in the range (Sales use of Marketing content always reads the pipeline basis).
-- group_value: the lead's attribute named by $deal_by (null = one group).
-- sourced_by, is_influenced, is_shared: each deal's own, defined in attribution_deal_rows.sql
--   (the team on its lead's first stage event; a counted Marketing touch or a touch on
--   Marketing content up to its close; Sales sharing Marketing content between the opportunity
--   entry and the close).
-- n_closed counts won or lost deals: open deals are in progress, neither won nor lost.
-- Parameters: $start_at, $end_before, $as_of (timestamps); $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all); $opportunity_stage, $won_stage, $exit_keys (an exit carrying a
--   deal id closes it lost), $amount_event; $basis ('revenue' or 'pipeline'); $stage_keys
--   (stage keys in funnel order); $marketing_team (also the source of a lead whose first stage
--   event names no team), $sales_team; $sourced_by (null = all deals, or a team);
--   $deal_by (null, or an attribute mapped in `deals`: the allow-list).

with

-- The deals: queries/sql/attribution_deals.sql, read with ref('attribution_deals').
deals as (select * from {{ ref('attribution_deals') }}),

final as (
    select
        d.group_value,
        d.sourced_by,
        d.is_influenced,
        d.is_shared,
        count(*) as n_deals,
        count(*) filter (where d.is_won) as n_won,
        count(*) filter (where d.is_closed) as n_closed,
        sum(d.amount) as amount
    from deals as d
    group by 1, 2, 3, 4
)

select * from final
order by group_value, sourced_by, is_influenced desc, is_shared desc

-- Attribution deals: one row per deal in range, the deals both attribution_credits and
-- attribution_deal_outcomes read (they read this file with ref('attribution_deals'),
-- queries/sql_refs.py), so selection, amounts, close rule and sourcing team have one
-- definition. Each deal once, whatever the number of its contacts.
-- Deals: revenue basis = deals won in [$start_at, $end_before); pipeline basis = opportunities
--   opened in the range. Each deal's lead, dates, amounts, attributes, close rule (cutoff_at),
--   sourcing team (sourced_by) and influence (is_influenced, is_shared):
--   attribution_deal_rows.sql.
-- Parameters: $start_at, $end_before, $as_of (timestamps); $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all); $opportunity_stage, $won_stage, $exit_keys (an exit carrying a
--   deal id closes it lost), $amount_event; $basis ('revenue' or 'pipeline'); $stage_keys;
--   $marketing_team, $sales_team; $sourced_by (null = all deals, or a team); $deal_by (null, or
--   an attribute mapped below: the allow-list).

with

-- The deals' facts, one row per deal with its lead: attribution_deal_rows.sql.
deal_attributes as (
    select * from {{ ref('attribution_deal_rows') }}
),

selected_deals as (
    -- The deals in scope: filtered, won (revenue) or opened (pipeline) in the range.
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

deals as (
    select
        d.deal_id,
        d.lead_id,
        d.opened_at,
        d.lead_start_at,
        d.won_at is not null as is_won,
        d.won_at is not null or d.lost_at is not null as is_closed,
        d.cutoff_at,
        cast(
            coalesce(
                case when $basis = 'revenue' then coalesce(d.won_amount, d.last_amount)
                     else coalesce(d.last_amount, d.won_amount) end,
                0
            ) as double
        ) as amount,
        d.sourced_by,
        d.is_influenced,
        d.is_shared,
        d.channel,
        d.campaign,
        d.group_value
    from selected_deals as d
    where $sourced_by is null or d.sourced_by = $sourced_by
)

select * from deals

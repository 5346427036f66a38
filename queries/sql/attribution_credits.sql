-- Revenue attribution: one row per group ($by) with the credit each model gives it.
-- Deals: revenue basis = deals won in [$start_at, $end_before), amount = the won amount;
-- pipeline basis = opportunities opened in the range, amount = the latest amount set by $as_of.
-- A deal's touches are the touches of its people (opportunity_people: the lead it was
-- converted from and its contacts, each touch once) up to the deal's close (won or lost;
-- $as_of while open): touches after the close never count. Each deal's amount is credited once. Touches are ranked by (touched_at, touch_id), so
-- two touches on the same timestamp are ordered by their id. Every model's weights sum to 1
-- per deal, so credits sum to the deal amount; a deal with no touch credits its whole amount
-- to '(no touch)' under every model, so the totals reconcile with revenue.
--   first_touch  1 to rank 1            last_touch  1 to the last rank
--   linear       1/n each               u_shaped    40/20/40 (n = 2: 50/50)
--   w_shaped     30% to each milestone touch: the first touch, the lead-creation touch (the
--                last touch at or before the lead's start) and the opportunity-creation touch
--                (the last touch at or before the opportunity entry). Two milestones on one
--                touch add up there (60%). The other touches share 10%; with no other touch the
--                10% is spread over the milestone touches. A milestone with no touch at or
--                before it (every touch came after the lead's start, say) is absent: no other
--                touch takes its 30%; the weights are rescaled to sum to 1 instead.
--   time_decay   weight 0.5^(days before the deal's latest counted touch / $half_life_days),
--                normalised per deal (touches on one timestamp weigh the same).
-- Grain: one row per group_key, largest linear credit first.
-- Parameters: $start_at, $end_before, $as_of (timestamps); $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all); $opportunity_stage, $won_stage (stage keys from funnel.toml);
--   $exit_keys (exit keys: an exit carrying a deal id closes it lost); $amount_event ('amount');
--   $basis ('revenue' or 'pipeline'); $half_life_days (double > 0); $sourced_by (null = all
--   deals, or a team: only deals whose lead's first stage event names that team, as in
--   attribution_deal_outcomes); $stage_keys (stage keys in funnel order); $marketing_team (the
--   source of a lead whose first stage event names no team); $deal_by (null here: the deals
--   deals (attribution_deals.sql) are shared with attribution_deal_outcomes, which groups them);
--   $by (allow-listed: channel, campaign, content, content_kind, touch_team, deal, touch).

with

content as (select * from content),
-- Each opportunity's people's touches (data/attribution_deal_touches.sql): the join of
-- opportunity_people and touches, done once with the journeys.
attribution_deal_touches as (select * from attribution_deal_touches),

-- The deals: queries/sql/attribution_deals.sql, read with ref('attribution_deals').
deals as (select * from {{ ref('attribution_deals') }}),

deal_touches as (
    select
        d.deal_id,
        d.amount,
        d.lead_start_at,
        d.opened_at,
        t.touch_id,
        t.touched_at,
        t.team as touch_team,
        coalesce(t.content_id, '(no content)') as content_id,
        coalesce(c.title, t.content_id, '(no content)') as content_title,
        coalesce(c.kind, '(no content)') as content_kind,
        -- Touches carry no channel of their own: a touch belongs to its lead's channel.
        coalesce(d.channel, '(none)') as channel,
        coalesce(t.campaign, d.campaign, '(no campaign)') as campaign,
        row_number() over (partition by d.deal_id order by t.touched_at, t.touch_id) as touch_rank,
        count(*) over (partition by d.deal_id) as n_touches
    from deals as d
    inner join attribution_deal_touches as t
        on t.opportunity_id = d.deal_id
       and t.touched_at <= d.cutoff_at
    left join content as c on c.content_id = t.content_id
),

milestones as (
    select
        *,
        max(case when touched_at <= lead_start_at then touch_rank end)
            over (partition by deal_id) as lead_rank_found,
        max(case when touched_at <= opened_at then touch_rank end)
            over (partition by deal_id) as opportunity_rank_found,
        max(touched_at) over (partition by deal_id) as latest_touched_at
    from deal_touches
),

milestone_counts as (
    select
        *,
        -- How many of the three milestones fall on this touch (0 to 3).
        case when touch_rank = 1 then 1 else 0 end
            + case when touch_rank = lead_rank_found then 1 else 0 end
            + case when touch_rank = opportunity_rank_found then 1 else 0 end as n_milestones
    from milestones
),

rest_counts as (
    select
        *,
        -- Touches that are no milestone: they share the 10%.
        sum(case when n_milestones = 0 then 1 else 0 end) over (partition by deal_id) as n_rest
    from milestone_counts
),

w_shaped_raw as (
    select
        *,
        0.3 * n_milestones
            + case
                when n_milestones = 0 then 0.1 / n_rest
                when n_rest = 0 then 0.1 / n_touches
                else 0.0
            end as w_shaped_raw
    from rest_counts
),

weights as (
    select
        *,
        case when touch_rank = 1 then 1.0 else 0.0 end as w_first_touch,
        case when touch_rank = n_touches then 1.0 else 0.0 end as w_last_touch,
        1.0 / n_touches as w_linear,
        case
            when n_touches = 1 then 1.0
            when n_touches = 2 then 0.5
            when touch_rank in (1, n_touches) then 0.4
            else 0.2 / (n_touches - 2)
        end as w_u_shaped,
        w_shaped_raw / sum(w_shaped_raw) over (partition by deal_id) as w_w_shaped,
        power(
            0.5,
            date_diff('microsecond', touched_at, latest_touched_at) / 86400e6 / $half_life_days
        ) as decay_raw
    from w_shaped_raw
),

touch_credits as (
    select
        deal_id,
        touch_id,
        channel,
        campaign,
        content_id,
        content_title,
        content_kind,
        touch_team,
        amount * w_first_touch as credit_first_touch,
        amount * w_last_touch as credit_last_touch,
        amount * w_linear as credit_linear,
        amount * w_u_shaped as credit_u_shaped,
        amount * w_w_shaped as credit_w_shaped,
        amount * decay_raw / sum(decay_raw) over (partition by deal_id) as credit_time_decay
    from weights
),

untouched_credits as (
    select
        d.deal_id,
        '(no touch)' as touch_id,
        '(no touch)' as channel,
        '(no touch)' as campaign,
        '(no touch)' as content_id,
        '(no touch)' as content_title,
        '(no touch)' as content_kind,
        '(no touch)' as touch_team,
        d.amount as credit_first_touch,
        d.amount as credit_last_touch,
        d.amount as credit_linear,
        d.amount as credit_u_shaped,
        d.amount as credit_w_shaped,
        d.amount as credit_time_decay
    from deals as d
    where not exists (select 1 from deal_touches as t where t.deal_id = d.deal_id)
),

credits as (
    select * from touch_credits
    union all
    select * from untouched_credits
),

grouped as (
    select
        case $by
            when 'channel' then channel
            when 'campaign' then campaign
            when 'content' then content_id
            when 'content_kind' then content_kind
            when 'touch_team' then touch_team
            when 'deal' then deal_id
            when 'touch' then touch_id
        end as group_key,
        min(case when $by = 'content' then content_title end) as content_title,
        count(distinct deal_id) as n_deals,
        count(*) filter (where touch_id <> '(no touch)') as n_touches,
        sum(credit_first_touch) as credit_first_touch,
        sum(credit_last_touch) as credit_last_touch,
        sum(credit_linear) as credit_linear,
        sum(credit_u_shaped) as credit_u_shaped,
        sum(credit_w_shaped) as credit_w_shaped,
        sum(credit_time_decay) as credit_time_decay
    from credits
    group by 1
)

select * from grouped
order by credit_linear desc, group_key

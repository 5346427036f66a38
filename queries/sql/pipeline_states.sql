-- Pipeline states: one row per opportunity with a stage event on or before $t2 that passes the
-- view's attribute filters and is not closed for good by $t1: its state at $t1 and at $t2, the bucket its movement between the two
-- falls in, and the team that sourced it. The shared base of pipeline_by_stage,
-- pipeline_movement and pipeline_opportunities, which read it as the table pipeline_states
-- (computed once per view: queries/executor.run_over), so the pipeline has one definition.
-- docs/pipeline.md says each in words.
--   created_at        its first stage event (the moment it entered the pipeline)
--   status_t*         its latest stage or exit event on or before the moment (ties: the later
--                     event id: opportunity_events.seq orders both); is_open_t*: a stage before the last; is_won_t*: the last stage;
--                     anything else (a lost exit, or another exit) has closed it without a win
--   amount_t*         the latest amount any of its events carried on or before the moment, with
--                     that event's currency (else the opportunity record's, else '') and the day
--                     it was set; amount_base_t*: that amount in $base at the rate valid on that
--                     day (the latest rate dated on or before it; 1 for $base itself; null when
--                     no rate is known or $base is null)
--   close_t*          the latest close date any of its events carried on or before the moment
--   sourced_by        'marketing' when the bridge finds a Marketing-touched contact on it
--                     (opportunity_bridge.is_marketing_touched, data/opportunity_bridge.sql:
--                     one definition for every page), else 'sales'
--   bucket            for $t1 < $t2, the first that applies, in this order: new (created after
--                     $t1), reopened (closed at $t1, open at $t2), won, lost (closed without a
--                     win), moved_forward, moved_back (stage order at $t2 against $t1),
--                     pushed_out, pulled_in (close dates, both known), amount_up, amount_down
--                     (a missing amount counts as 0), unchanged; null for one closed at both
-- Parameters: $stage_keys (the opportunity's tracked stages, in order), $won_key (the last
--   stage's key; '' when the data does not record it), $exit_keys (every exit key; [''] when
--   none), $t1, $t2 (timestamps, $t1 <= $t2), $base (a currency code, or null: no conversion),
--   $channels, $regions, $segments, $owners (lists; $all_<list>: all).

with

-- An opportunity whose latest event of all is a win or an exit on or before $t1 is closed at
-- both moments, in no bucket and in no pipeline: its rows are left out before grouping
-- (data/opportunity_events.sql says why).
deal_events as (
    select deal_id, seq, event_type, occurred_at, amount, currency, close_date
    from opportunity_events
    where occurred_at <= $t2
      and not (
          deal_last_at <= $t1
          and (deal_last_type = $won_key or list_contains($exit_keys, deal_last_type))
      )
),

opportunity_bridge as (select opportunity_id, is_marketing_touched from opportunity_bridge),

opportunities as (select opportunity_id, currency from opportunities),

currency_rates as (
    select currency, valid_from, rate
    from currency_rates
    where base = $base
),

-- The opportunity journeys carry the attributes every view filters by (data/journey.py).
journeys as (
    select lead_id as deal_id, channel, region, segment, owner_id
    from deal_journey_leads
    where {{ lead_filters() }}
),

per_deal as (
    select
        deal_id,
        min(occurred_at) filter (where list_contains($stage_keys, event_type)) as created_at,
        arg_max(event_type, seq) filter (
            where (list_contains($stage_keys, event_type) or list_contains($exit_keys, event_type))
              and occurred_at <= $t1
        ) as status_t1,
        arg_max(event_type, seq) filter (
            where list_contains($stage_keys, event_type) or list_contains($exit_keys, event_type)
        ) as status_t2,
        -- The amount with its own event's currency and day: one struct, so the three come from
        -- the same event.
        arg_max({'amount': amount, 'currency': currency, 'day': cast(occurred_at as date)}, seq)
            filter (where amount is not null and occurred_at <= $t1) as set_t1,
        arg_max({'amount': amount, 'currency': currency, 'day': cast(occurred_at as date)}, seq)
            filter (where amount is not null) as set_t2,
        arg_max(close_date, seq) filter (where close_date is not null and occurred_at <= $t1)
            as close_t1,
        arg_max(close_date, seq) filter (where close_date is not null) as close_t2
    from deal_events
    group by deal_id
),

states as (
    select
        d.deal_id,
        d.created_at,
        d.status_t1,
        d.status_t2,
        nullif(array_position($stage_keys, d.status_t1), 0) as stage_order_t1,
        nullif(array_position($stage_keys, d.status_t2), 0) as stage_order_t2,
        coalesce(list_contains($stage_keys, d.status_t1) and d.status_t1 <> $won_key, false) as is_open_t1,
        coalesce(list_contains($stage_keys, d.status_t2) and d.status_t2 <> $won_key, false) as is_open_t2,
        coalesce(d.status_t2 = $won_key, false) as is_won_t2,
        d.set_t1.amount as amount_t1,
        coalesce(d.set_t1.currency, o.currency, '') as currency_t1,
        d.set_t1.day as amount_day_t1,
        d.set_t2.amount as amount_t2,
        coalesce(d.set_t2.currency, o.currency, '') as currency_t2,
        d.set_t2.day as amount_day_t2,
        d.close_t1,
        d.close_t2,
        j.channel,
        j.region,
        j.segment,
        j.owner_id
    from per_deal as d
    join journeys as j on j.deal_id = d.deal_id
    left join opportunities as o on o.opportunity_id = d.deal_id
    where d.created_at is not null
),

-- The rate valid on the day an amount was set: the latest dated on or before it.
rated_t1 as (
    select s.deal_id, r.rate
    from states as s
    asof join currency_rates as r
        on r.currency = s.currency_t1 and s.amount_day_t1 >= r.valid_from
    where s.amount_t1 is not null
),

rated_t2 as (
    select s.deal_id, r.rate
    from states as s
    asof join currency_rates as r
        on r.currency = s.currency_t2 and s.amount_day_t2 >= r.valid_from
    where s.amount_t2 is not null
),

final as (
    select
        s.*,
        case when b.is_marketing_touched then 'marketing' else 'sales' end as sourced_by,
        s.amount_t1 * case when s.currency_t1 = $base then 1 else r1.rate end as amount_base_t1,
        s.amount_t2 * case when s.currency_t2 = $base then 1 else r2.rate end as amount_base_t2,
        case
            when s.created_at > $t1 then 'new'
            when not s.is_open_t1 and s.is_open_t2 then 'reopened'
            when not s.is_open_t1 then null
            when s.is_won_t2 then 'won'
            when not s.is_open_t2 then 'lost'
            when s.stage_order_t2 > s.stage_order_t1 then 'moved_forward'
            when s.stage_order_t2 < s.stage_order_t1 then 'moved_back'
            when s.close_t2 > s.close_t1 then 'pushed_out'
            when s.close_t2 < s.close_t1 then 'pulled_in'
            when coalesce(s.amount_t2, 0) > coalesce(s.amount_t1, 0) then 'amount_up'
            when coalesce(s.amount_t2, 0) < coalesce(s.amount_t1, 0) then 'amount_down'
            else 'unchanged'
        end as bucket
    from states as s
    left join opportunity_bridge as b on b.opportunity_id = s.deal_id
    left join rated_t1 as r1 on r1.deal_id = s.deal_id
    left join rated_t2 as r2 on r2.deal_id = s.deal_id
)

select * from final

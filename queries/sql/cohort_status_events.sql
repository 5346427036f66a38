-- Cohort status events: one row per stage or exit event, on or before $as_of, of the cohort's
-- opportunities (cohort_rows.sql at the opportunity grain), in each opportunity's order. The
-- real stage history that stage_visits.sql and stage_moves.sql both read, defined once.
--   seq                 the event's place in its opportunity's order (opportunity_events.seq:
--                       by time, ties by event id)
--   stage_order         its position among $stage_keys (null: an exit)
--   previous_type,      the opportunity's previous stage or exit event (null: this is its
--   previous_at         first)
--   owner_id            the opportunity's owner (cohort_rows)
--   start_at, channel,  the opportunity's start and attributes (cohort_rows): what the rows
--   region, segment     kept whole by queries/cube.py (ROWS) are taken by, for a view's range
--                       and list filters (cube_lead_rows.sql)
-- Parameters: those of cohort_rows.sql, $stage_keys (the tracked stages, in order), $exit_keys
--   (every exit key; [''] when none).

with

cohort as (
    select
        lead_id as deal_id,
        any_value(owner_id) as owner_id,
        any_value(start_at) as start_at,
        any_value(channel) as channel,
        any_value(region) as region,
        any_value(segment) as segment
    from {{ ref('cohort_rows') }}
    where stage_order = 1
    group by lead_id
),

deal_events as (
    select deal_id, seq, event_id, event_type, occurred_at
    from opportunity_events
    where occurred_at <= $as_of
      and (list_contains($stage_keys, event_type) or list_contains($exit_keys, event_type))
),

final as (
    select
        e.deal_id,
        e.seq,
        e.event_id,
        e.event_type,
        e.occurred_at,
        nullif(array_position($stage_keys, e.event_type), 0) as stage_order,
        lag(e.event_type) over w as previous_type,
        lag(e.occurred_at) over w as previous_at,
        c.owner_id,
        c.start_at,
        c.channel,
        c.region,
        c.segment
    from deal_events as e
    inner join cohort as c on c.deal_id = e.deal_id
    window w as (partition by e.deal_id order by e.seq)
)

select * from final

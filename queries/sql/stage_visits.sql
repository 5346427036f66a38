-- Stage visits: one row per stage of the opportunity's journey that the cohort's opportunities
-- (cohort_rows.sql at the opportunity grain) really entered, from every stage and exit event on
-- or before $as_of (cohort_status_events.sql): their real path, not only the furthest stage each
-- reached, and no skipped stage filled in.
-- A visit begins with an event whose stage differs from the opportunity's previous stage or exit
-- event (a repeated row of the same stage, as a CRM writes when only the amount changed, is the
-- same visit) and lasts until its next stage or exit event.
--   n_opportunities      opportunities with at least one visit to the stage
--   n_visits             visits (an opportunity that came back counts each)
--   n_forward, n_back    visits that ended by moving to a later / an earlier stage
--   n_lost, n_other_exit visits that ended in an exit of kind lost / another exit
--   n_current            visits still going on at $as_of (no days counted for them)
--   n_opportunities_forward  opportunities that moved on from the stage to a later one at least once
--   median_days, p75_days, p90_days  days in the stage, over the visits that ended
-- Parameters: those of cohort_rows.sql, $stage_keys (the tracked stages, in order), $exit_keys
--   (every exit key; [''] when none), $lost_keys (exit keys of kind lost; [''] when none).

with

status_events as (select * from {{ ref('cohort_status_events') }}),

visits as (
    select
        deal_id,
        event_type,
        nullif(array_position($stage_keys, event_type), 0) as stage_order,
        occurred_at as began_at,
        lead(occurred_at) over w as ended_at,
        lead(event_type) over w as next_type,
        nullif(array_position($stage_keys, lead(event_type) over w), 0) as next_order
    from status_events
    where previous_type is distinct from event_type
    window w as (partition by deal_id order by seq)
),

timed as (
    select
        *,
        date_diff('microsecond', began_at, ended_at) / 86400e6 as days
    from visits
    where stage_order is not null
),

final as (
    select
        stage_order,
        count(distinct deal_id) as n_opportunities,
        count(*) as n_visits,
        count(*) filter (where next_order > stage_order) as n_forward,
        count(*) filter (where next_order < stage_order) as n_back,
        count(*) filter (where list_contains($lost_keys, next_type)) as n_lost,
        count(*) filter (where next_type is not null and next_order is null and not list_contains($lost_keys, next_type))
            as n_other_exit,
        count(*) filter (where ended_at is null) as n_current,
        count(distinct deal_id) filter (where next_order > stage_order) as n_opportunities_forward,
        percentile_cont(0.5) within group (order by days) as median_days,
        percentile_cont(0.75) within group (order by days) as p75_days,
        percentile_cont(0.9) within group (order by days) as p90_days
    from timed
    group by stage_order
)

select * from final
order by stage_order

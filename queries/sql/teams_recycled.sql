-- Recycled leads: who was sent back to nurture, and what happened after.
-- Population: cohort leads (cohort_funnel.sql's cohort and filters) with an exit of type
-- $recycle_exit by $as_of. Per lead, its first recycle: the reason on it; the furthest stage it
-- had entered before it; whether it came back (a stage event after the recycle, by $as_of);
-- whether it converted (after the recycle it entered a stage beyond the furthest one before);
-- whether it won (after the recycle it entered the last stage). Returns are not bounded by the
-- conversion window: a lead may come back from nurture a year later.
-- Grain: grouping sets told apart by `grain`: one 'total' row, one 'reason' row per reason.
-- Parameters: $start_at, $end_before, $as_of, $is_strict, $channels, $regions, $segments,
--   $owners (as cohort_funnel.sql); $recycle_exit (exit key); $stage_rows (one per
--   stage: stage_key, stage_order; teams.contract_params); $n_stages.

with

journey_leads as (select * from journey_leads),

events as (select * from events),

stages as (
    select
        stage_row.stage_key,
        stage_row.stage_order
    from (select unnest($stage_rows) as stage_row) as stage_rows
),

cohort as (
    select lead_id
    from journey_leads
    where start_at >= $start_at
      and start_at < $end_before
      and start_at <= $as_of
      and {{ lead_filters() }}
      and (not $is_strict or has_first_entry)
),

cohort_events as (
    select
        events.lead_id,
        events.event_type,
        events.reason_code,
        events.occurred_at,
        stages.stage_order
    from events
    inner join cohort on cohort.lead_id = events.lead_id
    left join stages on stages.stage_key = events.event_type
    where events.occurred_at <= $as_of
),

first_recycles as (
    select
        lead_id,
        min(occurred_at) as recycled_at,
        arg_min(reason_code, occurred_at) as reason_code  -- DuckDB's min_by
    from cohort_events
    where event_type = $recycle_exit
    group by lead_id
),

journeys as (
    select
        first_recycles.lead_id,
        coalesce(first_recycles.reason_code, '(no reason)') as reason_code,
        max(cohort_events.stage_order) filter (where cohort_events.occurred_at <= first_recycles.recycled_at)
            as order_before,
        max(cohort_events.stage_order) filter (where cohort_events.occurred_at > first_recycles.recycled_at)
            as order_after
    from first_recycles
    inner join cohort_events on cohort_events.lead_id = first_recycles.lead_id
    group by first_recycles.lead_id, first_recycles.reason_code
),

final as (
    select
        case when grouping(reason_code) = 0 then 'reason' else 'total' end as grain,
        reason_code,
        count(*) as n_recycled,
        count(order_after) as n_came_back,
        count(*) filter (where order_after > coalesce(order_before, 0)) as n_converted,
        count(*) filter (where order_after = $n_stages) as n_won
    from journeys
    group by grouping sets ((reason_code), ())
)

select * from final
order by grain, n_recycled desc, reason_code

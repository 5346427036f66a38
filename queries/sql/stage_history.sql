-- Stage history: one row per group of the cohort (cohort_rows.sql, read with ref('cohort_rows')): how
-- its records really moved through the stages, from every stage event on or before $as_of, not
-- only the furthest stage each reached.
--   n_stage_events      stage events of the cohort's records (re-entries included)
--   n_backward_moves    stage events into an earlier stage than the record's previous one
--   n_moved_back        records with at least one backward move
--   n_reopened          records with a stage event before the last stage after an outcome (won,
--                       or an exit of kind lost): a deal closed and then worked again
-- Parameters: those of cohort_rows.sql, $stage_keys (stage keys in order), $last_stage_key
--   (its last), $n_stages,
--   $lost_keys (exit keys of kind lost; [''] when none).

with

cohort_leads as (
    select group_value, lead_id
    from {{ ref('cohort_rows') }}
    where stage_order = 1
),

-- The records' events: a lead's own, or those naming the opportunity.
events as (
    select
        case when $grain = 'lead' then lead_id else deal_id end as lead_id,
        event_id,
        event_type,
        occurred_at
    from events
),

stage_moves as (
    select
        c.group_value,
        e.lead_id,
        nullif(array_position($stage_keys, e.event_type), 0) as stage_order,
        lag(nullif(array_position($stage_keys, e.event_type), 0)) over (
            partition by e.lead_id order by e.occurred_at, e.event_id
        ) as previous_order,
        e.occurred_at
    from events as e
    join cohort_leads as c on c.lead_id = e.lead_id
    where list_contains($stage_keys, e.event_type)
      and e.occurred_at <= $as_of
),

first_outcomes as (
    select e.lead_id, min(e.occurred_at) as first_outcome_at
    from events as e
    join cohort_leads as c on c.lead_id = e.lead_id
    where (e.event_type = $last_stage_key or list_contains($lost_keys, e.event_type))
      and e.occurred_at <= $as_of
    group by e.lead_id
),

per_lead as (
    select
        m.group_value,
        m.lead_id,
        count(*) as n_stage_events,
        count(*) filter (where m.stage_order < m.previous_order) as n_backward_moves,
        bool_or(m.stage_order < $n_stages and m.occurred_at > o.first_outcome_at) as is_reopened
    from stage_moves as m
    left join first_outcomes as o on o.lead_id = m.lead_id
    group by m.group_value, m.lead_id
),

final as (
    select
        group_value,
        sum(n_stage_events) as n_stage_events,
        sum(n_backward_moves) as n_backward_moves,
        count(*) filter (where n_backward_moves > 0) as n_moved_back,
        count(*) filter (where is_reopened) as n_reopened
    from per_lead
    group by group_value
)

select * from final
order by group_value

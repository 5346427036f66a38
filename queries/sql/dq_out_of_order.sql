-- Data quality, events out of order: one row per stage event dated before its lead was created,
-- or per first entry into a stage dated before the lead's first entry into an earlier stage.
-- Such events are kept (the source says so) and count as reached under the implied skip policy.
-- n_total is the number of such rows before the limit.
-- Parameters: $stage_keys (list of stage keys in funnel order), $max_rows (int).

with

events as (select * from events),

leads as (select * from leads),

stage_events as (
    select
        event_id,
        lead_id,
        event_type,
        occurred_at,
        source,
        nullif(array_position($stage_keys, event_type), 0) as stage_order
    from events
    where list_contains($stage_keys, event_type)
),

first_entries as (
    select lead_id, stage_order, event_type, min(occurred_at) as first_at, arg_min(event_id, occurred_at) as event_id
    from stage_events
    group by lead_id, stage_order, event_type
),

before_created as (
    select
        s.event_id,
        s.lead_id,
        s.event_type,
        s.occurred_at,
        l.created_at as compared_at,
        'dated before the lead was created' as problem
    from stage_events as s
    join leads as l on l.lead_id = s.lead_id
    where s.occurred_at < l.created_at
),

before_earlier_stage as (
    select
        later.event_id,
        later.lead_id,
        later.event_type,
        later.first_at as occurred_at,
        max(earlier.first_at) as compared_at,
        'first entry dated before the first entry into an earlier stage' as problem
    from first_entries as later
    join first_entries as earlier
        on earlier.lead_id = later.lead_id
        and earlier.stage_order < later.stage_order
        and earlier.first_at > later.first_at
    group by later.event_id, later.lead_id, later.event_type, later.first_at
),

problems as (
    select * from before_created
    union all
    select * from before_earlier_stage
    where event_id not in (select event_id from before_created)
)

select
    p.event_id,
    p.lead_id,
    p.event_type,
    p.occurred_at,
    p.compared_at,
    p.problem,
    e.source,
    count(*) over () as n_total
from problems as p
join events as e on e.event_id = p.event_id
order by p.lead_id, p.occurred_at, p.event_id
limit $max_rows

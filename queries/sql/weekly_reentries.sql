-- Recycled leads coming back during one week: one row per (stage, team) with re-entries.
-- A re-entry is a stage event later than the lead's first entry into that stage: recycling,
-- never a second conversion. team is the team on the re-entry event itself (events.team, else
-- the team of the event's owner; 'unassigned' when neither is known), as for entries.
-- nullif(array_position(...), 0) maps a stage key to its 1-based order in $stage_keys, null for
-- no stage (the same on DuckDB, ClickHouse and Spark, which give 0 where DuckDB gives null).
-- Parameters: $start_at, $end_before (the week, Monday to Monday), $stage_keys (in order).

with

events as (select * from events),

owners as (select * from owners),

journey_stages as (select * from journey_stages),

stage_events as (
    select
        events.lead_id,
        nullif(array_position($stage_keys, events.event_type), 0) as stage_order,
        events.occurred_at,
        coalesce(events.team, owners.team, 'unassigned') as team
    from events
    left join owners on owners.owner_id = events.owner_id
    where list_contains($stage_keys, events.event_type)
      and events.occurred_at >= $start_at
      and events.occurred_at < $end_before
),

reentries as (
    select
        stage_events.stage_order,
        stage_events.team,
        stage_events.lead_id
    from stage_events
    inner join journey_stages
        on journey_stages.lead_id = stage_events.lead_id
        and journey_stages.stage_order = stage_events.stage_order
    where stage_events.occurred_at > journey_stages.entered_at
),

final as (
    select
        stage_order,
        team,
        count(*) as n_reentries,
        count(distinct lead_id) as n_leads
    from reentries
    group by stage_order, team
)

select * from final
order by stage_order, team

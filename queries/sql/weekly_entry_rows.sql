-- Stage entries: one row per (lead, stage) first entered in [$from_at, $to_before), with when
-- (entered_at) and by which team (team). The one definition of an entry, read with
-- ref('weekly_entry_rows') by weekly_entries.sql (per ISO week) and by cube_entry_rows.sql
-- (the rollup per day).
-- An entry is a lead's first event for the stage (journey_stages.entered_at): a lead counts
-- once per stage, ever; re-entries (recycled leads coming back) are in weekly_reentries.
-- team is the team on that entry event itself (events.team, else the team of the event's
-- owner; 'unassigned' when neither is known): an inquiry entered by Marketing stays
-- Marketing's when Sales owns the lead later, so a past week never changes with ownership.
-- Two first events at the same instant count once (the first team by name).
-- nullif(array_position(...), 0) maps a stage key to its 1-based order, null for no stage (the
-- same on DuckDB, ClickHouse and Spark, which give 0 where DuckDB gives null).
-- Parameters: $from_at, $to_before (timestamps: for the weeks, Monday 00:00 of the first and
--   the Monday after the last; the rollup, the whole store), $stage_keys (in order).

with

journey_stages as (select * from journey_stages),

events as (select * from events),

owners as (select * from owners),

stage_events as (
    select
        events.lead_id,
        nullif(array_position($stage_keys, events.event_type), 0) as stage_order,
        events.occurred_at,
        coalesce(events.team, owners.team, 'unassigned') as team
    from events
    left join owners on owners.owner_id = events.owner_id
    where list_contains($stage_keys, events.event_type)
      and events.occurred_at >= $from_at
      and events.occurred_at < $to_before
),

entries as (
    select
        journey_stages.lead_id,
        journey_stages.stage_order,
        journey_stages.entered_at,
        min(stage_events.team) as team
    from journey_stages
    inner join stage_events
        on stage_events.lead_id = journey_stages.lead_id
        and stage_events.stage_order = journey_stages.stage_order
        and stage_events.occurred_at = journey_stages.entered_at
    where journey_stages.entered_at >= $from_at
      and journey_stages.entered_at < $to_before
    group by journey_stages.lead_id, journey_stages.stage_order, journey_stages.entered_at
),

final as (
    select
        lead_id,
        stage_order,
        entered_at,
        team
    from entries
)

select * from final

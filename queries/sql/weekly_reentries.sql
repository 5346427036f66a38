-- Recycled leads coming back during one week: one row per (stage, owner team) with re-entries.
-- A re-entry is a stage event later than the lead's first entry into that stage: recycling,
-- never a second conversion. list_position() (DuckDB; array_position elsewhere) maps a stage
-- key to its 1-based order in $stage_keys.
-- Parameters: $start_at, $end_before (the week, Monday to Monday), $stage_keys (in order).

with

events as (select * from events),
journey_stages as (select * from journey_stages),

stage_events as (
    select
        lead_id,
        list_position($stage_keys, event_type) as stage_order,
        occurred_at
    from events
    where event_type = any($stage_keys)
      and occurred_at >= $start_at
      and occurred_at < $end_before
),

reentries as (
    select
        s.stage_order,
        coalesce(j.owner_team, 'unassigned') as owner_team,
        s.lead_id
    from stage_events as s
    inner join journey_stages as j
        on j.lead_id = s.lead_id
        and j.stage_order = s.stage_order
    where s.occurred_at > j.entered_at
),

final as (
    select
        stage_order,
        owner_team,
        count(*) as n_reentries,
        count(distinct lead_id) as n_leads
    from reentries
    group by stage_order, owner_team
)

select * from final
order by stage_order, owner_team

-- Handoff SLA breaches of one week: one row per handoff-stage entry (an MQL, first or
-- re-entry) whose SLA deadline fell in the week and that had not been acted on by then.
-- The deadline is the entry + $sla_minutes; the action is the lead's first later event that
-- moves it to a stage after the handoff or ends it with an exit ($action_types). acted_at is
-- null when nothing happened before $as_of (the end of the week): the MQL is still waiting.
-- hours_late counts from the deadline to the action, or to $as_of when there is none.
-- arg_min is DuckDB (min_by elsewhere).
-- Parameters: $handoff_stage (stage key), $action_types (later stage keys and exit keys),
--   $handoff_from, $handoff_before (the week moved back by the SLA, so that the deadline falls
--   in the week), $sla_minutes (int), $as_of (timestamp: the end of the week).

with

events as (select * from events),
leads as (select * from leads),
owners as (select * from owners),

handoffs as (
    select
        lead_id,
        occurred_at as handoff_at,
        occurred_at + $sla_minutes * interval 1 minute as deadline_at
    from events
    where event_type = $handoff_stage
      and occurred_at >= $handoff_from
      and occurred_at < $handoff_before
),

actions as (
    select
        h.lead_id,
        h.handoff_at,
        min(e.occurred_at) as acted_at,
        arg_min(e.event_type, e.occurred_at) as action_type
    from handoffs as h
    inner join events as e
        on e.lead_id = h.lead_id
        and e.occurred_at > h.handoff_at
        and e.occurred_at < $as_of
        and e.event_type = any($action_types)
    group by h.lead_id, h.handoff_at
),

breaches as (
    select
        h.lead_id,
        h.handoff_at,
        h.deadline_at,
        a.acted_at,
        a.action_type
    from handoffs as h
    left join actions as a
        on a.lead_id = h.lead_id
        and a.handoff_at = h.handoff_at
    where a.acted_at is null
       or a.acted_at > h.deadline_at
),

final as (
    select
        b.lead_id,
        l.lead_name,
        l.company,
        coalesce(l.owner_id, '') as owner_id,
        coalesce(o.owner_name, 'No owner') as owner_name,
        coalesce(o.team, 'unassigned') as owner_team,
        b.handoff_at,
        b.deadline_at,
        b.acted_at,
        b.action_type,
        b.acted_at is null as is_waiting,
        extract(epoch from (coalesce(b.acted_at, $as_of) - b.deadline_at)) / 3600.0 as hours_late
    from breaches as b
    left join leads as l on l.lead_id = b.lead_id
    left join owners as o on o.owner_id = l.owner_id
)

select * from final
order by owner_name, is_waiting desc, hours_late desc, lead_id

-- sla_first_actions(): the handoff SLA's first action and owner, as four CTEs over a CTE named
-- `handoffs` (one row per lead: lead_id, handoff_at, current_owner_id, current_owner_team) that
-- the including file defines first. The one definition behind the Teams page's handoff numbers
-- (teams_handoffs.sql) and the weekly meeting's breaches (weekly_sla_breaches.sql):
--   team_events     the events by $follow_team (the event's team, else its owner's) of those
--                   leads, by $as_of
--   first_actions   per lead, its first such event at or after handoff_at other than a
--                   handoff re-entry: first_action_at, first_action_type, first_action_reason
--                   (an accept is any stage move, a rejection or any other exit counts too)
--   team_owners     per lead, the owner on $follow_team's first event that names one
--   handoff_owners  per lead, that owner, else the lead's current owner when on $follow_team
--                   (null: unassigned)
-- Parameters: $as_of, $follow_team, $handoff_key.
team_events as (
    select
        events.lead_id,
        events.event_type,
        events.reason_code,
        events.occurred_at,
        events.owner_id,
        owners.team as owner_team
    from events
    left join owners on owners.owner_id = events.owner_id
    where events.occurred_at <= $as_of
      and coalesce(events.team, owners.team) = $follow_team
      and events.lead_id in (select lead_id from handoffs)
),

first_actions as (
    select
        handoffs.lead_id,
        min(team_events.occurred_at) as first_action_at,
        -- DuckDB's min_by: the type and reason of that first event
        arg_min(team_events.event_type, team_events.occurred_at) as first_action_type,
        arg_min(team_events.reason_code, team_events.occurred_at) as first_action_reason
    from handoffs
    inner join team_events
        on team_events.lead_id = handoffs.lead_id
        and team_events.occurred_at >= handoffs.handoff_at
        and team_events.event_type <> $handoff_key
    group by handoffs.lead_id
),

team_owners as (
    select
        lead_id,
        arg_min(owner_id, occurred_at) as owner_id
    from team_events
    where owner_id is not null and owner_team = $follow_team
    group by lead_id
),

handoff_owners as (
    select
        handoffs.lead_id,
        coalesce(
            team_owners.owner_id,
            case when handoffs.current_owner_team = $follow_team then handoffs.current_owner_id end
        ) as owner_id
    from handoffs
    left join team_owners on team_owners.lead_id = handoffs.lead_id
)

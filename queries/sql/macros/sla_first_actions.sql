-- sla_first_actions(): the handoff SLA's first action and owner, as three CTEs over a CTE named
-- `handoffs` (one row per lead: lead_id, handoff_at, current_owner_id, current_owner_team) that
-- the including file defines first, from journey_stages at $handoff_order (handoff_at: the
-- lead's first entry into the handoff stage), and over the import CTEs team_handoffs and
-- team_first_owners. The one definition behind the Teams page's handoff numbers
-- (teams_handoffs.sql) and the weekly meeting's breaches (weekly_sla_breaches.sql); the first
-- action itself is defined once, in data/team_layouts.sql (team_handoffs), at import, so no
-- query groups the raw events for it:
--   first_actions   per lead, the first event by $follow_team (the event's team, else its
--                   owner's) at or after handoff_at other than a handoff re-entry, when it
--                   happened by $as_of: first_action_at, first_action_type, first_action_reason
--                   (an accept is any stage move, a rejection or any other exit counts too)
--   team_owners     per lead, the owner on $follow_team's first event of its own (no event
--                   team, or the owner's) that names one of its owners, by $as_of
--   handoff_owners  per lead, that owner, else the lead's current owner when on $follow_team
--                   (null: unassigned)
-- Parameters: $as_of, $follow_team, $handoff_key.
first_actions as (
    select
        team_handoffs.lead_id,
        team_handoffs.first_action_at,
        team_handoffs.first_action_type,
        -- the first reason code given by $as_of (DuckDB's min_by skips a null reason)
        case
            when team_handoffs.first_reason_at <= $as_of then team_handoffs.first_action_reason
        end as first_action_reason
    from team_handoffs
    where team_handoffs.first_action_at <= $as_of
      and team_handoffs.handoff_key = $handoff_key
      and team_handoffs.follow_team = $follow_team
      and team_handoffs.lead_id in (select lead_id from handoffs)
),

team_owners as (
    select
        lead_id,
        own_owner_id as owner_id
    from team_first_owners
    where team = $follow_team
      and own_first_at <= $as_of
      and lead_id in (select lead_id from handoffs)
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

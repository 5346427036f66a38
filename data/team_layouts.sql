-- The Teams page's layouts (data/team_layouts.py): three small tables laid out for the page's
-- questions, rebuilt with the journeys so a page query reads them instead of grouping the raw
-- events. Each keeps the time a query needs to answer "as of $as_of" exactly: a query keeps a
-- row (or a value) only when its time is on or before its as-of date.
-- This file holds one statement per table, each after a line `-- table: <name>`; every one is a
-- plain select over events and owners (and journey_stages for the handoff), with bound
-- parameters only.
-- Parameters: $stage_keys, $exit_keys (the lead journeys' stages and exits); $handoff_order,
--   $handoff_key, $follow_team (the contract's handoff stage and the team owning the move out
--   of it; $handoff_order 0 when the journey has none: no rows); $recycle_exit (the key of
--   the contract's recycle exit; '' when it has none: no rows).

-- table: team_first_owners
-- One row per lead and owner team: the owner on that team's first event naming one of its
-- owners (first_owner_id, at first_at), and the same over the events the team made itself
-- (own_owner_id, own_first_at: no event team, or the owner's own), which is what the handoff's
-- owner reads (queries/sql/macros/sla_first_actions.sql). A team's first owner by $as_of is
-- this row's owner when its time is on or before $as_of, else there is none: any earlier
-- event would have been first.

with

events as (select * from events),

owners as (select * from owners),

owned as (
    select
        events.lead_id,
        owners.team,
        events.owner_id,
        events.occurred_at,
        coalesce(events.team, owners.team) = owners.team as is_own
    from events
    inner join owners on owners.owner_id = events.owner_id
    where owners.team is not null
),

final as (
    select
        lead_id,
        team,
        arg_min(owner_id, occurred_at) as first_owner_id,  -- DuckDB's min_by
        min(occurred_at) as first_at,
        arg_min(owner_id, occurred_at) filter (where is_own) as own_owner_id,
        min(occurred_at) filter (where is_own) as own_first_at
    from owned
    group by lead_id, team
)

select * from final;

-- table: team_handoffs
-- One row per lead with a row at the handoff stage in journey_stages: the follow-through team's
-- first event at or after the lead's first entry into the handoff stage (handoff_at) other than
-- a handoff re-entry (an accept, a rejection or any other exit; the event's team, else its
-- owner's): first_action_at, first_action_type, first_action_reason (the first reason code
-- among those events, given at first_reason_at), the one definition of the handoff's first
-- action (teams_drops.sql, the macro sla_first_actions). By $as_of it is that action when
-- first_action_at <= $as_of, else none yet; its reason when first_reason_at <= $as_of. exit_team: the team that made the
-- lead's final exit (the exit event's team, else its owner's; the largest key when several
-- events match), which tells Sales' own decision from a lead taken back.

with

journey_stages as (select * from journey_stages),

events as (select * from events),

owners as (select * from owners),

handoffs as (
    select
        lead_id,
        entered_at as handoff_at,
        final_exit_at,
        final_exit_type
    from journey_stages
    where stage_order = $handoff_order
),

lead_events as (
    select
        events.lead_id,
        events.event_type,
        events.reason_code,
        events.occurred_at,
        coalesce(events.team, owners.team) as actor_team
    from events
    left join owners on owners.owner_id = events.owner_id
    where events.lead_id in (select lead_id from handoffs)
),

first_actions as (
    select
        handoffs.lead_id,
        min(lead_events.occurred_at) as first_action_at,
        -- DuckDB's min_by: the type of that first event; min_by skips a null reason, so the
        -- reason is the first one given among these events, and first_reason_at says when
        -- (by $as_of the reason is known when first_reason_at <= $as_of)
        arg_min(lead_events.event_type, lead_events.occurred_at) as first_action_type,
        arg_min(lead_events.reason_code, lead_events.occurred_at) as first_action_reason,
        min(lead_events.occurred_at) filter (where lead_events.reason_code is not null)
            as first_reason_at
    from handoffs
    inner join lead_events
        on lead_events.lead_id = handoffs.lead_id
        and lead_events.occurred_at >= handoffs.handoff_at
        and lead_events.event_type <> $handoff_key
        and lead_events.actor_team = $follow_team
    group by handoffs.lead_id
),

exit_actors as (
    select
        handoffs.lead_id,
        max(lead_events.actor_team) as exit_team
    from handoffs
    inner join lead_events
        on lead_events.lead_id = handoffs.lead_id
        and lead_events.occurred_at = handoffs.final_exit_at
        and lead_events.event_type = handoffs.final_exit_type
    group by handoffs.lead_id
),

final as (
    select
        handoffs.lead_id,
        $handoff_key as handoff_key,
        $follow_team as follow_team,
        handoffs.handoff_at,
        first_actions.first_action_at,
        first_actions.first_action_type,
        first_actions.first_action_reason,
        first_actions.first_reason_at,
        exit_actors.exit_team
    from handoffs
    left join first_actions on first_actions.lead_id = handoffs.lead_id
    left join exit_actors on exit_actors.lead_id = handoffs.lead_id
)

select * from final;

-- table: team_positions
-- One row per lead and time of a stage event: the stage the lead sits in from `since` until
-- its next stage event (`until`, null: none yet) and the first exit at or after `since`
-- (next_exit_at). As of $as_of a lead sits in the row with since <= $as_of < until (its
-- latest stage event by then) and has not exited since when next_exit_at is null or later
-- than $as_of: the stalled list's position, without grouping the events per query. Two stage
-- events at the same time: the larger stage key.

with

events as (select * from events),

stage_events as (
    select
        lead_id,
        occurred_at as since,
        max(event_type) as stage_key
    from events
    where list_contains($stage_keys, event_type)
    group by lead_id, occurred_at
),

exit_events as (
    select
        lead_id,
        occurred_at
    from events
    where list_contains($exit_keys, event_type)
),

spans as (
    select
        lead_id,
        stage_key,
        since,
        lead(since) over (partition by lead_id order by since) as until
    from stage_events
),

final as (
    select
        spans.lead_id,
        spans.stage_key,
        spans.since,
        spans.until,
        exit_events.occurred_at as next_exit_at
    from spans
    -- the first exit at or after `since`
    asof left join exit_events
        on exit_events.lead_id = spans.lead_id
        and exit_events.occurred_at >= spans.since
)

select * from final;

-- table: team_recycles
-- One row per lead with an exit of type $recycle_exit and per stage it has an event of (one
-- row with a null stage_key when it has none): the lead's first recycle (recycled_at), the
-- first reason code given on its recycles (reason_code, given at first_reason_at), and per
-- stage whether the lead had entered it by the recycle (is_before: an event at or before
-- recycled_at) and its first event after it (first_after_at). As of $as_of the lead was
-- recycled when recycled_at <= $as_of, for the reason when first_reason_at <= $as_of, and had
-- come back to a stage when its first_after_at <= $as_of: what teams_recycled.sql counts, with
-- the stages' order joined at query time.

with

events as (select * from events),

recycles as (
    select
        lead_id,
        min(occurred_at) as recycled_at,
        -- DuckDB's min_by skips a null reason: the first reason given, at first_reason_at
        arg_min(reason_code, occurred_at) as reason_code,
        min(occurred_at) filter (where reason_code is not null) as first_reason_at
    from events
    where event_type = $recycle_exit
    group by lead_id
),

stage_visits as (
    select
        recycles.lead_id,
        events.event_type as stage_key,
        min(events.occurred_at) <= recycles.recycled_at as is_before,
        min(events.occurred_at) filter (where events.occurred_at > recycles.recycled_at) as first_after_at
    from recycles
    inner join events on events.lead_id = recycles.lead_id
    where list_contains($stage_keys, events.event_type)
    group by recycles.lead_id, recycles.recycled_at, events.event_type
),

final as (
    select
        recycles.lead_id,
        $recycle_exit as recycle_key,
        recycles.recycled_at,
        recycles.reason_code,
        recycles.first_reason_at,
        stage_visits.stage_key,
        stage_visits.is_before,
        stage_visits.first_after_at
    from recycles
    left join stage_visits on stage_visits.lead_id = recycles.lead_id
)

select * from final

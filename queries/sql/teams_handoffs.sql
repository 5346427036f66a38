-- Handoffs: one row per handed-over cohort lead, with how fast and how the follow-through team
-- acted on it. The one definition behind the handoff numbers: teams_handoff.sql counts these
-- rows and teams_handoff_leads.sql lists them (both read it with {{ ref('teams_handoffs') }});
-- the first action and the owner are the macro sla_first_actions, which the weekly meeting's
-- breaches (weekly_sla_breaches.sql) use too.
-- Population: cohort leads (cohort_funnel.sql's cohort and filters) that entered the handoff
-- stage with an event of their own, in time (entry(handoff) <= least(start + window, as of)).
-- First action: the first event of any kind by $follow_team (the event's team, else its
-- owner's) at or after that first handoff entry and by $as_of, other than a handoff re-entry:
-- an accept (any stage move), a rejection or any other exit. Response hours = first action -
-- handoff entry. SLA: within when response hours <= $sla_hours (exactly at the limit is
-- within); breached when later, or when there is no action and more than $sla_hours have
-- passed by $as_of; pending otherwise (no action yet, the clock still running).
-- Owner: the owner on $follow_team's first event for the lead, else the lead's current owner
-- when on that team (null: unassigned).
-- Columns: lead_id, channel, region, segment, start_at (the lead's, which the view's range and
--   list filters read: queries/cube.py keeps these rows whole), owner_id, owner_name,
--   handoff_at, first_action_at,
--   first_action_type, first_action_reason, response_hours (null: no action by $as_of),
--   hours_open (handoff to $as_of), sla_status (within, breached, pending), action_kind
--   (accepted, rejected, other, none), rejection_reason ('(no reason)' for a rejection without
--   a code; null: not a rejection).
-- Parameters: $start_at, $end_before, $as_of, $window_days, $is_strict, $channels, $regions,
--   $segments, $owners (as cohort_funnel.sql); $handoff_order, $handoff_key, $sla_hours,
--   $follow_team, $reject_exit (exit key of a rejection), $stage_keys.

with

journey_stages as (select * from journey_stages),

team_handoffs as (select * from team_handoffs),

team_first_owners as (select * from team_first_owners),

owners as (select * from owners),

handoffs as (
    select
        lead_id,
        channel,
        region,
        segment,
        start_at,
        entered_at as handoff_at,
        owner_id as current_owner_id,
        owner_team as current_owner_team
    from journey_stages
    where stage_order = $handoff_order
      and start_at >= $start_at
      and start_at < $end_before
      and start_at <= $as_of
      and {{ lead_filters() }}
      and (not $is_strict or has_first_entry)
      and (case when $is_strict then strict_at else entered_at end)
        <= least(start_at + $window, $as_of)
),

{{ sla_first_actions() }},

measured as (
    select
        handoffs.lead_id,
        handoffs.channel,
        handoffs.region,
        handoffs.segment,
        handoffs.start_at,
        handoff_owners.owner_id,
        date_diff('microsecond', handoffs.handoff_at, first_actions.first_action_at) / 3600e6
            as response_hours,
        date_diff('microsecond', handoffs.handoff_at, $as_of) / 3600e6 as hours_open,
        case
            when first_actions.first_action_at is null then 'none'
            when first_actions.first_action_type = $reject_exit then 'rejected'
            when list_contains($stage_keys, first_actions.first_action_type) then 'accepted'
            else 'other'
        end as action_kind,
        case
            when first_actions.first_action_type = $reject_exit
                then coalesce(first_actions.first_action_reason, '(no reason)')
        end as rejection_reason,
        handoffs.handoff_at,
        first_actions.first_action_at,
        first_actions.first_action_type,
        first_actions.first_action_reason
    from handoffs
    left join first_actions on first_actions.lead_id = handoffs.lead_id
    left join handoff_owners on handoff_owners.lead_id = handoffs.lead_id
),

statused as (
    select
        measured.*,
        case
            when response_hours <= $sla_hours then 'within'
            when response_hours > $sla_hours then 'breached'
            when hours_open > $sla_hours then 'breached'
            else 'pending'
        end as sla_status,
        owners.owner_name
    from measured
    left join owners on owners.owner_id = measured.owner_id
),

final as (
    select
        lead_id,
        channel,
        region,
        segment,
        start_at,
        owner_id,
        owner_name,
        handoff_at,
        first_action_at,
        first_action_type,
        first_action_reason,
        response_hours,
        hours_open,
        sla_status,
        action_kind,
        rejection_reason
    from statused
)

select * from final

-- Handoff SLA breach rows of one week: one row per lead whose handoff deadline fell in the week
-- and that Sales had not acted on within the SLA, without the lead's name and company: the one
-- definition of a breach, which weekly_sla_breaches.sql lists with them (read with
-- ref('weekly_sla_breach_rows')) and the SLA alert counts (queries/alerts.py), so the count
-- does not look up a million leads' names. The rules are teams_handoffs.sql's (the Teams
-- page): the first action and the owner are the one macro both use (sla_first_actions), so both
-- pages name the same breaches (a test checks it on a story):
--   * handoff: the lead's FIRST entry into the handoff stage (journey_stages.entered_at, in
--     its window); re-entries of recycled leads start no new clock;
--   * first action: the first event of any kind by $follow_team (the event's team, else its
--     owner's) at or after the handoff and by $as_of, other than a handoff re-entry;
--   * breached: first action more than $sla_hours after the handoff, or no action and more
--     than $sla_hours gone by $as_of (exactly at the limit is within);
--   * owner: the owner on $follow_team's first event for the lead, else the lead's current
--     owner when on that team (null: no owner).
-- The week: the deadline (handoff + $sla_hours) falls in [$deadline_from, $deadline_before);
-- $as_of is the week's last instant (Sunday 23:59:59.999999), as the meeting saw it.
-- hours_late counts from the deadline to the action, or to $deadline_before when there is none.
-- arg_min is DuckDB (min_by elsewhere).
-- Parameters: $handoff_order, $handoff_key, $follow_team, $sla_hours (as teams_handoff.sql),
--   $window, $is_strict (the contract's window and skip policy), $deadline_from,
--   $deadline_before (the week, Monday to Monday), $as_of.

with

journey_stages as (select * from journey_stages),

team_handoffs as (select * from team_handoffs),

team_first_owners as (select * from team_first_owners),

owners as (select * from owners),

handoffs as (
    select
        lead_id,
        entered_at as handoff_at,
        entered_at + $sla as deadline_at,
        owner_id as current_owner_id,
        owner_team as current_owner_team
    from journey_stages
    where stage_order = $handoff_order
      and entered_at + $sla >= $deadline_from
      and entered_at + $sla < $deadline_before
      and (not $is_strict or has_first_entry)
      and (case when $is_strict then strict_at else entered_at end)
        <= least(start_at + $window, $as_of)
),

{{ sla_first_actions() }},

measured as (
    select
        handoffs.lead_id,
        handoff_owners.owner_id,
        handoffs.handoff_at,
        handoffs.deadline_at,
        first_actions.first_action_at as acted_at,
        first_actions.first_action_type as action_type,
        date_diff('microsecond', handoffs.handoff_at, first_actions.first_action_at) / 3600e6
            as response_hours,
        date_diff('microsecond', handoffs.handoff_at, $as_of) / 3600e6 as hours_open
    from handoffs
    left join first_actions on first_actions.lead_id = handoffs.lead_id
    left join handoff_owners on handoff_owners.lead_id = handoffs.lead_id
),

breaches as (
    select *
    from measured
    where response_hours > $sla_hours
       or (response_hours is null and hours_open > $sla_hours)
),

final as (
    select
        breaches.lead_id,
        coalesce(breaches.owner_id, '') as owner_id,
        coalesce(owners.owner_name, 'No owner') as owner_name,
        coalesce(owners.team, 'unassigned') as owner_team,
        breaches.handoff_at,
        breaches.deadline_at,
        breaches.acted_at,
        breaches.action_type,
        breaches.acted_at is null as is_waiting,
        date_diff('microsecond', breaches.deadline_at, coalesce(breaches.acted_at, $deadline_before))
            / 3600e6 as hours_late
    from breaches
    left join owners on owners.owner_id = breaches.owner_id
)

select * from final

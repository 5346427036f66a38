-- Dropped cohort leads, charged and classified: one row per dropped lead (docs/design.md "Drop-off
-- and who owns it"). The one definition of a drop: teams_leakage.sql counts these rows and
-- teams_drop_leads.sql lists them; both read this file with
-- ref('teams_drops') (queries/sql_refs.py), so the counts and the lists can never disagree.
-- The cohort, "reached in time", window, as-of and skip-policy semantics are cohort_funnel.sql's,
-- so the rows per stage equal cohort_funnel's n_dropped for the same filters.
-- The blame rule (the contract's sla_rule, bound as $is_breach_first):
--   * Unanswered handoff, under either rule: a drop at the handoff stage whose $follow_team
--     first event after the handoff entry came later than $sla_hours (or not by $as_of), and
--     whose exit (if any) was not $follow_team's own decision, is charged to $follow_team as
--     no_action_in_sla whatever its reason code.
--   * A late decision: $follow_team's own exit of a handoff-stage drop, later than the SLA. With
--     $is_breach_first (sla_rule = "breach", the default) it is charged to $follow_team like
--     any breach; otherwise (sla_rule = "reason") its reason code decides. A late rejection (an
--     exit in $quality_exits for a reason charged to $quality_team) is both an SLA breach and a
--     quality signal: it keeps a loss kind of its own, late_rejection, whichever team it is
--     charged to.
--   * Every other drop is charged to the owner of its transition ($stage_rows), unless the
--     reason code of its exit (by $as_of) is charged to a team in the contract ($reason_rows).
-- Where the SLA is not measured, $handoff_order is 0: no drop is late, nothing is charged for it.
-- Loss kind, first match wins:
--   no_action_in_sla  the unanswered handoff above (no action while it waited past the SLA)
--   late_rejection    the late rejection above (charged by the rule)
--   quality           exit in $quality_exits for a reason charged to $quality_team
--   no_action_in_sla  charged to $follow_team, at the handoff stage, first action later than
--                     the SLA (the follow-through team's own late exit)
--   sales_reason      charged to $follow_team, exited for a reason charged to $follow_team
--   stalled           no exit; the window ran out after more than the stage's expected days
--   window_ended      no exit; the window ran out before the stage's expected days had passed
--   other_exit        any other exit (a reason charged elsewhere, unknown or missing)
-- Drop owner: the owner on the charged team's first event for the lead, else the lead's current
-- owner when on that team (null: unassigned).
-- group_value: the lead attribute named by $by (null: one group), mapped by the allow-list below.
-- Columns: group_value, lead_id, channel, region, segment, stage_order, transition_team,
--   charged_team, loss_kind, owner_id, owner_name, start_at, stage_reached_at, first_action_at
--   (handoff-stage drops), exit_at, exit_type, exit_reason (null without an exit by $as_of),
--   days_in_stage.
-- Parameters: $start_at, $end_before, $as_of, $window_days, $is_strict, $channels, $regions,
--   $segments, $owners, $by (as cohort_funnel.sql); $n_stages; $stage_rows (one per stage:
--   stage_order, transition_team, expected_days; team and days null where not set);
--   $reason_rows (one per reason code: reason_code, reason_team; teams.contract_params);
--   $handoff_order, $handoff_key, $sla_hours; $is_breach_first
--   (bool: the contract's sla_rule is "breach"); $quality_exits (list of exit keys);
--   $quality_team, $follow_team (team keys).

with

journey_stages as (select * from journey_stages),

team_handoffs as (select * from team_handoffs),

team_first_owners as (select * from team_first_owners),

owners as (select * from owners),

stages as (
    select
        stage_row.stage_order,
        stage_row.transition_team,
        stage_row.expected_days
    from (select unnest($stage_rows) as stage_row) as stage_rows
),

reasons as (
    select
        reason_row.reason_code,
        reason_row.reason_team
    from (select unnest($reason_rows) as reason_row) as reason_rows
),

cohort as (
    select
        {{ group_value() }} as group_value,
        lead_id,
        channel,
        region,
        segment,
        start_at,
        stage_order,
        entered_at,
        case when $is_strict then strict_at else reached_at end as reached_k_at,
        case when $is_strict then strict_at else reached_at end <= least(
            start_at + $window, $as_of
        ) as is_reached,
        coalesce(
            case when $is_strict then strict_next_at else next_reached_at end
                <= least(start_at + $window, $as_of),
            false
        ) as is_reached_next,
        coalesce(final_exit_at <= $as_of, false) as has_exit,
        start_at + $window < $as_of as is_window_over,
        least(start_at + $window, $as_of) as cutoff,
        final_exit_at,
        final_exit_type,
        final_exit_reason,
        owner_id as current_owner_id,
        owner_team as current_owner_team
    from journey_stages
    where start_at >= $start_at
      and start_at < $end_before
      and start_at <= $as_of
      and {{ lead_filters() }}
      and (not $is_strict or has_first_entry)
),

drops as (
    select
        cohort.*,
        stages.transition_team,
        stages.expected_days,
        case when has_exit then reasons.reason_team end as reason_team,
        coalesce(case when has_exit then reasons.reason_team end, stages.transition_team)
            as charged_by_reason,
        date_diff('microsecond', reached_k_at, cutoff) / 86400e6 as days_in_stage
    from cohort
    inner join stages on stages.stage_order = cohort.stage_order
    left join reasons on reasons.reason_code = cohort.final_exit_reason
    where is_reached
      and not is_reached_next
      and (is_window_over or has_exit)
      and cohort.stage_order < $n_stages
),

-- The follow-through team's first event after the handoff entry (accept, reject or any move)
-- and who made the exit that ended a handoff-stage drop: data/team_layouts.sql defines both
-- (team_handoffs); by $as_of the action counts when it happened by then, and the exit is the
-- lead's final exit, by then when the drop has one.
handoff_facts as (
    select
        drops.lead_id,
        case
            when team_handoffs.first_action_at <= $as_of then team_handoffs.first_action_at
        end as first_action_at,
        case when drops.has_exit then team_handoffs.exit_team end as exit_team
    from drops
    inner join team_handoffs
        on team_handoffs.lead_id = drops.lead_id
        and team_handoffs.handoff_key = $handoff_key
        and team_handoffs.follow_team = $follow_team
    where drops.stage_order = $handoff_order
),

-- The SLA is checked before any reason code. is_late: a handoff-stage drop whose first
-- follow-through action came later than the SLA (or never, and the lead was still waiting when
-- the SLA ran out). is_not_own_exit: its exit, if any, was not the follow-through team's own.
sla_checked as (
    select
        drops.*,
        handoff_facts.first_action_at,
        coalesce(
            drops.stage_order = $handoff_order
            and drops.transition_team = $follow_team
            -- no action: the clock runs until the exit (or the end of the window), so an MQL
            -- taken back within the SLA was never Sales' to answer
            and date_diff(
                'microsecond',
                drops.entered_at,
                coalesce(
                    handoff_facts.first_action_at,
                    case when drops.has_exit then drops.final_exit_at else drops.cutoff end
                )
            ) / 3600e6 > $sla_hours,
            false
        ) as is_late,
        coalesce(handoff_facts.exit_team, '') <> $follow_team as is_not_own_exit
    from drops
    left join handoff_facts on handoff_facts.lead_id = drops.lead_id
),

-- The contract's blame rule: an unanswered handoff is always the follow-through team's; its own
-- late decision is too when the breach comes first ($is_breach_first), else its reason decides.
charged as (
    select
        sla_checked.*,
        case
            when is_late and (is_not_own_exit or $is_breach_first) then $follow_team
            else charged_by_reason
        end as charged_team,
        is_late and is_not_own_exit as is_unanswered,
        coalesce(
            is_late
            and not is_not_own_exit
            and has_exit
            and list_contains($quality_exits, final_exit_type)
            and reason_team = $quality_team,
            false
        ) as is_late_rejection
    from sla_checked
),

-- Each team's first owner of the lead by $as_of (data/team_layouts.sql: team_first_owners).
team_owners as (
    select
        lead_id,
        team,
        first_owner_id as owner_id
    from team_first_owners
    where first_at <= $as_of
      and lead_id in (select lead_id from drops)
),

classified as (
    select
        charged.group_value,
        charged.lead_id,
        charged.channel,
        charged.region,
        charged.segment,
        charged.start_at,
        charged.stage_order,
        charged.transition_team,
        charged.charged_team,
        charged.reached_k_at,
        charged.has_exit,
        charged.final_exit_at,
        charged.final_exit_type,
        charged.final_exit_reason,
        charged.days_in_stage,
        charged.first_action_at,
        case
            when charged.is_unanswered then 'no_action_in_sla'
            when charged.is_late_rejection then 'late_rejection'
            when charged.has_exit
                and list_contains($quality_exits, charged.final_exit_type)
                and charged.reason_team = $quality_team
                then 'quality'
            when charged.charged_team = $follow_team and charged.is_late then 'no_action_in_sla'
            when charged.charged_team = $follow_team and charged.reason_team = $follow_team
                then 'sales_reason'
            when not charged.has_exit and charged.days_in_stage > charged.expected_days then 'stalled'
            when not charged.has_exit then 'window_ended'
            else 'other_exit'
        end as loss_kind,
        coalesce(
            team_owners.owner_id,
            case when charged.current_owner_team = charged.charged_team then charged.current_owner_id end
        ) as owner_id
    from charged
    left join team_owners
        on team_owners.lead_id = charged.lead_id
        and team_owners.team = charged.charged_team
),

final as (
    select
        classified.group_value,
        classified.lead_id,
        classified.channel,
        classified.region,
        classified.segment,
        classified.stage_order,
        classified.transition_team,
        classified.charged_team,
        classified.loss_kind,
        classified.owner_id,
        owners.owner_name,
        classified.start_at,
        classified.reached_k_at as stage_reached_at,
        classified.first_action_at,
        case when classified.has_exit then classified.final_exit_at end as exit_at,
        case when classified.has_exit then classified.final_exit_type end as exit_type,
        case when classified.has_exit then classified.final_exit_reason end as exit_reason,
        classified.days_in_stage
    from classified
    left join owners on owners.owner_id = classified.owner_id
)

select * from final

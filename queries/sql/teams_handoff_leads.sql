-- Handoff drill-down: one row per handed-over cohort lead behind the handoff numbers, with
-- its response time, SLA status, first action and owner; filtered to one owner and/or SLA
-- status, slowest first. The logic up to `statused` is teams_handoff.sql's, line for line (a
-- test checks that the rows here add up to the counts there).
-- Parameters: as teams_handoff.sql, plus $sel_owner_id, $sel_status ('within', 'breached',
--   'pending'; null = any) and $limit_rows (rows returned; n_total counts all).

with

journey_stages as (select * from journey_stages),

journey_leads as (select * from journey_leads),

events as (select * from events),

owners as (select * from owners),

handoffs as (
    select
        lead_id,
        entered_at as handoff_at,
        owner_id as current_owner_id,
        owner_team as current_owner_team
    from journey_stages
    where stage_order = $handoff_order
      and start_at >= $start_at
      and start_at < $end_before
      and start_at <= $as_of
      and ($channels is null or channel = any($channels))
      and ($regions is null or region = any($regions))
      and ($segments is null or segment = any($segments))
      and ($owners is null or owner_id = any($owners))
      and (not $is_strict or has_first_entry)
      and (case when $is_strict then strict_at else entered_at end)
        <= least(start_at + $window_days * interval 1 day, $as_of)
),

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

measured as (
    select
        handoffs.lead_id,
        coalesce(
            team_owners.owner_id,
            case when handoffs.current_owner_team = $follow_team then handoffs.current_owner_id end
        ) as owner_id,
        extract(epoch from (first_actions.first_action_at - handoffs.handoff_at)) / 3600.0
            as response_hours,
        extract(epoch from ($as_of - handoffs.handoff_at)) / 3600.0 as hours_open,
        case
            when first_actions.first_action_at is null then 'none'
            when first_actions.first_action_type = $reject_exit then 'rejected'
            when first_actions.first_action_type = any($stage_keys) then 'accepted'
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
    left join team_owners on team_owners.lead_id = handoffs.lead_id
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
        statused.lead_id,
        journey_leads.channel,
        statused.owner_id,
        statused.owner_name,
        statused.handoff_at,
        statused.first_action_at,
        statused.first_action_type,
        statused.first_action_reason,
        statused.response_hours,
        statused.hours_open,
        statused.sla_status,
        statused.action_kind,
        count(*) over () as n_total
    from statused
    inner join journey_leads on journey_leads.lead_id = statused.lead_id
    where ($sel_owner_id is null or statused.owner_id = $sel_owner_id)
      and ($sel_status is null or statused.sla_status = $sel_status)
)

select * from final
order by coalesce(response_hours, 1e12) desc, handoff_at, lead_id
limit $limit_rows

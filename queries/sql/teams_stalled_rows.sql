-- Stalled leads: one row per lead that, as of $as_of, sits in a stage longer than the stage's
-- expected days (funnel.toml) without an exit. The one definition behind the weekly meeting's
-- action list (teams_stalled.sql selects, counts and lists these rows, read with
-- {{ ref('teams_stalled_rows') }}).
-- Current stage: the stage of the lead's latest stage event by $as_of (a recycled lead that
-- came back is in the stage it re-entered), since that event's time. Not exited: no exit by
-- $as_of at or after that event. Positions and first owners are read from the layouts of
-- data/team_layouts.sql (team_positions, team_first_owners), not grouped from the events per
-- query. Only leads still in progress (start + $window on or after $as_of) are listed:
-- a lead past its window has already dropped (leakage, "stalled").
-- The last stage and stages without expected days never stall.
-- Owner: the owner on the transition team's first event for the lead (by $as_of), else the
-- lead's current owner when on that team.
-- Attribute filters apply; no date range does (every lead in play is a row).
-- Columns: lead_id, channel, region, segment, start_at (the lead's), stage_order, stage_key,
--   team (owning the next move), owner_id, stage_since, expected_days, days_in_stage, days_over.
-- Parameters: $as_of, $window_days, $channels, $regions, $segments, $owners (as
--   cohort_funnel.sql); $stage_rows (one per stage: stage_order, stage_key, transition_team,
--   expected_days; teams.contract_params).

with

journey_leads as (select * from journey_leads),

team_positions as (select * from team_positions),

team_first_owners as (select * from team_first_owners),

stages as (
    select
        stage_row.stage_order,
        stage_row.stage_key,
        stage_row.transition_team,
        stage_row.expected_days
    from (select unnest($stage_rows) as stage_row) as stage_rows
),

in_play as (
    select
        lead_id,
        start_at,
        channel,
        region,
        segment,
        owner_id as current_owner_id,
        owner_team as current_owner_team
    from journey_leads
    where start_at <= $as_of
      -- start + window on or after the as-of, written on start_at alone so the range skips
      -- row groups (journey_leads is sorted by start)
      and start_at >= $as_of - $window
      and {{ lead_filters() }}
),

-- Each lead's position as of $as_of (data/team_layouts.sql: team_positions): the stage of its
-- latest stage event by then, since that event, when no exit came at or after it by then.
positions as (
    select
        team_positions.lead_id,
        team_positions.stage_key,
        team_positions.since as stage_since
    from team_positions
    inner join in_play on in_play.lead_id = team_positions.lead_id
    where team_positions.since <= $as_of
      and (team_positions.until is null or team_positions.until > $as_of)
      and (team_positions.next_exit_at is null or team_positions.next_exit_at > $as_of)
),

-- Each team's first owner of the lead by $as_of (team_first_owners).
team_owners as (
    select
        lead_id,
        team,
        first_owner_id as owner_id
    from team_first_owners
    where first_at <= $as_of
),

stalled as (
    select
        positions.lead_id,
        stages.stage_order,
        stages.stage_key,
        stages.transition_team,
        stages.expected_days,
        positions.stage_since,
        date_diff('microsecond', positions.stage_since, $as_of) / 86400e6 as days_in_stage
    from positions
    inner join stages on stages.stage_key = positions.stage_key
    where stages.transition_team is not null
      and stages.expected_days is not null
      and date_diff('microsecond', positions.stage_since, $as_of) / 86400e6 > stages.expected_days
),

final as (
    select
        stalled.lead_id,
        in_play.channel,
        in_play.region,
        in_play.segment,
        in_play.start_at,
        stalled.stage_order,
        stalled.stage_key,
        stalled.transition_team as team,
        coalesce(
            team_owners.owner_id,
            case when in_play.current_owner_team = stalled.transition_team then in_play.current_owner_id end
        ) as owner_id,
        stalled.stage_since,
        stalled.expected_days,
        stalled.days_in_stage,
        stalled.days_in_stage - stalled.expected_days as days_over
    from stalled
    inner join in_play on in_play.lead_id = stalled.lead_id
    left join team_owners
        on team_owners.lead_id = stalled.lead_id
        and team_owners.team = stalled.transition_team
)

select * from final

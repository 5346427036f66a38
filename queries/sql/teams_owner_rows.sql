-- Per-owner conversion rows: one row per (cohort lead, team) at each end of the span of moves
-- the team owns (first_order and last_order, see below), for the leads the team handled, with
-- the owner the lead is attributed to. The one definition of who handled what: teams_owners.sql
-- counts these rows and the owners' rollup (cube_owner_rows.sql) counts them per day and
-- attribute; both read this file with ref('teams_owner_rows') (queries/sql_refs.py).
-- The span of a team runs from its first owned stage (first_order) to the stage after its last
-- owned one (last_order + 1). A lead was handled by the team when it entered first_order itself,
-- in time (a lead that skipped the team's first stage, such as a Sales-sourced lead that began
-- at SQL, was not); it converted when it reached last_order + 1 in time (cohort_funnel.sql's
-- cohort, filters, window, as-of and skip policy).
-- A lead's owner for a team: the owner on that team's first event for the lead (by $as_of),
-- else the lead's current owner when on that team; null when the team never had it.
-- Columns: stage_order, first_order, last_order, transition_team, owner_id, is_reached,
--   is_reached_next, start_at, channel, region, segment.
-- Parameters: $start_at, $end_before, $as_of, $window_days, $is_strict, $channels, $regions,
--   $segments, $owners (as cohort_funnel.sql); $stage_rows (one per stage: stage_order and
--   transition_team, the team owning k -> k+1, null for the last stage; teams.contract_params).

with

journey_stages as (select * from journey_stages),

team_first_owners as (select * from team_first_owners),

stages as (
    select
        stage_row.stage_order,
        stage_row.transition_team
    from (select unnest($stage_rows) as stage_row) as stage_rows
),

spans as (
    select
        transition_team,
        min(stage_order) as first_order,
        max(stage_order) as last_order
    from stages
    where transition_team is not null
    group by transition_team
),

cohort as (
    select
        journey_stages.lead_id,
        journey_stages.stage_order,
        stages.transition_team,
        spans.first_order,
        spans.last_order,
        coalesce(
            case when $is_strict then strict_at else reached_at end
                <= least(start_at + $window, $as_of),
            false
        ) as is_reached,
        coalesce(
            case when $is_strict then strict_next_at else next_reached_at end
                <= least(start_at + $window, $as_of),
            false
        ) as is_reached_next,
        -- The lead's own entry into the stage, in time: only then did the team handle it there
        -- (a lead that skipped the stage, such as a Sales-sourced one, was never the team's).
        coalesce(
            journey_stages.entered_at <= least(start_at + $window, $as_of),
            false
        ) as is_entered,
        journey_stages.owner_id as current_owner_id,
        journey_stages.owner_team as current_owner_team,
        journey_stages.start_at,
        journey_stages.channel,
        journey_stages.region,
        journey_stages.segment
    from journey_stages
    inner join stages on stages.stage_order = journey_stages.stage_order
    inner join spans on spans.transition_team = stages.transition_team
    -- Only the two ends of each span are counted: fewer rows to attribute.
    where journey_stages.stage_order in (spans.first_order, spans.last_order)
      and start_at >= $start_at
      and start_at < $end_before
      and start_at <= $as_of
      and {{ lead_filters('journey_stages') }}
      and (not $is_strict or has_first_entry)
),

-- Each team's first owner of the lead by $as_of (data/team_layouts.sql: team_first_owners).
team_owners as (
    select
        lead_id,
        team,
        first_owner_id as owner_id
    from team_first_owners
    where first_at <= $as_of
      and lead_id in (select lead_id from cohort)
),

-- Leads the team handled: their own entry into the span's first stage (one row per lead, team).
handled as (
    select
        lead_id,
        transition_team
    from cohort
    where stage_order = first_order
      and is_reached
      and is_entered
),

attributed as (
    select
        cohort.stage_order,
        cohort.first_order,
        cohort.last_order,
        cohort.transition_team,
        coalesce(
            team_owners.owner_id,
            case when cohort.current_owner_team = cohort.transition_team then cohort.current_owner_id end
        ) as owner_id,
        cohort.is_reached,
        cohort.is_reached_next,
        cohort.start_at,
        cohort.channel,
        cohort.region,
        cohort.segment
    from cohort
    inner join handled
        on handled.lead_id = cohort.lead_id
        and handled.transition_team = cohort.transition_team
    left join team_owners
        on team_owners.lead_id = cohort.lead_id
        and team_owners.team = cohort.transition_team
    where cohort.is_reached
)

select * from attributed

-- Recycled lead rows: one row per (recycled cohort lead, reason of its first recycle) with what
-- happened after, and the lead's start and attributes. The one definition of a recycled lead,
-- which teams_recycled.sql counts (read with ref('teams_recycled_rows')); kept whole per store
-- version by queries/cube.py (ROWS) for the views at the latest date, which take the rows of
-- their range and list filters (cube_lead_rows.sql).
-- Population: cohort leads (cohort_funnel.sql's cohort and filters) with an exit of type
-- $recycle_exit by $as_of. Per lead, its first recycle: the reason on it ('(no reason)' when
-- none was given by $as_of); order_before, the furthest stage it had entered before it;
-- order_after, the furthest stage it entered after it, by $as_of (null: it did not come back).
-- Returns are not bounded by the conversion window: a lead may come back from nurture a year
-- later.
-- Read from team_recycles (data/team_layouts.sql), which keeps each recycled lead's first
-- recycle and per stage its entry before and first event after, with their times, so these are
-- the lead's events up to $as_of without grouping the events.
-- Parameters: $start_at, $end_before, $as_of, $is_strict, $channels, $regions, $segments,
--   $owners (as cohort_funnel.sql); $recycle_exit (exit key); $stage_rows (one per stage:
--   stage_key, stage_order; teams.contract_params).

with

journey_leads as (select * from journey_leads),

team_recycles as (select * from team_recycles),

stages as (
    select
        stage_row.stage_key,
        stage_row.stage_order
    from (select unnest($stage_rows) as stage_row) as stage_rows
),

cohort as (
    select lead_id, start_at, channel, region, segment, owner_id
    from journey_leads
    where start_at >= $start_at
      and start_at < $end_before
      and start_at <= $as_of
      and {{ lead_filters() }}
      and (not $is_strict or has_first_entry)
),

recycled_stages as (
    select
        team_recycles.lead_id,
        -- the first reason given on the lead's recycles by $as_of
        case when team_recycles.first_reason_at <= $as_of then team_recycles.reason_code end as reason_code,
        case when team_recycles.is_before then stages.stage_order end as order_before,
        case when team_recycles.first_after_at <= $as_of then stages.stage_order end as order_after,
        cohort.start_at,
        cohort.channel,
        cohort.region,
        cohort.segment,
        cohort.owner_id
    from team_recycles
    inner join cohort on cohort.lead_id = team_recycles.lead_id
    left join stages on stages.stage_key = team_recycles.stage_key
    where team_recycles.recycle_key = $recycle_exit
      and team_recycles.recycled_at <= $as_of
),

final as (
    select
        lead_id,
        coalesce(reason_code, '(no reason)') as reason_code,
        max(order_before) as order_before,
        max(order_after) as order_after,
        -- One lead's own, on each of its rows.
        any_value(start_at) as start_at,
        any_value(channel) as channel,
        any_value(region) as region,
        any_value(segment) as segment,
        any_value(owner_id) as owner_id
    from recycled_stages
    group by lead_id, reason_code
)

select * from final

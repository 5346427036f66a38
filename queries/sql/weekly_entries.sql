-- Stage entries per ISO week: one row per (week, stage, owner team) with at least one entry.
-- An entry is a lead's first event for the stage (journey_stages.entered_at): a lead counts
-- once per stage, ever; re-entries (recycled leads coming back) are in weekly_reentries.
-- Weeks are ISO weeks starting Monday 00:00 UTC (DuckDB's date_trunc('week', ...) is ISO).
-- owner_team is the team of the lead's current owner ('unassigned' when it has none).
-- Parameters: $from_at (Monday 00:00 of the first week), $to_before (Monday 00:00 after the
--   last week).

with

journey_stages as (select * from journey_stages),

entries as (
    select
        cast(date_trunc('week', entered_at) as date) as week_start,
        stage_order,
        coalesce(owner_team, 'unassigned') as owner_team
    from journey_stages
    where entered_at >= $from_at
      and entered_at < $to_before
),

final as (
    select
        week_start,
        stage_order,
        owner_team,
        count(*) as n_entries
    from entries
    group by week_start, stage_order, owner_team
)

select * from final
order by week_start, stage_order, owner_team

-- Stage entries per ISO week: one row per (week, stage, team) with at least one entry, the
-- entries of weekly_entry_rows.sql (read with ref('weekly_entry_rows'), where an entry and its
-- team are defined) counted per week (ISO weeks from Monday 00:00 UTC: DuckDB's
-- date_trunc('week', ...) is ISO).
-- Parameters: those of weekly_entry_rows.sql.

with

entries as (
    select * from {{ ref('weekly_entry_rows') }}
),

weeks as (
    select
        cast(date_trunc('week', entered_at) as date) as week_start,
        stage_order,
        team
    from entries
),

final as (
    select
        week_start,
        stage_order,
        team,
        count(*) as n_entries
    from weeks
    group by week_start, stage_order, team
)

select * from final
order by week_start, stage_order, team

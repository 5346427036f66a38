-- Entry rollup rows: one row per (entry day, stage, team) over the whole store: the entries of
-- weekly_entry_rows.sql (read with ref('weekly_entry_rows'), where an entry is defined)
-- counted as weekly_entries.sql counts them, per day. An entry and the team on its event never
-- depend on the as-of date or a range, so the entries of any weeks are the days' rows summed
-- (cube_weekly_entries.sql). Built by queries/cube.py (HISTORY) and kept in memory per store
-- version.
-- Parameters: those of weekly_entry_rows.sql ($from_at, $to_before: the whole store).

with

entries as (
    select * from {{ ref('weekly_entry_rows') }}
),

final as (
    select
        cast(entered_at as date) as day,
        stage_order,
        team,
        count(*) as n_entries
    from entries
    group by cast(entered_at as date), stage_order, team
)

select * from final

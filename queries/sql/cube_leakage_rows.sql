-- Leakage rollup rows: one row per (start day, channel, region, segment, transition, charged
-- team, loss kind, drop owner) of the cohort's drops over the whole store: the rows of
-- teams_drops.sql, as teams_leakage.sql counts them, kept apart by what the rollup's views
-- filter and break down by. Built by queries/cube.py and kept in memory per store version;
-- cube_leakage.sql sums them. Every count is one dropped lead's, so a sum over rows is the
-- count over their leads. Read from the drops kept whole per store version (queries/cube.py
-- ROWS and DERIVED: the rows of teams_drops.sql over the whole store, $by null, read here as
-- `drop_rows`), which the Teams page's lists of dropped leads read too, so the drops are
-- computed once for both.
-- Parameters: none (those of teams_drops.sql are fixed in the kept drops).

with

drops as (
    select * from drop_rows
),

final as (
    select
        cast(start_at as date) as day,
        channel,
        region,
        segment,
        -- No owner: the rollups answer only views without an owner filter (queries/cube.py),
        -- so the list filters' macro reads this as "every owner". The drop owner is its own
        -- column.
        cast(null as varchar) as owner_id,
        stage_order,
        charged_team,
        loss_kind,
        owner_id as drop_owner_id,
        owner_name,
        count(*) as n_dropped
    from drops
    group by
        cast(start_at as date),
        channel,
        region,
        segment,
        stage_order,
        charged_team,
        loss_kind,
        owner_id,
        owner_name
)

select * from final

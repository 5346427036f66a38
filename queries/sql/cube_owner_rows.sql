-- Owners' rollup rows: one row per (start day, channel, region, segment, attributed owner, team,
-- span) over the whole store: the counts of teams_owner_rows.sql (read with
-- ref('teams_owner_rows')), as teams_owners.sql counts them, kept apart by what the rollup's
-- views filter by. Built by queries/cube.py and kept in memory per store version;
-- cube_owners.sql sums them. Every count is one lead's, so a sum over rows is the count over
-- their leads.
-- Parameters: those of teams_owner_rows.sql.

with

attributed as (
    select * from {{ ref('teams_owner_rows') }}
),

final as (
    select
        cast(start_at as date) as day,
        channel,
        region,
        segment,
        -- No owner: the rollups answer only views without an owner filter (queries/cube.py),
        -- so the list filters' macro reads this as "every owner". The owner the lead is
        -- attributed to is its own column.
        cast(null as varchar) as owner_id,
        owner_id as handler_id,
        transition_team,
        first_order,
        last_order,
        count(*) filter (where stage_order = first_order) as n_handled,
        count(*) filter (where stage_order = last_order and is_reached_next) as n_converted
    from attributed
    group by
        cast(start_at as date),
        channel,
        region,
        segment,
        owner_id,
        transition_team,
        first_order,
        last_order
)

select * from final

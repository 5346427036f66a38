-- Flow rollup rows: one row per (entry day, channel, region, segment, stage) over the whole
-- store: the rows of flow_rows.sql (read with ref('flow_rows')) counted as flow_funnel.sql
-- counts them, kept apart by what the rollup's views filter and break down by. Built by
-- queries/cube.py and kept in memory per store version; cube_flow.sql sums them.
-- Parameters: those of flow_rows.sql ($by null), $n_stages.

with

flow as (
    select * from {{ ref('flow_rows') }}
),

final as (
    select
        entry_day as day,
        channel,
        region,
        segment,
        -- No owner: the rollups answer only views without an owner filter (queries/cube.py),
        -- so the list filters' macro reads this as "every owner".
        cast(null as varchar) as owner_id,
        stage_order,
        count(*) filter (where is_first) as n_entries,
        count(*) filter (where not is_first) as n_events,
        coalesce(sum(won_amount) filter (where is_first and stage_order = $n_stages), 0) as revenue
    from flow
    group by entry_day, channel, region, segment, stage_order
)

select * from final

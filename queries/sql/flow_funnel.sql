-- Flow funnel: one row per (group, stage): entries to each stage during [$start_at, $end_before),
-- whoever the leads are and whenever they started (flow_rows.sql, read with ref('flow_rows')).
-- Ratios between stages compare different leads, so the page labels this view as flow.
--   n_entries    first entries into the stage in the range (a lead counts once per stage)
--   n_reentries  later entries in the range by leads already in the stage before (recycling)
--   revenue      won amounts of first entries into the last stage in the range
-- A (group, stage) is listed when the range holds a stage event of its records for it.
-- Parameters: those of flow_rows.sql, $n_stages.

with

flow as (
    select * from {{ ref('flow_rows') }}
),

counted as (
    select
        group_value,
        stage_order,
        count(*) filter (where is_first) as n_entries,
        count(*) filter (where not is_first) as n_events,
        coalesce(sum(won_amount) filter (where is_first and stage_order = $n_stages), 0) as revenue
    from flow
    group by group_value, stage_order
),

final as (
    select
        group_value,
        stage_order,
        n_entries,
        n_events - n_entries as n_reentries,
        revenue
    from counted
    where n_events > 0
)

select * from final
order by group_value, stage_order

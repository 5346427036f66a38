-- The MQL rows kept whole per store version by queries/cube.py (ROWS: bridge_mql_rows.sql over
-- the whole store at the latest date; read here as `lead_rows`) that a view takes: those whose
-- MQL entry falls in the view's range [$start_at, $end_before) and whose lead passes its list
-- filters, as bridge_mql_rows.sql takes them (its range is the MQL entry's, not the lead's
-- start). Every other parameter is fixed in the kept rows and keys them.
-- Grain: one row per MQL, as bridge_mql_rows.sql.
-- Parameters: $start_at, $end_before, $channels, $regions, $segments, $owners.

with

kept as (
    select * from lead_rows
),

final as (
    select *
    from kept
    where mql_at >= $start_at
      and mql_at < $end_before
      and {{ lead_filters() }}
)

select * from final

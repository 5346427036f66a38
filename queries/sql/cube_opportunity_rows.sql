-- The bridge's opportunity rows kept whole per store version by queries/cube.py (ROWS:
-- bridge_opportunity_rows.sql over the whole store at the latest date; read here as
-- `lead_rows`) that a view takes: those created in the view's range [$start_at, $end_before)
-- whose attributes pass its list filters, as bridge_opportunity_rows.sql takes them (by the
-- opportunity's creation). Every other parameter is fixed in the kept rows and keys them.
-- Grain: one row per opportunity, as bridge_opportunity_rows.sql.
-- Parameters: $start_at, $end_before, $channels, $regions, $segments, $owners.

with

kept as (
    select * from lead_rows
),

final as (
    select *
    from kept
    where opened_at >= $start_at
      and opened_at < $end_before
      and {{ lead_filters() }}
)

select * from final

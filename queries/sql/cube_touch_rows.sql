-- The content touch rows kept whole per store version by queries/cube.py (ROWS:
-- content_touch_rows.sql over the whole store at the latest date; read here as `lead_rows`) that
-- a view takes: those touched in the view's range [$start_at, $end_before) on a lead that passes
-- its list filters, as content_touch_rows.sql takes them (by the touch's time, not the lead's
-- start). Every other parameter is fixed in the kept rows and keys them.
-- Grain: one row per touch, as content_touch_rows.sql.
-- Parameters: $start_at, $end_before, $channels, $regions, $segments, $owners.

with

kept as (
    select * from lead_rows
),

final as (
    select *
    from kept
    where touched_at >= $start_at
      and touched_at < $end_before
      and {{ lead_filters() }}
)

select * from final

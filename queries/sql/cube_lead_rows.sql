-- The rows of a lead-level query kept whole per store version by queries/cube.py (ROWS; read
-- here as `lead_rows`) that a view takes: those whose lead started in the view's range
-- [$start_at, $end_before) and passes its list filters. The lead-level queries take their
-- cohort so (start_at and lead_filters() over the lead's own attributes, which their rows
-- carry); every other parameter is fixed in the kept rows and keys them, so these rows are the
-- query's own for the view. The kept rows answer only views without an owner filter
-- ($all_owners true), so their owner_id (the handling owner, not the lead's) is never compared.
-- Grain: the lead-level query's own (one row per lead, or per lead and stage).
-- Parameters: $start_at, $end_before, $channels, $regions, $segments, $owners.

with

kept as (
    select * from lead_rows
),

final as (
    select *
    from kept
    where start_at >= $start_at
      and start_at < $end_before
      and {{ lead_filters() }}
)

select * from final

-- The opportunities' states kept whole per store version by queries/cube.py (STATES: the rows
-- of pipeline_states.sql for the view's moments over every opportunity; read here as
-- `lead_rows`) that a view takes: those whose attributes pass its list filters. The states
-- take their opportunities so (an inner join with the journeys' attributes under
-- lead_filters(), which each row carries); every other parameter is fixed in the kept rows and
-- keys them, so these rows are the view's own states.
-- Grain: one row per opportunity, as pipeline_states.sql.
-- Parameters: $channels, $regions, $segments, $owners.

with

kept as (
    select * from lead_rows
),

final as (
    select *
    from kept
    where {{ lead_filters() }}
)

select * from final

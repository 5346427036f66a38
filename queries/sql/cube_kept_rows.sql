-- The rows of a query kept whole per store version by queries/cube.py (DEALS; read here as
-- `lead_rows`), all of them: a view's query selects from them itself (a deal by when it was
-- won or opened and by its lead's attributes, attribution_deals.sql), so they are passed on
-- as they are. Every parameter of the kept query is fixed in the kept rows and keys them.
-- Grain: the kept query's own (one row per deal with its lead).
-- Parameters: none.

with

kept as (
    select * from lead_rows
),

final as (
    select * from kept
)

select * from final

-- lead_filters(row): the view's list filters (queries/filters.py Filters.params), true for a
-- row of the journeys (journey_leads, journey_stages or their opportunity-grain twins) whose
-- attributes pass every one of them; `row` is the alias of that row, or none. $all_<list> true
-- (nothing picked) lets every value through; the list itself is never null, so the predicate
-- means the same on DuckDB, ClickHouse and Spark. Adding a list filter is one line here and one
-- field in queries/filters.py (docs/design.md "Referenced SQL").
-- Parameters: $channels, $regions, $segments, $owners (lists, never null) and $all_channels,
-- $all_regions, $all_segments, $all_owners (true: every value).
($all_channels or list_contains($channels, {row}channel))
and ($all_regions or list_contains($regions, {row}region))
and ($all_segments or list_contains($segments, {row}segment))
and ($all_owners or list_contains($owners, {row}owner_id))

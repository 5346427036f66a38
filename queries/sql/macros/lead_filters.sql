-- lead_filters(row): the view's list filters (queries/filters.py Filters.params), true for a
-- row of the journeys (journey_leads, journey_stages or their opportunity-grain twins) whose
-- attributes pass every one of them; `row` is the alias of that row, or none. A null list lets
-- every value through. Adding a list filter is one line here and one field in
-- queries/filters.py (docs/design.md "Referenced SQL").
-- Parameters: $channels, $regions, $segments, $owners (lists, null = all).
($channels is null or {row}channel = any($channels))
and ($regions is null or {row}region = any($regions))
and ($segments is null or {row}segment = any($segments))
and ($owners is null or {row}owner_id = any($owners))

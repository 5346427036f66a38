-- rollup_range(row): true for a rollup's row (queries/cube.py) whose day falls in the view's
-- range [$start_at, $end_before) (timestamps at midnight, so a day is in the range as its
-- records are).
-- Parameters: $start_at, $end_before.
{row}day >= cast($start_at as date) and {row}day < cast($end_before as date)

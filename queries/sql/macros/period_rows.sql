-- period_rows(): the periods a query counts at once, as a CTE named `periods` (one row per
-- period: period, its position in $period_rows; from_day and before_day, its range of start
-- days; age_days, the age in days it is counted at), from the list of rows $period_rows
-- (queries/funnel.py compare_periods: the current period as it stands, and both periods at the
-- comparison's age), unnested once.
-- Parameters: $period_rows (period, start_at, end_before: timestamps at midnight, age_days).
periods as (
    select
        period_row.period,
        cast(period_row.start_at as date) as from_day,
        cast(period_row.end_before as date) as before_day,
        period_row.age_days
    from (select unnest($period_rows) as period_row) as period_rows
)

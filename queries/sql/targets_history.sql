-- Target changes: one row per change to a target, newest first (at most 500 rows).
-- old_value is null when the target was first set.
-- Reads the team's edits file (data/edits.py), attached as `edits` beside the store.
-- Parameters: $period (date, the first day of a month; null = every period).

with

target_history as (select * from edits.target_history),

final as (
    select
        set_at,
        set_by,
        period,
        team,
        metric,
        old_value,
        new_value
    from target_history
    where ($period is null or period = $period)
)

select * from final
order by set_at desc, period desc, team, metric
limit 500

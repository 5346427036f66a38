-- Targets of one month: one row per (team, metric) set for the period, ordered by team, metric.
-- team is 'marketing' or 'sales' (a quota) or 'shared' (a target both teams sign).
-- Reads the team's edits file (data/edits.py), attached as `edits` beside the store.
-- Parameters: $period (date, the first day of the month).

with

targets as (select * from edits.targets),

final as (
    select
        period,
        team,
        metric,
        value,
        set_at,
        set_by
    from targets
    where period = $period
)

select * from final
order by team, metric

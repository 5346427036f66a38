-- Targets of every month up to and including one month: one row per (period, team, metric),
-- ordered by period, team, metric. The Targets page holds a month's shared revenue target
-- against the quotas of the earlier months in which each stage's volume is due (the lags), so
-- it needs those months' quotas too; the table holds a few rows a month.
-- Reads the team's edits file (data/edits.py), attached as `edits` beside the store.
-- Parameters: $period (date, the first day of the last month wanted).

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
    where period <= $period
)

select * from final
order by period, team, metric

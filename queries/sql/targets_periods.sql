-- Months with targets: one row per period (first day of a month) that has at least one target,
-- oldest first, with the number of (team, metric) rows set for it.
-- Reads the team's edits file (data/edits.py), attached as `edits` beside the store.
-- No parameters.

with

targets as (select * from edits.targets),

final as (
    select
        period,
        count(*) as n_targets
    from targets
    group by period
)

select * from final
order by period

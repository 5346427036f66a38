-- Months with targets: one row per period (first day of a month) that has at least one target,
-- oldest first, with the number of (team, metric) rows set for it.
-- No parameters.

with

targets as (select * from targets),

final as (
    select
        period,
        count(*) as n_targets
    from targets
    group by period
)

select * from final
order by period

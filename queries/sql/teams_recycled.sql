-- Recycled leads: who was sent back to nurture, and what happened after.
-- Population: cohort leads (cohort_funnel.sql's cohort and filters) with an exit of type
-- $recycle_exit by $as_of. Per lead, its first recycle: the reason on it; the furthest stage it
-- had entered before it; whether it came back (a stage event after the recycle, by $as_of);
-- whether it converted (after the recycle it entered a stage beyond the furthest one before);
-- whether it won (after the recycle it entered the last stage). Returns are not bounded by the
-- conversion window: a lead may come back from nurture a year later.
-- The recycled leads are teams_recycled_rows.sql's (read with ref('teams_recycled_rows')),
-- counted here.
-- Grain: grouping sets told apart by `grain`: one 'total' row, one 'reason' row per reason.
-- Parameters: those of teams_recycled_rows.sql; $n_stages.

with

journeys as (
    select * from {{ ref('teams_recycled_rows') }}
),

final as (
    select
        case when grouping(reason_code) = 0 then 'reason' else 'total' end as grain,
        reason_code,
        count(*) as n_recycled,
        count(order_after) as n_came_back,
        count(*) filter (where order_after > coalesce(order_before, 0)) as n_converted,
        count(*) filter (where order_after = $n_stages) as n_won
    from journeys
    group by grouping sets ((reason_code), ())
)

select * from final
order by grain, n_recycled desc, reason_code

-- Outcome-age rollup rows: one row per (start day, channel, region, segment, outcome, window
-- over, won age, lost age) of the cohort over the whole store: its leads
-- (cohort_outcome_rows.sql, read with ref('cohort_outcome_rows'), where the outcomes are
-- defined) counted by outcome and by won_days and lost_days, the days since the start,
-- rounded up, at which each was won or ended in a lost exit in time. Built by queries/cube.py
-- and kept in memory per store version: the outcome rollup is these rows summed over the ages
-- (cube_outcome_rows.sql), and cube_outcomes_at_age.sql sums them for a younger age, where a
-- lead is won when won_days is within it and else lost when lost_days is: the order
-- cohort_outcome_rows.sql gives its outcomes, exact at the latest date for the reason
-- cube_reach_age_rows.sql gives.
-- Parameters: those of cohort_outcome_rows.sql ($by null).

with

outcomes as (
    select * from {{ ref('cohort_outcome_rows') }}
),

final as (
    select
        start_day as day,
        channel,
        region,
        segment,
        -- No owner: the rollups answer only views without an owner filter (queries/cube.py).
        cast(null as varchar) as owner_id,
        outcome,
        is_window_over,
        cast(won_days as integer) as won_days,
        cast(lost_days as integer) as lost_days,
        cast(count(*) as integer) as n_cohort
    from outcomes
    group by start_day, channel, region, segment, outcome, is_window_over, won_days, lost_days
)

select * from final

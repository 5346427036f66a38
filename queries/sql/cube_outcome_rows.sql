-- Outcome rollup rows: one row per (start day, channel, region, segment) of the cohort over
-- the whole store: the leads of each outcome (cohort_outcome_rows.sql, read with
-- ref('cohort_outcome_rows')), as cohort_outcomes.sql counts them, kept apart by what the
-- rollup's views filter and break down by. Built by queries/cube.py and kept in memory per
-- store version; cube_outcomes.sql sums them.
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
        -- No owner: the rollups answer only views without an owner filter (queries/cube.py),
        -- so the list filters' macro reads this as "every owner".
        cast(null as varchar) as owner_id,
        count(*) as n_cohort,
        count(*) filter (where outcome = 'won') as n_won,
        count(*) filter (where outcome = 'lost') as n_lost,
        count(*) filter (where outcome = 'after_window') as n_after_window,
        count(*) filter (where outcome = 'other_exit') as n_other_exit,
        count(*) filter (where outcome = 'open') as n_open,
        count(*) filter (where outcome = 'open' and is_window_over) as n_open_past_window
    from outcomes
    group by start_day, channel, region, segment
)

select * from final

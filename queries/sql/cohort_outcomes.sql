-- Cohort outcomes: one row per group of the cohort, each lead counted once in its outcome
-- (cohort_outcome_rows.sql, read with ref('cohort_outcome_rows'), where the outcomes are
-- defined): n_cohort, n_won, n_lost, n_after_window, n_other_exit, n_open, and
-- n_open_past_window (open leads whose window is over).
-- Win rate = won / (won + lost): open leads and other exits are not outcomes.
-- Parameters: those of cohort_outcome_rows.sql.

with

outcomes as (
    select * from {{ ref('cohort_outcome_rows') }}
),

final as (
    select
        group_value,
        count(*) as n_cohort,
        count(*) filter (where outcome = 'won') as n_won,
        count(*) filter (where outcome = 'lost') as n_lost,
        count(*) filter (where outcome = 'after_window') as n_after_window,
        count(*) filter (where outcome = 'other_exit') as n_other_exit,
        count(*) filter (where outcome = 'open') as n_open,
        count(*) filter (where outcome = 'open' and is_window_over) as n_open_past_window
    from outcomes
    group by group_value
)

select * from final
order by group_value

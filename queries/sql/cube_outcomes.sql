-- Cohort outcomes from the outcome rollup (cube_outcome_rows.sql, held in memory as
-- `outcome_cube` by queries/cube.py): one row per group, the columns and order of
-- cohort_outcomes.sql, for a view the rollup answers (queries/cube.py).
-- Parameters: $start_at, $end_before, $channels, $regions, $segments, $owners (null here), $by (null, 'channel',
--   'region', 'segment' or 'month').

with

rollup as (
    select * from outcome_cube
),

filtered as (
    select *
    from rollup
    where {{ rollup_range() }}
      and {{ lead_filters() }}
),

final as (
    select
        {{ rollup_group() }} as group_value,
        cast(sum(n_cohort) as bigint) as n_cohort,
        cast(sum(n_won) as bigint) as n_won,
        cast(sum(n_lost) as bigint) as n_lost,
        cast(sum(n_after_window) as bigint) as n_after_window,
        cast(sum(n_other_exit) as bigint) as n_other_exit,
        cast(sum(n_open) as bigint) as n_open,
        cast(sum(n_open_past_window) as bigint) as n_open_past_window
    from filtered
    group by all
)

select * from final
order by group_value

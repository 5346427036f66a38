-- Cohort funnel: one row per (group, stage) the cohort reached, in funnel order: the counts of
-- cohort_flags.sql (read with ref('cohort_flags'), where reached, skipped, in progress and
-- dropped are defined) over the leads whose start falls in [$start_at, $end_before), filtered
-- by attribute (cohort_rows.sql).
-- Parameters: $start_at, $end_before, $as_of (timestamps), $window (interval: the window in days),
--   $is_strict (bool), $channels, $regions, $segments, $owners (lists; $all_<list>: all),
--   $by (null for one group, or an attribute name mapped in cohort_rows.sql: the allow-list),
--   $n_stages (number of stages: revenue is counted at the last one).

with

flags as (
    select * from {{ ref('cohort_flags') }}
),

final as (
    select
        group_value,
        stage_order,
        count(*) filter (where is_reached) as n_reached,
        count(*) filter (where is_skipped) as n_skipped,
        count(*) filter (where is_in_progress) as n_in_progress,
        count(*) filter (where is_dropped) as n_dropped,
        coalesce(sum(won_revenue), 0) as revenue
    from flags
    group by group_value, stage_order
)

select * from final
order by group_value, stage_order

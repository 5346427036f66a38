-- Cohort funnel: one row per (group, stage) the cohort reached, in funnel order.
-- The cohort (cohort_rows.sql, read with ref('cohort_rows')) is the leads whose start falls in
-- [$start_at, $end_before), filtered by attribute. A stage is reached in
-- time when the lead got to it (implied: it or any later stage; strict: in order from stage 1)
-- on or before start + $window_days and on or before $as_of. A lead that reached stage k but
-- not k+1 is dropped when its journey ended in an exit (by $as_of) or its window is over by
-- $as_of; otherwise it is in progress.
-- Parameters: $start_at, $end_before, $as_of (timestamps), $window_days (int),
--   $is_strict (bool), $channels, $regions, $segments, $owners (lists, null = all),
--   $by (null for one group, or an attribute name mapped in cohort_rows.sql: the allow-list),
--   $n_stages (number of stages: revenue is counted at the last one).

with

cohort as (
    select
        group_value,
        stage_order,
        entered_at,
        reached_at,
        next_reached_at,
        strict_at,
        strict_next_at,
        final_exit_at,
        won_amount,
        cutoff,
        is_window_over
    from {{ ref('cohort_rows') }}
),

flags as (
    select
        group_value,
        stage_order,
        won_amount,
        case when $is_strict then strict_at <= cutoff else reached_at <= cutoff end as is_reached,
        coalesce(
            case when $is_strict then strict_next_at <= cutoff else next_reached_at <= cutoff end,
            false
        ) as is_reached_next,
        -- Got to this stage or beyond in time without an event of its own here.
        reached_at <= cutoff and not coalesce(entered_at <= cutoff, false) as is_skip,
        is_window_over or coalesce(final_exit_at <= $as_of, false) as is_ended
    from cohort
),

final as (
    select
        group_value,
        stage_order,
        count(*) filter (where is_reached) as n_reached,
        count(*) filter (where is_skip) as n_skipped,
        count(*) filter (where is_reached and not is_reached_next and not is_ended) as n_in_progress,
        count(*) filter (where is_reached and not is_reached_next and is_ended) as n_dropped,
        coalesce(sum(won_amount) filter (where is_reached and stage_order = $n_stages), 0) as revenue
    from flags
    group by group_value, stage_order
)

select * from final
order by group_value, stage_order

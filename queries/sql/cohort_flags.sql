-- Cohort flags: one row per (lead, stage) of the cohort (cohort_rows.sql, read with
-- ref('cohort_rows')) with what the cohort funnel counts of it, so that the funnel
-- (cohort_funnel.sql) and its rollup (cube_funnel_rows.sql) count the same rows. A stage is
-- reached in time when the lead got to it (implied: it or any later stage; strict: in order
-- from stage 1) on or before its cutoff (start + $window_days, and by $as_of). A lead that
-- reached stage k but not k+1 is dropped when its journey ended in an exit (by $as_of) or its
-- window is over by $as_of; otherwise it is in progress.
--   is_reached     reached this stage in time
--   is_skipped     got to this stage or beyond in time without an event of its own here
--   is_in_progress reached it, not the next, and neither exited nor past its window
--   is_dropped     reached it, not the next, and exited or past its window
--   won_revenue    the won amount, on the last stage ($n_stages) when reached in time
--   won_currency   its currency ('' when the source named none), on the same rows
--   start_day, channel, region, segment: what the rollup keeps rows apart by
--   reach_at       when it counted as reaching the stage (the policy's time); with the
--                  record's lead_id, owner_id, start, own entry, cutoff and final exit, for the
--                  records behind a count (cohort_records.sql)
-- Parameters: those of cohort_rows.sql, $n_stages.

with

cohort as (
    select
        group_value,
        lead_id,
        owner_id,
        start_at,
        channel,
        region,
        segment,
        stage_order,
        entered_at,
        reached_at,
        next_reached_at,
        strict_at,
        strict_next_at,
        final_exit_at,
        final_exit_type,
        final_exit_reason,
        won_amount,
        won_currency,
        cutoff,
        is_window_over
    from {{ ref('cohort_rows') }}
),

flags as (
    select
        *,
        case when $is_strict then strict_at else reached_at end as reach_at,
        case when $is_strict then strict_at <= cutoff else reached_at <= cutoff end as is_reached,
        coalesce(
            case when $is_strict then strict_next_at <= cutoff else next_reached_at <= cutoff end,
            false
        ) as is_reached_next,
        reached_at <= cutoff and not coalesce(entered_at <= cutoff, false) as is_skipped,
        is_window_over or coalesce(final_exit_at <= $as_of, false) as is_ended
    from cohort
),

final as (
    select
        group_value,
        cast(start_at as date) as start_day,
        channel,
        region,
        segment,
        stage_order,
        lead_id,
        owner_id,
        start_at,
        entered_at,
        reach_at,
        cutoff,
        final_exit_at,
        final_exit_type,
        final_exit_reason,
        is_reached,
        is_skipped,
        is_reached and not is_reached_next and not is_ended as is_in_progress,
        is_reached and not is_reached_next and is_ended as is_dropped,
        case when is_reached and stage_order = $n_stages then won_amount end as won_revenue,
        case when is_reached and stage_order = $n_stages then coalesce(won_currency, '') end as won_currency
    from flags
)

select * from final

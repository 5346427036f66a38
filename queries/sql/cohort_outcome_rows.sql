-- Cohort outcome rows: one row per lead of the cohort (cohort_rows.sql, read with
-- ref('cohort_rows')) with its outcome, the first that applies, so that the outcomes
-- (cohort_outcomes.sql) and their rollup (cube_outcome_rows.sql) count the same leads:
--   won            reached the last stage in time (the cohort funnel's last count)
--   lost           its journey ended in an exit of kind lost ($lost_keys) in time
--   after_window   won or lost by $as_of, but after its conversion window
--   other_exit     ended by another exit (rejected, disqualified, recycled, ...) by $as_of
--   open           none of these yet
-- with is_window_over (its window ended before $as_of) and start_day, channel, region,
-- segment (what the rollup keeps leads apart by); for the outcomes at a younger age
-- (cube_outcome_age_rows.sql) the days since its start, rounded up, at which it was won
-- (won_days: when won in time) and at which its journey ended in a lost exit (lost_days: when
-- that exit came in time, won or not, since at a younger age it may not be won yet).
-- Parameters: those of cohort_rows.sql, $n_stages (the last stage's order), $lost_keys (exit keys
--   of kind lost; [''] when the contract has none).

with

cohort as (
    select
        group_value,
        start_at,
        channel,
        region,
        segment,
        lead_id,
        stage_order,
        entered_at,
        case when $is_strict then strict_at else reached_at end as reach_at,
        final_exit_at,
        final_exit_type,
        cutoff,
        is_window_over
    from {{ ref('cohort_rows') }}
),

-- Every journey has a row for stage 1 (journey_stages runs from stage 1 to the furthest
-- stage), which carries the lead's own columns; only its last-stage row, when it has one, says
-- whether it won. Joining the two is cheaper than grouping every row by lead.
firsts as (
    select
        group_value,
        start_at,
        channel,
        region,
        segment,
        lead_id,
        final_exit_at,
        final_exit_type,
        cutoff,
        is_window_over
    from cohort
    where stage_order = 1
),

lasts as (
    select
        lead_id,
        reach_at <= cutoff as is_won,
        entered_at <= $as_of as is_won_by_as_of,
        case when reach_at <= cutoff then reach_at end as won_at
    from cohort
    where stage_order = $n_stages
),

per_lead as (
    select
        firsts.group_value,
        firsts.start_at,
        firsts.channel,
        firsts.region,
        firsts.segment,
        firsts.lead_id,
        coalesce(lasts.is_won, false) as is_won,
        coalesce(lasts.is_won_by_as_of, false) as is_won_by_as_of,
        lasts.won_at,
        firsts.final_exit_at,
        firsts.final_exit_type,
        firsts.cutoff,
        firsts.is_window_over
    from firsts
    left join lasts on lasts.lead_id = firsts.lead_id
),

final as (
    select
        group_value,
        cast(start_at as date) as start_day,
        channel,
        region,
        segment,
        is_window_over,
        ceil(date_diff('microsecond', start_at, won_at) / 86400e6) as won_days,
        case
            when list_contains($lost_keys, final_exit_type) and final_exit_at <= cutoff
                then ceil(date_diff('microsecond', start_at, final_exit_at) / 86400e6)
        end as lost_days,
        case
            when is_won then 'won'
            when list_contains($lost_keys, final_exit_type) and final_exit_at <= cutoff then 'lost'
            when is_won_by_as_of or (list_contains($lost_keys, final_exit_type) and final_exit_at <= $as_of)
                then 'after_window'
            when final_exit_at <= $as_of then 'other_exit'
            else 'open'
        end as outcome
    from per_lead
)

select * from final

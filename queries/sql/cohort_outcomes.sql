-- Cohort outcomes: one row per group of the cohort (cohort_rows.sql, read with ref('cohort_rows')),
-- each lead counted once in the first outcome that applies:
--   won            reached the last stage in time (the cohort funnel's last count)
--   lost           its journey ended in an exit of kind lost ($lost_keys) in time
--   after_window   won or lost by $as_of, but after its conversion window
--   other_exit     ended by another exit (rejected, disqualified, recycled, ...) by $as_of
--   open           none of these yet (open_past_window: of them, those whose window is over)
-- Win rate = won / (won + lost): open leads and other exits are not outcomes.
-- Parameters: those of cohort_rows.sql, $n_stages (the last stage's order), $lost_keys (exit keys
--   of kind lost; [''] when the contract has none).

with

cohort as (
    select
        group_value,
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
    select group_value, lead_id, final_exit_at, final_exit_type, cutoff, is_window_over
    from cohort
    where stage_order = 1
),

lasts as (
    select
        lead_id,
        reach_at <= cutoff as is_won,
        entered_at <= $as_of as is_won_by_as_of
    from cohort
    where stage_order = $n_stages
),

per_lead as (
    select
        firsts.group_value,
        firsts.lead_id,
        coalesce(lasts.is_won, false) as is_won,
        coalesce(lasts.is_won_by_as_of, false) as is_won_by_as_of,
        firsts.final_exit_at,
        firsts.final_exit_type,
        firsts.cutoff,
        firsts.is_window_over
    from firsts
    left join lasts on lasts.lead_id = firsts.lead_id
),

classified as (
    select
        group_value,
        is_window_over,
        case
            when is_won then 'won'
            when final_exit_type = any($lost_keys) and final_exit_at <= cutoff then 'lost'
            when is_won_by_as_of or (final_exit_type = any($lost_keys) and final_exit_at <= $as_of)
                then 'after_window'
            when final_exit_at <= $as_of then 'other_exit'
            else 'open'
        end as outcome
    from per_lead
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
    from classified
    group by group_value
)

select * from final
order by group_value

-- Stage time rows: one row per (lead, stage k) of the cohort with a time to tell: the days from
-- the lead's own entry into stage k until it reached stage k+1 (implied: k+1 or any later
-- stage; strict: entry(k+1) in order), for a lead that reached k+1 in time; and, on the row of
-- the last stage, the total days from its start to entering the last stage. The one definition
-- of a stage's time: stage_times.sql takes its percentiles, from these rows over the journeys
-- or from them kept whole by queries/cube.py (ROWS: at the latest date, with the contract's
-- window, no breakdown; a view takes those of its range and list filters).
--   group_value  the view's breakdown over the journeys (null when kept whole: stage_times.sql
--                then takes the group from the row's own attributes)
--   day          the lead's start day (the month a breakdown by month takes)
--   days         the step's days (stage k < the last) or the total days (the last stage)
-- Parameters: those of cohort_rows.sql, $n_stages.

with

cohort as (
    select
        group_value,
        start_at,
        channel,
        region,
        segment,
        owner_id,
        stage_order,
        case when $is_strict then strict_at else entered_at end as from_at,
        case when $is_strict then strict_next_at else next_reached_at end as to_at,
        cutoff
    from {{ ref('cohort_rows') }}
),

durations as (
    select
        group_value,
        start_at,
        cast(start_at as date) as day,
        channel,
        region,
        segment,
        owner_id,
        stage_order,
        case
            when stage_order < $n_stages and from_at <= cutoff and to_at <= cutoff and to_at >= from_at
                then date_diff('microsecond', from_at, to_at) / 86400e6
            when stage_order = $n_stages and from_at <= cutoff
                then date_diff('microsecond', start_at, from_at) / 86400e6
        end as days
    from cohort
),

final as (
    select *
    from durations
    where days is not null
)

select * from final

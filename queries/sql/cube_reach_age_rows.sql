-- Reach-age rollup rows: one row per (start day, channel, region, segment, stage, reach age,
-- won currency) of the cohort over the whole store: the counts of cohort_flags.sql (read with
-- ref('cohort_flags')), as cohort_funnel.sql counts them, kept apart by what the rollups'
-- views filter and break down by and by the age at which the stage was reached, reach_days:
-- days since the record's start, rounded up (null for the rows not reached in time). Built by
-- queries/cube.py and kept in memory per store version; the funnel rollup is these rows summed
-- over the ages (cube_funnel_rows.sql), and cube_funnel_at_age.sql sums those within a
-- younger age.
--
-- Why the sum within age a is the funnel at that age exactly: at the latest date every reach
-- falls by the as-of, so a stage is reached in time at age a (cutoff start + a,
-- cohort_flags.sql) exactly when it was reached in time at the contract's window (a is never
-- longer: the comparison age is capped by it, queries/funnel.py comparison_age) and
-- reach_at - start_at <= a days, which is reach_days <= a (a in whole days; the quotient of two
-- whole numbers of microseconds is exact in a double below 2^53, so rounding it up never
-- crosses a day).
-- Parameters: those of cohort_flags.sql ($by null).

with

flags as (
    select * from {{ ref('cohort_flags') }}
),

aged as (
    select
        *,
        case
            when is_reached
                then cast(ceil(date_diff('microsecond', start_at, reach_at) / 86400e6) as integer)
        end as reach_days
    from flags
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
        stage_order,
        reach_days,
        -- The won amounts' currency, on the last stage's rows reached in time (null on the
        -- others): the revenue per currency (cube_revenue.sql) is summed from these rows too.
        won_currency as currency,
        -- Narrow types: a group is a few leads of one day.
        cast(count(*) filter (where is_reached) as integer) as n_reached,
        cast(count(*) filter (where is_skipped) as integer) as n_skipped,
        cast(count(*) filter (where is_in_progress) as integer) as n_in_progress,
        cast(count(*) filter (where is_dropped) as integer) as n_dropped,
        cast(coalesce(sum(won_revenue), 0) as decimal(18, 2)) as revenue,
        cast(count(won_revenue) as integer) as n_with_amount
    from aged
    group by start_day, channel, region, segment, stage_order, reach_days, won_currency
)

select * from final

-- Reach-age rollup rows: one row per (start day, channel, region, segment, stage, reach age)
-- of the cohort over the whole store at the contract's window: the stages reached in time
-- (cohort_flags.sql, read with ref('cohort_flags')) counted by the age at which each was
-- reached, reach_days, in days since the record's start rounded up. Built by queries/cube.py
-- and kept in memory per store version; cube_funnel_at_age.sql sums them for a younger age.
--
-- Why the sum is the funnel at that age exactly: at the latest date every reach falls by the
-- as-of, so a stage is reached in time at age a (cutoff start + a, cohort_flags.sql) exactly
-- when it was reached in time at the contract's window (a is never longer: the comparison age
-- is capped by it, queries/funnel.py comparison_age) and reach_at - start_at <= a days, which
-- is reach_days <= a (a in whole days; the quotient of two whole numbers of microseconds is
-- exact in a double below 2^53, so rounding it up never crosses a day).
--   n_reached  the lead-stages reached at that age
--   revenue    their won amounts (on the last stage)
-- Parameters: those of cohort_flags.sql ($by null).

with

flags as (
    select * from {{ ref('cohort_flags') }}
),

reached as (
    select
        start_day,
        channel,
        region,
        segment,
        stage_order,
        cast(ceil(date_diff('microsecond', start_at, reach_at) / 86400e6) as integer) as reach_days,
        won_revenue
    from flags
    where is_reached
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
        -- Narrow types: this rollup has about 2.6 times the funnel rollup's rows, and a
        -- group is a few leads of one day, so its count and amount fit them.
        cast(count(*) as integer) as n_reached,
        cast(coalesce(sum(won_revenue), 0) as decimal(18, 2)) as revenue
    from reached
    group by start_day, channel, region, segment, stage_order, reach_days
)

select * from final

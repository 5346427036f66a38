-- Cohort revenue in one currency: one row per currency of the won amounts of the cohort's
-- records that reached the last stage in time (the same amounts as cohort_revenue.sql, from
-- cohort_rows.sql read with ref('cohort_rows')), each converted to $base at the rate valid on the day
-- it was won: the latest rate dated on or before that day (1 for $base itself).
--   revenue                the sum in the currency itself
--   revenue_base           the sum in $base of the amounts a rate converts
--   n_without_rate         amounts no rate converts; first_day_without_rate: the earliest day
--                          such an amount was won (what a rate must cover)
-- Parameters: those of cohort_rows.sql, $n_stages (the last stage's order), $base (a currency
--   code).

with

currency_rates as (
    select currency, valid_from, rate
    from currency_rates
    where base = $base
),

won as (
    select
        coalesce(won_currency, '') as currency,
        won_amount,
        cast(case when $is_strict then strict_at else reached_at end as date) as won_day
    from {{ ref('cohort_rows') }}
    where stage_order = $n_stages
      and (case when $is_strict then strict_at else reached_at end) <= cutoff
      and won_amount is not null
),

rated as (
    select
        w.currency,
        w.won_amount,
        w.won_day,
        case when w.currency = $base then 1 else r.rate end as rate
    from won as w
    asof left join currency_rates as r
        on r.currency = w.currency and w.won_day >= r.valid_from
),

final as (
    select
        currency,
        count(*) as n_with_amount,
        sum(won_amount) as revenue,
        sum(won_amount * rate) as revenue_base,
        count(*) filter (where rate is null) as n_without_rate,
        min(won_day) filter (where rate is null) as first_day_without_rate
    from rated
    group by currency
)

select * from final
order by currency

-- Cohort revenue: one row per (group, currency): the won amounts of the cohort's leads that
-- reached the last stage in time (cohort_rows.sql, read with ref('cohort_rows')), per currency, so
-- amounts in different currencies are never added up. currency is '' when the source named none.
-- Parameters: those of cohort_rows.sql, $n_stages (the last stage's order).

with

won as (
    select
        group_value,
        coalesce(won_currency, '') as currency,
        won_amount
    from {{ ref('cohort_rows') }}
    where stage_order = $n_stages
      and (case when $is_strict then strict_at else reached_at end) <= cutoff
),

final as (
    select
        group_value,
        currency,
        count(*) as n_won,
        count(won_amount) as n_with_amount,
        coalesce(sum(won_amount), 0) as revenue
    from won
    group by group_value, currency
)

select * from final
order by group_value, currency

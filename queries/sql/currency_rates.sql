-- Currency rates: one row per dated rate in the store (data/rates.py imports them): from
-- valid_from on, one unit of currency is worth rate units of base, until the next rate dated
-- for the same pair. Ordered by base, currency and date. No parameters.

with

currency_rates as (select currency, valid_from, base, rate, source from currency_rates),

final as (
    select currency, valid_from, base, rate, source
    from currency_rates
)

select * from final
order by base, currency, valid_from

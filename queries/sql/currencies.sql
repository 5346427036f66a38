-- Currencies of the store's won amounts: one row per currency code ('' when the source named
-- none), most won amounts first. Pages put the currency in an amount's heading when there is
-- one, and say so when there are several (amounts in different currencies are never summed).
-- Parameters: none.

with

journey_stages as (select * from journey_stages),

won as (
    select coalesce(won_currency, '') as currency
    from journey_stages
    where won_amount is not null
),

final as (
    select currency, count(*) as n_amounts
    from won
    group by currency
)

select * from final
order by n_amounts desc, currency

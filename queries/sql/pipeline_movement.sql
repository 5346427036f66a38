-- Pipeline movement: one row per (bucket, sourcing team, currency), and one per (bucket,
-- sourcing team) over every currency (is_every_currency), for the opportunities that moved
-- between $t1 and $t2 (pipeline_states.sql, read as the table pipeline_states: each opportunity in the
-- one bucket that applies first). Amounts are the open pipeline's: an opportunity adds its amount
-- at $t1 to amount_t1 when it was open then, and its amount at $t2 to amount_t2 when it is open
-- then, each in its own currency; so amount_t2 - amount_t1 is what the bucket did to the
-- pipeline in that currency, and the buckets add up from the pipeline at $t1 to the one at $t2.
--   n_opportunities        opportunities in the bucket (with a leg in that currency, on a
--                          currency row; each once on an every-currency row)
--   n_open_t1, n_open_t2   of them, open at $t1 and open at $t2
--   amount_base_t*         the same amounts in $base at the rates valid on the days they were
--                          set (null when $base is null or nothing is rated)
--   n_without_rate         open amounts no rate converts; first_day_without_rate: the earliest
--                          day such an amount was set
-- Parameters: those of pipeline_states.sql.

with

movers as (
    select *
    from {{ ref('pipeline_states') }}
    where bucket is not null
),

-- Each opportunity's part in the pipeline at $t1 and at $t2, in the currency of each; one that
-- is new and already closed by $t2 keeps one leg with nothing open, so that it is counted.
-- An opportunity has at most one leg of each moment, so it is counted once by its first leg:
-- is_first, over every currency (its $t2 leg when it has no $t1 leg); is_first_in_currency, in
-- the leg's currency (also its $t2 leg in another currency than its $t1 leg's). Counting so
-- needs no distinct count, which DuckDB plans as a join per grouping set.
legs as (
    select
        deal_id, bucket, sourced_by, currency_t1 as currency, true as is_t1, is_open_t1 as is_open,
        amount_t1 as amount, amount_base_t1 as amount_base, amount_day_t1 as amount_day,
        true as is_first, true as is_first_in_currency
    from movers
    where is_open_t1
    union all
    select
        deal_id, bucket, sourced_by, currency_t2 as currency, false as is_t1, is_open_t2 as is_open,
        amount_t2 as amount, amount_base_t2 as amount_base, amount_day_t2 as amount_day,
        not is_open_t1 as is_first, not is_open_t1 or currency_t2 <> currency_t1 as is_first_in_currency
    from movers
    where is_open_t2 or not is_open_t1
),

grouped as (
    select
        bucket,
        sourced_by,
        currency,
        grouping(currency) = 1 as is_every_currency,
        count(*) filter (where is_first) as n_first,
        count(*) filter (where is_first_in_currency) as n_first_in_currency,
        count(*) filter (where is_t1) as n_open_t1,
        count(*) filter (where not is_t1 and is_open) as n_open_t2,
        coalesce(sum(amount) filter (where is_t1), 0) as amount_t1,
        coalesce(sum(amount) filter (where not is_t1 and is_open), 0) as amount_t2,
        sum(amount_base) filter (where is_t1) as amount_base_t1,
        sum(amount_base) filter (where not is_t1 and is_open) as amount_base_t2,
        count(*) filter (where is_open and amount is not null and amount_base is null) as n_without_rate,
        min(amount_day) filter (where is_open and amount is not null and amount_base is null)
            as first_day_without_rate
    from legs
    group by grouping sets ((bucket, sourced_by, currency), (bucket, sourced_by))
),

final as (
    select
        bucket,
        sourced_by,
        currency,
        is_every_currency,
        case when is_every_currency then n_first else n_first_in_currency end as n_opportunities,
        n_open_t1,
        n_open_t2,
        amount_t1,
        amount_t2,
        amount_base_t1,
        amount_base_t2,
        n_without_rate,
        first_day_without_rate
    from grouped
)

select * from final
order by bucket, sourced_by, is_every_currency, currency

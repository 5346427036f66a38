-- Pipeline by stage: one row per (stage, sourcing team, currency) of the opportunities open at
-- $t2 (pipeline_states.sql, read as the table pipeline_states): how many, how many carry an amount,
-- and their amounts in that currency (never added across currencies), with the amounts in
-- $base where a dated rate converts them.
--   stage_order            the stage's position among the opportunity's tracked stages
--   sourced_by             the team that sourced them (null: the data names none)
--   currency               their amounts' currency ('' when the source named none)
--   amount                 the sum of their amounts in that currency (0 when none has one)
--   amount_base            the same in $base (null when $base is null or no amount is rated)
--   n_without_rate         amounts no rate converts to $base; first_day_without_rate: the
--                          earliest day such an amount was set (what a rate must cover)
-- Parameters: those of pipeline_states.sql ($t1 = $t2 = the moment).

with

open_opportunities as (
    select *
    from {{ ref('pipeline_states') }}
    where is_open_t2
),

final as (
    select
        stage_order_t2 as stage_order,
        sourced_by,
        currency_t2 as currency,
        count(*) as n_opportunities,
        count(amount_t2) as n_with_amount,
        coalesce(sum(amount_t2), 0) as amount,
        sum(amount_base_t2) as amount_base,
        count(*) filter (where amount_t2 is not null and amount_base_t2 is null) as n_without_rate,
        min(amount_day_t2) filter (where amount_t2 is not null and amount_base_t2 is null)
            as first_day_without_rate
    from open_opportunities
    group by stage_order_t2, sourced_by, currency_t2
)

select * from final
order by stage_order, sourced_by, currency

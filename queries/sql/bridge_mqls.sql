-- The bridge from MQLs to opportunities: one row for the MQLs of the range
-- (bridge_mql_rows.sql, read with ref('bridge_mql_rows'): the leads whose own entry into the
-- handoff stage falls in [$start_at, $end_before) and by $as_of, with the lead filters, and the
-- opportunity each led to). docs/design.md "The bridge between the grains".
--   n_mqls                    those leads (an entry of their own: a skipped stage never counts)
--   n_to_opportunity          of them, the MQLs that led to an opportunity (days not null)
--   median_days, p75_days, p90_days
--                             days from the MQL entry to the creation of the first such
--                             opportunity
--   n_to_account_opportunity  MQLs whose account had an opportunity created in that same span
-- Parameters: those of bridge_mql_rows.sql.

with

durations as (
    select * from {{ ref('bridge_mql_rows') }}
),

final as (
    select
        count(*) as n_mqls,
        count(days) as n_to_opportunity,
        percentile_cont(0.5) within group (order by days) as median_days,
        percentile_cont(0.75) within group (order by days) as p75_days,
        percentile_cont(0.9) within group (order by days) as p90_days,
        count(*) filter (where has_account_opportunity) as n_to_account_opportunity
    from durations
)

select * from final

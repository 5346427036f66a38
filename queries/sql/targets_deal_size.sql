-- Deal size of the look-back cohort: one row with the number of deals won in time and the
-- mean and standard deviation of their amount (the amount at signature, journey won_amount).
-- The cohort is the leads whose start falls in [$start_at, $end_before); a deal counts when the
-- lead entered the last stage ($won_order) on or before start + $window and $as_of.
-- Parameters: $start_at, $end_before, $as_of (timestamps), $window (interval: the window in days), $won_order (int).

with

journey_stages as (select * from journey_stages),

won as (
    select won_amount
    from journey_stages
    where stage_order = $won_order
      and start_at >= $start_at
      and start_at < $end_before
      and start_at <= $as_of
      and entered_at <= least(start_at + $window, $as_of)
      and won_amount is not null
),

final as (
    select
        count(*) as n_deals,
        avg(cast(won_amount as double)) as avg_amount,
        stddev_samp(cast(won_amount as double)) as sd_amount
    from won
)

select * from final

-- Cohort funnel: one row per (group, stage) the cohort reached, in funnel order.
-- The cohort is the leads whose start falls in [$start_at, $end_before). A stage is reached in
-- time when the lead got to it (implied: it or any later stage; strict: in order from stage 1)
-- on or before start + $window_days and on or before $as_of. A lead that reached stage k but
-- not k+1 is dropped when its journey ended in an exit (by $as_of) or its window is over by
-- $as_of; otherwise it is in progress.
-- Parameters: $start_at, $end_before, $as_of (timestamps), $window_days (int),
--   $is_strict (bool), $channels, $regions, $segments, $owners (lists, null = all),
--   $by (null for one group, or an attribute name mapped below: the allow-list),
--   $n_stages (number of stages: revenue is counted at the last one).

with

journey_stages as (select * from journey_stages),

cohort as (
    select
        case $by
            when 'channel' then channel
            when 'campaign' then campaign
            when 'region' then region
            when 'segment' then segment
            when 'owner' then owner_id
            when 'team' then owner_team
        end as group_value,
        stage_order,
        entered_at,
        reached_at,
        next_reached_at,
        strict_at,
        strict_next_at,
        final_exit_at,
        won_amount,
        least(start_at + $window_days * interval 1 day, $as_of) as cutoff,
        start_at + $window_days * interval 1 day < $as_of as is_window_over
    from journey_stages
    where start_at >= $start_at
      and start_at < $end_before
      and start_at <= $as_of
      and ($channels is null or channel = any($channels))
      and ($regions is null or region = any($regions))
      and ($segments is null or segment = any($segments))
      and ($owners is null or owner_id = any($owners))
      and (not $is_strict or has_first_entry)
),

flags as (
    select
        group_value,
        stage_order,
        won_amount,
        case when $is_strict then strict_at <= cutoff else reached_at <= cutoff end as is_reached,
        coalesce(
            case when $is_strict then strict_next_at <= cutoff else next_reached_at <= cutoff end,
            false
        ) as is_reached_next,
        -- Got to this stage or beyond in time without an event of its own here.
        reached_at <= cutoff and not coalesce(entered_at <= cutoff, false) as is_skip,
        is_window_over or coalesce(final_exit_at <= $as_of, false) as is_ended
    from cohort
),

final as (
    select
        group_value,
        stage_order,
        count(*) filter (where is_reached) as n_reached,
        count(*) filter (where is_skip) as n_skipped,
        count(*) filter (where is_reached and not is_reached_next and not is_ended) as n_in_progress,
        count(*) filter (where is_reached and not is_reached_next and is_ended) as n_dropped,
        coalesce(sum(won_amount) filter (where is_reached and stage_order = $n_stages), 0) as revenue
    from flags
    group by group_value, stage_order
)

select * from final
order by group_value, stage_order

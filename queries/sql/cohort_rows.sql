-- Cohort rows: one row per (lead, stage) of journey_stages for the cohort, the leads whose
-- start falls in [$start_at, $end_before) (and by $as_of), with the attribute filters and the
-- skip policy's cohort rule applied. The shared base of cohort_funnel, stage_times and trend,
-- which inline it as the CTE cohort_rows (queries/executor.compose), so the cohort has one
-- definition.
--   group_value     the attribute named by $by (null = one group): the allow-list below
--   cutoff          reached in time means on or before this: start + window, and by $as_of
--   is_window_over  the lead's window ended before $as_of
-- Parameters: $start_at, $end_before, $as_of (timestamps), $window_days (int), $is_strict
--   (bool: only leads with a first-stage entry), $channels, $regions, $segments, $owners
--   (lists, null = all), $by (null or an attribute name).

with

journey_stages as (select * from journey_stages),

final as (
    select
        case $by
            when 'channel' then channel
            when 'campaign' then campaign
            when 'region' then region
            when 'segment' then segment
            when 'owner' then owner_id
            when 'team' then owner_team
        end as group_value,
        *,
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
)

select * from final

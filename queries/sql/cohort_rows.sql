-- Cohort rows: one row per (lead, stage) of journey_stages for the cohort, the leads whose
-- start falls in [$start_at, $end_before) (and by $as_of), with the attribute filters and the
-- skip policy's cohort rule applied. The shared base of cohort_funnel, cohort_outcomes,
-- cohort_revenue, stage_times, trend and the opportunity stage history, which read it with
-- ref('cohort_rows') (queries/sql_refs.py), so the cohort has one definition.
--   group_value     the attribute named by $by (null = one group): the allow-list below
--   cutoff          reached in time means on or before this: start + window, and by $as_of
--   is_window_over  the lead's window ended before $as_of
--   final_exit_*    the exit that ended the journey as of $as_of: for a view as of a past date
--                   ($is_past), the latest exit on or before it that no stage event had
--                   followed by then (journey_exits), so a lead recycled then and back later
--                   reads as it did on that date
-- Parameters: $grain ('lead' or 'opportunity': what one row's record is), $start_at,
--   $end_before, $as_of (timestamps), $is_past (bool: $as_of is before the
--   latest event), $window (interval: the window in days), $is_strict (bool: only leads with a first-stage entry),
--   $channels, $regions, $segments, $owners (lists; $all_<list>: all), $by (null, an attribute name,
--   or 'month': the month the lead started, as YYYY-MM), $owner_role (null: 'owner' groups by
--   the record's own owner; a role such as 'SDR': by the record's owner in that role).

with

-- The journeys of the view's grain: leads (journey_*) or opportunities (deal_journey_*).
journey_stages as (
    select * from journey_stages where $grain = 'lead'
    union all
    select * from deal_journey_stages where $grain = 'opportunity'
),

journey_exits as (
    select * from journey_exits where $grain = 'lead'
    union all
    select * from deal_journey_exits where $grain = 'opportunity'
),

-- The record's owner in the chosen role (one per record and role: data/journey.py).
role_owners as (
    select lead_id, owner_id from journey_roles where $grain = 'lead' and role = $owner_role
    union all
    select lead_id, owner_id from deal_journey_roles where $grain = 'opportunity' and role = $owner_role
),

exits_as_of as (
    select
        lead_id,
        max(exit_at) as final_exit_at,
        arg_max(exit_type, exit_at) as final_exit_type,
        arg_max(reason_code, exit_at) as final_exit_reason
    from journey_exits
    where $is_past
      and exit_at <= $as_of
      and (resumed_at is null or resumed_at > $as_of)
    group by lead_id
),

filtered as (
    select *
    from journey_stages
    where start_at >= $start_at
      and start_at < $end_before
      and start_at <= $as_of
      and {{ lead_filters() }}
      and (not $is_strict or has_first_entry)
),

final as (
    select
        case $by
            when 'owner' then case when $owner_role is null then f.owner_id else r.owner_id end
            when 'month' then strftime(f.start_at, '%Y-%m')
            else {{ group_value('f') }}
        end as group_value,
        f.lead_id,
        f.stage_order,
        f.entered_at,
        f.reached_at,
        f.next_reached_at,
        f.strict_at,
        f.strict_next_at,
        f.n_reentries,
        f.start_at,
        f.has_first_entry,
        case when $is_past then x.final_exit_at else f.final_exit_at end as final_exit_at,
        case when $is_past then x.final_exit_type else f.final_exit_type end as final_exit_type,
        case when $is_past then x.final_exit_reason else f.final_exit_reason end as final_exit_reason,
        f.won_amount,
        f.won_currency,
        f.channel,
        f.campaign,
        f.region,
        f.segment,
        f.owner_id,
        f.owner_team,
        f.manager,
        f.office,
        f.sector,
        f.account_size,
        least(f.start_at + $window, $as_of) as cutoff,
        f.start_at + $window < $as_of as is_window_over
    from filtered as f
    left join exits_as_of as x on x.lead_id = f.lead_id
    left join role_owners as r on r.lead_id = f.lead_id
)

select * from final

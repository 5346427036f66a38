-- Flow funnel: one row per (group, stage): entries to each stage during [$start_at, $end_before),
-- whoever the leads are and whenever they started. Ratios between stages compare different
-- leads, so the page labels this view as flow.
--   n_entries    first entries into the stage in the range (a lead counts once per stage)
--   n_reentries  later entries in the range by leads already in the stage before (recycling)
--   revenue      won amounts of first entries into the last stage in the range
-- Parameters: $grain ('lead' or 'opportunity'), $start_at, $end_before, $as_of (timestamps),
--   $channels, $regions, $segments,
--   $owners (lists, null = all), $by (null or an attribute name: the allow-list below),
--   $stage_keys (stage keys in order), $n_stages.

with

-- The journeys of the view's grain: leads (journey_*) or opportunities (deal_journey_*), and the
-- events of their records (a lead's own events; an opportunity's are those naming the deal).
journey_stages as (
    select * from journey_stages where $grain = 'lead'
    union all
    select * from deal_journey_stages where $grain = 'opportunity'
),
journey_leads as (
    select * from journey_leads where $grain = 'lead'
    union all
    select * from deal_journey_leads where $grain = 'opportunity'
),
events as (
    select case when $grain = 'lead' then lead_id else deal_id end as lead_id, event_type, occurred_at
    from events
),

filtered_stages as (
    select
        {{ group_value() }} as group_value,
        stage_order,
        won_amount
    from journey_stages
    where entered_at >= $start_at
      and entered_at < $end_before
      and entered_at <= $as_of
      and {{ lead_filters() }}
),

first_entries as (
    select
        group_value,
        stage_order,
        count(*) as n_entries,
        coalesce(sum(won_amount) filter (where stage_order = $n_stages), 0) as revenue
    from filtered_stages
    group by group_value, stage_order
),

all_entries as (
    select
        {{ group_value('j') }} as group_value,
        list_position($stage_keys, e.event_type) as stage_order,
        count(*) as n_events
    from events as e
    join journey_leads as j on j.lead_id = e.lead_id
    where list_contains($stage_keys, e.event_type)
      and e.occurred_at >= $start_at
      and e.occurred_at < $end_before
      and e.occurred_at <= $as_of
      and {{ lead_filters('j') }}
    group by 1, 2
),

final as (
    select
        a.group_value,
        a.stage_order,
        coalesce(f.n_entries, 0) as n_entries,
        a.n_events - coalesce(f.n_entries, 0) as n_reentries,
        coalesce(f.revenue, 0) as revenue
    from all_entries as a
    left join first_entries as f
        on f.stage_order = a.stage_order
        and f.group_value is not distinct from a.group_value
)

select * from final
order by group_value, stage_order

-- Flow rows: one row per first entry into a stage during [$start_at, $end_before) (a
-- journey_stages row: is_first) and one per stage event in the range (is_first false), with the
-- record's attributes, whoever the records are and whenever they started. What the flow funnel
-- (flow_funnel.sql) and its rollup (cube_flow_rows.sql) count, so both count the same rows:
--   entries      the first entries (a record counts once per stage), with their won amount
--   events       every stage event in the range, first entries and re-entries alike (a
--                record's own events: for the lead grain, those naming the lead)
--   entry_day, channel, region, segment: what the rollup keeps rows apart by
-- Parameters: $grain ('lead' or 'opportunity'), $start_at, $end_before, $as_of (timestamps),
--   $channels, $regions, $segments, $owners (lists; $all_<list>: all), $by (null or an attribute
--   name: the allow-list in macros/group_value.sql), $stage_keys (stage keys in order).

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

entries as (
    select
        cast({{ group_value() }} as varchar) as group_value,
        cast(entered_at as date) as entry_day,
        channel,
        region,
        segment,
        -- integer on both sides of the union, as the stage position below is cast
        cast(stage_order as integer) as stage_order,
        won_amount,
        cast(true as boolean) as is_first
    from journey_stages
    where entered_at >= $start_at
      and entered_at < $end_before
      and entered_at <= $as_of
      and {{ lead_filters() }}
),

stage_events as (
    select
        cast({{ group_value('j') }} as varchar) as group_value,
        cast(e.occurred_at as date) as entry_day,
        j.channel,
        j.region,
        j.segment,
        cast(nullif(array_position($stage_keys, e.event_type), 0) as integer) as stage_order,
        cast(null as decimal(14, 2)) as won_amount,
        cast(false as boolean) as is_first
    from events as e
    inner join journey_leads as j on j.lead_id = e.lead_id
    where list_contains($stage_keys, e.event_type)
      and e.occurred_at >= $start_at
      and e.occurred_at < $end_before
      and e.occurred_at <= $as_of
      and {{ lead_filters('j') }}
),

final as (
    select * from entries
    union all
    select * from stage_events
)

select * from final

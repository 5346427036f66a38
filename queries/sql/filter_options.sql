-- Filter options: one row per (attribute, value) a lead in the store carries, for the sidebar's
-- choices and for validating values that arrive in the URL.
-- attribute is one of the list filters (queries/filters.py LIST_FILTERS: channel, region,
-- segment, owner); label is what a person reads (the owner's
-- name for owners, the value itself otherwise); n_leads counts leads with a journey.
-- No parameters.

with

-- Values of either grain: a filter may be set on leads or on opportunities.
journey_leads as (
    select channel, region, segment, owner_id from journey_leads
    union all
    select channel, region, segment, owner_id from deal_journey_leads
),

owners as (select * from owners),

-- One (attribute, value) row per list filter (queries/filters.py LIST_FILTERS) and lead.
attribute_values as (
    {{ list_filter_values('journey_leads') }}
),

counted as (
    select attribute, value, count(*) as n_leads
    from attribute_values
    where value is not null
    group by attribute, value
),

final as (
    select
        counted.attribute,
        counted.value,
        coalesce(owners.owner_name, counted.value) as label,
        counted.n_leads
    from counted
    left join owners
        on counted.attribute = 'owner'
        and owners.owner_id = counted.value
)

select * from final
order by attribute, label, value

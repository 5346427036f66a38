-- Date bounds: one row with the first and last start date of any lead's journey, so date
-- pickers offer only days that can hold data.
-- Columns: first_start (date), last_start (date); both null in an empty store.
-- Parameters: $grain ('lead' or 'opportunity').

with

-- The journeys of the grain asked for: leads or opportunities.
journey_leads as (
    select * from journey_leads where $grain = 'lead'
    union all
    select * from deal_journey_leads where $grain = 'opportunity'
),

final as (
    select
        cast(min(start_at) as date) as first_start,
        cast(max(start_at) as date) as last_start
    from journey_leads
)

select * from final

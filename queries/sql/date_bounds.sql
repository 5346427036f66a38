-- Date bounds: one row with the first and last start date of any lead's journey, so date
-- pickers offer only days that can hold data.
-- Columns: first_start (date), last_start (date); both null in an empty store.
-- No parameters.

with

journey_leads as (select * from journey_leads),

final as (
    select
        cast(min(start_at) as date) as first_start,
        cast(max(start_at) as date) as last_start
    from journey_leads
)

select * from final

-- Start months: one row per calendar month in which some lead's journey started, with how many
-- started, for choosing the default date range (queries/ranges.py). Parameters: $grain ('lead' or 'opportunity').

with

-- The journeys of the grain asked for: leads or opportunities.
journey_leads as (
    select * from journey_leads where $grain = 'lead'
    union all
    select * from deal_journey_leads where $grain = 'opportunity'
),

final as (
    select
        cast(date_trunc('month', start_at) as date) as month_start,
        count(*) as n_starts
    from journey_leads
    group by 1
)

select * from final
order by month_start

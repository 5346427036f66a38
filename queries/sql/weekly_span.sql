-- Store span: one row, the first and latest event in the store (the week picker's range).
-- No parameters.

with

events as (select * from events),

final as (
    select
        min(occurred_at) as first_event_at,
        max(occurred_at) as latest_event_at
    from events
)

select * from final

-- Names for an action list: one row per lead in $lead_ids that exists, with its CRM name and
-- company (free text: rendered as plain text only).
-- Parameters: $lead_ids (list of lead ids).

with

leads as (select * from leads),

final as (
    select lead_id, lead_name, company
    from leads
    where lead_id = any($lead_ids)
)

select * from final
order by lead_id

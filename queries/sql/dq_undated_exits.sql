-- Data quality, exits without a date of their own: one row per record whose current status is
-- an exit the export gives no date for (a Salesforce Lead's "Closed - Not Converted" with no
-- LeadHistory row). Either it was dated by the record's last change (its event id ends in
-- $last_change_suffix: the latest the status can have been set, so the exit may really be
-- earlier), or it had no date at all: an undated exit, kept in undated_records with its exit,
-- not counted as an exit, so the record counts as open. A record whose exit another file has
-- dated since is left out. n_total counts them all.
--   dated_by  'last_change' (occurred_at is the record's last change) or 'none' (undated)
-- Parameters: $exit_keys (list of the contract's exit keys), $last_change_suffix (text),
--   $max_rows (int).

with

events as (select * from events),
undated_records as (select * from undated_records),

by_last_change as (
    select
        lead_id,
        event_type as exit_type,
        cast(null as varchar) as status,
        'last_change' as dated_by,
        occurred_at,
        source
    from events
    where ends_with(event_id, $last_change_suffix)
),

undated as (
    select
        u.lead_id,
        u.stage as exit_type,
        u.status,
        'none' as dated_by,
        cast(null as timestamp) as occurred_at,
        u.source
    from undated_records as u
    where list_contains($exit_keys, u.stage)
      and not exists (
          select 1 from events as e
          where e.lead_id = u.lead_id
            and e.event_type = u.stage
      )
),

final as (
    select * from by_last_change
    union all
    select * from undated
)

select
    lead_id,
    exit_type,
    status,
    dated_by,
    occurred_at,
    source,
    count(*) over () as n_total
from final
order by dated_by, lead_id
limit $max_rows

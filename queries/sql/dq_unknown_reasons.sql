-- Data quality, unknown reason codes: one row per event whose reason code is not one of
-- funnel.toml's, so its drop-off cannot be charged to a team. n_total counts them all.
-- Parameters: $reason_keys (list of reason codes in funnel.toml), $max_rows (int).

with

events as (select * from events)

select
    event_id,
    lead_id,
    event_type,
    occurred_at,
    reason_code,
    source,
    count(*) over () as n_total
from events
where reason_code is not null
  and not list_contains($reason_keys, reason_code)
order by reason_code, lead_id, occurred_at
limit $max_rows

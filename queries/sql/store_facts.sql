-- Store facts: one row per key of store_meta (latest_event_at, is_sample, contract_hash, ...).
-- No parameters.

with

store_meta as (select * from store_meta)

select key, value from store_meta
order by key

-- Data quality, duplicate leads: one row per lead that shares its name and company (ignoring
-- case and surrounding spaces) with another lead, so one person may be counted twice.
-- n_total counts such leads; n_groups counts the people behind them.
-- Parameters: $max_rows (int).

with

leads as (select * from leads),

keyed as (
    select
        lead_id,
        lead_name,
        company,
        created_at,
        owner_id,
        lower(trim(lead_name)) || ' | ' || lower(trim(company)) as person_key
    from leads
    where coalesce(trim(lead_name), '') <> ''
      and coalesce(trim(company), '') <> ''
),

repeated as (
    select person_key, count(*) as n_same
    from keyed
    group by person_key
    having count(*) > 1
)

select
    k.person_key,
    k.lead_id,
    k.lead_name,
    k.company,
    k.created_at,
    k.owner_id,
    r.n_same,
    count(*) over () as n_total,
    count(distinct k.person_key) over () as n_groups
from keyed as k
join repeated as r on r.person_key = k.person_key
order by k.person_key, k.created_at, k.lead_id
limit $max_rows

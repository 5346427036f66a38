-- Data quality, leads without an owner: one row per lead whose owner is empty or not a known
-- owner, so no team can be asked to act on it. n_total counts them all.
-- Parameters: $max_rows (int).

with

leads as (select * from leads),

owners as (select * from owners)

select
    l.lead_id,
    l.lead_name,
    l.company,
    l.created_at,
    l.channel,
    l.owner_id,
    case when l.owner_id is null then 'no owner' else 'owner not in the owners table' end as problem,
    count(*) over () as n_total
from leads as l
left join owners as o on o.owner_id = l.owner_id
where o.owner_id is null
order by l.created_at, l.lead_id
limit $max_rows

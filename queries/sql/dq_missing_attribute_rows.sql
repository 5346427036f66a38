-- Data quality, missing attributes: one row per (lead, missing field), the rows behind
-- dq_missing_attributes. n_total is the number of such rows before the limit.
-- Parameters: $max_rows (int, rows returned at most).

with

leads as (select * from leads),

owners as (select * from owners),

owned as (
    select
        l.lead_id,
        l.created_at,
        l.lead_name,
        l.company,
        l.channel,
        l.campaign,
        l.region,
        l.segment,
        l.owner_id,
        coalesce(o.team, 'no owner') as team
    from leads as l
    left join owners as o on o.owner_id = l.owner_id
),

missing as (
    select lead_id, 'channel' as field from owned where coalesce(trim(channel), '') = ''
    union all
    select lead_id, 'campaign' from owned where coalesce(trim(campaign), '') = ''
    union all
    select lead_id, 'region' from owned where coalesce(trim(region), '') = ''
    union all
    select lead_id, 'segment' from owned where coalesce(trim(segment), '') = ''
    union all
    select lead_id, 'company' from owned where coalesce(trim(company), '') = ''
)

select
    m.field,
    o.team,
    o.lead_id,
    o.lead_name,
    o.created_at,
    o.owner_id,
    count(*) over () as n_total
from missing as m
join owned as o on o.lead_id = m.lead_id
order by m.field, o.team, o.lead_id
limit $max_rows

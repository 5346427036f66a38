-- Data quality, missing attributes: one row per (field, team) with at least one lead missing it.
-- A field is missing when it is null or blank. The team that should have filled it is the team
-- of the lead's current owner ('no owner' when the lead has none or an unknown one).
-- Parameters: none.

with

leads as (select * from leads),

owners as (select * from owners),

owned as (
    select
        l.lead_id,
        l.company,
        l.channel,
        l.campaign,
        l.region,
        l.segment,
        coalesce(o.team, 'no owner') as team
    from leads as l
    left join owners as o on o.owner_id = l.owner_id
),

missing as (
    select 'channel' as field, team from owned where coalesce(trim(channel), '') = ''
    union all
    select 'campaign', team from owned where coalesce(trim(campaign), '') = ''
    union all
    select 'region', team from owned where coalesce(trim(region), '') = ''
    union all
    select 'segment', team from owned where coalesce(trim(segment), '') = ''
    union all
    select 'company', team from owned where coalesce(trim(company), '') = ''
),

team_sizes as (
    select team, count(*) as n_leads
    from owned
    group by team
),

final as (
    select
        m.field,
        m.team,
        count(*) as n_missing,
        max(t.n_leads) as n_leads
    from missing as m
    join team_sizes as t on t.team = m.team
    group by m.field, m.team
)

select field, team, n_missing, n_leads, n_missing / n_leads as missing_rate
from final
order by field, team

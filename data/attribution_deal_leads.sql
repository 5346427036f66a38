-- Attribution deal leads: one row per (deal, lead the deal can have), where a deal is an
-- opportunity some event names. A deal's lead as of a moment is the smallest lead id its
-- events name by then, else its contact lead (queries/sql/attribution_deals.sql), so the
-- candidates are every lead its events name, its contact lead, and none (lead_id null).
--   is_contact      this is the deal's contact lead: its primary contact, else its first by id
--                   (opportunity_people); the row of a null contact lead has lead_id null
--   lead_start_at, channel, ... account_size
--                   the lead's attributes (journey_leads), else the opportunity's own
--                   (deal_journey_leads); null when neither is known
--   is_known        the lead has a journey, or the opportunity has one of its own (a deal
--                   with neither is in no attribution)
-- Rebuilt with the journeys (data/attribution_layouts.py). Why this layout: the deals' query
-- joined every deal to all of journey_leads (1M wide rows at 1M leads) for a few attributes;
-- none of this depends on a view's dates, the as-of or the contract.
-- Parameters: none.

with

events as (select * from events),
opportunity_people as (select * from opportunity_people),
journey_leads as (select * from journey_leads),
deal_journey_leads as (select * from deal_journey_leads),

contact_leads as (
    -- A deal's lead when its events name none: its primary contact, else its first by id.
    select opportunity_id, arg_min(lead_id, (not coalesce(is_primary, false), lead_id)) as lead_id
    from opportunity_people
    group by opportunity_id
),

deal_ids as (
    select distinct deal_id
    from events
    where deal_id is not null
),

candidates as (
    select deal_id, lead_id, false as is_contact
    from events
    where deal_id is not null
      and lead_id is not null
    union all
    select d.deal_id, c.lead_id, true as is_contact
    from deal_ids as d
    inner join contact_leads as c on c.opportunity_id = d.deal_id
    union all
    select deal_id, cast(null as varchar) as lead_id, false as is_contact
    from deal_ids
),

deal_leads as (
    select deal_id, lead_id, bool_or(is_contact) as is_contact
    from candidates
    group by deal_id, lead_id
),

final as (
    select
        d.deal_id,
        d.lead_id,
        d.is_contact,
        j.lead_id is not null or o.lead_id is not null as is_known,
        j.start_at as lead_start_at,
        coalesce(j.channel, o.channel) as channel,
        coalesce(j.campaign, o.campaign) as campaign,
        coalesce(j.region, o.region) as region,
        coalesce(j.segment, o.segment) as segment,
        coalesce(j.owner_id, o.owner_id) as owner_id,
        coalesce(j.owner_team, o.owner_team) as owner_team,
        coalesce(j.manager, o.manager) as manager,
        coalesce(j.office, o.office) as office,
        coalesce(j.sector, o.sector) as sector,
        coalesce(j.account_size, o.account_size) as account_size
    from deal_leads as d
    left join journey_leads as j on j.lead_id = d.lead_id
    left join deal_journey_leads as o on o.lead_id = d.deal_id
)

select * from final

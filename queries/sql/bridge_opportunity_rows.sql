-- The opportunities of a bridge view: one row per opportunity created (opportunity_bridge.
-- opened_at) in [$start_at, $end_before) and by $as_of, with the filters applied to the
-- opportunity's attributes (deal_journey_leads: its record's, else its lead's). The shared base
-- of bridge_opportunities and bridge_roles, which read it with ref('bridge_opportunity_rows')
-- (queries/sql_refs.py), so both count the same opportunities. With the attributes the filters
-- read (channel, region, segment, owner_id): kept whole per store version at the latest date by
-- queries/cube.py (ROWS), whose views take the rows of their range (by opened_at) and list
-- filters (cube_opportunity_rows.sql).
-- Parameters: $start_at, $end_before, $as_of (timestamps), $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all).

with

opportunity_bridge as (select * from opportunity_bridge),
deal_journey_leads as (select * from deal_journey_leads),

final as (
    select
        b.opportunity_id,
        b.opened_at,
        b.account_id,
        b.n_contacts,
        b.first_marketing_at,
        b.is_marketing_touched,
        d.channel,
        d.region,
        d.segment,
        d.owner_id
    from opportunity_bridge as b
    inner join deal_journey_leads as d on d.lead_id = b.opportunity_id
    where b.opened_at >= $start_at
      and b.opened_at < $end_before
      and b.opened_at <= $as_of
      and {{ lead_filters('d') }}
)

select * from final

-- Bridge MQL rows: one row per lead whose own entry into the handoff stage falls in
-- [$start_at, $end_before) and by $as_of (the MQLs of the range), with the lead filters: the
-- one definition of an MQL and the opportunity it led to, which bridge_mqls.sql counts (read
-- with ref('bridge_mql_rows')). Kept whole per store version at the latest date by
-- queries/cube.py (ROWS), whose views take the rows of their range and list filters
-- (cube_mql_rows.sql). docs/design.md "The bridge between the grains".
--   mql_at                    the MQL entry (journey_stages.entered_at at the handoff stage)
--   channel, region, segment, owner_id
--                             the lead's, as the list filters read them
--   days                      days from the MQL entry to the creation of the first opportunity
--                             it led to: its converted lead or one of its contacts
--                             (opportunity_people), the opportunity created
--                             (opportunity_bridge.opened_at) on or after the MQL entry, within
--                             $window of it and by $as_of (null: none)
--   has_account_opportunity   its account (own or matched: journey_leads.account_id) had an
--                             opportunity created in that same span, whoever is on it
-- Parameters: $start_at, $end_before, $as_of (timestamps), $window (interval: the window in
--   days), $handoff_order (the handoff stage's position among the lead grain's tracked
--   stages), $channels, $regions, $segments, $owners (lists; $all_<list>: all).

with

journey_stages as (select * from journey_stages),
journey_leads as (select * from journey_leads),
opportunity_people as (select * from opportunity_people),
opportunity_bridge as (select * from opportunity_bridge),

-- With each MQL's account (own or matched), looked up here once: joined with the
-- opportunities in the same step as the accounts, DuckDB matched every lead's account with them
-- before keeping the MQLs' (211 -> 83 ms at 1M leads).
mqls as (
    select
        s.lead_id,
        s.entered_at as mql_at,
        least(s.entered_at + $window, $as_of) as cutoff,
        j.account_id,
        s.channel,
        s.region,
        s.segment,
        s.owner_id
    from journey_stages as s
    left join journey_leads as j on j.lead_id = s.lead_id
    where s.stage_order = $handoff_order
      and s.entered_at >= $start_at
      and s.entered_at < $end_before
      and s.entered_at <= $as_of
      and {{ lead_filters('s') }}
),

first_opportunities as (
    select
        m.lead_id,
        min(b.opened_at) as opened_at
    from mqls as m
    inner join opportunity_people as p on p.lead_id = m.lead_id
    inner join opportunity_bridge as b on b.opportunity_id = p.opportunity_id
    where b.opened_at >= m.mql_at
      and b.opened_at <= m.cutoff
    group by m.lead_id
),

account_opportunities as (
    select distinct m.lead_id
    from mqls as m
    inner join opportunity_bridge as b on b.account_id = m.account_id
    where b.opened_at >= m.mql_at
      and b.opened_at <= m.cutoff
),

final as (
    select
        m.lead_id,
        m.mql_at,
        m.channel,
        m.region,
        m.segment,
        m.owner_id,
        date_diff('microsecond', m.mql_at, f.opened_at) / 86400e6 as days,
        a.lead_id is not null as has_account_opportunity
    from mqls as m
    left join first_opportunities as f on f.lead_id = m.lead_id
    left join account_opportunities as a on a.lead_id = m.lead_id
)

select * from final


-- Sales use of Marketing content: one row per group ($by) of opportunities opened in
-- [$start_at, $end_before). An opportunity "used Marketing content" when a touch made by
-- $sales_team on content made by $marketing_team falls between its opportunity entry and its
-- close (won or lost), or $as_of while it is still open. Win rates count closed deals only:
-- open deals are in progress, neither won nor lost.
-- Parameters: $start_at, $end_before, $as_of (timestamps); $channels, $regions, $segments,
--   $owners (lists, null = all); $opportunity_stage, $won_stage (stage keys from funnel.toml);
--   $exit_keys (an exit carrying a deal id closes it lost); $marketing_team, $sales_team;
--   $by (null for one group, or an attribute name mapped below: the allow-list).

with

events as (select * from events),
touches as (select * from touches),
content as (select * from content),
journey_leads as (select * from journey_leads),

deal_events as (
    select
        deal_id,
        min(lead_id) as lead_id,
        min(occurred_at) filter (where event_type = $opportunity_stage) as opened_at,
        min(occurred_at) filter (where event_type = $won_stage) as won_at,
        min(occurred_at) filter (where event_type = any($exit_keys)) as lost_at
    from events
    where deal_id is not null
      and occurred_at <= $as_of
    group by deal_id
),

opportunities as (
    select
        case $by
            when 'channel' then j.channel
            when 'campaign' then j.campaign
            when 'region' then j.region
            when 'segment' then j.segment
            when 'owner' then j.owner_id
            when 'team' then j.owner_team
        end as group_value,
        d.deal_id,
        d.lead_id,
        d.opened_at,
        d.won_at is not null as is_won,
        d.won_at is not null or d.lost_at is not null as is_closed,
        coalesce(d.won_at, d.lost_at, $as_of) as cutoff_at
    from deal_events as d
    inner join journey_leads as j on j.lead_id = d.lead_id
    where d.opened_at >= $start_at
      and d.opened_at < $end_before
      and ($channels is null or j.channel = any($channels))
      and ($regions is null or j.region = any($regions))
      and ($segments is null or j.segment = any($segments))
      and ($owners is null or j.owner_id = any($owners))
),

shared as (
    select distinct o.deal_id
    from opportunities as o
    inner join touches as t
        on t.lead_id = o.lead_id
       and t.touched_at >= o.opened_at
       and t.touched_at <= o.cutoff_at
    inner join content as c on c.content_id = t.content_id
    where t.team = $sales_team
      and c.team = $marketing_team
),

flagged as (
    select
        o.*,
        s.deal_id is not null as is_shared
    from opportunities as o
    left join shared as s on s.deal_id = o.deal_id
),

final as (
    select
        group_value,
        count(*) as n_opportunities,
        count(*) filter (where is_shared) as n_shared,
        count(*) filter (where is_shared and is_closed) as n_closed_shared,
        count(*) filter (where is_shared and is_won) as n_won_shared,
        count(*) filter (where not is_shared and is_closed) as n_closed_not_shared,
        count(*) filter (where not is_shared and is_won) as n_won_not_shared
    from flagged
    group by group_value
)

select * from final
order by group_value

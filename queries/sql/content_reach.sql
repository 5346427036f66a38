-- Content reach: one row per piece of content published before $end_before: how often
-- Marketing and Sales used it on leads during [$start_at, $end_before) and how many leads it
-- reached. Content nobody used in the range is listed with zeros (unused content is news too).
-- Only touches on leads that pass the lead filters count (content_touch_rows.sql).
-- Parameters: $start_at, $end_before, $as_of (timestamps); $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all); $marketing_team, $sales_team (team names as in touches.team).

with

content as (select * from content),

-- The touches that count: content_touch_rows.sql.
period_touches as (
    select * from {{ ref('content_touch_rows') }}
),

per_content as (
    select
        content_id,
        count(*) filter (where team = $marketing_team) as n_touches_marketing,
        count(*) filter (where team = $sales_team) as n_touches_sales,
        count(distinct lead_id) as n_leads,
        count(distinct lead_id) filter (where team = $sales_team) as n_leads_by_sales
    from period_touches
    group by content_id
),

final as (
    select
        c.content_id,
        c.title,
        c.kind,
        c.team as made_by,
        c.published_at,
        coalesce(p.n_touches_marketing, 0) as n_touches_marketing,
        coalesce(p.n_touches_sales, 0) as n_touches_sales,
        coalesce(p.n_leads, 0) as n_leads,
        coalesce(p.n_leads_by_sales, 0) as n_leads_by_sales
    from content as c
    left join per_content as p on p.content_id = c.content_id
    where c.published_at < $end_before
)

select * from final
order by n_leads desc, content_id

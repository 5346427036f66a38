-- Content touch rows: one row per touch on a piece of content during [$start_at, $end_before)
-- and by $as_of, on a lead that passes the lead filters, with that lead's attributes: the one
-- definition of a counted touch, which content_reach.sql counts (read with
-- ref('content_touch_rows')). Kept whole per store version at the latest date by
-- queries/cube.py (ROWS), whose views take the rows of their range and list filters by the
-- touch's own time (cube_touch_rows.sql).
-- Parameters: $start_at, $end_before, $as_of (timestamps); $channels, $regions, $segments,
--   $owners (lists; $all_<list>: all).

with

touches as (select * from touches),
journey_leads as (select * from journey_leads),

final as (
    select
        t.content_id,
        t.lead_id,
        t.team,
        t.touched_at,
        j.channel,
        j.region,
        j.segment,
        j.owner_id
    from touches as t
    inner join journey_leads as j on j.lead_id = t.lead_id
    where t.touched_at >= $start_at
      and t.touched_at < $end_before
      and t.touched_at <= $as_of
      and t.content_id is not null
      and {{ lead_filters('j') }}
)

select * from final

-- Content and stage progress (a landmark comparison): one row per (content, stage).
-- Population: leads that entered stage s in [$start_at, $end_before) and were still in it at the
-- landmark, s's landmark after the entry (the stage's expected days in funnel.toml): they
-- had not reached a later stage by then, and the landmark is on or before $as_of.
-- Touched: a touch of the content between the entry and the landmark (for a lead's very first
-- stage, touches before the entry count too). Advanced: reached the next stage (or a later one)
-- after the landmark, within $window of entering s and by $as_of.
-- Why a landmark: comparing leads "touched while in the stage" with the rest favours slow leads
-- (fast ones had no time to be touched), and counting touches after a lead moved on lets the
-- next stage's touches (Sales sharing content on an opportunity) pass for a cause of reaching
-- it. Fixing who is compared at the landmark, before the outcome, removes both.
-- Comparison: leads of the same stage, channel and month of entry (a stratum) without a touch
-- of this content by the landmark. expected_advanced is the number of touched leads that would
-- have advanced at their strata's untouched rates; expected_var its variance. Touched leads in
-- strata without untouched leads are left out of the comparison (n_touched - n_matched).
-- An association, not proof of cause. Skipped stages (no entry of their own) and the last
-- stage (nothing to advance to) are left out.
-- Parameters: $start_at, $end_before, $as_of (timestamps); $window (interval: the window in days); $landmark_rows
--   (one per stage: stage_order, landmark, an interval of whole hours); $channels, $regions, $segments, $owners (lists;
--   $all_<list>: all); $n_stages (number of stages).

with

journey_stages as (select * from journey_stages),
touches as (select * from touches),
content as (select * from content),

landmarks as (
    select
        landmark_row.stage_order,
        landmark_row.landmark
    from (select unnest($landmark_rows) as landmark_row) as landmark_rows
),

stage_rows as (
    select
        lead_id,
        journey_stages.stage_order,
        coalesce(channel, '(none)') as channel,
        date_trunc('month', entered_at) as entered_month,
        -- Touches before the lead's first stage entry count for that first stage.
        case when entered_at > start_at then entered_at end as in_stage_from,
        entered_at + landmarks.landmark as landmark_at,
        coalesce(next_reached_at <= least(entered_at + $window, $as_of), false)
            as is_advanced
    from journey_stages
    inner join landmarks on landmarks.stage_order = journey_stages.stage_order
    where entered_at is not null
      and entered_at + landmarks.landmark <= $as_of
      and (next_reached_at is null or next_reached_at > entered_at + landmarks.landmark)
      and entered_at >= $start_at
      and entered_at < $end_before
      and entered_at <= $as_of
      and journey_stages.stage_order < $n_stages
      and {{ lead_filters() }}
),

exposed as (
    select distinct
        s.lead_id,
        s.stage_order,
        t.content_id
    from stage_rows as s
    inner join touches as t on t.lead_id = s.lead_id
    where t.content_id is not null
      and (s.in_stage_from is null or t.touched_at >= s.in_stage_from)
      and t.touched_at <= s.landmark_at
),

strata as (
    select
        stage_order,
        channel,
        entered_month,
        count(*) as n_leads,
        count(*) filter (where is_advanced) as n_advanced
    from stage_rows
    group by stage_order, channel, entered_month
),

touched_strata as (
    select
        e.content_id,
        s.stage_order,
        s.channel,
        s.entered_month,
        count(*) as n_touched,
        count(*) filter (where s.is_advanced) as n_touched_advanced
    from exposed as e
    inner join stage_rows as s on s.lead_id = e.lead_id and s.stage_order = e.stage_order
    group by e.content_id, s.stage_order, s.channel, s.entered_month
),

compared as (
    select
        t.*,
        a.n_leads - t.n_touched as n_untouched,
        a.n_advanced - t.n_touched_advanced as n_untouched_advanced,
        cast(a.n_advanced - t.n_touched_advanced as double) / nullif(a.n_leads - t.n_touched, 0)
            as untouched_rate
    from touched_strata as t
    inner join strata as a
        on a.stage_order = t.stage_order
       and a.channel = t.channel
       and a.entered_month = t.entered_month
),

per_content_stage as (
    select
        content_id,
        stage_order,
        sum(n_touched) as n_touched,
        sum(n_touched_advanced) as n_advanced,
        coalesce(sum(n_touched) filter (where n_untouched > 0), 0) as n_matched,
        coalesce(sum(n_touched_advanced) filter (where n_untouched > 0), 0) as n_matched_advanced,
        coalesce(sum(n_untouched) filter (where n_untouched > 0), 0) as n_comparison,
        coalesce(sum(n_touched * untouched_rate) filter (where n_untouched > 0), 0) as expected_advanced,
        coalesce(
            sum(n_touched * n_touched * untouched_rate * (1 - untouched_rate) / n_untouched)
                filter (where n_untouched > 0),
            0
        ) as expected_var
    from compared
    group by content_id, stage_order
),

final as (
    select
        p.content_id,
        coalesce(c.title, p.content_id) as title,
        c.kind,
        c.team as made_by,
        p.stage_order,
        p.n_touched,
        p.n_advanced,
        p.n_matched,
        p.n_matched_advanced,
        p.n_comparison,
        p.expected_advanced,
        p.expected_var
    from per_content_stage as p
    left join content as c on c.content_id = p.content_id
)

select * from final
order by stage_order, n_touched desc, content_id

-- Stalled leads at the end of a week: one row per lead whose current stage (its latest stage
-- event before $as_of) was entered longer ago than that stage's expected days, with no exit
-- since, not at the last stage, and whose conversion window is still open (start + window
-- on or after $as_of; past it the lead counts as dropped, not stalled).
-- is_new: the lead crossed its expected days during the week (on or after $week_start).
-- arg_max and list_position are DuckDB (argMax / array_position elsewhere).
-- Parameters: $as_of (the end of the week), $week_start, $stage_keys, $exit_keys,
--   $expected_days (list of days per stage in order, null = no limit), $window_days,
--   $n_stages.

with

events as (select * from events),
leads as (select * from leads),
owners as (select * from owners),
journey_leads as (select * from journey_leads),

per_lead as (
    select
        lead_id,
        max(occurred_at) filter (where event_type = any($stage_keys)) as stage_at,
        arg_max(event_type, occurred_at) filter (where event_type = any($stage_keys)) as stage_key,
        max(occurred_at) filter (where event_type = any($exit_keys)) as exit_at
    from events
    where occurred_at < $as_of
    group by lead_id
),

current_stage as (
    select
        lead_id,
        list_position($stage_keys, stage_key) as stage_order,
        stage_at
    from per_lead
    where stage_at is not null
      and (exit_at is null or exit_at < stage_at)
),

timed as (
    select
        c.lead_id,
        c.stage_order,
        c.stage_at,
        $expected_days[c.stage_order] as expected_days,
        extract(epoch from ($as_of - c.stage_at)) / 86400.0 as days_in_stage,
        j.start_at
    from current_stage as c
    inner join journey_leads as j on j.lead_id = c.lead_id
    where c.stage_order < $n_stages
      and j.start_at + $window_days * interval 1 day >= $as_of
),

stalled as (
    select
        *,
        stage_at + cast(expected_days * 86400 as bigint) * interval 1 second >= $week_start as is_new
    from timed
    where expected_days is not null
      and days_in_stage > expected_days
),

final as (
    select
        s.lead_id,
        l.lead_name,
        l.company,
        coalesce(l.owner_id, '') as owner_id,
        coalesce(o.owner_name, 'No owner') as owner_name,
        coalesce(o.team, 'unassigned') as owner_team,
        s.stage_order,
        s.stage_at,
        s.expected_days,
        s.days_in_stage,
        s.is_new
    from stalled as s
    left join leads as l on l.lead_id = s.lead_id
    left join owners as o on o.owner_id = l.owner_id
)

select * from final
order by owner_name, stage_order desc, days_in_stage desc, lead_id

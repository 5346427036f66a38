-- The records behind one count of the cohort funnel: one row per cohort record at one stage
-- with one status there, optionally in one group of $by, oldest start first. The cohort is
-- cohort_rows.sql and the flags are cohort_flags.sql's (read with ref('cohort_flags')), which the
-- funnel counts, so the rows of a selection number exactly the count the funnel shows for it.
--   reached      reached the stage in time (cohort_funnel's n_reached)
--   skipped      reached it in time without an event of its own there (n_skipped)
--   in_progress  reached it, not the next stage, and neither exited nor outlived its window
--   dropped      reached it, not the next stage, and exited or outlived its window (n_dropped)
-- Columns: lead_id, lead_name, company, channel, owner_id, owner_name, start_at, entered_at (its
--   own entry into the stage, null when skipped), reached_at (when it counted as reaching it),
--   exit_at, exit_type, exit_reason (null without an exit by $as_of), n_total (all matching).
-- Parameters: those of cohort_flags.sql; $sel_stage_order (the stage's position among the tracked
--   stages), $sel_status (one of the four above), $sel_has_group (bool: one group only),
--   $sel_group (its value; null: the records without a value), $limit_rows.

with

leads as (select * from leads),

owners as (select * from owners),

flags as (
    select *
    from {{ ref('cohort_flags') }}
    where stage_order = $sel_stage_order
      and (not $sel_has_group or group_value is not distinct from $sel_group)
),

selected as (
    select *
    from flags
    where case $sel_status
        when 'reached' then is_reached
        when 'skipped' then is_skipped
        when 'in_progress' then is_in_progress
        when 'dropped' then is_dropped
        else false
    end
),

final as (
    select
        selected.lead_id,
        leads.lead_name,
        leads.company,
        selected.channel,
        selected.owner_id,
        owners.owner_name,
        selected.start_at,
        case when selected.entered_at <= selected.cutoff then selected.entered_at end as entered_at,
        selected.reach_at as reached_at,
        case when selected.final_exit_at <= $as_of then selected.final_exit_at end as exit_at,
        case when selected.final_exit_at <= $as_of then selected.final_exit_type end as exit_type,
        case when selected.final_exit_at <= $as_of then selected.final_exit_reason end as exit_reason,
        count(*) over () as n_total
    from selected
    left join leads on leads.lead_id = selected.lead_id
    left join owners on owners.owner_id = selected.owner_id
)

select * from final
order by start_at, lead_id
limit $limit_rows

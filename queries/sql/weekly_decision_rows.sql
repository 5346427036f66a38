-- Stage decisions: one row per (lead, stage) decided in [$from_at, $to_before), with when and
-- how (decided_at; outcome: exited, moved or window_ended). The one definition of a decision,
-- read with ref('weekly_decision_rows') by weekly_decisions.sql (per ISO week) and by
-- cube_decision_rows.sql (the rollup per day).
-- A lead that entered stage k (an entry of its own, in its window) is decided at k at the
-- first of:
--   * an exit at or after entry(k) and before it moved on: dropped, in the week of the exit;
--   * its move on (first entry into k+1 or later, next_reached_at) by start + window: moved;
--   * start + $window (the conversion window ran out, no move and no exit by then):
--     dropped, in the week the window ends (docs/design.md "In progress vs dropped").
-- Whichever comes first decides, so a week's decisions depend only on events up to the end of
-- that week: a lead recycled in week W and back later stays dropped in week W (the cohort
-- funnel, which looks at the whole window, counts it as reached if it moved on in time).
-- The share that moved on is a proportion of the same leads, so two weeks can be compared
-- with a two-proportion test. The last stage has no next stage and is left out.
-- Parameters: $from_at, $to_before (timestamps: for the weeks, Monday 00:00 of the first and
--   the Monday after the last; the rollup, the whole store), $n_stages (number of stages in the contract), $window (the conversion
--   window), $exit_keys (the contract's exit event types).

with

journey_stages as (select * from journey_stages),

journey_exits as (select * from journey_exits),

stages as (
    select
        lead_id,
        stage_order,
        entered_at,
        next_reached_at as moved_at,
        start_at + $window as window_end_at
    from journey_stages
    where entered_at is not null
      and stage_order < $n_stages
      and entered_at < $to_before
      and entered_at <= start_at + $window
      -- A decision comes at the latest when the window ends, so a lead whose window ended
      -- before the first week cannot be decided in it: its rows are not read at all.
      and start_at >= $from_at - $window
),

-- Every exit event of a lead with a journey (journey_exits, laid out at import), so no
-- query scans the raw events for them.
exit_events as (
    select
        lead_id,
        exit_at
    from journey_exits
    where list_contains($exit_keys, exit_type)
      and exit_at < $to_before
),

first_exits as (
    select
        stages.lead_id,
        stages.stage_order,
        min(exit_events.exit_at) as exit_at
    from stages
    inner join exit_events
        on exit_events.lead_id = stages.lead_id
        and exit_events.exit_at >= stages.entered_at
        and (stages.moved_at is null or exit_events.exit_at < stages.moved_at)
    group by stages.lead_id, stages.stage_order
),

outcomes as (
    select
        stages.stage_order,
        case
            when first_exits.exit_at <= stages.window_end_at then first_exits.exit_at
            when stages.moved_at <= stages.window_end_at then stages.moved_at
            else stages.window_end_at
        end as decided_at,
        case
            when first_exits.exit_at <= stages.window_end_at then 'exited'
            when stages.moved_at <= stages.window_end_at then 'moved'
            else 'window_ended'
        end as outcome
    from stages
    left join first_exits
        on first_exits.lead_id = stages.lead_id
        and first_exits.stage_order = stages.stage_order
),

final as (
    select
        stage_order,
        decided_at,
        outcome
    from outcomes
    where decided_at >= $from_at
      and decided_at < $to_before
)

select * from final

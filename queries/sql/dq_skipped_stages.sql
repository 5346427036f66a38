-- Data quality, skipped stages: one row per (lead, stage) the lead passed without an event of
-- its own, between stage 1 and its furthest stage. is_before_start marks stages before the
-- lead's start (it began later, e.g. Sales-sourced straight to SQL), which are expected; the
-- others are gaps in the record. n_total is the number of such rows before the limit.
-- Parameters: $stage_rows (one per stage: stage_order, stage_key; queries/contracts.py
--   stage_rows), $max_rows (int).

with

journey_stages as (select * from journey_stages),

journey_leads as (select * from journey_leads),

stages as (
    select
        stage_row.stage_order,
        stage_row.stage_key
    from (select unnest($stage_rows) as stage_row) as stage_rows
),

skipped as (
    select
        s.lead_id,
        s.stage_order,
        s.stage_order < jl.earliest_stage_order as is_before_start,
        s.channel,
        s.owner_id,
        s.owner_team
    from journey_stages as s
    join journey_leads as jl on jl.lead_id = s.lead_id
    where s.entered_at is null
),

-- Counted once in an aggregate: a windowed count(*) filter (...) over () over every skipped
-- row took 70 s at 1M leads, this takes well under a second.
totals as (
    select
        count(*) as n_total,
        count(*) filter (where not is_before_start) as n_gaps
    from skipped
)

select
    s.lead_id,
    stages.stage_key as stage,
    s.stage_order,
    s.is_before_start,
    s.channel,
    s.owner_id,
    s.owner_team,
    t.n_total,
    t.n_gaps
from skipped as s
left join stages on stages.stage_order = s.stage_order
cross join totals as t
order by s.is_before_start, s.lead_id, s.stage_order
limit $max_rows

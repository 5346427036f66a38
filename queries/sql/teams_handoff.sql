-- Handoff health: how fast and how the follow-through team acted on the leads handed to it.
-- Counts the rows of teams_handoffs.sql (population, first action, SLA status and owner are
-- defined there; read with {{ ref('teams_handoffs') }}, queries/sql_refs.py).
-- Grain: grouping sets, told apart by `grain`: one 'total' row; one 'owner' row per owner;
--   one 'reason' row per first-action rejection reason (reason null: not a rejection).
-- Percentiles are over leads with an action by $as_of (no-action leads are counted, not timed).
-- Parameters: teams_handoffs.sql's.

with

statused as (select * from {{ ref('teams_handoffs') }}),

final as (
    select
        case
            when grouping(owner_id) = 0 then 'owner'
            when grouping(rejection_reason) = 0 then 'reason'
            else 'total'
        end as grain,
        owner_id,
        owner_name,
        rejection_reason,
        count(*) as n_handoffs,
        count(response_hours) as n_acted,
        percentile_cont(0.5) within group (order by response_hours) as median_hours,
        percentile_cont(0.75) within group (order by response_hours) as p75_hours,
        percentile_cont(0.9) within group (order by response_hours) as p90_hours,
        count(*) filter (where sla_status = 'within') as n_within,
        count(*) filter (where sla_status = 'breached') as n_breached,
        count(*) filter (where sla_status = 'breached' and action_kind = 'none') as n_breached_no_action,
        count(*) filter (where sla_status = 'pending') as n_pending,
        count(*) filter (where action_kind = 'accepted') as n_accepted,
        count(*) filter (where action_kind = 'rejected') as n_rejected,
        count(*) filter (where action_kind = 'other') as n_other_action,
        count(*) filter (where action_kind = 'none') as n_no_action
    from statused
    group by grouping sets ((owner_id, owner_name), (rejection_reason), ())
)

select * from final
order by grain, owner_name, rejection_reason

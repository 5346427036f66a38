-- Stage moves: one row per backward move or re-open of the cohort's opportunities
-- (cohort_rows.sql at the opportunity grain), from every stage and exit event on or before
-- $as_of (cohort_status_events.sql), newest first, at most $limit rows. The same definitions as
-- stage_history.sql, so its counts are these rows counted:
--   is_backward     a stage event into an earlier stage than the opportunity's previous stage
--                   event (from_stage)
--   is_reopened     a stage event before the last stage after the opportunity's first outcome
--                   (won, or an exit of kind lost), the first such event since it was last
--                   closed (came_back_from: the won stage or the exit it came back from)
-- Parameters: those of cohort_rows.sql, $stage_keys, $last_stage_key (its last), $n_stages,
--   $exit_keys ([''] when none),
--   $lost_keys ([''] when none), $limit (rows).

with

opportunities as (select opportunity_id, name from opportunities),

status_events as (select * from {{ ref('cohort_status_events') }}),

first_outcomes as (
    select deal_id, min(occurred_at) as first_outcome_at
    from status_events
    where event_type = $last_stage_key or list_contains($lost_keys, event_type)
    group by deal_id
),

stage_events as (
    select
        *,
        lag(event_type) over (partition by deal_id order by seq) as from_stage,
        lag(stage_order) over (partition by deal_id order by seq) as from_order
    from status_events
    where stage_order is not null
),

flagged as (
    select
        s.*,
        coalesce(s.stage_order < s.from_order, false) as is_backward,
        coalesce(
            s.stage_order < $n_stages
            and s.occurred_at > o.first_outcome_at
            and (
                nullif(array_position($stage_keys, s.previous_type), 0) is null
                or nullif(array_position($stage_keys, s.previous_type), 0) = $n_stages
                or s.previous_at <= o.first_outcome_at
            ),
            false
        ) as is_reopened
    from stage_events as s
    left join first_outcomes as o on o.deal_id = s.deal_id
),

final as (
    select
        f.deal_id as opportunity_id,
        o.name,
        f.owner_id,
        f.occurred_at,
        f.from_stage,
        case
            when f.is_reopened
                and coalesce(nullif(array_position($stage_keys, f.previous_type), 0), $n_stages) = $n_stages
                then f.previous_type
        end as came_back_from,
        f.event_type as to_stage,
        f.is_backward,
        f.is_reopened
    from flagged as f
    left join opportunities as o on o.opportunity_id = f.deal_id
    where f.is_backward or f.is_reopened
)

select * from final
order by occurred_at desc, opportunity_id
limit $limit

-- Exits during one week: one row per (exit type, reason code, team that recorded the exit).
-- Every exit event counts (a lead recycled twice in the week counts twice in n_exits, once in
-- n_leads). The team each reason is charged to comes from funnel.toml, joined in Python.
-- Parameters: $start_at, $end_before (the week, Monday to Monday), $exit_keys.

with

events as (select * from events),

exits as (
    select
        event_type as exit_type,
        coalesce(reason_code, '') as reason_code,
        coalesce(team, 'unassigned') as team,
        lead_id
    from events
    where list_contains($exit_keys, event_type)
      and occurred_at >= $start_at
      and occurred_at < $end_before
),

final as (
    select
        exit_type,
        reason_code,
        team,
        count(*) as n_exits,
        count(distinct lead_id) as n_leads
    from exits
    group by exit_type, reason_code, team
)

select * from final
order by n_exits desc, exit_type, reason_code, team

-- Stalled leads right now, the weekly meeting's action list: the rows of
-- teams_stalled_rows.sql (read with {{ ref('teams_stalled_rows') }}: who is stalled, in which
-- stage, owned by whom) with the selection applied, most days over the expectation first, at
-- most $limit_rows; n_total counts all that match.
-- Parameters: teams_stalled_rows.sql's, plus $sel_stage_order, $sel_team, $sel_owner_id
--   (null = any) and $limit_rows.

with

stalled as (select * from {{ ref('teams_stalled_rows') }}),

owners as (select * from owners),

leads as (select * from leads),

-- Counted and limited first; names are looked up for the listed rows only, after the limit (a
-- join with every lead's name first cost more than the rest of the query).
listed as (
    select
        *,
        count(*) over () as n_total
    from stalled
    where ($sel_stage_order is null or stage_order = $sel_stage_order)
      and ($sel_team is null or team = $sel_team)
      and ($sel_owner_id is null or owner_id = $sel_owner_id)
    order by days_over desc, lead_id
    limit $limit_rows
),

final as (
    select
        listed.lead_id,
        leads.lead_name,
        leads.company,
        listed.channel,
        listed.stage_order,
        listed.stage_key,
        listed.team,
        listed.owner_id,
        owners.owner_name,
        listed.start_at,
        listed.stage_since,
        listed.expected_days,
        listed.days_in_stage,
        listed.days_over,
        listed.n_total
    from listed
    left join leads on leads.lead_id = listed.lead_id
    left join owners on owners.owner_id = listed.owner_id
)

select * from final
order by days_over desc, lead_id

-- Owner roles: one row per role some record's owner holds (an SDR, a closing rep), besides the
-- record's own owner, with the records of each grain that have an owner in it.
-- Parameters: none.

with

roles as (
    select role, 'lead' as grain, lead_id from journey_roles
    union all
    select role, 'opportunity', lead_id from deal_journey_roles
),

final as (
    select
        role,
        count(distinct lead_id) filter (where grain = 'lead') as n_leads,
        count(distinct lead_id) filter (where grain = 'opportunity') as n_opportunities
    from roles
    group by role
)

select * from final
order by role

-- Lead-to-account matching over the whole store: one row per (status, rule) with its leads,
-- from account_matches (data/accounts.py); leads with neither an account nor any match are
-- counted under status 'none', rule 'none'. Not filtered by a view: a lead's account is the
-- store's.
-- Parameters: none.

with

leads as (select * from leads),
account_matches as (select * from account_matches),

final as (
    select
        coalesce(m.status, 'none') as status,
        coalesce(m.rule, 'none') as rule,
        count(*) as n_leads
    from leads as l
    left join account_matches as m on m.lead_id = l.lead_id
    group by all
)

select * from final
order by status, rule

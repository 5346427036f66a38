-- Leads given an account by matching (not by their own record): one row per lead, with the
-- rule that matched, the domain and normalised name it matched on and the account's name
-- (accounts.name, when the accounts table holds it). n_total counts them all before the limit.
-- Parameters: $max_rows (int).

with

leads as (select * from leads),
accounts as (select * from accounts),
account_matches as (select * from account_matches),

final as (
    select
        m.lead_id,
        l.lead_name,
        l.company,
        m.email_domain,
        m.company_key,
        m.account_id,
        a.name as account_name,
        m.rule,
        count(*) over () as n_total
    from account_matches as m
    inner join leads as l on l.lead_id = m.lead_id
    left join accounts as a on a.account_id = m.account_id
    where m.status = 'matched'
      and m.rule <> 'record'
)

select * from final
order by rule, account_id, lead_id
limit $max_rows

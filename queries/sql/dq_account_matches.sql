-- Data quality, unresolved account matches: one row per lead without an account id of its own
-- whose email domain or company name points to more than one account (status 'ambiguous') or
-- whose domain points to one account and its name to another ('conflict'), from
-- account_matches (data/accounts.py). Such a lead is given no account: never guessed.
-- n_total counts them all before the limit.
-- Parameters: $max_rows (int).

with

leads as (select * from leads),
account_matches as (select * from account_matches),

final as (
    select
        m.lead_id,
        l.lead_name,
        l.company,
        m.email_domain,
        m.company_key,
        m.status,
        array_to_string(m.domain_accounts, ', ') as domain_accounts,
        array_to_string(m.name_accounts, ', ') as name_accounts,
        l.owner_id,
        count(*) over () as n_total
    from account_matches as m
    inner join leads as l on l.lead_id = m.lead_id
    where m.status in ('ambiguous', 'conflict')
)

select * from final
order by status, lead_id
limit $max_rows

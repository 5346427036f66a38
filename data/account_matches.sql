-- Lead-to-account matches: one row per lead with an account of its own (rule 'record'), or
-- without one but converted into an account or an opportunity that names one (rules
-- 'converted_account', 'converted_opportunity'), or else whose email domain or company name
-- points to known accounts (data/accounts.py says what every rule and status means;
-- docs/design.md "Account matching").
--   account_id       the lead's account: its own, its conversion's, or the one account matched
--                    (status 'matched'); null when the evidence is ambiguous or conflicting
--   rule             record, converted_account, converted_opportunity, domain, name or
--                    domain_and_name: the evidence that matched (for ambiguous and conflicting
--                    rows, the evidence that was found)
--   status           matched, ambiguous (one kind of evidence names two or more accounts and
--                    nothing narrows it to one) or conflict (the domain names one account, the
--                    name another, and no account has both)
--   email_domain     the lead's email domain as matched on (null: none, or free mail)
--   company_key      the lead's company name as matched on (normalised)
--   domain_accounts  the accounts its domain names; name_accounts: those its name names
-- Known accounts: the accounts table (name, domain) and every account id leads already name,
-- with those leads' company names and (non-free-mail) email domains as its names and domains.
-- Parameters: $free_mail_domains (list of whole domains), $free_mail_providers (list: a domain
--   whose first label is one of these is free mail), $legal_suffix_pattern (regex of trailing
--   legal forms), $placeholder_names (list of normalised names that name no company).

with

leads as (select * from leads),
accounts as (select * from accounts),
opportunities as (select * from opportunities),

-- Each lead's own account id, trimmed once: the check below and the leads' own rows both read
-- it (when every lead names its account, those rows are the whole table, and trimming each id
-- once per use cost about 0.4 s of CPU at 1M leads).
lead_accounts as materialized (
    select lead_id, nullif(trim(account_id), '') as account_id
    from leads
),

-- Whether any lead lacks an account id: if none does, nothing below needs normalising.
needs_matching as (
    select exists (select 1 from lead_accounts where account_id is null) as is_needed
),

-- Every name and domain given for a lead or an account, as written.
stated as (
    select
        lead_id,
        nullif(trim(account_id), '') as account_id,
        company as name,
        regexp_extract(lower(trim(email)), '@([^@\s<>]+)', 1) as domain_text
    from leads
    where (select is_needed from needs_matching)
    union all
    select
        cast(null as varchar) as lead_id,
        nullif(trim(account_id), '') as account_id,
        name,
        domain as domain_text
    from accounts
    where (select is_needed from needs_matching)
),

-- Materialised: each expression is computed once per row, not once per use below.
cleaned as materialized (
    select
        lead_id,
        account_id,
        -- Accents and dots go ("S.A." is "sa"), '&' is "and", anything else but letters and
        -- digits separates words.
        trim(
            regexp_replace(
                regexp_replace(
                    regexp_replace(lower(strip_accents(coalesce(name, ''))), '[.''’]', '', 'g'),
                    '&',
                    ' and ',
                    'g'
                ),
                '[^\pL\pN]+',
                ' ',
                'g'
            )
        ) as name_words,
        -- A domain as a web address or an email's: no scheme, path, port, "www." or final dot.
        regexp_replace(
            regexp_replace(
                regexp_replace(lower(trim(coalesce(domain_text, ''))), '^[a-z]+://', ''),
                '[/:?#].*$',
                ''
            ),
            '^www\.|\.$',
            '',
            'g'
        ) as domain
    from stated
),

normalised as materialized (
    select
        lead_id,
        account_id,
        regexp_replace(regexp_replace(name_words, '^the ', ''), $legal_suffix_pattern, '') as company_key,
        case
            when domain not like '%.%' then null
            when list_contains($free_mail_domains, domain) then null
            when list_contains($free_mail_providers, split_part(domain, '.', 1)) then null
            else domain
        end as email_domain
    from cleaned
),

usable as (
    select
        lead_id,
        account_id,
        case when not list_contains($placeholder_names, company_key) then company_key end as company_key,
        email_domain
    from normalised
),

-- What each known account is called and where it lives on the web.
account_names as (
    select distinct account_id, company_key
    from usable
    where account_id is not null
      and company_key is not null
),

account_domains as (
    select distinct account_id, email_domain
    from usable
    where account_id is not null
      and email_domain is not null
),

-- A lead without an account of its own that the CRM converted: into an account
-- (ConvertedAccountId), else into an opportunity whose record names its account. A fact of the
-- CRM, so it comes before any matching on domain or name.
converted as (
    select
        l.lead_id,
        coalesce(nullif(trim(l.converted_account_id), ''), nullif(trim(o.account_id), '')) as account_id,
        case
            when nullif(trim(l.converted_account_id), '') is not null then 'converted_account'
            else 'converted_opportunity'
        end as rule
    from leads as l
    left join opportunities as o on o.opportunity_id = nullif(trim(l.converted_opportunity_id), '')
    where nullif(trim(l.account_id), '') is null
      and coalesce(nullif(trim(l.converted_account_id), ''), nullif(trim(o.account_id), '')) is not null
),

to_match as (
    select u.lead_id, u.company_key, u.email_domain
    from usable as u
    anti join converted as c on c.lead_id = u.lead_id
    where u.lead_id is not null
      and u.account_id is null
      and (u.company_key is not null or u.email_domain is not null)
),

hits as (
    select t.lead_id, d.account_id, true as by_domain, false as by_name
    from to_match as t
    inner join account_domains as d on d.email_domain = t.email_domain
    union all
    select t.lead_id, n.account_id, false as by_domain, true as by_name
    from to_match as t
    inner join account_names as n on n.company_key = t.company_key
),

per_account as (
    select lead_id, account_id, bool_or(by_domain) as by_domain, bool_or(by_name) as by_name
    from hits
    group by lead_id, account_id
),

per_lead as (
    select
        lead_id,
        list(account_id order by account_id) filter (where by_domain) as domain_accounts,
        list(account_id order by account_id) filter (where by_name) as name_accounts,
        list(account_id order by account_id) filter (where by_domain and by_name) as both_accounts
    from per_account
    group by lead_id
),

counted as (
    select
        *,
        coalesce(len(domain_accounts), 0) as n_domain,
        coalesce(len(name_accounts), 0) as n_name,
        coalesce(len(both_accounts), 0) as n_both
    from per_lead
),

decided as (
    select
        c.lead_id,
        case
            when c.n_both = 1 then c.both_accounts[1]
            when c.n_both = 0 and c.n_domain = 1 and c.n_name = 0 then c.domain_accounts[1]
            when c.n_both = 0 and c.n_name = 1 and c.n_domain = 0 then c.name_accounts[1]
        end as account_id,
        case
            when c.n_domain > 0 and c.n_name > 0 then 'domain_and_name'
            when c.n_domain > 0 then 'domain'
            else 'name'
        end as rule,
        case
            when c.n_both = 1 then 'matched'
            when c.n_both > 1 then 'ambiguous'
            when c.n_domain > 0 and c.n_name > 0 then 'conflict'
            when c.n_domain + c.n_name = 1 then 'matched'
            else 'ambiguous'
        end as status,
        t.email_domain,
        t.company_key,
        c.domain_accounts,
        c.name_accounts
    from counted as c
    inner join to_match as t on t.lead_id = c.lead_id
),

own as (
    select
        lead_id,
        account_id,
        'record' as rule,
        'matched' as status,
        cast(null as varchar) as email_domain,
        cast(null as varchar) as company_key,
        cast(null as varchar[]) as domain_accounts,
        cast(null as varchar[]) as name_accounts
    from lead_accounts
    where account_id is not null
),

by_conversion as (
    select
        lead_id,
        account_id,
        rule,
        'matched' as status,
        cast(null as varchar) as email_domain,
        cast(null as varchar) as company_key,
        cast(null as varchar[]) as domain_accounts,
        cast(null as varchar[]) as name_accounts
    from converted
),

final as (
    select * from own
    union all
    select * from by_conversion
    union all
    select * from decided
)

select * from final

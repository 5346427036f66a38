-- The Handoff store. All timestamps are UTC, stored as plain TIMESTAMP.
-- Source tables (events, leads, owners, touches, content) are written by the sample generator
-- or the importer; the journey tables are derived and can be rebuilt at any time from events
-- (data/journey.sql). The team's edits (meeting notes, targets and their history) are not
-- analytics data: they live in a file of their own (data/edits.sql, data/edits.py). A store
-- written before that file existed still holds tables of those names; they are read until the
-- first edit is saved, which copies them into the edits file.

-- One row per owner (a person in Marketing or Sales).
create table if not exists owners (
    owner_id    varchar primary key,
    owner_name  varchar not null,
    team        varchar not null            -- 'marketing' or 'sales'
);

-- One row per lead, with the attributes funnel views filter and break down by.
create table if not exists leads (
    lead_id     varchar primary key,
    created_at  timestamp not null,
    lead_name   varchar,                    -- CRM text: always rendered as plain text
    company     varchar,                    -- CRM text: always rendered as plain text
    account_id  varchar,
    channel     varchar,
    campaign    varchar,
    region      varchar,
    segment     varchar,
    owner_id    varchar,                    -- current owner; null when the CRM has none
    currency    varchar                     -- ISO 4217 code of the record's amounts, when known
);

-- One row per thing that happened: a lead entering a stage, an exit with its reason code,
-- or a deal's amount or close date being set (a field history's change: no stage move). event_id is the source system's stable id, so importing the
-- same file twice changes nothing.
create table if not exists events (
    event_id    varchar primary key,
    lead_id     varchar,                    -- the person; null for an opportunity known only as itself
    deal_id     varchar,                    -- the opportunity, for its own stages, amounts and dates
    event_type  varchar not null,           -- a stage key, an exit key, or 'amount'
    occurred_at timestamp not null,
    owner_id    varchar,
    team        varchar,
    reason_code varchar,                    -- exits only
    amount      decimal(14, 2),             -- 'amount' (null: a close-date change) and 'won' events
    source      varchar not null,           -- 'sample', 'sample:dirty' or the import that wrote it
    currency    varchar,                    -- ISO 4217 code of amount; null when the source gives none
    close_date  date,                       -- an opportunity's expected close date as of this event
    forecast_category varchar               -- and its forecast category, when the source has them
);

-- One row per piece of content Marketing or Sales made.
create table if not exists content (
    content_id   varchar primary key,
    title        varchar not null,
    kind         varchar not null,          -- ebook, case_study, webinar, ...
    team         varchar not null,          -- team that made it
    published_at timestamp not null
);

-- One row per interaction of a lead with content or a campaign, and who made it.
create table if not exists touches (
    touch_id    varchar primary key,
    lead_id     varchar not null,
    content_id  varchar,
    campaign    varchar,
    touched_at  timestamp not null,
    team        varchar not null,           -- 'marketing' or 'sales': who made the touch
    owner_id    varchar
);

-- One row per import or sample build: what was loaded, and when.
create table if not exists loads (
    load_id     varchar primary key,
    loaded_at   timestamp not null,
    kind        varchar not null,           -- 'sample' or 'import'
    description varchar not null,
    n_rows_in   bigint,
    n_accepted  bigint,
    n_rejected  bigint,
    n_duplicate bigint
);

-- One row per key: facts about the store (contract hash, sample seed, built at).
create table if not exists store_meta (
    key         varchar primary key,
    value       varchar not null
);

-- One row per version of the store's funnel contract (data/contract.py), newest = in force.
-- Journeys are always built under the newest; store_meta.contract_hash says which one they were.
create table if not exists contract_versions (
    version       integer primary key,
    applied_at    timestamp not null,
    applied_by    varchar not null,         -- who applied it (an OS account or a signed-in user)
    source        varchar not null,         -- 'default', 'proposal', a file name, 'data page', ...
    contract_hash varchar not null,         -- first 16 hex digits of the SHA-256 of toml
    toml          varchar not null          -- the contract as written (comments kept)
);

-- Columns added since the first version of the store: a store written before them gets them
-- when it is next rebuilt or imported into (create_schema runs after the copy).
alter table events add column if not exists currency varchar;
alter table leads add column if not exists currency varchar;
alter table events add column if not exists close_date date;
alter table events add column if not exists forecast_category varchar;
alter table events alter column lead_id drop not null;
alter table leads add column if not exists email varchar;
-- The contact record a lead became (Salesforce's ConvertedContactId): contact roles and campaign
-- members that name the contact are the lead's.
alter table leads add column if not exists contact_id varchar;
-- The opportunity and account a lead was converted into (Salesforce's ConvertedOpportunityId,
-- ConvertedAccountId): a converted lead without an account of its own has that one
-- (data/accounts.py).
alter table leads add column if not exists converted_opportunity_id varchar;
alter table leads add column if not exists converted_account_id varchar;

-- One row per open record the source gives no date at all (an opportunity still in its first
-- stage, say): undated open pipeline, in no cohort, counted as open; never a rejected row.
create table if not exists undated_records (
    lead_id     varchar primary key,
    status      varchar,                    -- the source's status text, as given
    stage       varchar,                    -- the contract's stage key for it, when it names one
    owner_id    varchar,
    amount      decimal(14, 2),
    currency    varchar,
    source      varchar not null            -- the import that wrote it
);

-- One row per opportunity (a deal): what its record file says of it now. Its stages, amounts and
-- close dates over time are its events (events.deal_id); the journeys of the opportunity grain
-- are built from those.
create table if not exists opportunities (
    opportunity_id varchar primary key,
    name        varchar,                    -- CRM text: always rendered as plain text
    account_id  varchar,
    created_at  timestamp,
    owner_id    varchar,
    channel     varchar,                    -- its lead source
    campaign    varchar,
    region      varchar,
    segment     varchar,                    -- its type or segment, as the mapping says
    currency    varchar,
    amount      decimal(14, 2),             -- the current amount
    close_date  date,                       -- the current expected (or actual) close date
    status      varchar,                    -- the source's current stage or status, as given
    source      varchar not null
);

-- The account and product an opportunity's record names, as text (joined by name by lookups).
alter table opportunities add column if not exists company varchar;
alter table opportunities add column if not exists product varchar;

-- One row per owner of a record in a role (an SDR and a closing rep on one deal): the record is
-- the lead, or the opportunity for opportunity records. The record's own owner is owner_id on
-- leads and opportunities; these are the other roles a file names.
create table if not exists record_owners (
    record_id   varchar not null,
    role        varchar not null,           -- as the mapping or the file names it: SDR, Closing rep
    owner_id    varchar not null,
    source      varchar not null,
    primary key (record_id, role)
);

-- One row per owner described by a lookup file of reps (docs/import.md, "Lookup files"): the
-- manager and office breakdowns. Kept beside owners, which every writer fills with three columns.
create table if not exists owner_details (
    owner_id    varchar primary key,
    manager     varchar,
    office      varchar,
    source      varchar not null
);

-- One row per product, from a lookup file; opportunities name theirs in opportunities.product.
create table if not exists products (
    product_id  varchar primary key,
    name        varchar,
    family      varchar,
    source      varchar not null
);

-- One row per contact on an opportunity (the buying group), with their role.
create table if not exists opportunity_contacts (
    opportunity_id varchar not null,
    lead_id     varchar not null,           -- the contact (a lead or contact of the store)
    role        varchar,                    -- as the CRM says: Decision Maker, Champion, ...
    is_primary  boolean,
    source      varchar not null,
    primary key (opportunity_id, lead_id)
);

-- One row per account (a company), from an accounts export or the ids on leads and deals.
create table if not exists accounts (
    account_id  varchar primary key,
    name        varchar,
    domain      varchar,                    -- its web domain, lower case, for matching leads
    sector      varchar,
    size        varchar,
    source      varchar not null
);

-- Dated exchange rates: one row per (currency, day from which the rate holds, base currency).
-- amount_in_base = amount * rate. Without a rate, amounts in different currencies are never added.
create table if not exists currency_rates (
    currency    varchar not null,
    valid_from  date not null,
    base        varchar not null,
    rate        double not null,
    source      varchar not null,
    primary key (currency, valid_from, base)
);

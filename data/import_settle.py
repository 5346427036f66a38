"""Settling one staged export file in SQL, inside the new store version an import builds.

Rows arrive in temporary staging tables (st_rows, st_events, st_leads, st_owners), one batch of
CHUNK rows at a time, from data/import_read.py's per-row checks. `settle()` then decides every
row with set-level checks: identical repeats are duplicates, conflicting repeats are rejected
together, rows whose events are all stored are duplicates, rows that contradict a stored event
(or name a deal nobody linked to a lead) are rejected. Unless the file has more rejected rows
than the mapping allows, `settle()` writes its events, leads, owners, its `loads` and
`import_files` rows and its rejected and flagged rows (`import_issues`). Used by data/importer.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pyarrow as pa

from data.contract import Contract
from data.import_mapping import Mapping
from data.import_read import (
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    LEAD_COLUMNS,
    OPPORTUNITY_COLUMNS,
    UNDATED_COLUMNS,
)

CHUNK = 50_000  # staged rows per Arrow batch: bounds memory while reading
MAX_REPORTED_ISSUES = 10_000  # issues kept in the in-memory report (all are stored)

# The importer's own tables, created in a store by its first import.
IMPORT_TABLES = """
create table if not exists import_files (
    load_id       varchar primary key,  -- the loads row of this file
    file_name     varchar not null,     -- as given by the user: text, never a path
    file_sha256   varchar not null,
    mapping       varchar not null,
    file_role     varchar not null,
    n_rows_in     bigint not null,
    n_accepted    bigint not null,
    n_rejected    bigint not null,
    n_duplicate   bigint not null,
    n_flagged     bigint not null,
    n_events_added bigint not null,
    n_leads_added bigint not null,
    n_leads_updated bigint not null,
    mapping_sha256 varchar,             -- of the mapping's text (null: imported before it was kept)
    imported_by varchar                 -- who loaded it: the signed-in user, or the OS user
);
create table if not exists import_issues (
    load_id     varchar not null,
    file_name   varchar not null,
    row_number  bigint not null,        -- its first physical line; the header is line 1
    column_name varchar,
    severity    varchar not null,       -- 'rejected' (not imported) or 'flagged' (imported)
    reason      varchar not null,
    raw         varchar,                -- the row as read, cut to 300 characters
    last_row_number bigint              -- its last line (after row_number when a value holds line breaks)
);
-- Stores written before these columns existed get them (null for their earlier imports).
alter table import_files add column if not exists mapping_sha256 varchar;
alter table import_files add column if not exists imported_by varchar;
alter table import_issues add column if not exists last_row_number bigint;
"""


@dataclass
class FileReport:
    """What happened to one file. rows in = accepted + rejected + duplicate."""

    name: str
    sha256: str = ""
    role: str = ""
    load_id: str | None = None
    refused: str | None = None
    n_rows_in: int = 0
    n_lines: int = 0  # physical lines of its rows: more than n_rows_in when values hold line breaks
    n_accepted: int = 0
    n_rejected: int = 0
    n_duplicate: int = 0
    n_flagged: int = 0
    n_ignored: int = 0  # accepted rows whose stage name the mapping lists as no funnel move
    n_events_added: int = 0
    n_leads_added: int = 0
    n_leads_updated: int = 0
    n_undated: int = 0  # open records with no date, kept as undated open pipeline
    n_opportunities: int = 0  # opportunity records added or changed
    n_contacts: int = 0  # contacts on opportunities added or changed
    # row_number, last_row_number, column_name, severity ('rejected', 'flagged'), reason, raw
    issues: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Set when nothing was written for this file: the store already had it all.
    unchanged: str | None = None
    imported_by: str = ""  # who loaded it

    @property
    def reconciles(self) -> bool:
        return self.n_rows_in == self.n_accepted + self.n_rejected + self.n_duplicate

    def summary(self) -> str:
        if self.refused:
            return f"{self.name}: REFUSED, nothing imported. {self.refused}"
        if self.unchanged and not self.n_rows_in:
            return f"{self.name}: {self.unchanged}"
        lines = (
            f" (on {self.n_lines:,} lines: some values hold line breaks)"
            if self.n_lines > self.n_rows_in
            else ""
        )
        return (
            f"{self.name} ({self.role}): rows in {self.n_rows_in:,} = accepted {self.n_accepted:,} "
            f"+ rejected {self.n_rejected:,} + duplicate {self.n_duplicate:,}{lines}; "
            f"{self.n_events_added:,} events and {self.n_leads_added:,} leads added, "
            f"{self.n_leads_updated:,} leads updated, {self.n_flagged:,} rows flagged"
            + (
                f", {self.n_ignored:,} accepted rows carry no funnel event (ignored stage names)"
                if self.n_ignored
                else ""
            )
            + (
                f", {self.n_undated:,} open records with no date kept as undated open pipeline"
                if self.n_undated
                else ""
            )
            + (f", {self.n_opportunities:,} opportunities added or changed" if self.n_opportunities else "")
            + (f", {self.n_contacts:,} contacts on opportunities added or changed" if self.n_contacts else "")
            + (f". {self.unchanged}" if self.unchanged else "")
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- staging -----------------------------------------------------------------------------------

STAGING = """
create temp table st_rows (
    file_no integer, row_number bigint, last_row_number bigint, row_key varchar, row_hash bigint,
    is_ignored boolean, column_name varchar, reason varchar, flag varchar, raw varchar
);
create temp table st_events (
    file_no integer, row_number bigint, event_id varchar, lead_id varchar, deal_id varchar,
    event_type varchar, occurred_at timestamp, owner_id varchar, team varchar,
    reason_code varchar, amount varchar, currency varchar, close_date date, forecast_category varchar
);
create temp table st_opportunities (
    file_no integer, row_number bigint, opportunity_id varchar, name varchar, account_id varchar,
    created_at timestamp, owner_id varchar, channel varchar, campaign varchar, region varchar,
    segment varchar, currency varchar, amount varchar, close_date date, status varchar
);
create temp table st_contacts (
    file_no integer, row_number bigint, opportunity_id varchar, lead_id varchar, role varchar,
    is_primary boolean
);
create temp table st_leads (
    file_no integer, row_number bigint, lead_id varchar, created_at timestamp, lead_name varchar,
    company varchar, account_id varchar, channel varchar, campaign varchar, region varchar,
    segment varchar, owner_id varchar, currency varchar, email varchar
);
create temp table st_undated (
    file_no integer, row_number bigint, lead_id varchar, status varchar, stage varchar,
    owner_id varchar, amount varchar, currency varchar
);
create temp table st_owners (file_no integer, owner_id varchar, owner_name varchar, team varchar);
"""


class Stager:
    """Collects parsed rows and writes them to the staging tables in Arrow batches."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.rows: list[tuple] = []
        self.events: list[tuple] = []
        self.leads: list[tuple] = []
        self.undated: list[tuple] = []
        self.opportunities: list[tuple] = []
        self.contacts: list[tuple] = []
        self.owners: dict[str, tuple] = {}

    def add(self, file_no: int, outcome) -> None:
        p = outcome.parsed
        last = outcome.last_row_number or outcome.row_number
        if p is None:
            self.rows.append(
                (
                    file_no,
                    outcome.row_number,
                    last,
                    None,
                    None,
                    False,
                    outcome.column,
                    outcome.reason,
                    None,
                    outcome.raw,
                )
            )
        else:
            flag = "; ".join(p.flags) or None
            self.rows.append(
                (file_no, outcome.row_number, last, p.key, p.digest, p.ignored, None, None, flag, outcome.raw)
            )
            self.events.extend((file_no, outcome.row_number, *e) for e in p.events)
            if p.lead is not None:
                self.leads.append((file_no, outcome.row_number, *p.lead))
            if p.undated is not None:
                self.undated.append((file_no, outcome.row_number, *p.undated))
            if p.opportunity is not None:
                self.opportunities.append((file_no, outcome.row_number, *p.opportunity))
            if p.contact is not None:
                self.contacts.append((file_no, outcome.row_number, *p.contact))
            for o in p.owners:
                self.owners.setdefault(o[0], (file_no, *o))
        if len(self.rows) >= CHUNK:
            self.flush()

    def _write(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        batch = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})
        self.con.register("batch", batch)
        self.con.execute(f"insert into {table} by name select * from batch")  # noqa: S608 (our names)
        self.con.unregister("batch")

    def flush(self) -> None:
        row_cols = [
            "file_no",
            "row_number",
            "last_row_number",
            "row_key",
            "row_hash",
            "is_ignored",
            "column_name",
            "reason",
            "flag",
            "raw",
        ]
        self._write("st_rows", row_cols, self.rows)
        self._write("st_events", ["file_no", "row_number", *EVENT_COLUMNS], self.events)
        self._write("st_leads", ["file_no", "row_number", *LEAD_COLUMNS], self.leads)
        self._write("st_undated", ["file_no", "row_number", *UNDATED_COLUMNS], self.undated)
        self._write("st_opportunities", ["file_no", "row_number", *OPPORTUNITY_COLUMNS], self.opportunities)
        self._write("st_contacts", ["file_no", "row_number", *CONTACT_COLUMNS], self.contacts)
        self.rows, self.events, self.leads, self.undated = [], [], [], []
        self.opportunities, self.contacts = [], []

    def flush_owners(self) -> None:
        self._write("st_owners", ["file_no", "owner_id", "owner_name", "team"], list(self.owners.values()))
        self.owners = {}


# --- settling one file in SQL ------------------------------------------------------------------

SETTLE_ROWS = """
create or replace temp table v_rows as
with
rows as (select * from st_rows where file_no = $file_no),
keyed as (
    select
        row_key,
        count(distinct row_hash) as n_versions,
        min(row_number) as first_row,
        array_to_string(list(row_number order by row_number)[1:10], ', ') as row_list
    from rows
    where reason is null
    group by row_key
)
select
    r.row_number,
    r.row_key,
    r.is_ignored,
    r.flag,
    r.column_name,
    case
        when r.reason is not null then r.reason
        when k.n_versions > 1 then 'conflicting repeats of ' || r.row_key || ' on rows ' || k.row_list
            || ': they differ, so all are rejected'
        when r.row_number > k.first_row then 'identical repeat of row ' || k.first_row
    end as reason,
    case
        when r.reason is not null or k.n_versions > 1 then 'rejected'
        when r.row_number > k.first_row then 'duplicate'
        else 'candidate'
    end as status
from rows as r
left join keyed as k on k.row_key = r.row_key
"""

# Candidate events with their lead (found through the deal when the file has no lead column)
# and how each compares with the store: new, same, or in conflict with a stored event.
SETTLE_EVENTS = """
create or replace temp table v_events as
with
staged as (
    select e.*
    from st_events as e
    join v_rows as r on r.row_number = e.row_number and r.status = 'candidate'
    where e.file_no = $file_no
),
deals as (
    select deal_id, min(lead_id) as lead_id
    from events
    where deal_id is not null
    group by deal_id
),
resolved as (
    select
        s.* exclude (lead_id),
        coalesce(s.lead_id, d.lead_id) as lead_id
    from staged as s
    left join deals as d on s.lead_id is null and d.deal_id = s.deal_id
)
select
    r.*,
    cast(r.amount as decimal(14, 2)) as amount_value,
    case
        -- An event must belong to someone: a lead, or an opportunity known as itself. A file
        -- that finds its leads through deals (lead_from_deal) needs the link.
        when r.lead_id is null and ($needs_lead or r.deal_id is null) then 'no_lead'
        when e.event_id is null then 'new'
        when e.lead_id is not distinct from r.lead_id
            and e.deal_id is not distinct from r.deal_id
            and e.event_type = r.event_type
            and e.occurred_at = r.occurred_at
            and e.reason_code is not distinct from r.reason_code
            and e.amount is not distinct from cast(r.amount as decimal(14, 2)) then 'same'
        else 'conflict'
    end as verdict,
    case
        when r.lead_id is null and ($needs_lead or r.deal_id is null) then 'deal ' || r.deal_id
            || ' is not in the store or an earlier file of this import: import the file that links '
            || 'deals to leads first'
        when e.event_id is not null then 'event ' || r.event_id || ' is already stored with other values ('
            || concat_ws('; ',
                case when e.occurred_at <> r.occurred_at then 'date ' || r.occurred_at || ' here, '
                    || e.occurred_at || ' stored' end,
                case when e.lead_id is distinct from r.lead_id then 'lead ' || r.lead_id || ' here, '
                    || e.lead_id || ' stored' end,
                case when e.event_type <> r.event_type then 'stage ' || r.event_type || ' here, '
                    || e.event_type || ' stored' end,
                case when e.reason_code is distinct from r.reason_code then 'reason differs' end,
                case when e.amount is distinct from cast(r.amount as decimal(14, 2))
                    then 'amount differs' end,
                case when e.deal_id is distinct from r.deal_id then 'deal differs' end)
            || ')'
    end as problem
from resolved as r
left join events as e on e.event_id = r.event_id
"""

SETTLE_LEADS = """
create or replace temp table v_leads as
with
staged as (
    select l.*
    from st_leads as l
    join v_rows as r on r.row_number = l.row_number and r.status = 'candidate'
    where l.file_no = $file_no
    qualify row_number() over (partition by l.lead_id order by l.row_number) = 1
)
select
    s.row_number,
    s.lead_id,
    s.created_at,
    -- A blank in a later export never erases what the store already knows.
    coalesce(s.lead_name, o.lead_name) as lead_name,
    coalesce(s.company, o.company) as company,
    coalesce(s.account_id, o.account_id) as account_id,
    coalesce(s.channel, o.channel) as channel,
    coalesce(s.campaign, o.campaign) as campaign,
    coalesce(s.region, o.region) as region,
    coalesce(s.segment, o.segment) as segment,
    coalesce(s.owner_id, o.owner_id) as owner_id,
    coalesce(s.currency, o.currency) as currency,
    coalesce(s.email, o.email) as email,
    case
        when o.lead_id is null then 'new'
        when s.created_at <> o.created_at
            or coalesce(s.currency, o.currency) is distinct from o.currency
            or coalesce(s.email, o.email) is distinct from o.email
            or coalesce(s.lead_name, o.lead_name) is distinct from o.lead_name
            or coalesce(s.company, o.company) is distinct from o.company
            or coalesce(s.account_id, o.account_id) is distinct from o.account_id
            or coalesce(s.channel, o.channel) is distinct from o.channel
            or coalesce(s.campaign, o.campaign) is distinct from o.campaign
            or coalesce(s.region, o.region) is distinct from o.region
            or coalesce(s.segment, o.segment) is distinct from o.segment
            or coalesce(s.owner_id, o.owner_id) is distinct from o.owner_id then 'changed'
        else 'same'
    end as verdict
from staged as s
left join leads as o on o.lead_id = s.lead_id
"""

# Open records with no date at all (a status file's open opportunities): new, changed, or the
# same as the undated record stored.
SETTLE_UNDATED = """
create or replace temp table v_undated as
with
staged as (
    select u.*
    from st_undated as u
    join v_rows as r on r.row_number = u.row_number and r.status = 'candidate'
    where u.file_no = $file_no
    qualify row_number() over (partition by u.lead_id order by u.row_number) = 1
)
select
    s.row_number,
    s.lead_id,
    s.status,
    s.stage,
    coalesce(s.owner_id, o.owner_id) as owner_id,
    cast(s.amount as decimal(14, 2)) as amount,
    s.currency,
    case
        when o.lead_id is null then 'new'
        when s.status is distinct from o.status
            or s.stage is distinct from o.stage
            or coalesce(s.owner_id, o.owner_id) is distinct from o.owner_id
            or cast(s.amount as decimal(14, 2)) is distinct from o.amount
            or s.currency is distinct from o.currency then 'changed'
        else 'same'
    end as verdict
from staged as s
left join undated_records as o on o.lead_id = s.lead_id
"""

# An opportunity's record row and the contacts on opportunities: new, changed or the same as stored
# (a blank in a later export never erases what the store knows).
SETTLE_OPPORTUNITIES = """
create or replace temp table v_opportunities as
with
staged as (
    select o.*
    from st_opportunities as o
    join v_rows as r on r.row_number = o.row_number and r.status = 'candidate'
    where o.file_no = $file_no
    qualify row_number() over (partition by o.opportunity_id order by o.row_number) = 1
),
merged as (
    select
        s.row_number,
        s.opportunity_id,
        coalesce(s.name, o.name) as name,
        coalesce(s.account_id, o.account_id) as account_id,
        coalesce(s.created_at, o.created_at) as created_at,
        coalesce(s.owner_id, o.owner_id) as owner_id,
        coalesce(s.channel, o.channel) as channel,
        coalesce(s.campaign, o.campaign) as campaign,
        coalesce(s.region, o.region) as region,
        coalesce(s.segment, o.segment) as segment,
        coalesce(s.currency, o.currency) as currency,
        coalesce(cast(s.amount as decimal(14, 2)), o.amount) as amount,
        coalesce(s.close_date, o.close_date) as close_date,
        coalesce(s.status, o.status) as status,
        o.opportunity_id is null as is_new,
        o.source as stored_source
    from staged as s
    left join opportunities as o on o.opportunity_id = s.opportunity_id
)
select
    m.* exclude (is_new, stored_source),
    case
        when m.is_new then 'new'
        when (m.name, m.account_id, m.created_at, m.owner_id, m.channel, m.campaign, m.region, m.segment,
              m.currency, m.amount, m.close_date, m.status)
            is distinct from (o.name, o.account_id, o.created_at, o.owner_id, o.channel, o.campaign, o.region,
              o.segment, o.currency, o.amount, o.close_date, o.status) then 'changed'
        else 'same'
    end as verdict
from merged as m
left join opportunities as o on o.opportunity_id = m.opportunity_id
"""

SETTLE_CONTACTS = """
create or replace temp table v_contacts as
with
staged as (
    select c.*
    from st_contacts as c
    join v_rows as r on r.row_number = c.row_number and r.status = 'candidate'
    where c.file_no = $file_no
    qualify row_number() over (partition by c.opportunity_id, c.lead_id order by c.row_number) = 1
)
select
    s.row_number,
    s.opportunity_id,
    s.lead_id,
    coalesce(s.role, o.role) as role,
    coalesce(s.is_primary, o.is_primary) as is_primary,
    case
        when o.opportunity_id is null then 'new'
        when coalesce(s.role, o.role) is distinct from o.role
            or coalesce(s.is_primary, o.is_primary) is distinct from o.is_primary then 'changed'
        else 'same'
    end as verdict
from staged as s
left join opportunity_contacts as o on o.opportunity_id = s.opportunity_id and o.lead_id = s.lead_id
"""

SETTLE_FINAL = """
create or replace temp table v_final as
with
per_row as (
    select
        row_number,
        count(*) filter (where verdict = 'new') as n_new,
        count(*) filter (where verdict in ('conflict', 'no_lead')) as n_bad,
        string_agg(problem, '; ') filter (where verdict in ('conflict', 'no_lead')) as problem
    from v_events
    group by row_number
)
select
    r.row_number,
    r.flag,
    r.is_ignored,
    r.column_name,
    case
        when r.status <> 'candidate' then r.status
        when p.n_bad > 0 then 'rejected'
        when coalesce(p.n_new, 0) > 0 or l.verdict in ('new', 'changed') or u.verdict in ('new', 'changed')
            or o.verdict in ('new', 'changed') or c.verdict in ('new', 'changed') or r.is_ignored then 'accepted'
        else 'duplicate'
    end as status,
    case
        when r.status <> 'candidate' then r.reason
        when p.n_bad > 0 then p.problem
        when coalesce(p.n_new, 0) = 0 and coalesce(l.verdict, 'same') = 'same'
            and coalesce(u.verdict, 'same') = 'same' and coalesce(o.verdict, 'same') = 'same'
            and coalesce(c.verdict, 'same') = 'same' and not r.is_ignored
            then 'already imported: everything in this row is stored'
    end as reason
from v_rows as r
left join per_row as p on p.row_number = r.row_number
left join v_leads as l on l.row_number = r.row_number
left join v_undated as u on u.row_number = r.row_number
left join v_opportunities as o on o.row_number = r.row_number
left join v_contacts as c on c.row_number = r.row_number
"""

# Stage events of this load dated before their lead was created, or before the lead's first
# entry into an earlier stage: kept (the source says so) and flagged for a look.
OUT_OF_ORDER = """
with
new_events as (
    select e.event_id, e.lead_id, e.event_type, e.occurred_at, list_position($stage_keys, e.event_type) as k
    from events as e
    where e.source = $load_id and list_contains($stage_keys, e.event_type)
),
firsts as (
    select lead_id, list_position($stage_keys, event_type) as k, min(occurred_at) as first_at
    from events
    where list_contains($stage_keys, event_type)
      and lead_id in (select lead_id from new_events)
    group by all
),
problems as (
    select n.event_id, 'dated ' || n.occurred_at || ', before the lead was created ('
        || l.created_at || ')' as problem
    from new_events as n
    join leads as l on l.lead_id = n.lead_id
    where n.occurred_at < l.created_at
    union all
    select n.event_id, n.event_type || ' dated ' || n.occurred_at || ', before the lead first entered '
        || $stage_keys[max(f.k)] || ' (' || max(f.first_at) || ')'
    from new_events as n
    join firsts as f on f.lead_id = n.lead_id and f.k < n.k and f.first_at > n.occurred_at
    group by n.event_id, n.event_type, n.occurred_at
)
select v.row_number, string_agg(p.problem, '; ') as problem
from problems as p
join v_events as v on v.event_id = p.event_id
group by v.row_number
"""


def settle(
    con: duckdb.DuckDBPyConnection,
    file_no: int,
    report: FileReport,
    mapping: Mapping,
    contract: Contract,
    now: dt.datetime,
) -> None:
    """Decide every row of one staged file and, unless the file is refused, write it."""
    p = {"file_no": file_no}
    spec = next((s for s in mapping.files if s.role == report.role), None)
    con.execute(SETTLE_ROWS, p)
    con.execute(SETTLE_EVENTS, {**p, "needs_lead": bool(spec and spec.lead_from_deal)})
    con.execute(SETTLE_LEADS, p)
    con.execute(SETTLE_UNDATED, p)
    con.execute(SETTLE_OPPORTUNITIES, p)
    con.execute(SETTLE_CONTACTS, p)
    con.execute(SETTLE_FINAL)
    counts = dict(con.execute("select status, count(*) from v_final group by status").fetchall())
    report.n_accepted = counts.get("accepted", 0)
    report.n_rejected = counts.get("rejected", 0)
    report.n_duplicate = counts.get("duplicate", 0)
    report.n_rows_in, report.n_lines = con.execute(
        "select count(*), coalesce(sum(last_row_number - row_number + 1), 0) from st_rows where file_no = $file_no",
        p,
    ).fetchone()
    report.n_ignored = con.execute(
        "select count(*) from v_final where status = 'accepted' and is_ignored"
    ).fetchone()[0]
    if not report.reconciles:  # a bug, never a data problem: stop before writing anything
        raise AssertionError(f"{report.name}: rows in does not equal accepted + rejected + duplicate")
    # The raw text stays in st_rows only (one copy of the file's text, not three).
    report.issues = _issues(
        con,
        "select f.row_number, s.last_row_number, f.column_name, 'rejected' as severity, f.reason, s.raw "
        "from v_final as f join st_rows as s on s.file_no = $file_no and s.row_number = f.row_number "
        "where f.status = 'rejected'",
        p,
    )
    limit = mapping.max_rejected_share
    if report.n_rejected > limit * report.n_rows_in:
        top = con.execute(
            # The reason up to its first ':' or '(', with quoted values blanked, so that rows
            # rejected for the same rule count together ("… is not a date").
            "select coalesce(column_name, '(row)'), "
            "trim(regexp_extract(regexp_replace(reason, '''[^'']*''', '…', 'g'), '^[^:(]*')), count(*) as n "
            "from v_final where status = 'rejected' group by all order by n desc limit 1"
        ).fetchone()
        report.refused = (
            f"{report.n_rejected:,} of {report.n_rows_in:,} rows are rejected "
            f"({report.n_rejected / report.n_rows_in:.0%}), over the mapping's limit "
            f"max_rejected_share = {limit:g}. Most common: column {top[0]}, {top[1]!r} ({top[2]:,} rows). "
            "Fix the export (or the mapping) and import again; the rejected rows are listed."
        )
    else:
        _write(con, file_no, report, mapping, contract, now)
    # Free the settling tables before the next file and the journey rebuild.
    for table in ("v_rows", "v_events", "v_leads", "v_undated", "v_opportunities", "v_contacts", "v_final"):
        con.execute(f"drop table if exists {table}")


def _issues(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pd.DataFrame:
    """The first issues of a file, for the in-memory report (all are stored)."""
    return con.execute(
        sql + " order by row_number limit $max_issues", {**(params or {}), "max_issues": MAX_REPORTED_ISSUES}
    ).df()


def _write(
    con: duckdb.DuckDBPyConnection,
    file_no: int,
    report: FileReport,
    mapping: Mapping,
    contract: Contract,
    now: dt.datetime,
) -> None:
    load_id = report.load_id
    params = {"load_id": load_id, "name": report.name, "file_no": file_no}
    con.execute(
        """
        insert into owners
        with
        used as (
            -- owners named by the rows this file really imports (not by rejected rows)
            select v.owner_id
            from v_events as v
            join v_final as f on f.row_number = v.row_number and f.status = 'accepted'
            union
            select owner_id from v_leads where verdict in ('new', 'changed')
            union
            select owner_id from v_opportunities where verdict in ('new', 'changed')
        )
        select distinct on (owner_id) owner_id, owner_name, team
        from st_owners
        where file_no = $file_no
          and owner_id in (select owner_id from used)
          and owner_id not in (select owner_id from owners)
        """,
        {"file_no": file_no},
    )
    leads_before = con.execute("select count(*) from leads").fetchone()[0]
    counts = dict(con.execute("select verdict, count(*) from v_leads group by verdict").fetchall())
    report.n_leads_updated = counts.get("changed", 0)
    con.execute(
        """
        insert or replace into leads (lead_id, created_at, lead_name, company, account_id, channel,
                                      campaign, region, segment, owner_id, currency, email)
        select lead_id, created_at, lead_name, company, account_id, channel, campaign, region,
               segment, owner_id, currency, email
        from v_leads
        where verdict in ('new', 'changed')
        """
    )
    report.n_opportunities = con.execute(
        "select count(*) from v_opportunities where verdict in ('new', 'changed')"
    ).fetchone()[0]
    con.execute(
        """
        insert or replace into opportunities
        select opportunity_id, name, account_id, created_at, owner_id, channel, campaign, region,
               segment, currency, amount, close_date, status, $load_id
        from v_opportunities
        where verdict in ('new', 'changed')
        """,
        {"load_id": load_id},
    )
    report.n_contacts = con.execute(
        "select count(*) from v_contacts where verdict in ('new', 'changed')"
    ).fetchone()[0]
    con.execute(
        """
        insert or replace into opportunity_contacts
        select opportunity_id, lead_id, role, is_primary, $load_id
        from v_contacts
        where verdict in ('new', 'changed')
        """,
        {"load_id": load_id},
    )
    report.n_undated = con.execute(
        "select count(*) from v_undated where verdict in ('new', 'changed')"
    ).fetchone()[0]
    con.execute(
        """
        insert or replace into undated_records
        select lead_id, status, stage, owner_id, amount, currency, $load_id
        from v_undated
        where verdict in ('new', 'changed')
        """,
        {"load_id": load_id},
    )
    before = con.execute("select count(*) from events").fetchone()[0]
    con.execute(
        """
        insert into events (event_id, lead_id, deal_id, event_type, occurred_at, owner_id, team,
                            reason_code, amount, source, currency, close_date, forecast_category)
        select v.event_id, v.lead_id, v.deal_id, v.event_type, v.occurred_at, v.owner_id,
               coalesce(o.team, v.team), v.reason_code, v.amount_value, $load_id, v.currency,
               v.close_date, v.forecast_category
        from v_events as v
        join v_final as f on f.row_number = v.row_number and f.status = 'accepted'
        left join owners as o on o.owner_id = v.owner_id
        where v.verdict = 'new'
        qualify row_number() over (partition by v.event_id order by v.row_number) = 1
        order by v.lead_id, v.occurred_at
        """,
        {"load_id": load_id},
    )
    report.n_events_added = con.execute("select count(*) from events").fetchone()[0] - before
    # Leads known only from their events (an event log): created at their first event, owned by
    # the owner of their latest event that names one.
    con.execute(
        """
        insert into leads (lead_id, created_at, owner_id)
        select lead_id, min(occurred_at), arg_max(owner_id, occurred_at) filter (where owner_id is not null)
        from events
        where source = $load_id and lead_id is not null and lead_id not in (select lead_id from leads)
        group by lead_id
        """,
        {"load_id": load_id},
    )
    report.n_leads_added = con.execute("select count(*) from leads").fetchone()[0] - leads_before
    ooo = con.execute(OUT_OF_ORDER, {"stage_keys": contract.stage_keys, "load_id": load_id}).df()
    con.register("ooo", ooo)
    con.execute(
        """
        insert into import_issues
            (load_id, file_name, row_number, column_name, severity, reason, raw, last_row_number)
        select $load_id, $name, f.row_number, f.column_name,
               case when f.status = 'rejected' then 'rejected' else 'flagged' end,
               case when f.status = 'rejected' then f.reason
                    else concat_ws('; ', f.flag, o.problem) end,
               s.raw, s.last_row_number
        from v_final as f
        join st_rows as s on s.file_no = $file_no and s.row_number = f.row_number
        left join ooo as o on o.row_number = f.row_number
        where f.status = 'rejected' or (f.status = 'accepted' and (f.flag is not null or o.problem is not null))
        order by f.row_number
        """,
        params,
    )
    con.unregister("ooo")
    report.n_flagged = con.execute(
        "select count(*) from import_issues where load_id = $load_id and severity = 'flagged'",
        {"load_id": load_id},
    ).fetchone()[0]
    report.issues = _issues(
        con,
        "select row_number, last_row_number, column_name, severity, reason, raw from import_issues "
        "where load_id = $load_id",
        {"load_id": load_id},
    )
    con.execute(
        "insert into loads values ($load_id, $at, 'import', $desc, $n_in, $n_acc, $n_rej, $n_dup)",
        {
            "load_id": load_id,
            "at": _now(),  # wall clock; `now` may be pinned for date checks
            "desc": f"{report.name} ({mapping.origin}, {report.role}), sha256 {report.sha256[:12]}"
            + (f", by {report.imported_by}" if report.imported_by else ""),
            "n_in": report.n_rows_in,
            "n_acc": report.n_accepted,
            "n_rej": report.n_rejected,
            "n_dup": report.n_duplicate,
        },
    )
    con.execute(
        "insert into import_files (load_id, file_name, file_sha256, mapping, file_role, n_rows_in, n_accepted, "
        "n_rejected, n_duplicate, n_flagged, n_events_added, n_leads_added, n_leads_updated, mapping_sha256, "
        "imported_by) values ($load_id, $name, $sha, $mapping, $role, $n_in, $n_acc, $n_rej, $n_dup, $n_flag, "
        "$n_ev, $n_lead, $n_upd, $mapping_sha, $user)",
        {
            "load_id": load_id,
            "name": report.name,
            "sha": report.sha256,
            "mapping": mapping.origin,
            "role": report.role,
            "n_in": report.n_rows_in,
            "n_acc": report.n_accepted,
            "n_rej": report.n_rejected,
            "n_dup": report.n_duplicate,
            "n_flag": report.n_flagged,
            "n_ev": report.n_events_added,
            "n_lead": report.n_leads_added,
            "n_upd": report.n_leads_updated,
            "mapping_sha": mapping.sha256 or None,
            "user": report.imported_by or None,
        },
    )
    # DuckDB can drop work silently after a swallowed error; check what landed.
    stored = con.execute(
        "select count(*) from events where source = $load_id", {"load_id": load_id}
    ).fetchone()[0]
    if stored != report.n_events_added:
        raise RuntimeError(f"{report.name}: {report.n_events_added} events inserted but {stored} stored")

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
from data.import_mapping import AMOUNT_ON_STAGES, Mapping
from data.import_read import (
    CONTACT_COLUMNS,
    CONVERTED_ROLE,
    DATED_BY_LAST_CHANGE,
    EVENT_COLUMNS,
    LAST_CHANGE_SUFFIX,
    LEAD_COLUMNS,
    LOOKUP_COLUMNS,
    OPPORTUNITY_COLUMNS,
    ROLE_COLUMNS,
    TOUCH_COLUMNS,
    UNDATED_COLUMNS,
    UNDATED_EXIT,
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
    n_events_restated: int = 0  # stored stage entries given their record's new amount or close date
    n_exits_last_changed: int = 0  # exit statuses with no date of their own, dated by the last change
    n_exits_undated: int = 0  # exit statuses with no date at all: undated exits, counted as open
    n_opportunities: int = 0  # opportunity records added or changed
    n_contacts: int = 0  # contacts on opportunities added or changed
    n_roles: int = 0  # owners of records by role added or changed
    # How the file was read: rows checked in bulk, in SQL (data/import_bulk.py), and why it was
    # read row by row instead (None: in bulk, its odd rows aside).
    n_read_in_bulk: int = 0
    read_row_by_row: str | None = None
    n_touches: int = 0  # campaign touches added or changed
    n_lookup_joined: int = 0  # lookup rows joined to an owner, account or product
    n_lookup_normalised: int = 0  # of which only after normalising their id or name
    n_lookup_unmatched: int = 0  # lookup rows that matched nothing (or two things): rejected
    # row_number, last_row_number, column_name, severity ('rejected', 'flagged'), reason, raw
    issues: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Set when nothing was written for this file: the store already had it all.
    unchanged: str | None = None
    imported_by: str = ""  # who loaded it
    unused: tuple[str, ...] = ()  # columns of the file's role that are recognised but not used

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
                f", {self.n_ignored:,} accepted rows carry no funnel event (ignored stage names, or rows "
                "the mapping's where leaves out)"
                if self.n_ignored
                else ""
            )
            + (
                f", {self.n_undated:,} open records with no date kept as undated open pipeline"
                if self.n_undated
                else ""
            )
            + (
                f", {self.n_events_restated:,} stage entries given their deal's new amount or close date"
                if self.n_events_restated
                else ""
            )
            + (
                f", {self.n_exits_last_changed:,} exit statuses with no date of their own dated by the "
                "record's last change (a status history, if imported, dates them exactly)"
                if self.n_exits_last_changed
                else ""
            )
            + (
                f", {self.n_exits_undated:,} exit statuses with no date at all (undated exits: the records "
                "count as open)"
                if self.n_exits_undated
                else ""
            )
            + (f", {self.n_opportunities:,} opportunities added or changed" if self.n_opportunities else "")
            + (f", {self.n_contacts:,} contacts on opportunities added or changed" if self.n_contacts else "")
            + (f", {self.n_roles:,} owners by role added or changed" if self.n_roles else "")
            + (f", {self.n_touches:,} campaign touches added or changed" if self.n_touches else "")
            + (
                f", {self.n_lookup_joined:,} lookup rows joined ({self.n_lookup_normalised:,} only after "
                f"normalising their name), {self.n_lookup_unmatched:,} matched nothing (rejected)"
                if self.n_lookup_joined or self.n_lookup_unmatched
                else ""
            )
            + (
                f"; columns not used: {', '.join(self.unused)} (read only to recognise the file, nothing is "
                "stored from them)"
                if self.unused
                else ""
            )
            + (f". {self.unchanged}" if self.unchanged else "")
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- staging -----------------------------------------------------------------------------------

STAGING = """
create temp table st_rows (
    file_no integer, row_number bigint, last_row_number bigint, row_key varchar, row_hash bigint,
    is_ignored boolean, column_name varchar, reason varchar, flag varchar, raw varchar,
    is_active boolean, version_at timestamp
);
create temp table st_events (
    file_no integer, row_number bigint, event_id varchar, lead_id varchar, deal_id varchar,
    event_type varchar, occurred_at timestamp, owner_id varchar, team varchar,
    reason_code varchar, amount varchar, currency varchar, close_date date, forecast_category varchar
);
create temp table st_opportunities (
    file_no integer, row_number bigint, opportunity_id varchar, name varchar, account_id varchar,
    created_at timestamp, owner_id varchar, channel varchar, campaign varchar, region varchar,
    segment varchar, currency varchar, amount varchar, close_date date, status varchar,
    company varchar, product varchar
);
create temp table st_contacts (
    file_no integer, row_number bigint, opportunity_id varchar, lead_id varchar, role varchar,
    is_primary boolean
);
create temp table st_leads (
    file_no integer, row_number bigint, lead_id varchar, created_at timestamp, lead_name varchar,
    company varchar, account_id varchar, channel varchar, campaign varchar, region varchar,
    segment varchar, owner_id varchar, currency varchar, email varchar, contact_id varchar,
    converted_opportunity_id varchar, converted_account_id varchar
);
create temp table st_undated (
    file_no integer, row_number bigint, lead_id varchar, status varchar, stage varchar,
    owner_id varchar, amount varchar, currency varchar
);
create temp table st_roles (
    file_no integer, row_number bigint, record_id varchar, role varchar, owner_id varchar
);
create temp table st_lookups (
    file_no integer, row_number bigint, target varchar, lookup_key varchar, lookup_name varchar,
    label varchar, manager varchar, office varchar, team varchar, domain varchar, sector varchar,
    size varchar, family varchar
);
create temp table st_touches (
    file_no integer, row_number bigint, touch_id varchar, lead_id varchar, campaign varchar,
    touched_at timestamp, team varchar, owner_id varchar
);
create temp table st_owners (file_no integer, owner_id varchar, owner_name varchar, team varchar);
-- Names compared after normalising: case, accents, spaces and punctuation aside.
create or replace temp macro simplify(x) as
    nullif(lower(regexp_replace(strip_accents(coalesce(x, '')), '[^A-Za-z0-9]+', '', 'g')), '');
"""
STAGED_TABLES = (
    "st_rows",
    "st_events",
    "st_opportunities",
    "st_contacts",
    "st_leads",
    "st_undated",
    "st_roles",
    "st_lookups",
    "st_touches",
    "st_owners",
)
SETTLED_TABLES = (
    "v_rows",
    "v_events",
    "v_leads",
    "v_undated",
    "v_opportunities",
    "v_contacts",
    "v_roles",
    "v_lookups",
    "v_touches",
    "v_final",
)


class Stager:
    """Collects parsed rows and writes them to the staging tables in Arrow batches."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.owners: dict[str, tuple] = {}
        self._reset()

    def _reset(self) -> None:
        self.rows: list[tuple] = []
        self.events: list[tuple] = []
        self.leads: list[tuple] = []
        self.undated: list[tuple] = []
        self.opportunities: list[tuple] = []
        self.contacts: list[tuple] = []
        self.roles: list[tuple] = []
        self.lookups: list[tuple] = []
        self.touches: list[tuple] = []

    def add(self, file_no: int, outcome) -> None:
        p = outcome.parsed
        last = outcome.last_row_number or outcome.row_number
        n = outcome.row_number
        if p is None:
            self.rows.append(
                (
                    file_no,
                    n,
                    last,
                    None,
                    None,
                    False,
                    outcome.column,
                    outcome.reason,
                    None,
                    outcome.raw,
                    None,
                    None,
                )
            )
        else:
            flag = "; ".join(p.flags) or None
            active, version_at = p.version or (None, None)
            self.rows.append(
                (
                    file_no,
                    n,
                    last,
                    p.key,
                    p.digest,
                    p.ignored,
                    None,
                    None,
                    flag,
                    outcome.raw,
                    active,
                    version_at,
                )
            )
            for e in p.events:
                self.events.append((file_no, n, *e))
            if p.lead is not None:
                self.leads.append((file_no, n, *p.lead))
            if p.undated is not None:
                self.undated.append((file_no, n, *p.undated))
            if p.opportunity is not None:
                self.opportunities.append((file_no, n, *p.opportunity))
            if p.contacts:
                self.contacts.extend((file_no, n, *c) for c in p.contacts)
            if p.roles:
                self.roles.extend((file_no, n, *r) for r in p.roles)
            if p.lookup is not None:
                self.lookups.append((file_no, n, *p.lookup))
            if p.touch is not None:
                self.touches.append((file_no, n, *p.touch))
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
            "is_active",
            "version_at",
        ]
        head = ["file_no", "row_number"]
        self._write("st_rows", row_cols, self.rows)
        self._write("st_events", [*head, *EVENT_COLUMNS], self.events)
        self._write("st_leads", [*head, *LEAD_COLUMNS], self.leads)
        self._write("st_undated", [*head, *UNDATED_COLUMNS], self.undated)
        self._write("st_opportunities", [*head, *OPPORTUNITY_COLUMNS], self.opportunities)
        self._write("st_contacts", [*head, *CONTACT_COLUMNS], self.contacts)
        self._write("st_roles", [*head, *ROLE_COLUMNS], self.roles)
        self._write("st_lookups", [*head, *LOOKUP_COLUMNS], self.lookups)
        self._write("st_touches", [*head, *TOUCH_COLUMNS], self.touches)
        self._reset()

    def discard(self, file_no: int) -> None:
        """Forget a refused file: what is staged of it, and what is still in memory."""
        for table in STAGED_TABLES:
            self.con.execute(f"delete from {table} where file_no = $f", {"f": file_no})  # noqa: S608
        self._reset()
        self.owners = {k: v for k, v in self.owners.items() if v[0] != file_no}

    def flush_owners(self) -> None:
        self._write("st_owners", ["file_no", "owner_id", "owner_name", "team"], list(self.owners.values()))
        self.owners = {}


# --- settling one file in SQL ------------------------------------------------------------------

# Each row: rejected (its own reason), a conflicting or identical repeat of an earlier row with
# the same key, an earlier version of a row a sync kept ($versioned: the file has history-mode
# columns; the current version is the active one, else the latest), or a candidate.
SETTLE_ROWS = """
create or replace temp table v_rows as
with
rows as (select * from st_rows where file_no = $file_no),
versions as (
    select
        row_number,
        row_number() over latest as version_rank,
        first_value(row_number) over latest as current_row
    from rows
    where reason is null and $versioned
    window latest as (
        partition by row_key order by is_active desc nulls last, version_at desc nulls last, row_number desc
    )
),
keyed as (
    select
        row_key,
        count(distinct row_hash) as n_versions,
        min(row_number) as first_row,
        array_to_string(list(row_number order by row_number)[1:10], ', ') as row_list
    from rows
    where reason is null and not $versioned
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
        when v.version_rank > 1 then 'an earlier version of this row, kept by the sync''s history mode: row '
            || v.current_row || ' is the current one'
        when k.n_versions > 1 then 'conflicting repeats of ' || r.row_key || ' on rows ' || k.row_list
            || ': they differ, so all are rejected'
        when r.row_number > k.first_row then 'identical repeat of row ' || k.first_row
    end as reason,
    case
        when r.reason is not null or k.n_versions > 1 then 'rejected'
        when v.version_rank > 1 or r.row_number > k.first_row then 'duplicate'
        else 'candidate'
    end as status
from rows as r
left join keyed as k on k.row_key = r.row_key
left join versions as v on v.row_number = r.row_number
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
-- Only the stored events that can join a staged row are grouped (below too): those of its
-- deal, for a row that names no lead. A small import into a big store then reads a few rows
-- of `events`, not all of them; each group is kept whole, so nothing else changes.
deals as (
    select deal_id, min(lead_id) as lead_id
    from events
    where deal_id in (select deal_id from staged where lead_id is null)
    group by deal_id
),
-- A deal's lead through its contacts: the lead it was converted from, else its primary contact.
contact_deals as (
    select
        opportunity_id as deal_id,
        arg_min(lead_id, (role is distinct from $converted, not coalesce(is_primary, false), lead_id)) as lead_id
    from opportunity_contacts
    group by opportunity_id
),
resolved as (
    select
        s.* exclude (lead_id),
        coalesce(s.lead_id, d.lead_id, case when $needs_lead then c.lead_id end) as lead_id
    from staged as s
    left join deals as d on s.lead_id is null and d.deal_id = s.deal_id
    left join contact_deals as c on s.lead_id is null and c.deal_id = s.deal_id
)
select
    r.*,
    cast(r.amount as decimal(14, 2)) as amount_value,
    case
        -- An event must belong to someone: a lead, or an opportunity known as itself. A file
        -- that finds its leads through deals (lead_from_deal) needs the link.
        when r.lead_id is null and ($needs_lead or r.deal_id is null) then 'no_lead'
        -- The same move another file already reported under its own id (a Lead's converted date
        -- and its LeadHistory row; a sync's deal table and its deal_stage rows): counted once.
        -- The same moment, or the same day when one of them is a date without a time (a lead's
        -- ConvertedDate and the time its LeadHistory row gives).
        when e.event_id is null and t.event_id is not null and (
            list_contains(t.times, r.occurred_at) or t.has_date_only
            or cast(r.occurred_at as time) = time '00:00:00') then 'same'
        -- An exit dated only by its record's last change (LAST_CHANGE_SUFFIX): when the store
        -- holds the same exit of the record from elsewhere (a LeadHistory row, its real date),
        -- or holds it already dated by an earlier export's last change (a tighter bound, since
        -- the status was already set then), it adds nothing.
        when ends_with(r.event_id, $last_change_suffix) and (
            (e.event_id is not null and e.event_type = r.event_type and e.lead_id is not distinct from r.lead_id)
            or exists (
                select 1 from events as o
                where o.lead_id is not distinct from r.lead_id
                  and o.deal_id is not distinct from r.deal_id
                  and o.event_type = r.event_type
                  and not ends_with(o.event_id, $last_change_suffix)
            )) then 'same'
        when e.event_id is null then 'new'
        -- A file whose stage entries carry the record's current amount and close date
        -- (amount_on = "stages"): a later export restates them on the same entries; a blank
        -- never erases what is stored.
        when $restates and e.lead_id is not distinct from r.lead_id
            and e.deal_id is not distinct from r.deal_id
            and e.event_type = r.event_type
            and e.occurred_at = r.occurred_at
            and e.reason_code is not distinct from r.reason_code then
            case
                when (r.amount is not null and e.amount is distinct from cast(r.amount as decimal(14, 2)))
                    or (r.currency is not null and e.currency is distinct from r.currency)
                    or (r.close_date is not null and e.close_date is distinct from r.close_date)
                    then 'restated'
                else 'same'
            end
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
-- Stored events of the same record, deal and stage on the same day (one row per day).
left join (
    select
        lead_id,
        deal_id,
        event_type,
        cast(occurred_at as date) as day,
        list(occurred_at) as times,
        bool_or(cast(occurred_at as time) = time '00:00:00') as has_date_only,
        min(event_id) as event_id
    from events
    -- The events of a staged row's lead, or of its deal when it names none: the join below
    -- matches no other group (it compares the lead and the deal, nulls included).
    where lead_id in (select lead_id from resolved)
       or (lead_id is null and deal_id in (select deal_id from resolved where lead_id is null))
    group by all
) as t
    on t.lead_id is not distinct from r.lead_id
    and t.deal_id is not distinct from r.deal_id
    and t.event_type = r.event_type
    and t.day = cast(r.occurred_at as date)
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
),
merged as (
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
        coalesce(s.contact_id, o.contact_id) as contact_id,
        coalesce(s.converted_opportunity_id, o.converted_opportunity_id) as converted_opportunity_id,
        coalesce(s.converted_account_id, o.converted_account_id) as converted_account_id,
        o.lead_id is null as is_new
    from staged as s
    left join leads as o on o.lead_id = s.lead_id
)
select
    m.* exclude (is_new),
    case
        when m.is_new then 'new'
        when (m.created_at, m.lead_name, m.company, m.account_id, m.channel, m.campaign, m.region,
              m.segment, m.owner_id, m.currency, m.email, m.contact_id, m.converted_opportunity_id,
              m.converted_account_id)
            is distinct from (o.created_at, o.lead_name, o.company, o.account_id, o.channel, o.campaign,
              o.region, o.segment, o.owner_id, o.currency, o.email, o.contact_id,
              o.converted_opportunity_id, o.converted_account_id) then 'changed'
        else 'same'
    end as verdict
from merged as m
left join leads as o on o.lead_id = m.lead_id
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
        coalesce(s.company, o.company) as company,
        coalesce(s.product, o.product) as product,
        o.opportunity_id is null as is_new
    from staged as s
    left join opportunities as o on o.opportunity_id = s.opportunity_id
)
select
    m.* exclude (is_new),
    case
        when m.is_new then 'new'
        when (m.name, m.account_id, m.created_at, m.owner_id, m.channel, m.campaign, m.region, m.segment,
              m.currency, m.amount, m.close_date, m.status, m.company, m.product)
            is distinct from (o.name, o.account_id, o.created_at, o.owner_id, o.channel, o.campaign, o.region,
              o.segment, o.currency, o.amount, o.close_date, o.status, o.company, o.product) then 'changed'
        else 'same'
    end as verdict
from merged as m
left join opportunities as o on o.opportunity_id = m.opportunity_id
"""

# The lead of a contact id: a lead that became that contact (leads.contact_id), else the id as is.
CONTACT_LEADS = """
    select contact_id, min(lead_id) as lead_id
    from leads
    where contact_id is not null
    group by contact_id
"""

# Contacts on opportunities. A lead's link to the opportunity it became ($converted) never
# overwrites the role a contact-role file gave the same pair.
SETTLE_CONTACTS = f"""
create or replace temp table v_contacts as
with
contact_leads as ({CONTACT_LEADS}),
staged as (
    select c.* exclude (lead_id), coalesce(k.lead_id, c.lead_id) as lead_id
    from st_contacts as c
    join v_rows as r on r.row_number = c.row_number and r.status = 'candidate'
    left join contact_leads as k on k.contact_id = c.lead_id
    where c.file_no = $file_no
    qualify row_number() over (
        partition by c.opportunity_id, coalesce(k.lead_id, c.lead_id) order by c.row_number
    ) = 1
),
merged as (
    select
        s.row_number,
        s.opportunity_id,
        s.lead_id,
        case when s.role = $converted then coalesce(o.role, s.role) else coalesce(s.role, o.role) end as role,
        coalesce(s.is_primary, o.is_primary) as is_primary,
        o.opportunity_id is null as is_new,
        o.role as stored_role,
        o.is_primary as stored_primary
    from staged as s
    left join opportunity_contacts as o on o.opportunity_id = s.opportunity_id and o.lead_id = s.lead_id
)
select
    row_number,
    opportunity_id,
    lead_id,
    role,
    is_primary,
    case
        when is_new then 'new'
        when role is distinct from stored_role or is_primary is distinct from stored_primary then 'changed'
        else 'same'
    end as verdict
from merged
"""  # noqa: S608 (our SQL and column names only)

# Owners of records by role: one owner per role per record (a later export can change it).
SETTLE_ROLES = """
create or replace temp table v_roles as
with
staged as (
    select s.*
    from st_roles as s
    join v_rows as r on r.row_number = s.row_number and r.status = 'candidate'
    where s.file_no = $file_no
    qualify row_number() over (partition by s.record_id, s.role order by s.row_number) = 1
)
select
    s.row_number,
    s.record_id,
    s.role,
    s.owner_id,
    case
        when o.record_id is null then 'new'
        when o.owner_id <> s.owner_id then 'changed'
        else 'same'
    end as verdict
from staged as s
left join record_owners as o on o.record_id = s.record_id and o.role = s.role
"""

# Campaign touches, with contact ids read as their leads.
SETTLE_TOUCHES = f"""
create or replace temp table v_touches as
with
contact_leads as ({CONTACT_LEADS}),
staged as (
    select t.* exclude (lead_id), coalesce(k.lead_id, t.lead_id) as lead_id
    from st_touches as t
    join v_rows as r on r.row_number = t.row_number and r.status = 'candidate'
    left join contact_leads as k on k.contact_id = t.lead_id
    where t.file_no = $file_no
)
select
    s.row_number,
    s.touch_id,
    s.lead_id,
    s.campaign,
    s.touched_at,
    s.team,
    s.owner_id,
    case
        when o.touch_id is null then 'new'
        when (s.lead_id, s.campaign, s.team, s.owner_id) is distinct from (o.lead_id, o.campaign, o.team, o.owner_id)
            then 'changed'
        else 'same'
    end as verdict
from staged as s
left join touches as o on o.touch_id = s.touch_id
"""  # noqa: S608 (our SQL and column names only)

# Lookup rows joined to what they describe: an owner, an account or a product the store (or an
# earlier file of this import) knows, by the row's id or name. In order: the id as given, the
# name as given, the id after normalising, the name after normalising (case, accents, spaces,
# punctuation aside: macro simplify). A row matching two things at its best level is ambiguous;
# one matching nothing is rejected. Both are listed, never dropped silently.
SETTLE_LOOKUPS = """
create or replace temp table v_lookups as
with
staged as (
    select l.*
    from st_lookups as l
    join v_rows as r on r.row_number = l.row_number and r.status = 'candidate'
    where l.file_no = $file_no
),
-- What a lookup row can join to, per target: an identity (the id the attributes go to) and the
-- names it is known by. An account or product named only by text is identified by that name.
-- $has_lookups: the file has lookup rows. When it has none (every file but a lookup file), the
-- names below fold away when the statement is planned instead of simplifying every lead's
-- company (1.4 s of a small import into a 1M-lead store).
account_names as (
    select name as target_name, account_id from accounts where $has_lookups
    union all
    select company, account_id from leads
    where $has_lookups and (company is not null or account_id is not null)
    union all
    select company, account_id from opportunities
    where $has_lookups and (company is not null or account_id is not null)
),
account_ids as (
    -- A name that records carry with exactly one account id is that account.
    select simplify(target_name) as name_key, min(account_id) as account_id
    from account_names
    where target_name is not null and account_id is not null
    group by all
    having count(distinct account_id) = 1
),
candidates as (
    select 'owners' as target, owner_id as ident, owner_id as target_id, owner_name as target_name from owners
    union all
    select 'owners', owner_id, owner_id, owner_id from owners
    union all
    select
        'accounts',
        coalesce(n.account_id, i.account_id, 'name:' || simplify(n.target_name)),
        n.account_id,
        n.target_name
    from account_names as n
    left join account_ids as i on i.name_key = simplify(n.target_name)
    where n.account_id is not null or simplify(n.target_name) is not null
    union all
    select 'products', product_id, product_id, name from products
    union all
    select 'products', coalesce(p.product_id, 'name:' || simplify(o.product)), p.product_id, o.product
    from opportunities as o
    left join products as p on simplify(p.name) = simplify(o.product)
    where $has_lookups and simplify(o.product) is not null
),
matches as (
    select s.row_number, 1 as level, c.ident, c.target_name
    from staged as s join candidates as c on c.target = s.target and c.target_id = s.lookup_key
    union all
    select s.row_number, 2, c.ident, c.target_name
    from staged as s join candidates as c on c.target = s.target and c.target_name = s.lookup_name
    union all
    select s.row_number, 3, c.ident, c.target_name
    from staged as s join candidates as c on c.target = s.target and simplify(c.target_id) = simplify(s.lookup_key)
    union all
    select s.row_number, 4, c.ident, c.target_name
    from staged as s join candidates as c
        on c.target = s.target and simplify(c.target_name) = simplify(s.lookup_name)
),
best as (
    select
        row_number,
        min(level) as level,
        count(distinct ident) filter (where level = 1) as n1,
        count(distinct ident) filter (where level = 2) as n2,
        count(distinct ident) filter (where level = 3) as n3,
        count(distinct ident) filter (where level = 4) as n4
    from matches
    group by row_number
),
chosen as (
    select
        m.row_number,
        b.level,
        [b.n1, b.n2, b.n3, b.n4][b.level] as n_idents,
        min(m.ident) as ident,
        min(m.target_name) as matched_name,
        string_agg(distinct m.ident, ', ' order by m.ident) as idents
    from matches as m
    join best as b on b.row_number = m.row_number and m.level = b.level
    group by all
),
joined as (
    select
        s.*,
        c.level,
        c.n_idents,
        c.idents,
        case when c.n_idents = 1 then c.ident end as ident,
        c.matched_name
    from staged as s
    left join chosen as c on c.row_number = s.row_number
)
select
    j.row_number,
    j.target,
    j.ident,
    j.lookup_key,
    j.lookup_name,
    j.label,
    j.manager,
    j.office,
    j.team,
    j.domain,
    j.sector,
    j.size,
    j.family,
    case
        when j.level is null then 'no_match'
        when j.n_idents > 1 then 'ambiguous'
        when j.target = 'owners' and (
            coalesce(j.label, w.owner_name) is distinct from w.owner_name
            or coalesce(j.team, w.team) is distinct from w.team
            or coalesce(j.manager, d.manager) is distinct from d.manager
            or coalesce(j.office, d.office) is distinct from d.office
            or (d.owner_id is null and (j.manager is not null or j.office is not null))) then 'changed'
        when j.target = 'accounts' and (a.account_id is null
            or (coalesce(j.label, j.lookup_name, a.name), coalesce(j.domain, a.domain),
                coalesce(j.sector, a.sector), coalesce(j.size, a.size))
                is distinct from (a.name, a.domain, a.sector, a.size)) then 'changed'
        when j.target = 'products' and (p.product_id is null
            or (coalesce(j.label, j.lookup_name, p.name), coalesce(j.family, p.family))
                is distinct from (p.name, p.family)) then 'changed'
        else 'same'
    end as verdict,
    case
        when j.level is null then 'no ' || left(j.target, -1) || ' in the store (or an earlier file of this import) has '
            || concat_ws(' or ',
                case when j.lookup_key is not null then 'the id ''' || j.lookup_key || '''' end,
                case when j.lookup_name is not null then 'the name ''' || j.lookup_name || '''' end)
            || ', even ignoring case, spaces and punctuation: nothing to join this row to'
        when j.n_idents > 1 then 'ambiguous: ''' || coalesce(j.lookup_name, j.lookup_key) || ''' matches '
            || j.idents || ' after normalising; give the id instead'
    end as problem,
    case
        when j.level in (3, 4) and j.n_idents = 1 then 'joined after normalising: '''
            || coalesce(case when j.level = 3 then j.lookup_key end, j.lookup_name) || ''' is '
            || left(j.target, -1) || ' ''' || coalesce(j.matched_name, j.ident) || ''''
            || case when j.matched_name is not null and j.ident <> j.matched_name and not starts_with(j.ident, 'name:')
                then ' (' || j.ident || ')' else '' end
    end as note
from joined as j
left join owners as w on j.target = 'owners' and w.owner_id = j.ident
left join owner_details as d on j.target = 'owners' and d.owner_id = j.ident
left join accounts as a on j.target = 'accounts' and a.account_id = j.ident
left join products as p on j.target = 'products' and p.product_id = j.ident
"""

SETTLE_FINAL = """
create or replace temp table v_final as
with
per_row as (
    select
        row_number,
        count(*) filter (where verdict in ('new', 'restated')) as n_new,
        count(*) filter (where verdict in ('conflict', 'no_lead')) as n_bad,
        string_agg(problem, '; ') filter (where verdict in ('conflict', 'no_lead')) as problem
    from v_events
    group by row_number
    union all
    select row_number, 0, 1, problem
    from v_lookups
    where verdict in ('no_match', 'ambiguous')
),
bad as (
    select row_number, sum(n_new) as n_new, sum(n_bad) as n_bad, string_agg(problem, '; ') as problem
    from per_row
    group by row_number
),
-- Rows that add or change a record of some other kind than an event.
changes as (
    select row_number from v_leads where verdict in ('new', 'changed')
    union
    select row_number from v_undated where verdict in ('new', 'changed')
    union
    select row_number from v_opportunities where verdict in ('new', 'changed')
    union
    select row_number from v_contacts where verdict in ('new', 'changed')
    union
    select row_number from v_roles where verdict in ('new', 'changed')
    union
    select row_number from v_touches where verdict in ('new', 'changed')
    union
    select row_number from v_lookups where verdict = 'changed'
)
select
    r.row_number,
    r.flag,
    r.is_ignored,
    r.column_name,
    case
        when r.status <> 'candidate' then r.status
        when p.n_bad > 0 then 'rejected'
        when coalesce(p.n_new, 0) > 0 or c.row_number is not null or r.is_ignored then 'accepted'
        else 'duplicate'
    end as status,
    case
        when r.status <> 'candidate' then r.reason
        when p.n_bad > 0 then p.problem
        when coalesce(p.n_new, 0) = 0 and c.row_number is null and not r.is_ignored
            then 'already imported: everything in this row is stored'
    end as reason
from v_rows as r
left join bad as p on p.row_number = r.row_number
left join (select distinct row_number from changes) as c on c.row_number = r.row_number
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
    versioned = bool(spec and (spec.version_active or spec.version_start))
    con.execute(SETTLE_ROWS, {**p, "versioned": versioned})
    con.execute(
        SETTLE_EVENTS,
        {
            **p,
            "needs_lead": bool(spec and spec.lead_from_deal),
            "converted": CONVERTED_ROLE,
            "restates": bool(spec and spec.amount_on == AMOUNT_ON_STAGES),
            "last_change_suffix": LAST_CHANGE_SUFFIX,
        },
    )
    con.execute(SETTLE_LEADS, p)
    con.execute(SETTLE_UNDATED, p)
    con.execute(SETTLE_OPPORTUNITIES, p)
    con.execute(SETTLE_CONTACTS, {**p, "converted": CONVERTED_ROLE})
    con.execute(SETTLE_ROLES, p)
    con.execute(SETTLE_TOUCHES, p)
    has_lookups = con.execute(
        "select exists (select 1 from st_lookups where file_no = $file_no)", p
    ).fetchone()[0]
    con.execute(SETTLE_LOOKUPS, {**p, "has_lookups": has_lookups})
    con.execute(SETTLE_FINAL)
    counts = dict(con.execute("select status, count(*) from v_final group by status").fetchall())
    report.n_accepted = counts.get("accepted", 0)
    report.n_exits_last_changed, report.n_exits_undated = con.execute(
        """
        select
            count(*) filter (where contains(flag, $dated)),
            count(*) filter (where contains(flag, $undated))
        from v_final
        where status = 'accepted'
        """,
        {"dated": DATED_BY_LAST_CHANGE, "undated": UNDATED_EXIT},
    ).fetchone()
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
    limit = mapping.rejected_share(report.role)
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
    for table in SETTLED_TABLES:
        con.execute(f"drop table if exists {table}")  # noqa: S608 (our names)


def _issues(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pd.DataFrame:
    """The first issues of a file, for the in-memory report (all are stored)."""
    return con.execute(
        sql + " order by row_number limit $max_issues", {**(params or {}), "max_issues": MAX_REPORTED_ISSUES}
    ).df()


def _write_lookups(con: duckdb.DuckDBPyConnection, report: FileReport, load_id: str) -> None:
    """Set what a lookup file says on the owners, accounts and products its rows joined."""
    p = {"load_id": load_id}
    rows = "select * from v_lookups where verdict = 'changed'"
    con.execute(
        f"""
        update owners as w
        set owner_name = coalesce(v.label, w.owner_name), team = coalesce(v.team, w.team)
        from ({rows}) as v
        where v.target = 'owners' and w.owner_id = v.ident
        """  # noqa: S608 (our SQL and column names only)
    )
    con.execute(
        f"""
        insert or replace into owner_details (owner_id, manager, office, source)
        select v.ident, coalesce(v.manager, d.manager), coalesce(v.office, d.office), $load_id
        from ({rows}) as v
        left join owner_details as d on d.owner_id = v.ident
        where v.target = 'owners'
        """,  # noqa: S608 (our SQL and column names only)
        p,
    )
    # An account known by name only gets the lookup's id, or one made of its name.
    con.execute(
        f"""
        create or replace temp table v_accounts as
        select
            case when starts_with(v.ident, 'name:') then coalesce(v.lookup_key, v.ident) else v.ident end
                as account_id,
            v.ident,
            coalesce(v.label, v.lookup_name, a.name) as name,
            coalesce(v.domain, a.domain) as domain,
            coalesce(v.sector, a.sector) as sector,
            coalesce(v.size, a.size) as size
        from ({rows}) as v
        left join accounts as a on a.account_id = v.ident
        where v.target = 'accounts'
        """  # noqa: S608 (our SQL and column names only)
    )
    con.execute(
        """
        insert or replace into accounts (account_id, name, domain, sector, size, source)
        select account_id, name, domain, sector, size, $load_id from v_accounts
        """,
        p,
    )
    con.execute("drop table v_accounts")
    con.execute(
        f"""
        insert or replace into products (product_id, name, family, source)
        select
            case when starts_with(v.ident, 'name:') then coalesce(v.lookup_key, v.ident) else v.ident end,
            coalesce(v.label, v.lookup_name, p.name),
            coalesce(v.family, p.family),
            $load_id
        from ({rows}) as v
        left join products as p on p.product_id = v.ident
        where v.target = 'products'
        """,  # noqa: S608 (our SQL and column names only)
        p,
    )
    counts = dict(
        con.execute("select coalesce(verdict, 'none'), count(*) from v_lookups group by all").fetchall()
    )
    report.n_lookup_joined = counts.get("changed", 0) + counts.get("same", 0)
    report.n_lookup_unmatched = counts.get("no_match", 0) + counts.get("ambiguous", 0)
    report.n_lookup_normalised = con.execute(
        "select count(*) from v_lookups where note is not null and verdict in ('changed', 'same')"
    ).fetchone()[0]


def relink(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Links that a later file can complete, made after every import (so the order in which
    files arrive does not matter):

    - a contact id on an opportunity or a campaign touch that a lead became (leads.contact_id)
      is that lead's;
    - a lead or opportunity naming an account only by its name gets the id of the one account
      of that name (after normalising), when exactly one is known;
    - an exit dated only by its record's last change goes once another file dates the same exit
      of the record (a LeadHistory row after its Lead row).

    Returns the number of rows it changed per table (an incremental rebuild needs to know)."""
    changed = dict.fromkeys(("events", "opportunity_contacts", "touches", "leads", "opportunities"), 0)

    def run(table: str, sql: str, params: dict | None = None) -> None:
        changed[table] += con.execute(sql, params).fetchone()[0]

    run(
        "events",
        """
        delete from events as f
        where ends_with(f.event_id, $suffix)
          and exists (
              select 1 from events as o
              where o.lead_id is not distinct from f.lead_id
                and o.deal_id is not distinct from f.deal_id
                and o.event_type = f.event_type
                and not ends_with(o.event_id, $suffix)
          )
        """,
        {"suffix": LAST_CHANGE_SUFFIX},
    )
    leads_of = f"({CONTACT_LEADS})"
    con.execute(
        f"""
        create or replace temp table relinked as
        select c.opportunity_id, k.lead_id, c.role, c.is_primary, c.source
        from opportunity_contacts as c
        join {leads_of} as k on k.contact_id = c.lead_id
        where k.lead_id <> c.lead_id
        """  # noqa: S608 (our SQL and column names only)
    )
    run(
        "opportunity_contacts",
        """
        delete from opportunity_contacts as c
        using relinked as r, leads as l
        where l.lead_id = r.lead_id and l.contact_id = c.lead_id and c.opportunity_id = r.opportunity_id
        """,
    )
    run(
        "opportunity_contacts",
        """
        insert into opportunity_contacts (opportunity_id, lead_id, role, is_primary, source)
        select r.opportunity_id, r.lead_id, r.role, r.is_primary, r.source
        from relinked as r
        where not exists (
            select 1 from opportunity_contacts as o
            where o.opportunity_id = r.opportunity_id and o.lead_id = r.lead_id
        )
        qualify row_number() over (partition by r.opportunity_id, r.lead_id order by r.role) = 1
        """,
    )
    run(
        "opportunity_contacts",
        """
        update opportunity_contacts as o
        set role = r.role
        from relinked as r
        where o.opportunity_id = r.opportunity_id and o.lead_id = r.lead_id
          and o.role = $converted and r.role is not null and r.role <> $converted
        """,
        {"converted": CONVERTED_ROLE},
    )
    con.execute("drop table relinked")
    run(
        "touches",
        f"""
        update touches as t
        set lead_id = k.lead_id
        from {leads_of} as k
        where k.contact_id = t.lead_id
        """,  # noqa: S608 (our SQL and column names only)
    )
    names = """
        select simplify(name) as name_key, min(account_id) as account_id
        from accounts
        where simplify(name) is not null
        group by all
        having count(*) = 1
    """
    run(
        "leads",
        f"""
        update leads as l
        set account_id = a.account_id
        from ({names}) as a
        where l.account_id is null and simplify(l.company) = a.name_key
        """,  # noqa: S608 (our SQL and column names only)
    )
    run(
        "opportunities",
        f"""
        update opportunities as o
        set account_id = a.account_id
        from ({names}) as a
        where o.account_id is null and simplify(o.company) = a.name_key
        """,  # noqa: S608 (our SQL and column names only)
    )
    return changed


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
        insert into owners (owner_id, owner_name, team)
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
            union
            select owner_id from v_roles where verdict in ('new', 'changed')
            union
            select owner_id from v_touches where verdict in ('new', 'changed')
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
        f"""
        insert or replace into leads ({", ".join(LEAD_COLUMNS)})
        select {", ".join(LEAD_COLUMNS)}
        from v_leads
        where verdict in ('new', 'changed')
        """  # noqa: S608 (our SQL and column names only)
    )
    report.n_opportunities = con.execute(
        "select count(*) from v_opportunities where verdict in ('new', 'changed')"
    ).fetchone()[0]
    con.execute(
        f"""
        insert or replace into opportunities ({", ".join(OPPORTUNITY_COLUMNS)}, source)
        select {", ".join(OPPORTUNITY_COLUMNS)}, $load_id
        from v_opportunities
        where verdict in ('new', 'changed')
        """,  # noqa: S608 (our SQL and column names only)
        {"load_id": load_id},
    )
    report.n_contacts = con.execute(
        "select count(*) from v_contacts where verdict in ('new', 'changed')"
    ).fetchone()[0]
    con.execute(
        """
        insert or replace into opportunity_contacts (opportunity_id, lead_id, role, is_primary, source)
        select opportunity_id, lead_id, role, is_primary, $load_id
        from v_contacts
        where verdict in ('new', 'changed')
        """,
        {"load_id": load_id},
    )
    report.n_roles = con.execute(
        "select count(*) from v_roles where verdict in ('new', 'changed')"
    ).fetchone()[0]
    con.execute(
        """
        insert or replace into record_owners (record_id, role, owner_id, source)
        select record_id, role, owner_id, $load_id
        from v_roles
        where verdict in ('new', 'changed')
        """,
        {"load_id": load_id},
    )
    report.n_touches = con.execute(
        "select count(*) from v_touches where verdict in ('new', 'changed')"
    ).fetchone()[0]
    con.execute(
        """
        insert or replace into touches (touch_id, lead_id, content_id, campaign, touched_at, team, owner_id)
        select touch_id, lead_id, null, campaign, touched_at, team, owner_id
        from v_touches
        where verdict in ('new', 'changed')
        qualify row_number() over (partition by touch_id order by row_number) = 1
        """
    )
    _write_lookups(con, report, load_id)
    # Undated open records; an undated exit (an exit status with no date: flagged, counted in
    # n_exits_undated) is kept beside them for the data-quality view, never as open pipeline.
    report.n_undated = con.execute(
        """
        select count(*) from v_undated
        where verdict in ('new', 'changed') and not list_contains($exit_keys, coalesce(stage, ''))
        """,
        {"exit_keys": list(contract.exit_keys)},
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
    # Stage entries whose record's current amount, currency or close date changed since the
    # last export (amount_on = "stages"): they carry the new ones.
    restated = """
        from v_events as v
        join v_final as f on f.row_number = v.row_number and f.status = 'accepted'
        where v.verdict = 'restated'
    """
    report.n_events_restated = con.execute("select count(distinct v.event_id) " + restated).fetchone()[0]
    if report.n_events_restated:
        con.execute(
            """
            update events as e
            set amount = coalesce(v.amount_value, e.amount), currency = coalesce(v.currency, e.currency),
                close_date = coalesce(v.close_date, e.close_date)
            from v_events as v
            join v_final as f on f.row_number = v.row_number and f.status = 'accepted'
            where v.verdict = 'restated' and e.event_id = v.event_id
            """
        )
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
                    else concat_ws('; ', f.flag, o.problem, k.note) end,
               s.raw, s.last_row_number
        from v_final as f
        join st_rows as s on s.file_no = $file_no and s.row_number = f.row_number
        left join ooo as o on o.row_number = f.row_number
        left join v_lookups as k on k.row_number = f.row_number
        where f.status = 'rejected'
           or (f.status in ('accepted', 'duplicate')
               and (f.flag is not null or o.problem is not null or k.note is not null))
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

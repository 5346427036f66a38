# ruff: noqa: S608 -- every name in the SQL text is ours: tables of this module, the store's quoted catalog
"""Incremental rebuild: an import recomputes only the journeys it touches.

The full rebuild (data/journey.py rebuild) derives every table from the base tables. After an
import that only adds events of known leads and changes some leads' attributes, almost every
derived row is what it was: this module finds the records whose derived rows can differ,
recomputes them with the very same statements as the full rebuild, run over a slice of the base
tables in a scratch in-memory database, and swaps those records' rows in each derived table.
No statement is written twice: the scratch database holds tables of the same names, so
journey.build_journeys, bridge.rebuild, journey.build_opportunity_events,
attribution_layouts.rebuild and team_layouts.rebuild run there unchanged.

How an import uses it (data/importer.py): `snapshot(con)` right after the current store is
copied (before any file is settled) keeps a fingerprint of what the derived tables depend on;
after settling, `Changes.settled` records the import's load ids; store.rebuild_journey then calls
`rebuild(...)`, which either rebuilds incrementally or says why not (the caller then runs the
full rebuild).

What changed (a diff against the snapshot, with what settling itself reports):
    events      only added: the count grew by exactly the rows whose source is this import's
                load ids; no stored event was restated (FileReport.n_events_restated) or
                removed (relink's count)
    leads       when settling updated no stored lead (FileReport.n_leads_updated, relink's count
                of leads given an account), only new leads, found by id; otherwise one hash per
                lead against the snapshot's: new leads and leads whose row changed
    touches     written by settling (FileReport.n_touches) or relinked (relink's count)
    the rest    owners, owner_details, accounts, opportunities, opportunity_contacts,
                record_owners: a fingerprint (count and sum of row hashes) each

The records recomputed, closed over the links the derived tables follow:
    L0  leads of the new events, and new or changed leads
    D0  opportunities of the new events
    L   L0 and the contacts of D0 (a lead's journey counts its opportunities' events)
    D   D0 and every opportunity a lead of L is on (its events name both, it is a contact, or
        it was converted into it): an opportunity's journey takes its lead's attributes, its
        bridge row the marketing events of its people, its attribution rows their journeys
    P   the people of D (their events and journeys feed D's bridge and attribution rows)
Lead-keyed tables (journey_*, team_*) are replaced for L; opportunity-keyed ones (deal_journey_*,
opportunity_people, opportunity_bridge, attribution_*) for D. The scratch database holds every
base row those records' statements read: events of L and P and of D, the leads of L and P,
their account matches, D's opportunities and contacts, the owners of L and D, P's touches, and
the whole owners, owner_details and accounts tables. opportunity_events numbers each
opportunity's events on their own (seq), so D's rows are replaced like any other deal-keyed
table's and no other row changes. Recomputed rows are appended, so a table's rows are no longer
sorted as the full rebuild writes them (a zone-map nicety, never a contract: the next full
rebuild sorts them again).

The full rebuild runs instead (and `rebuild` says why) when the shortcut is not exact by
construction:
    - the derived tables were not built by this code (store_meta journey_code differs) or not
      under this contract version, its tracked stages or its tracked exits;
    - an event was removed or restated, or a new event names no lead (the lead-less events form
      one store-wide group in team_first_owners and team_positions);
    - a lead was removed, or a lead's account evidence changed (account_id, company, email,
      converted ids): account matching compares every lead with every other (data/accounts.py);
    - owners, lookups (owner_details), accounts, opportunities, contacts, roles or touches
      changed;
    - the records to recompute are more than a fifth of the store.
account_matches itself is never recomputed incrementally: under the conditions above no lead's
account evidence changed, so it is unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import duckdb

from data import attribution_layouts, bridge, contract_store, journey, team_layouts
from data.contract import Contract

HERE = Path(__file__).parent
SCRATCH = "inc_scratch"
META_CODE = "journey_code"
# Past this share of the store, the full rebuild is as quick and simpler.
MAX_SHARE = 0.2
# Base tables compared by fingerprint only: any change sends the import to the full rebuild.
FINGERPRINTED = (
    "owners",
    "owner_details",
    "accounts",
    "opportunities",
    "opportunity_contacts",
    "record_owners",
)
# A lead's account evidence (data/account_matches.sql reads these columns of leads).
ACCOUNT_COLUMNS = "account_id, company, email, converted_opportunity_id, converted_account_id"
# Every table journey.rebuild writes, with the key its rows are replaced by: L (leads) or D
# (opportunities). account_matches is handled apart (see above).
LEAD_KEYED = {
    "journey_leads": "lead_id",
    "journey_stages": "lead_id",
    "journey_exits": "lead_id",
    "journey_roles": "lead_id",
    "team_first_owners": "lead_id",
    "team_handoffs": "lead_id",
    "team_positions": "lead_id",
    "team_recycles": "lead_id",
}
DEAL_KEYED = {
    "deal_journey_leads": "lead_id",
    "deal_journey_stages": "lead_id",
    "deal_journey_exits": "lead_id",
    "deal_journey_roles": "lead_id",
    "opportunity_people": "opportunity_id",
    "opportunity_bridge": "opportunity_id",
    "attribution_deal_events": "deal_id",
    "attribution_deal_leads": "deal_id",
    "attribution_source_events": "deal_id",
    "attribution_deal_touches": "opportunity_id",
    "opportunity_events": "deal_id",
}
DERIVED = ("account_matches", *LEAD_KEYED, *DEAL_KEYED)


def code_digest() -> str:
    """A digest of the code in data/ (every .py, .sql and .toml file): rows written by other
    code are never mixed with rows written by this code. The whole folder, not a list of the
    modules that write derived tables, so a module added there can never be left out; a change
    elsewhere in data/ only costs one full rebuild after an upgrade."""
    h = hashlib.sha256()
    for path in sorted(HERE.glob("*")):
        if path.suffix in (".py", ".sql", ".toml"):
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@dataclasses.dataclass
class Outcome:
    """How the journeys were rebuilt: incrementally (and for how many records) or in full, and why."""

    incremental: bool
    reason: str = ""
    n_leads: int = 0
    n_opportunities: int = 0

    def text(self) -> str:
        if self.incremental:
            return (
                f"journeys rebuilt incrementally: {self.n_leads:,} lead journeys and "
                f"{self.n_opportunities:,} opportunities recomputed"
            )
        return f"journeys rebuilt in full: {self.reason}"


@dataclasses.dataclass
class Changes:
    """What the store held before an import settled its files (snapshot), and the import's load ids."""

    meta: dict[str, str]
    n_events: int
    prints: dict[str, tuple]
    load_ids: list[str] = dataclasses.field(default_factory=list)
    n_restated: int = 0
    n_leads_updated: int = 0
    n_touches: int = 0
    relinked: dict[str, int] = dataclasses.field(default_factory=dict)
    outcome: Outcome | None = None

    def settled(
        self,
        load_ids: list[str],
        n_restated: int,
        n_leads_updated: int = 0,
        n_touches: int = 0,
        relinked: dict[str, int] | None = None,
    ) -> None:
        """What settling wrote: the files' load ids, the stored events restated, the stored leads
        updated and the touches written (FileReport), and the rows relink changed per table."""
        self.load_ids = list(load_ids)
        self.n_restated = n_restated
        self.n_leads_updated = n_leads_updated
        self.n_touches = n_touches
        self.relinked = dict(relinked or {})


def _fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> tuple:
    # The names are ours (FINGERPRINTED). A row's hash covers every column.
    return con.execute(f"select count(*), sum(hash(t)::hugeint) from {table} as t").fetchone()  # noqa: S608


def snapshot(con: duckdb.DuckDBPyConnection) -> Changes:
    """Fingerprint the current store in `con` before an import changes it."""
    meta = dict(con.execute("select key, value from store_meta").fetchall())
    con.execute(
        f"""
        create or replace temp table inc_before_leads as
        select lead_id, hash(l) as h, hash({ACCOUNT_COLUMNS}) as h_account
        from leads as l
        """  # noqa: S608 (our column names)
    )
    prints = {t: _fingerprint(con, t) for t in FINGERPRINTED}
    prints["leads"] = con.execute("select count(*), sum(h::hugeint) from inc_before_leads").fetchone()
    n_events = con.execute("select count(*) from events").fetchone()[0]
    return Changes(meta, n_events, prints)


# The leads whose row differs from the snapshot's (k), new ones (is_new), and whether their
# account evidence differs (a lead gone: is_gone).
CHANGED_LEADS = f"""
    create or replace temp table inc_changed_leads as
    select
        coalesce(a.lead_id, b.lead_id) as k,
        b.lead_id is null as is_new,
        a.lead_id is null as is_gone,
        case when b.lead_id is null then a.has_evidence else a.h_account is distinct from b.h_account end
            as is_evidence
    from (
        select lead_id, hash(l) as h, hash({ACCOUNT_COLUMNS}) as h_account,
            coalesce({ACCOUNT_COLUMNS}) is not null as has_evidence
        from leads as l
    ) as a
    full join inc_before_leads as b on b.lead_id = a.lead_id
    where a.h is distinct from b.h
"""


def _changed_leads(con: duckdb.DuckDBPyConnection, changes: Changes) -> None:
    """inc_changed_leads. When settling updated no stored lead (no lead file row 'changed',
    relink set no account), the only changes are new leads, found by their ids; otherwise every
    lead's row hash is compared with the snapshot's."""
    if changes.n_leads_updated or changes.relinked.get("leads", 0):
        con.execute(CHANGED_LEADS)
        return
    n_leads = con.execute("select count(*) from leads").fetchone()[0]
    if n_leads == changes.prints["leads"][0]:
        # No stored lead was updated, and an import deletes no lead: as many leads as before
        # means no new one either.
        con.execute(
            "create or replace temp table inc_changed_leads (k varchar, is_new bool, is_gone bool, is_evidence bool)"
        )
        return
    con.execute(
        "create or replace temp table inc_new_ids as select lead_id from leads anti join inc_before_leads using (lead_id)"
    )
    con.execute(
        f"""
        create or replace temp table inc_changed_leads as
        select l.lead_id as k, true as is_new, false as is_gone,
            coalesce({ACCOUNT_COLUMNS}) is not null as is_evidence
        from leads as l semi join inc_new_ids as n on n.lead_id = l.lead_id
        """
    )
    n_leads, n_new = con.execute(
        "select (select count(*) from leads), (select count(*) from inc_new_ids)"
    ).fetchone()
    con.execute("drop table inc_new_ids")
    if n_leads - n_new != changes.prints["leads"][0]:  # a stored lead went
        con.execute("insert into inc_changed_leads values (null, false, true, false)")


def _why_full(con: duckdb.DuckDBPyConnection, changes: Changes, expected: dict[str, str]) -> str:
    meta = changes.meta
    if meta.get(META_CODE) != code_digest():
        return "the journeys were built by another version of the code"
    for key, value in expected.items():
        if meta.get(key) != value:
            what = {
                contract_store.META_TRACKED: "the stages the events record changed",
                contract_store.META_TRACKED_EXITS: "the exits the events record changed",
            }.get(key, "the contract changed")
            return what
    if changes.n_restated:
        return "stored events were restated"
    if changes.relinked.get("events", 0):
        return "stored events were removed"
    if changes.n_touches or changes.relinked.get("touches", 0):
        return "touches changed"
    con.execute(
        """
        create or replace temp table inc_new as
        select lead_id, deal_id from events where list_contains($ids, source)
        """,
        {"ids": changes.load_ids},
    )
    n_now = con.execute("select count(*) from events").fetchone()[0]
    n_new, n_leadless = con.execute(
        "select count(*), count(*) filter (where lead_id is null) from inc_new"
    ).fetchone()
    if n_now != changes.n_events + n_new:
        return "stored events were removed"
    if n_leadless:
        return "new events name no lead"
    for table in FINGERPRINTED:
        if _fingerprint(con, table) != changes.prints[table]:
            return f"{table} changed"
    con.execute("create or replace temp table inc_new_leads as select distinct lead_id from inc_new")
    _changed_leads(con, changes)
    gone, evidence = con.execute(
        "select count(*) filter (where is_gone), count(*) filter (where is_evidence) from inc_changed_leads"
    ).fetchone()
    if gone:
        return "leads were removed"
    if evidence:
        return "a lead's account evidence changed (account matching spans the store)"
    return ""


def _keys(con: duckdb.DuckDBPyConnection) -> None:
    """The temp tables inc_l (L), inc_d (D) and inc_lp (L and P) of the records to recompute."""
    con.execute(
        """
        create or replace temp table inc_l0 as
        select lead_id as k from inc_new_leads
        union
        select k from inc_changed_leads
        """
    )
    con.execute(
        """
        create or replace temp table inc_d0 as
        select distinct deal_id as k from inc_new where deal_id is not null
        """
    )
    con.execute(
        """
        create or replace temp table inc_l as
        select k from inc_l0
        union
        select c.lead_id from opportunity_contacts as c semi join inc_d0 as d on d.k = c.opportunity_id
        """
    )
    con.execute(
        """
        create or replace temp table inc_d as
        select k from inc_d0
        union
        select e.deal_id from events as e semi join inc_l as l on l.k = e.lead_id where e.deal_id is not null
        union
        select c.opportunity_id from opportunity_contacts as c semi join inc_l as l on l.k = c.lead_id
        union
        select nullif(trim(x.converted_opportunity_id), '') from leads as x semi join inc_l as l on l.k = x.lead_id
        where nullif(trim(x.converted_opportunity_id), '') is not null
        """
    )
    con.execute(
        """
        create or replace temp table inc_lp as
        select k from inc_l
        union
        select e.lead_id from events as e semi join inc_d as d on d.k = e.deal_id where e.lead_id is not null
        union
        select c.lead_id from opportunity_contacts as c semi join inc_d as d on d.k = c.opportunity_id
        union
        select x.lead_id from leads as x semi join inc_d as d on d.k = nullif(trim(x.converted_opportunity_id), '')
        """
    )
    for table in ("inc_l0", "inc_d0"):
        con.execute(f"drop table {table}")


def _rows(table: str, where: str) -> str:
    """The rows of `table` that `where` picks, found on the columns `where` reads and then
    fetched by row id: a semi join of `table` itself reads every column of every row, where
    this reads the key columns of every row and the other columns of the picked rows only (at
    1M leads, 1.5 to 2 times less for the wide tables)."""
    return f"""select x.* from {table} as x
        semi join (select rowid as picked from {table} where {where}) as p on p.picked = x.rowid"""


def _slice(con: duckdb.DuckDBPyConnection, store: str) -> None:
    """Copy into the scratch database every base row the recomputed records' statements read."""
    s = store
    in_lp, in_d = "in (select k from inc_lp)", "in (select k from inc_d)"
    slices = {
        # A lead's events and the other events of D's opportunities, in one pass.
        "events": _rows(f"{s}.events", f"lead_id {in_lp} or deal_id {in_d}"),
        # P holds the leads converted into an opportunity of D.
        "leads": _rows(f"{s}.leads", f"lead_id {in_lp}"),
        "account_matches": _rows(f"{s}.account_matches", f"lead_id {in_lp}"),
        "opportunities": _rows(f"{s}.opportunities", f"opportunity_id {in_d}"),
        "opportunity_contacts": _rows(f"{s}.opportunity_contacts", f"opportunity_id {in_d}"),
        "record_owners": _rows(f"{s}.record_owners", f"record_id {in_lp} or record_id {in_d}"),
        "touches": _rows(f"{s}.touches", f"lead_id {in_lp}"),
        "owners": f"select * from {s}.owners",
        "owner_details": f"select * from {s}.owner_details",
        "accounts": f"select * from {s}.accounts",
    }
    for table, select in slices.items():
        con.execute(f"create table {SCRATCH}.{table} as {select}")


def _swap(con: duckdb.DuckDBPyConnection, store: str, tables: dict[str, str], keys: str) -> None:
    """Replace, in the store, the rows of the records in `keys` by the scratch database's."""
    for table, key in tables.items():
        con.execute(f"delete from {store}.{table} where {key} in (select k from {keys})")
        con.execute(
            f"insert into {store}.{table} by name "
            f"select * from {SCRATCH}.{table} where {key} in (select k from {keys})"
        )


def rebuild(
    con: duckdb.DuckDBPyConnection, contract: Contract, changes: Changes, expected: dict[str, str]
) -> Outcome:
    """Rebuild the derived tables for the records the import touched, when that is exact;
    otherwise change nothing and return why (the caller runs the full rebuild). `contract` is
    the tracked contract journey.rebuild would get; `expected` the store_meta values the
    derived tables must have been built with (contract version and hash, tracked stages and
    exits)."""
    try:
        return _rebuild(con, contract, changes, expected)
    finally:
        _drop_keys(con)


def _rebuild(
    con: duckdb.DuckDBPyConnection, contract: Contract, changes: Changes, expected: dict[str, str]
) -> Outcome:
    reason = _why_full(con, changes, expected)
    if reason:
        return Outcome(False, reason)
    _keys(con)
    n_leads, n_deals, n_lp = (
        con.execute(f"select count(*) from {t}").fetchone()[0]  # noqa: S608 (our names)
        for t in ("inc_l", "inc_d", "inc_lp")
    )
    n_store = con.execute(
        "select (select count(*) from leads) + (select count(*) from deal_journey_leads)"
    ).fetchone()[0]
    if n_lp + n_deals > MAX_SHARE * n_store:
        return Outcome(False, f"the import touches {n_lp + n_deals:,} of {n_store:,} records")
    store = con.execute("select current_database()").fetchone()[0]
    store = '"' + store.replace('"', '""') + '"'
    con.execute("set preserve_insertion_order = false")
    con.execute(f"attach ':memory:' as {SCRATCH}")
    try:
        _slice(con, store)
        con.execute(f"use {SCRATCH}")
        journey.build_journeys(con, contract)
        _swap(con, store, {t: k for t, k in LEAD_KEYED.items() if t.startswith("journey_")}, "inc_l")
        _swap(con, store, {t: k for t, k in DEAL_KEYED.items() if t.startswith("deal_journey_")}, "inc_d")
        # The bridge and attribution rows of D read the journeys of its people (P), not only L's:
        # from here on the scratch database reads the store's journeys, now up to date.
        con.execute(
            "create or replace table journey_leads as "
            + _rows(f"{store}.journey_leads", "lead_id in (select k from inc_lp)")
        )
        bridge.rebuild(con)
        _swap(con, store, {t: DEAL_KEYED[t] for t in ("opportunity_people", "opportunity_bridge")}, "inc_d")
        journey.build_opportunity_events(con)
        _swap(con, store, {"opportunity_events": DEAL_KEYED["opportunity_events"]}, "inc_d")
        attribution_layouts.rebuild(con)
        _swap(con, store, {t: DEAL_KEYED[t] for t in attribution_layouts.TABLES}, "inc_d")
        team_layouts.rebuild(con, contract)
        _swap(con, store, {t: LEAD_KEYED[t] for t in team_layouts.TABLES}, "inc_l")
    finally:
        con.execute(f"use {store}")
        con.execute(f"detach {SCRATCH}")
    return Outcome(True, n_leads=n_leads, n_opportunities=n_deals)


def _drop_keys(con: duckdb.DuckDBPyConnection) -> None:
    for table in (
        "inc_l",
        "inc_d",
        "inc_lp",
        "inc_before_leads",
        "inc_new",
        "inc_new_leads",
        "inc_changed_leads",
    ):
        con.execute(f"drop table if exists {table}")


def expected_meta(version: int, text_hash: str, stages: list[str], exits: list[str]) -> dict[str, str]:
    """The store_meta values rebuild_journey writes, which an incremental rebuild requires unchanged."""
    return {
        contract_store.META_VERSION: str(version),
        contract_store.META_HASH: text_hash,
        contract_store.META_TRACKED: json.dumps(stages),
        contract_store.META_TRACKED_EXITS: json.dumps(exits),
    }

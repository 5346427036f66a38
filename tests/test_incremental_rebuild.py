"""Incremental rebuild (data/incremental.py): an import recomputes only the records it touches, and
every derived table comes out exactly as the full rebuild writes it on the same data.

Each case imports into a copy of a small sample store, copies the result, runs the full rebuild
on the copy and compares every derived table (and store_meta) as multisets, both ways."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from data import importer, incremental, store
from data.import_read import Source

HEADER = [
    "event_id",
    "lead_id",
    "deal_id",
    "event_type",
    "occurred_at",
    "owner_id",
    "team",
    "reason_code",
    "amount",
]


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    store.build_sample(path, n_leads=1500)
    con = duckdb.connect(str(path))
    con.execute("update store_meta set value = 'false' where key = 'is_sample'")
    con.close()
    return path


def _now(db: Path) -> dt.datetime:
    con = duckdb.connect(str(db), read_only=True)
    latest = con.execute("select max(occurred_at) from events").fetchone()[0]
    con.close()
    return latest + dt.timedelta(days=30)


def differences(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """Per derived table (and store_meta): rows of a not in b, rows of b not in a (multisets)."""
    con = duckdb.connect()
    con.execute(f"attach '{a}' as a (read_only)")
    con.execute(f"attach '{b}' as b (read_only)")
    out = {}
    for t in (*incremental.DERIVED, "store_meta"):
        one = con.execute(f"select count(*) from (from a.{t} except all from b.{t})").fetchone()[0]
        two = con.execute(f"select count(*) from (from b.{t} except all from a.{t})").fetchone()[0]
        if one or two:
            out[t] = (one, two)
    con.close()
    return out


def full_copy(db: Path, tmp_path: Path) -> Path:
    """A copy of `db` with every derived table rebuilt in full."""
    full = tmp_path / "full.duckdb"
    shutil.copy(db, full)
    con = duckdb.connect(str(full))
    store.rebuild_journey(con)
    con.close()
    return full


def import_into(
    sample: Path, tmp_path: Path, files: list[Path], mapping: str
) -> tuple[Path, importer.ImportReport]:
    db = tmp_path / "store.duckdb"
    shutil.copy(sample, db)
    report = importer.import_files([Source.from_path(f) for f in files], mapping, db, now=_now(sample))
    assert report.swapped, [f.summary() for f in report.files]
    return db, report


def event_file(tmp_path: Path, rows: list[tuple], name: str = "events.csv") -> Path:
    path = tmp_path / name
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def stored_events(db: Path, sql: str) -> list[tuple]:
    """Rows of the sample's events, re-dated a day later under new ids, as event-log rows."""
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        f"""
        select 'new-' || event_id, lead_id, deal_id, event_type,
            strftime(occurred_at + interval 1 day, '%Y-%m-%d %H:%M:%S'), owner_id, team, reason_code, amount
        from events {sql}
        """  # noqa: S608 (the tests' own SQL)
    ).fetchall()
    con.close()
    return rows


def test_the_comparison_sees_a_missing_row(sample, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(sample, db)
    con = duckdb.connect(str(db))
    con.execute("delete from journey_stages where lead_id = (select min(lead_id) from journey_stages)")
    con.close()
    assert set(differences(db, sample)) == {"journey_stages"}
    assert differences(sample, sample) == {}


def test_every_table_the_full_rebuild_writes_is_covered():
    con = duckdb.connect()
    store.create_schema(con)
    base = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    store.rebuild_journey(con)
    written = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()} - base
    assert written == set(incremental.DERIVED)


def test_new_events_of_known_leads(sample, tmp_path):
    # A day after 60 stored events (some of them naming an opportunity), the same events again.
    rows = stored_events(sample, "where lead_id is not null order by hash(event_id) limit 60")
    assert any(r[2] for r in rows), "some of the events name an opportunity"
    db, report = import_into(sample, tmp_path, [event_file(tmp_path, rows)], "event_log")
    leads = len({r[1] for r in rows})
    assert report.rebuilt.startswith(f"journeys rebuilt incrementally: {leads} lead journeys"), report.rebuilt
    assert differences(db, full_copy(db, tmp_path)) == {}


def test_an_exit_then_a_return(sample, tmp_path):
    # A story one can check by hand: a lead with a journey is lost, then comes back to its
    # first stage a day later: its journey has no final exit, one exit that resumed.
    con = duckdb.connect(str(sample), read_only=True)
    lead, last = con.execute(
        "select lead_id, last_stage_event_at from journey_leads where final_exit_at is null order by lead_id limit 1"
    ).fetchone()
    con.close()
    last = last.replace(microsecond=0)
    t1, t2 = last + dt.timedelta(days=1), last + dt.timedelta(days=2)
    rows = [
        ("story-1", lead, None, "rejected", f"{t1:%Y-%m-%d %H:%M:%S}", None, None, "no_budget", None),
        ("story-2", lead, None, "lead", f"{t2:%Y-%m-%d %H:%M:%S}", None, None, None, None),
    ]
    db, report = import_into(sample, tmp_path, [event_file(tmp_path, rows)], "event_log")
    assert report.rebuilt == "journeys rebuilt incrementally: 1 lead journeys and 0 opportunities recomputed"
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute(
        "select final_exit_at from journey_leads where lead_id = $l", {"l": lead}
    ).fetchone() == (None,)
    exits = con.execute(
        "select exit_type, resumed_at from journey_exits where lead_id = $l and exit_at = $t",
        {"l": lead, "t": t1},
    ).fetchall()
    con.close()
    assert exits == [("rejected", t2)]
    assert differences(db, full_copy(db, tmp_path)) == {}


def test_an_opportunity_event_leaves_every_other_opportunity_as_it_was(sample, tmp_path):
    # The first opportunity in deal order gets one more event, a day after its latest: its own
    # rows are numbered again (seq 1..n+1, the new one last), every other row stays as it was,
    # seq included (seq counts within one opportunity, so nothing after it moves).
    con = duckdb.connect(str(sample), read_only=True)
    deal, lead, last, n = con.execute(
        """
        select e.deal_id, any_value(e.lead_id), max(e.occurred_at), count(*)
        from events as e
        where e.deal_id = (select min(deal_id) from opportunity_events) and e.lead_id is not null
        group by e.deal_id
        """
    ).fetchone()
    before = set(con.execute("select * from opportunity_events where deal_id <> $d", {"d": deal}).fetchall())
    con.close()
    at = last.replace(microsecond=0) + dt.timedelta(days=1)
    rows = [("story-deal", lead, deal, "opportunity", f"{at:%Y-%m-%d %H:%M:%S}", None, None, None, None)]
    db, report = import_into(sample, tmp_path, [event_file(tmp_path, rows)], "event_log")
    assert report.rebuilt.startswith("journeys rebuilt incrementally: "), report.rebuilt
    con = duckdb.connect(str(db), read_only=True)
    after = set(con.execute("select * from opportunity_events where deal_id <> $d", {"d": deal}).fetchall())
    own = con.execute(
        "select seq, event_id from opportunity_events where deal_id = $d order by seq", {"d": deal}
    ).fetchall()
    con.close()
    assert after == before
    assert [s for s, _ in own] == list(range(1, n + 2))
    assert own[-1][1] == "story-deal"
    assert differences(db, full_copy(db, tmp_path)) == {}


def test_new_leads_from_an_event_log(sample, tmp_path):
    rows = [
        ("n-1", "NEW-1", None, "lead", "2026-01-05 09:00:00", None, "marketing", None, None),
        ("n-2", "NEW-1", None, "mql", "2026-01-07 09:00:00", None, "marketing", None, None),
        ("n-3", "NEW-2", None, "lead", "2026-02-01 10:00:00", None, None, None, None),
    ]
    db, report = import_into(sample, tmp_path, [event_file(tmp_path, rows)], "event_log")
    assert report.rebuilt == "journeys rebuilt incrementally: 2 lead journeys and 0 opportunities recomputed"
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute(
        "select lead_id, furthest_order from journey_leads where lead_id like 'NEW-%' order by 1"
    ).fetchall()
    con.close()
    assert got == [("NEW-1", 2), ("NEW-2", 1)]
    assert differences(db, full_copy(db, tmp_path)) == {}


def _changed(sample: Path, tmp_path: Path, change: str) -> tuple[Path, incremental.Outcome]:
    """Apply `change` (SQL) to a copy of the sample as an import would, and rebuild. Settling
    reports the leads it updated (a lead file's 'changed' rows): a change of leads says so too."""
    db = tmp_path / "store.duckdb"
    shutil.copy(sample, db)
    con = duckdb.connect(str(db))
    before = incremental.snapshot(con)
    con.execute(change)
    before.settled([], 0, n_leads_updated=int("update leads" in change))
    store.rebuild_journey(con, changes=before)
    con.close()
    return db, before.outcome


def test_a_lead_attribute_changes(sample, tmp_path):
    # A lead that is a person of an opportunity moves to another channel and region: its
    # journey and the opportunity's (which takes its lead's attributes) are recomputed.
    con = duckdb.connect(str(sample), read_only=True)
    lead = con.execute("select min(lead_id) from opportunity_people").fetchone()[0]
    con.close()
    db, outcome = _changed(
        sample, tmp_path, f"update leads set channel = 'podcast', region = 'Mars' where lead_id = '{lead}'"
    )
    assert outcome.incremental and outcome.n_leads == 1 and outcome.n_opportunities >= 1
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select channel from journey_leads where lead_id = $l", {"l": lead}).fetchone() == (
        "podcast",
    )
    con.close()
    assert differences(db, full_copy(db, tmp_path)) == {}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            "update leads set account_id = 'ACME' where lead_id = (select min(lead_id) from leads)",
            "a lead's account evidence changed",
        ),
        (
            "delete from events where event_id = (select min(event_id) from events)",
            "stored events were removed",
        ),
        ("update owners set team = 'marketing'", "owners changed"),
        (
            "insert into opportunity_contacts select min(opportunity_id), min(lead_id), 'Champion', true, 't' "
            "from opportunity_people",
            "opportunity_contacts changed",
        ),
        ("insert into record_owners values ('L00000001', 'SDR', 'O001', 't')", "record_owners changed"),
    ],
)
def test_what_falls_back_to_the_full_rebuild(sample, tmp_path, change, reason):
    db, outcome = _changed(sample, tmp_path, change)
    assert not outcome.incremental and outcome.reason.startswith(reason)
    assert differences(db, full_copy(db, tmp_path)) == {}


def test_the_derived_tables_of_other_code_are_rebuilt_in_full(sample, tmp_path):
    db = tmp_path / "store.duckdb"
    shutil.copy(sample, db)
    con = duckdb.connect(str(db))
    con.execute("update store_meta set value = 'other' where key = 'journey_code'")
    con.close()
    rows = stored_events(sample, "where lead_id is not null order by event_id limit 5")
    report = importer.import_files(
        [Source.from_path(event_file(tmp_path, rows))], "event_log", db, now=_now(sample)
    )
    assert (
        report.rebuilt == "journeys rebuilt in full: the journeys were built by another version of the code"
    )


def test_a_newly_tracked_exit_falls_back(sample, tmp_path):
    # A store whose events take no 'disqualified' exit: the first one changes what the
    # journeys follow, so every journey is rebuilt.
    db = tmp_path / "store.duckdb"
    shutil.copy(sample, db)
    con = duckdb.connect(str(db))
    con.execute("delete from events where event_type = 'disqualified'")
    store.rebuild_journey(con)
    lead = con.execute("select min(lead_id) from journey_leads").fetchone()[0]
    con.close()
    rows = [("dq-1", lead, None, "disqualified", "2026-03-01 09:00:00", None, None, "spam", None)]
    report = importer.import_files(
        [Source.from_path(event_file(tmp_path, rows))], "event_log", db, now=_now(sample)
    )
    assert report.rebuilt == "journeys rebuilt in full: the exits the events record changed"
    assert differences(db, full_copy(db, tmp_path)) == {}


def test_a_newly_tracked_stage_falls_back(sample, tmp_path):
    db = tmp_path / "store.duckdb"
    shutil.copy(sample, db)
    con = duckdb.connect(str(db))
    con.execute("delete from events where event_type = 'sal'")
    con.execute(
        'update store_meta set value = \'["lead", "mql", "sql", "opportunity", "won"]\' where key = \'declared_stages\''
    )
    store.rebuild_journey(con)
    lead = con.execute("select min(lead_id) from journey_leads").fetchone()[0]
    con.close()
    rows = [("sal-1", lead, None, "sal", "2026-03-01 09:00:00", None, None, None, None)]
    report = importer.import_files(
        [Source.from_path(event_file(tmp_path, rows))], "event_log", db, now=_now(sample)
    )
    assert report.rebuilt == "journeys rebuilt in full: the stages the events record changed"
    assert differences(db, full_copy(db, tmp_path)) == {}


# --- A Salesforce store: opportunities, their contacts and converted leads ----------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SF_RECORDS = [
    EXAMPLES / "sf_Lead.csv",
    EXAMPLES / "sf_Opportunity.csv",
    EXAMPLES / "sf_OpportunityHistory.csv",
    FIXTURES / "native_sf_Opportunity.csv",
    FIXTURES / "native_sf_OpportunityHistory.csv",
]
SF_CONTACTS = [EXAMPLES / "sf_OpportunityContactRole.csv", FIXTURES / "native_sf_OpportunityContactRole.csv"]


@pytest.fixture(scope="module")
def salesforce(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("sf") / "store.duckdb"
    files = [Source.from_path(f) for f in SF_RECORDS + SF_CONTACTS]
    proposal = importer.propose_contract(files, "salesforce_objects")
    report = importer.import_files(
        files,
        "salesforce_objects",
        db,
        fresh=True,
        contract_text=proposal.toml(),
        now=dt.datetime(2025, 6, 1),
    )
    assert report.swapped
    return db


@pytest.mark.parametrize("share", [incremental.MAX_SHARE, 1.0])
def test_events_on_opportunities_with_contacts(salesforce, tmp_path, monkeypatch, share):
    # New events of contacts on their opportunities (lead and deal both named) and of a lead:
    # the contacts' journeys count their opportunities' events, the opportunities' bridge and
    # attribution rows their people's.
    con = duckdb.connect(str(salesforce), read_only=True)
    assert con.execute("select count(*) from opportunity_contacts").fetchone()[0] > 0
    rows = con.execute(
        """
        select 'new-' || e.event_id, c.lead_id, e.deal_id, e.event_type,
            strftime(e.occurred_at + interval 1 day, '%Y-%m-%d %H:%M:%S'), null, null, e.reason_code, e.amount
        from events as e
        join opportunity_contacts as c on c.opportunity_id = e.deal_id
        where e.event_type <> 'amount'
        qualify row_number() over (partition by e.deal_id order by e.occurred_at desc) = 1
        union all
        select 'new-' || event_id, lead_id, null, event_type,
            strftime(occurred_at + interval 2 day, '%Y-%m-%d %H:%M:%S'), null, null, reason_code, null
        from events where lead_id is not null and deal_id is null
        """
    ).fetchall()
    con.close()
    monkeypatch.setattr(incremental, "MAX_SHARE", share)
    assert any(r[2] for r in rows) and any(r[2] is None for r in rows)
    db = tmp_path / "store.duckdb"
    shutil.copy(salesforce, db)
    report = importer.import_files(
        [Source.from_path(event_file(tmp_path, rows))], "event_log", db, now=dt.datetime(2025, 6, 1)
    )
    assert report.swapped, [f.summary() for f in report.files]
    if share < 1:
        # In a store this small the import touches most records: the full rebuild is as quick.
        assert report.rebuilt.startswith("journeys rebuilt in full: the import touches"), report.rebuilt
    else:
        assert report.rebuilt.startswith("journeys rebuilt incrementally"), report.rebuilt
    assert differences(db, full_copy(db, tmp_path)) == {}


def test_a_contact_role_file_falls_back(tmp_path):
    # Contacts added to stored opportunities: opportunity_contacts changed, the full rebuild runs.
    db = tmp_path / "store.duckdb"
    files = [Source.from_path(f) for f in SF_RECORDS]
    proposal = importer.propose_contract(files, "salesforce_objects")
    now = dt.datetime(2025, 6, 1)
    first = importer.import_files(
        files, "salesforce_objects", db, fresh=True, contract_text=proposal.toml(), now=now
    )
    assert first.swapped
    report = importer.import_files(
        [Source.from_path(f) for f in SF_CONTACTS], "salesforce_objects", db, now=now
    )
    assert report.swapped, [f.summary() for f in report.files]
    assert report.rebuilt.startswith("journeys rebuilt in full: "), report.rebuilt
    assert differences(db, full_copy(db, tmp_path)) == {}


# --- The sample with cross-record links: contacts, roles, conversions, opportunity records ------


@pytest.fixture(scope="module")
def linked(sample, tmp_path_factory) -> Path:
    """The sample, with every opportunity's record, two or three contacts on each of 150 of them
    (one primary), owners by role on leads and opportunities, and leads converted into
    opportunities they do not name in their events: every link the derived tables follow."""
    db = tmp_path_factory.mktemp("linked") / "store.duckdb"
    shutil.copy(sample, db)
    con = duckdb.connect(str(db))
    con.execute(
        """
        insert into opportunities (opportunity_id, created_at, channel, region, currency, source)
        select deal_id, min(occurred_at) - interval 1 day,
            case when hash(deal_id) % 3 = 0 then 'partner' end,
            case when hash(deal_id) % 4 = 0 then 'APAC' end,
            case when hash(deal_id) % 5 = 0 then 'EUR' end, 'test'
        from events where deal_id is not null group by deal_id
        """
    )
    con.execute(
        """
        create temp table picked as
        select opportunity_id, row_number() over (order by hash(opportunity_id)) as n
        from opportunities order by hash(opportunity_id) limit 150
        """
    )
    con.execute(
        """
        create temp table people as select lead_id, row_number() over (order by hash(lead_id || 'x')) as n from leads
        """
    )
    con.execute(
        """
        insert into opportunity_contacts
        select p.opportunity_id, l.lead_id, case when k = 0 then 'Decision Maker' else 'Influencer' end,
            k = 0, 'test'
        from picked as p, range(3) as r(k)
        join people as l on l.n = (p.n * 7 + k * 11) % 1400 + 1
        where k < 2 or p.n % 2 = 0
        """
    )
    con.execute(
        """
        insert into record_owners
        select lead_id, 'SDR', (select min(owner_id) from owners), 'test' from people where n % 9 = 0
        union all
        select opportunity_id, 'Closing rep', (select max(owner_id) from owners), 'test' from picked where n % 2 = 1
        """
    )
    con.execute(
        """
        update leads set converted_opportunity_id = p.opportunity_id
        from people as l, picked as p
        where leads.lead_id = l.lead_id and l.n = p.n + 700 and p.n % 5 = 0
        """
    )
    store.rebuild_journey(con)
    con.close()
    return db


def test_events_in_a_linked_store(linked, tmp_path):
    con = duckdb.connect(str(linked), read_only=True)
    contacts = [
        r[0] for r in con.execute("select lead_id from opportunity_contacts order by 1 limit 20").fetchall()
    ]
    con.close()
    rows = stored_events(linked, "where lead_id is not null order by hash(event_id || 'l') limit 40")
    # Events of contacts, some on their opportunities.
    rows += [
        (f"c-{i}", lead, None, "mql", "2026-05-01 10:00:00", None, "marketing", None, None)
        for i, lead in enumerate(contacts)
    ]
    db, report = import_into(linked, tmp_path, [event_file(tmp_path, rows)], "event_log")
    assert report.rebuilt.startswith("journeys rebuilt incrementally"), report.rebuilt
    assert differences(db, full_copy(db, tmp_path)) == {}


def test_events_of_an_opportunity_reach_its_contacts(linked, tmp_path):
    # A new stage event on an opportunity, named with one lead: every contact of the opportunity
    # gets it in its journey (the people view), the amount stays with one of them.
    con = duckdb.connect(str(linked), read_only=True)
    deal, lead = con.execute(
        """
        select c.opportunity_id, min(c.lead_id)
        from opportunity_contacts as c group by 1 having count(*) = 3 order by 1 limit 1
        """
    ).fetchone()
    con.close()
    rows = [("o-1", lead, deal, "won", "2026-10-30 10:00:00", None, None, None, "1234.50")]
    db, report = import_into(linked, tmp_path, [event_file(tmp_path, rows)], "event_log")
    assert report.rebuilt.startswith("journeys rebuilt incrementally: 3 lead journeys"), report.rebuilt
    con = duckdb.connect(str(db), read_only=True)
    won = con.execute(
        """
        select count(*) from journey_stages as s join opportunity_contacts as c on c.lead_id = s.lead_id
        where c.opportunity_id = $d and s.stage_order = 6 and s.entered_at <= timestamp '2026-10-30 10:00:00'
        """,
        {"d": deal},
    ).fetchone()[0]
    con.close()
    assert won == 3
    assert differences(db, full_copy(db, tmp_path)) == {}


def test_an_attribute_change_in_a_linked_store(linked, tmp_path):
    con = duckdb.connect(str(linked), read_only=True)
    lead = con.execute(
        "select min(lead_id) from leads where converted_opportunity_id is not null"
    ).fetchone()[0]
    con.close()
    db, outcome = _changed(
        linked, tmp_path, f"update leads set segment = 'enterprise' where lead_id = '{lead}'"
    )
    assert outcome.incremental and outcome.n_opportunities >= 1
    assert differences(db, full_copy(db, tmp_path)) == {}

"""Safety of an import: reconciliation on a messy file, idempotent re-import, overlapping
exports, a failure before the swap, kill -9 mid-import, a reader during an import, rollback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from data import importer
from tests.import_helpers import HEADER, digest, log_file, log_mapping, query, run, write

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("events", "leads", "owners")


def contents(db: Path) -> dict[str, list[tuple]]:
    """Every row of the source tables, sorted: equal contents = equal dicts."""
    return {t: query(db, f"select * from {t} order by all") for t in TABLES}


def big_log(path: Path, n_rows: int, first: int = 0) -> Path:
    """An event log of n_rows clean rows: leads of five events each (lead .. opportunity)."""
    stages = ["lead", "mql", "sal", "sql", "opportunity"]
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        for i in range(first, first + n_rows):
            lead, k = divmod(i, 5)
            day = 1 + lead % 28
            f.write(f"E{i},L{lead},,{stages[k]},2025-01-{day:02d} {10 + k}:00:00,O1,sales,,\n")
    return path


def test_reconciliation_on_a_messy_file(tmp_path):
    # 12 rows, counted by hand:
    #   accepted 6: rows 2, 3, 4 (L1 lead/mql/sal), 6 (L2 lead), 12 (L3 lead), 8 (out of order,
    #               accepted and flagged)
    #   duplicate 2: row 5 repeats row 4, row 13 repeats row 12
    #   rejected 4: row 7 (Feb 30), rows 9 and 10 (conflicting repeats of E9), row 11 (Excel id)
    rows = [
        "E1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,",  # row 2
        "E2,L1,,mql,2025-01-08 10:00:00,O1,marketing,,",  # row 3
        "E3,L1,,sal,2025-01-09 10:00:00,O2,sales,,",  # row 4
        "E3,L1,,sal,2025-01-09 10:00:00,O2,sales,,",  # row 5: identical repeat
        "E4,L2,,lead,2025-01-07 09:00:00,O1,marketing,,",  # row 6
        "E5,L2,,mql,2025-02-30 09:00:00,O1,marketing,,",  # row 7: impossible date
        "E6,L2,,sql,2025-01-06 09:00:00,O2,sales,,",  # row 8: before L2's lead entry: flagged
        "E9,L2,,sal,2025-01-10 09:00:00,O2,sales,,",  # row 9: conflicts with row 10
        "E9,L2,,sal,2025-01-11 09:00:00,O2,sales,,",  # row 10
        "E10,1.23457E+11,,lead,2025-01-10 09:00:00,O1,marketing,,",  # row 11: Excel id
        "E11,L3,,lead,2025-01-12 09:00:00,O1,marketing,,",  # row 12
        "E11,L3,,lead,2025-01-12 09:00:00,O1,marketing,,",  # row 13: identical repeat
    ]
    report = run(tmp_path, log_file(tmp_path, rows, "messy.csv"), log_mapping(tmp_path))
    f = report.files[0]
    assert (f.n_rows_in, f.n_accepted, f.n_rejected, f.n_duplicate, f.n_flagged) == (12, 6, 4, 2, 1)
    rejected = f.issues[f.issues["severity"] == "rejected"]["row_number"].tolist()
    assert rejected == [7, 9, 10, 11]
    db = tmp_path / "store.duckdb"
    # The loads table records the same reconciliation, and the events are exactly the accepted.
    assert query(db, "select n_rows_in, n_accepted, n_rejected, n_duplicate from loads") == [(12, 6, 4, 2)]
    assert query(db, "select count(*) from events") == [(6,)]
    assert query(db, "select count(*), count(distinct severity) from import_issues") == [(5, 2)]


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    path = ROOT / "data" / "examples" / "event_log.csv"
    db = tmp_path / "store.duckdb"
    first = run(tmp_path, path)
    before = contents(db)
    again = run(tmp_path, path)
    assert again.unchanged and again.files[0].unchanged.startswith("already imported on ")
    assert contents(db) == before
    assert first.files[0].n_accepted == 23
    # Only the first import is on record: the repeat wrote nothing (tests/test_import_integrity.py).
    assert query(db, "select n_accepted, n_duplicate from loads") == [(23, 0)]


def test_an_overlapping_later_export_adds_only_what_is_new(tmp_path):
    week1 = log_file(
        tmp_path,
        [
            "E1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,",
            "E2,L1,,mql,2025-01-08 10:00:00,O1,marketing,,",
            "E3,L2,,lead,2025-01-07 09:00:00,O1,marketing,,",
        ],
        "week1.csv",
    )
    # Week 2's export repeats E2 and E3 and brings two new events.
    week2 = log_file(
        tmp_path,
        [
            "E2,L1,,mql,2025-01-08 10:00:00,O1,marketing,,",
            "E3,L2,,lead,2025-01-07 09:00:00,O1,marketing,,",
            "E4,L1,,sal,2025-01-13 10:00:00,O2,sales,,",
            "E5,L3,,lead,2025-01-14 09:00:00,O1,marketing,,",
        ],
        "week2.csv",
    )
    run(tmp_path, week1)
    f = run(tmp_path, week2).files[0]
    assert (f.n_rows_in, f.n_accepted, f.n_duplicate, f.n_events_added, f.n_leads_added) == (4, 2, 2, 2, 1)
    db = tmp_path / "store.duckdb"
    assert query(db, "select event_id from events order by 1") == [(f"E{i}",) for i in range(1, 6)]


def test_a_later_export_that_contradicts_a_stored_event_is_rejected(tmp_path):
    run(tmp_path, log_file(tmp_path, ["E1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,"], "a.csv"))
    report = run(
        tmp_path,
        log_file(tmp_path, ["E1,L1,,lead,2025-01-07 09:00:00,O1,marketing,,"], "b.csv"),
        log_mapping(tmp_path),
    )
    f = report.files[0]
    assert f.n_rejected == 1
    assert (
        "already stored with other values (date 2025-01-07 09:00:00 here, 2025-01-06 09:00:00 stored)"
        in f.issues["reason"][0]
    )


def test_a_later_export_updates_lead_attributes_but_a_blank_never_erases(tmp_path):
    header = (
        "Record ID,First Name,Last Name,Company Name,Create Date,Original Source,Country/Region,"
        "Contact owner,Became a Lead Date,Became a Marketing Qualified Lead Date,"
        "Became a Sales Qualified Lead Date,Became an Opportunity Date,Became a Customer Date\n"
    )
    first = write(
        tmp_path,
        "c1.csv",
        header + "7001,Ana,Silva,Northwind,2025-01-06 09:00,Web,Portugal,Priya,2025-01-06 09:00,,,,\n",
    )
    # Next export: the owner changed, the country is blank, and the MQL date is new.
    second = write(
        tmp_path,
        "c2.csv",
        header + "7001,Ana,Silva,Northwind,2025-01-06 09:00,Web,,Dana,2025-01-06 09:00,2025-01-07 09:00,,,\n",
    )
    run(tmp_path, first, "hubspot_contacts")
    f = run(tmp_path, second, "hubspot_contacts").files[0]
    assert (f.n_accepted, f.n_leads_updated, f.n_events_added) == (1, 1, 1)
    db = tmp_path / "store.duckdb"
    assert query(db, "select owner_id, region from leads") == [("Dana", "Portugal")]
    # The lead event keeps the owner it was imported with: an owner change is no conflict.
    assert query(db, "select event_type, owner_id from events order by occurred_at") == [
        ("lead", "Priya"),
        ("mql", "Dana"),
    ]


def test_a_wide_row_with_no_date_at_all_is_rejected(tmp_path):
    opps = write(tmp_path, "opps.csv", "Id,Lead_Id__c,CreatedDate\n006A,00QA,2025-01-06\n006B,00QB,\n")
    report = run(tmp_path, opps, "salesforce")
    f = report.files[0]
    assert f.refused  # 1 of 2 rejected is over the preset's 10%
    assert "no date in any of the stage columns ('CreatedDate')" in f.issues["reason"].iloc[0]


def test_a_failure_before_the_swap_leaves_the_store_byte_identical(tmp_path):
    db = tmp_path / "store.duckdb"
    run(tmp_path, ROOT / "data" / "examples" / "event_log.csv")
    before, kept = digest(db), importer.versions(db)

    def boom():
        raise RuntimeError("injected")

    more = log_file(tmp_path, ["E9,L9,,lead,2025-01-06 09:00:00,O1,marketing,,"])
    with pytest.raises(RuntimeError, match="injected"):
        run(tmp_path, more, _before_swap=boom)
    assert digest(db) == before
    assert importer.versions(db) == kept
    assert not db.with_name(db.name + ".tmp").exists()


def test_rollback_restores_the_version_before_the_last_import(tmp_path):
    db = tmp_path / "store.duckdb"
    run(tmp_path, log_file(tmp_path, ["E1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,"], "a.csv"))
    after_a = digest(db)
    run(tmp_path, log_file(tmp_path, ["E2,L2,,lead,2025-01-07 09:00:00,O1,marketing,,"], "b.csv"))
    assert query(db, "select count(*) from events") == [(2,)]
    assert len(importer.versions(db)) == 1  # the first import had nothing to keep
    importer.rollback(db)
    assert digest(db) == after_a
    assert query(db, "select event_id from events") == [("E1",)]
    assert importer.versions(db) == []
    with pytest.raises(FileNotFoundError, match="nothing to roll back"):
        importer.rollback(db)


def test_only_the_last_few_versions_are_kept(tmp_path):
    db = tmp_path / "store.duckdb"
    for i in range(5):
        run(
            tmp_path, log_file(tmp_path, [f"E{i},L{i},,lead,2025-01-06 09:00:00,O1,marketing,,"], f"f{i}.csv")
        )
    kept = importer.versions(db)
    assert [p.name for p in kept] == [f"store.prev-{n}.duckdb" for n in range(1, importer.KEEP_VERSIONS + 1)]
    # prev-1 is the store just before the last import: four events.
    assert query(kept[0], "select count(*) from events") == [(4,)]


def test_kill_9_during_a_large_import_leaves_old_or_new_version(tmp_path):
    db = tmp_path / "store.duckdb"
    run(tmp_path, log_file(tmp_path, ["E-old,L-old,,lead,2025-01-06 09:00:00,O1,marketing,,"], "old.csv"))
    big = big_log(tmp_path / "big.csv", 150_000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = 0
    for delay in (0.5, 2.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "data.importer", str(big), "--mapping", "event_log", "--db", str(db)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        tmp = db.with_name(db.name + ".tmp")
        deadline = time.monotonic() + 60
        while not tmp.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
        n = query(db, "select count(*) from events")[0][0]
        assert n in (1, 150_001)  # the old version, or (if it finished first) the new one
        assert query(db, "select count(*) from journey_leads")[0][0] in (1, 30_001)
    assert killed >= 1
    # The next import is not blocked by the dead one's leftovers.
    report = run(
        tmp_path, log_file(tmp_path, ["E-new,L-new,,lead,2025-01-07 09:00:00,O1,marketing,,"], "new.csv")
    )
    assert report.swapped


READER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from queries import executor
    db, stop = Path(sys.argv[1]), Path(sys.argv[2])
    deadline = time.monotonic() + 120
    while not stop.exists() and time.monotonic() < deadline:
        try:
            con = executor.connect(db)
            n_events, n_leads, n_journeys = con.execute(
                "select (select count(*) from events), (select count(*) from leads),"
                " (select count(*) from journey_leads)"
            ).fetchone()
            con.close()
            print(f"{n_events},{n_leads},{n_journeys}", flush=True)
        except Exception as exc:
            print(f"ERROR {type(exc).__name__}: {exc}", flush=True)
    """
)


def test_a_reader_during_an_import_sees_old_or_new_never_a_mix(tmp_path):
    db = tmp_path / "store.duckdb"
    run(tmp_path, big_log(tmp_path / "first.csv", 5_000))  # 1,000 leads, 5,000 events
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db), str(stop)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)  # let the reader start querying the old version
        run(tmp_path, big_log(tmp_path / "second.csv", 20_000, first=5_000))  # +4,000 leads, +20,000 events
        time.sleep(1.0)  # and read the new one for a while
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    lines = out.splitlines()
    assert lines, "the reader made no query"
    errors = [line for line in lines if line.startswith("ERROR")]
    assert errors == []
    seen = set(lines)
    assert seen <= {"5000,1000,1000", "25000,5000,5000"}, seen  # each answer is one whole version
    assert "25000,5000,5000" in seen

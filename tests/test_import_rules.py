"""One test per validation rule and per file-level refusal, on small files written here.

Each file mixes good rows with the bad one, so a test also proves the good rows still land and
that rows in = accepted + rejected + duplicate. Row numbers count the header as row 1.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from data import importer
from tests.import_helpers import HEADER, digest, log_file, log_mapping, query, run, write

GOOD = [
    "E1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,",
    "E2,L1,,mql,2025-01-08 10:00:00,O1,marketing,,",
]


def only_issue(report, severity="rejected"):
    """The single issue of the single file, as (row_number, column_name, reason)."""
    (f,) = report.files
    issues = f.issues[f.issues["severity"] == severity]
    assert len(issues) == 1, issues
    r = issues.iloc[0]
    return int(r.row_number), r.column_name, r.reason


def assert_reconciles(report):
    for f in report.files:
        assert f.n_rows_in == f.n_accepted + f.n_rejected + f.n_duplicate


# --- per-row rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_row", "column", "reason_part"),
    [
        # a required value (the lead id) is empty
        ("E3,,,sal,2025-01-09 10:00:00,O1,sales,,", "lead_id", "required value is missing"),
        # 30 February does not exist: rejected as impossible, not shifted to March
        ("E3,L1,,sal,2025-02-30 10:00:00,O1,sales,,", "occurred_at", "impossible date"),
        # text that is no date at all
        ("E3,L1,,sal,next tuesday,O1,sales,,", "occurred_at", "is not a date"),
        # 1970: a placeholder date, before the mapping's min_date (2000-01-01)
        ("E3,L1,,sal,1970-01-01 00:00:00,O1,sales,,", "occurred_at", "far past"),
        # two days after "now" (2025-06-01 12:00): beyond the one day allowed
        ("E3,L1,,sal,2025-06-03 12:00:00,O1,sales,,", "occurred_at", "in the future"),
        ("E3,L1,D1,won,2025-03-01 10:00:00,O1,sales,,-500", "amount", "negative amount"),
        ("E3,L1,D1,won,2025-03-01 10:00:00,O1,sales,,12k", "amount", "is not a number"),
        # an id Excel rewrote in scientific notation: the digits are gone
        ("E3,1.23457E+11,,sal,2025-01-09 10:00:00,O1,sales,,", "lead_id", "spreadsheet rewrote"),
        (
            "E3,L1,,negotiation,2025-01-09 10:00:00,O1,sales,,",
            "event_type",
            "unknown stage name 'negotiation'",
        ),
        ("E3,L1,,sal,2025-01-09 10:00:00,O1,sales", None, "row has 7 fields but the header has 9"),
    ],
    ids=[
        "missing",
        "feb30",
        "unparseable",
        "far_past",
        "future",
        "negative",
        "non_numeric",
        "excel_id",
        "unknown_stage",
        "ragged",
    ],
)
def test_a_bad_row_is_rejected_with_its_column_and_reason(tmp_path, bad_row, column, reason_part):
    path = log_file(tmp_path, [*GOOD, bad_row])
    report = run(tmp_path, path, log_mapping(tmp_path))
    f = report.files[0]
    assert (f.n_rows_in, f.n_accepted, f.n_rejected, f.n_duplicate) == (3, 2, 1, 0)
    row, col, reason = only_issue(report)
    assert row == 4  # header = row 1, so the third data row is row 4
    assert (col if isinstance(col, str) else None) == column
    assert reason_part in reason
    # The rejected row is kept with its reason in the store; the good rows landed.
    db = tmp_path / "store.duckdb"
    assert query(db, "select row_number, severity from import_issues") == [(4, "rejected")]
    assert query(db, "select event_id from events order by 1") == [("E1",), ("E2",)]


def test_future_within_a_day_is_accepted(tmp_path):
    # 12 hours after "now": clocks and time zones differ a little, so up to a day is fine.
    path = log_file(tmp_path, ["E1,L1,,lead,2025-06-02 00:00:00,O1,marketing,,"])
    assert run(tmp_path, path, log_mapping(tmp_path)).files[0].n_accepted == 1


def test_naive_times_are_in_the_source_zone_and_offsets_are_honoured(tmp_path):
    rows = [
        "E1,L1,,lead,2025-01-10 10:00:00,O1,marketing,,",  # Berlin winter (UTC+1): 09:00 UTC
        "E2,L1,,mql,2025-07-10 10:00:00,O1,marketing,,",  # Berlin summer (UTC+2): 08:00 UTC
        "E3,L1,,sal,2025-01-11T10:00:00-05:00,O1,sales,,",  # explicit offset wins: 15:00 UTC
        "E4,L1,,sql,2025-01-12T10:00:00Z,O1,sales,,",  # Z is UTC
    ]
    report = run(
        tmp_path,
        log_file(tmp_path, rows),
        log_mapping(tmp_path, tz="Europe/Berlin"),
        now=dt.datetime(2025, 8, 1),
    )
    assert report.files[0].n_accepted == 4
    stored = dict(query(tmp_path / "store.duckdb", "select event_id, occurred_at from events"))
    assert stored == {
        "E1": dt.datetime(2025, 1, 10, 9, 0),
        "E2": dt.datetime(2025, 7, 10, 8, 0),
        "E3": dt.datetime(2025, 1, 11, 15, 0),
        "E4": dt.datetime(2025, 1, 12, 10, 0),
    }


def test_amounts_with_thousands_separators_and_currency_are_numbers(tmp_path):
    rows = [
        'E1,L1,D1,won,2025-03-01 10:00:00,O1,sales,,"$12,000.50"',
        "E2,L2,D2,won,2025-03-01 10:00:00,O1,sales,,0",
    ]
    run(tmp_path, log_file(tmp_path, rows), log_mapping(tmp_path))
    stored = dict(query(tmp_path / "store.duckdb", "select event_id, amount from events"))
    assert stored == {"E1": Decimal("12000.50"), "E2": Decimal("0.00")}


def test_an_identical_repeat_is_a_duplicate_and_stored_once(tmp_path):
    path = log_file(tmp_path, [*GOOD, GOOD[1]])
    f = run(tmp_path, path, log_mapping(tmp_path)).files[0]
    assert (f.n_rows_in, f.n_accepted, f.n_rejected, f.n_duplicate) == (3, 2, 0, 1)
    assert query(tmp_path / "store.duckdb", "select count(*) from events") == [(2,)]


def test_conflicting_repeats_are_rejected_together(tmp_path):
    # E2 twice with different dates: neither can be trusted, so both rows are rejected.
    path = log_file(tmp_path, [*GOOD, "E2,L1,,mql,2025-01-09 10:00:00,O1,marketing,,"])
    report = run(tmp_path, path, log_mapping(tmp_path))
    f = report.files[0]
    assert (f.n_rows_in, f.n_accepted, f.n_rejected, f.n_duplicate) == (3, 1, 2, 0)
    reasons = f.issues["reason"].tolist()
    assert f.issues["row_number"].tolist() == [3, 4]
    assert all("conflicting repeats of E2 on rows 3, 4" in r for r in reasons)
    assert query(tmp_path / "store.duckdb", "select event_id from events") == [("E1",)]


def test_columns_are_matched_by_name_not_position(tmp_path):
    # Same data, columns in another order and header in other case and spacing.
    header = "Occurred At,EVENT_TYPE,lead id,Event ID,amount,reason_code,team,owner_id,deal_id"
    path = write(tmp_path, "reordered.csv", header + "\n2025-01-06 09:00:00,lead,L1,E1,,,marketing,O1,\n")
    run(tmp_path, path, log_mapping(tmp_path))
    assert query(
        tmp_path / "store.duckdb", "select event_id, lead_id, event_type, occurred_at from events"
    ) == [("E1", "L1", "lead", dt.datetime(2025, 1, 6, 9, 0))]


def test_events_out_of_order_are_kept_and_flagged(tmp_path):
    # The MQL is dated before the lead's first entry into stage 1: kept (the source says so) and
    # flagged. (The lead itself is created at its first event here, so "before created" cannot
    # happen with an event log; tests/test_data_quality.py covers it.)
    rows = ["E1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,", "E2,L1,,mql,2025-01-05 10:00:00,O1,marketing,,"]
    report = run(tmp_path, log_file(tmp_path, rows), log_mapping(tmp_path))
    f = report.files[0]
    assert (f.n_accepted, f.n_rejected, f.n_flagged) == (2, 0, 1)
    row, _, reason = only_issue(report, "flagged")
    assert row == 3
    assert "mql dated 2025-01-05 10:00:00, before the lead first entered lead" in reason
    assert query(tmp_path / "store.duckdb", "select count(*) from events") == [(2,)]


def test_unknown_reason_codes_are_kept_and_flagged(tmp_path):
    rows = [*GOOD, "E3,L1,,disqualified,2025-01-09 10:00:00,O1,sales,student_or_intern,"]
    report = run(tmp_path, log_file(tmp_path, rows), log_mapping(tmp_path))
    row, _, reason = only_issue(report, "flagged")
    assert (row, report.files[0].n_accepted) == (4, 3)
    assert "unknown reason code 'student_or_intern'" in reason


# --- file-level refusals: a clear message and nothing changed ------------------------------------


@pytest.fixture
def live(tmp_path):
    """A live store holding two events; refusals must leave it byte-identical."""
    db = tmp_path / "store.duckdb"
    run(tmp_path, log_file(tmp_path, GOOD, "first.csv"), log_mapping(tmp_path))
    return db


@pytest.mark.parametrize(
    ("content", "message_part"),
    [
        (b"", "the file is empty"),
        ((HEADER + "\n").encode(), "has a header (row 1) but no data rows"),
        (
            (HEADER + "\nE3,L2,,lead,2025-01-06 09:00:00,O1,marketing,Chlo\xe9,\n").encode("latin-1"),
            "not valid utf-8",
        ),
        (b"event_id,lead_id,occurred_at\nE3,L2,2025-01-06\n", "missing required column(s) 'event_type'"),
        (
            (HEADER + ",Lead_ID\nE3,L2,,lead,2025-01-06 09:00:00,O1,marketing,,,L9\n").encode(),
            "'lead_id' (columns 2, 10)",
        ),
    ],
    ids=["empty", "header_only", "not_utf8", "missing_column", "duplicate_column"],
)
def test_a_bad_file_is_refused_and_the_store_is_unchanged(tmp_path, live, content, message_part):
    before = digest(live)
    path = write(tmp_path, "bad.csv", content)
    report = run(tmp_path, path, log_mapping(tmp_path))
    assert not report.swapped and not report.ok
    assert message_part.lower() in report.files[0].refused.lower()
    assert "bad.csv" in report.files[0].refused  # the message names the file
    assert digest(live) == before
    assert not live.with_name(live.name + ".tmp").exists()


def test_a_declared_encoding_is_honoured(tmp_path):
    text = HEADER + "\nE1,L1,,disqualified,2025-01-06 09:00:00,O1,sales,Chlo\xe9,\n"
    path = write(tmp_path, "cp1252.csv", text.encode("cp1252"))
    report = run(tmp_path, path, log_mapping(tmp_path, extra='encoding = "cp1252"'))
    assert report.files[0].n_accepted == 1
    assert query(tmp_path / "store.duckdb", "select reason_code from events") == [("Chloé",)]


def test_too_many_rejected_rows_refuse_the_file(tmp_path, live):
    # 2 of 4 rows rejected (50%) against a limit of 25%: the whole file is refused.
    before = digest(live)
    rows = [
        "E3,L2,,lead,2025-01-06 09:00:00,O1,marketing,,",
        "E4,L2,,mql,2025-01-07 09:00:00,O1,marketing,,",
        "E5,L2,,sal,2025-02-30 09:00:00,O1,sales,,",
        "E6,L2,,sql,not a date,O1,sales,,",
    ]
    report = run(
        tmp_path, log_file(tmp_path, rows, "many.csv"), log_mapping(tmp_path, share=0.25, extra="", tz="UTC")
    )
    f = report.files[0]
    assert (
        f.refused
        and "2 of 4 rows are rejected (50%)" in f.refused
        and "max_rejected_share = 0.25" in f.refused
    )
    assert "Most common: column occurred_at" in f.refused
    assert (f.n_rows_in, f.n_accepted, f.n_rejected) == (4, 2, 2)
    assert f.issues["row_number"].tolist() == [4, 5]  # the rejected rows are still listed
    assert digest(live) == before


def test_a_refused_file_does_not_stop_the_others(tmp_path, live):
    good = log_file(tmp_path, ["E3,L2,,lead,2025-01-06 09:00:00,O1,marketing,,"], "good.csv")
    empty = write(tmp_path, "empty.csv", b"")
    report = run(tmp_path, [empty, good], log_mapping(tmp_path))
    assert report.swapped and report.files[0].refused and report.files[1].n_accepted == 1
    assert query(live, "select count(*) from events") == [(3,)]


def test_the_mapping_is_checked_before_anything_runs(tmp_path):
    bad = write(tmp_path, "bad.toml", '[[files]]\nrole = "events"\nshape = "tall"\n')
    with pytest.raises(importer.MappingError, match="shape"):
        run(tmp_path, log_file(tmp_path, GOOD), bad)


def test_owners_are_created_only_for_rows_that_are_imported(tmp_path):
    # O9 appears only on a rejected row (impossible date): it must not become an owner.
    rows = [*GOOD, "E3,L1,,sal,2025-02-30 10:00:00,O9,sales,,"]
    run(tmp_path, log_file(tmp_path, rows), log_mapping(tmp_path))
    assert query(tmp_path / "store.duckdb", "select owner_id, team from owners") == [("O1", "sales")]


def test_a_semicolon_file_read_with_commas_gets_a_hint(tmp_path):
    path = write(
        tmp_path, "semi.csv", HEADER.replace(",", ";") + "\nE1;L1;;lead;2025-01-06 09:00:00;O1;marketing;;\n"
    )
    report = run(tmp_path, path, log_mapping(tmp_path))
    assert "separated by ';' or tabs? Set delimiter in the mapping" in report.files[0].refused
    # With the delimiter declared, the same file imports.
    report = run(tmp_path, path, log_mapping(tmp_path, extra='delimiter = ";"'))
    assert report.files[0].n_accepted == 1


@pytest.mark.parametrize(
    ("change", "message_part"),
    [
        (
            ('shape = "long"', 'shape = "tall"'),
            "shape: expected one of ['wide', 'long', 'status', 'contacts', 'lookup', 'touches', 'roles', 'changes']",
        ),
        (('time = "occurred_at"', 'tme = "occurred_at"'), "unknown key(s) ['tme']"),
        (('timezone = "UTC"', 'timezone = "Mars/Olympus"'), "unknown time zone 'Mars/Olympus'"),
        (("max_rejected_share = 1.0", "max_rejected_share = 5"), "max_rejected_share: expected a share"),
        (
            ("[[files]]", '[[files]]\nstage_names = { "Won it" = "champagne" }'),
            "'champagne' is not a stage or exit",
        ),
    ],
    ids=["shape", "typo", "zone", "share", "stage"],
)
def test_a_bad_mapping_names_the_key_at_fault(tmp_path, change, message_part):
    from data import contract
    from data.import_mapping import MappingError, parse
    from tests.import_helpers import EVENT_LOG_MAPPING

    text = EVENT_LOG_MAPPING.format(tz="UTC", share=1.0, extra="").replace(*change)
    with pytest.raises(MappingError) as err:
        parse(text, contract.load(), origin="mine")
    assert message_part in str(err.value)


def test_row_numbers_are_the_spreadsheet_rows_blank_lines_included(tmp_path):
    # A blank line is no data row (not counted in rows in) but keeps its number, as in a
    # spreadsheet, so "row 5" is where the user finds the bad row.
    text = HEADER + "\n" + GOOD[0] + "\n\n" + GOOD[1] + "\nE3,L1,,sal,2025-02-30 10:00:00,O1,sales,,\n"
    report = run(tmp_path, write(tmp_path, "gaps.csv", text), log_mapping(tmp_path))
    assert report.files[0].n_rows_in == 3
    assert only_issue(report)[0] == 5


def test_attributes_in_a_file_without_lead_records_are_refused_not_dropped(tmp_path):
    # A file whose rows are not lead records (no created_at) cannot store attributes: the
    # mapping is refused naming the key, instead of the attribute vanishing silently.
    from data import contract
    from data.import_mapping import MappingError, parse

    text = """
[[files]]
role = "wins"
shape = "wide"
lead_id = "MQL ID"
[files.stage_dates]
won = "Won Date"
[files.attributes]
segment = "Segment"
"""
    with pytest.raises(
        MappingError, match=r"files\[1\] \(wins\)\.attributes: this file's rows are not lead records"
    ):
        parse(text, contract.load(), origin="mine")


@pytest.mark.parametrize(
    ("value", "rejected"),
    [
        ("1.23457E+11", True),  # how a spreadsheet writes a long number
        ("1E+11", True),
        ("123456789012.0", True),
        ("20250114000000000000000000000e12", False),  # a real hex id: digits and one e
        ("4e5", False),
        ("3f9a1c2e7b4d4f0a9c1e2b3d4f5a6b7c", False),
    ],
)
def test_only_what_a_spreadsheet_writes_is_taken_for_a_rewritten_id(value, rejected):
    from data.import_read import EXCEL_ID

    assert bool(EXCEL_ID.match(value)) is rejected

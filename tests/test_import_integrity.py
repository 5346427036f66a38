"""Issue 14, importer items: nothing lost without a word, nothing stale, nothing that crashes.

One section per item, each with the issue's reproduction through the command line
(data.importer.main: exit code, summary line, what is stored) and through the API. Small
hand-written files; row numbers are physical lines, the header is line 1.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest

from data import contract, importer
from data.import_mapping import MAX_FIELDS, MAX_LINE_LENGTH, MappingError, parse
from data.import_read import Source, parse_amount
from tests.import_helpers import (
    EVENT_LOG_MAPPING,
    HEADER,
    digest,
    log_file,
    log_mapping,
    query,
    run,
    write,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "examples" / "event_log.csv"


def cli(capsys, *args) -> tuple[int, str, str]:
    """python -m data.importer ARGS, in this process: (exit code, stdout, stderr)."""
    code = importer.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def good(i: int) -> str:
    return f"E{i},L{i},,lead,2025-01-{1 + i % 28:02d} 09:00:00,O1,marketing,,"


def state(db: Path) -> tuple[str, int]:
    """The store file's bytes and modification time: both unchanged = nothing written."""
    return digest(db), db.stat().st_mtime_ns


# --- 1. a stray quote swallows the rest of the file ----------------------------------------------


def test_a_stray_quote_does_not_swallow_the_rows_after_it(tmp_path, capsys):
    # The issue's file: 9,000 good rows, one ending `…,"oops,`, then 1,000 more. The quote is
    # never closed: before, the parser read it to the end of the file and the 1,000 rows vanished
    # while the counts still "added up".
    rows = [good(i) for i in range(9000)]
    rows.append('E-bad,L-bad,,lead,2025-01-06 09:00:00,O1,marketing,"oops,')  # line 9,002
    rows += [good(i) for i in range(9000, 10000)]
    path = log_file(tmp_path, rows)
    db = tmp_path / "store.duckdb"
    code, out, _ = cli(capsys, path, "--mapping", "event_log", "--db", db)
    assert code == 0
    # Rows in = the 10,001 physical data lines: nothing vanished.
    assert "rows in 10,001 = accepted 10,000 + rejected 1 + duplicate 0" in out
    assert "row 9002, row: a quote opened on this line is still open after 100 lines (9002-9101" in out
    assert query(db, "select count(*), max(event_id) from events where event_id like 'E%'") == [
        (10000, "E9999")
    ]
    ((first, last, reason, raw),) = query(
        db, "select row_number, last_row_number, reason, raw from import_issues"
    )
    # The line is rejected alone (the lines after it were read as rows of their own).
    assert (first, last) == (9002, 9002)
    assert "max_lines_per_row = 100): a stray quote?" in reason
    assert raw == 'E-bad,L-bad,,lead,2025-01-06 09:00:00,O1,marketing,"oops,'


def test_a_stray_quote_closed_by_a_later_quote_is_resynchronised(tmp_path):
    # The stray quote on line 3 is "closed" by the quote that opens line 5's amount: the old
    # reader took lines 3-5 as one broken row, losing E3 and E4. Now line 3 alone is rejected.
    rows = [
        "E1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,",  # line 2
        'E2,L1,,mql,2025-01-08 10:00:00,O1,marketing,"oops,',  # line 3: stray quote
        "E3,L2,,lead,2025-01-07 09:00:00,O1,marketing,,",  # line 4
        'E4,L2,D1,won,2025-03-01 10:00:00,O1,sales,,"$12,000.50"',  # line 5
        "E5,L3,,lead,2025-01-09 09:00:00,O1,marketing,,",  # line 6
    ]
    report = run(tmp_path, log_file(tmp_path, rows), log_mapping(tmp_path))
    f = report.files[0]
    assert (f.n_rows_in, f.n_accepted, f.n_rejected) == (5, 4, 1)
    assert f.issues[["row_number", "last_row_number"]].values.tolist() == [[3, 3]]
    assert "a stray quote?" in f.issues["reason"].iloc[0]
    stored = dict(query(tmp_path / "store.duckdb", "select event_id, amount from events"))
    assert stored == {"E1": None, "E3": None, "E4": Decimal("12000.50"), "E5": None}


def test_a_quoted_value_with_line_breaks_is_one_row_numbered_by_its_lines(tmp_path, capsys):
    # A notes column (not read by the mapping) with line breaks inside quotes: a real value, so
    # its row spans lines 2-3; the rows after it keep their physical line numbers.
    text = (
        HEADER + ",notes\n"
        'E1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,,"called twice\nno answer"\n'  # lines 2-3
        'E2,L1,,mql,2025-02-30 10:00:00,O1,marketing,,,"bad date\nhere"\n'  # lines 4-5: rejected
        "E3,L2,,lead,2025-01-07 09:00:00,O1,marketing,,,plain\n"  # line 6
    )
    path = write(tmp_path, "notes.csv", text)
    db = tmp_path / "store.duckdb"
    code, out, _ = cli(capsys, path, "--mapping", log_mapping(tmp_path), "--db", db)
    assert code == 0
    assert "rows in 3 = accepted 2 + rejected 1 + duplicate 0 (on 5 lines" in out
    assert "rows 4-5, column 'occurred_at': impossible date" in out
    assert query(db, "select row_number, last_row_number, raw from import_issues") == [
        (4, 5, 'E2,L1,,mql,2025-02-30 10:00:00,O1,marketing,,,"bad date\nhere"')
    ]
    assert query(db, "select event_id from events order by 1") == [("E1",), ("E3",)]


# --- 2. re-importing the same file is a no-op; kept versions are real copies ---------------------


def test_reimporting_the_same_file_says_so_and_changes_nothing_on_disk(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    assert cli(capsys, EXAMPLE, "--mapping", "event_log", "--db", db, "--user", "ana")[0] == 0
    before, kept = state(db), importer.versions(db)
    code, out, _ = cli(capsys, EXAMPLE, "--mapping", "event_log", "--db", db)
    assert code == 0
    assert (
        "event_log.csv: already imported on " in out and " by ana with this mapping; nothing changed" in out
    )
    assert f"Store {db} unchanged" in out
    # Same bytes, same modification time, no loads row, no kept version used.
    assert state(db) == before
    assert importer.versions(db) == kept
    assert query(db, "select count(*) from loads") == [(1,)]
    # Through the API, the same.
    report = run(tmp_path, EXAMPLE, "event_log")
    assert report.unchanged and not report.swapped
    assert report.files[0].unchanged.startswith("already imported on ")
    assert state(db) == before


def test_a_file_with_nothing_new_does_not_rewrite_the_store(tmp_path, capsys):
    # Other bytes (rows in another order), every row already stored: read and settled, reported
    # as all duplicates, and no new version is swapped in.
    db = tmp_path / "store.duckdb"
    run(tmp_path, EXAMPLE, "event_log")
    before = state(db)
    header, *rows = EXAMPLE.read_text(encoding="utf-8").splitlines()
    shuffled = write(tmp_path, "again.csv", "\n".join([header, *reversed(rows)]) + "\n")
    code, out, _ = cli(capsys, shuffled, "--mapping", "event_log", "--db", db)
    assert code == 0
    assert "rows in 23 = accepted 0 + rejected 0 + duplicate 23" in out
    assert "nothing new (every row is already stored, or rejected): the store is unchanged" in out
    assert state(db) == before
    assert importer.versions(db) == []
    assert query(db, "select count(*) from loads") == [(1,)]


def test_the_previous_import_can_still_be_rolled_back_after_repeats(tmp_path):
    db = tmp_path / "store.duckdb"
    run(tmp_path, log_file(tmp_path, [good(1)], "a.csv"))
    after_a = digest(db)
    b = log_file(tmp_path, [good(2)], "b.csv")
    run(tmp_path, b)
    for _ in range(3):  # three repeats used three rollback slots before
        assert run(tmp_path, b).unchanged
    assert len(importer.versions(db)) == 1
    importer.rollback(db)
    assert digest(db) == after_a


def links(db: Path) -> list[str]:
    """Files among the store and its kept versions that share their data with another file."""
    files = [db, *importer.versions(db)]
    return [p.name for p in files if p.stat().st_nlink != 1]


def shared(db: Path) -> list[str]:
    """Kept versions that are the live file or another kept version (hard links)."""
    files = [db, *importer.versions(db)]
    return [p.name for i, p in enumerate(files) if any(os.path.samefile(p, q) for q in files[:i])]


def test_kept_versions_are_never_hard_links_after_any_sequence(tmp_path):
    db = tmp_path / "store.duckdb"
    for i in range(3):
        run(tmp_path, log_file(tmp_path, [good(i)], f"f{i}.csv"))
        assert links(db) == []
    run(tmp_path, log_file(tmp_path, [good(2)], "f2.csv"))  # a repeat
    importer.rollback(db)
    assert links(db) == []
    # The state an earlier importer left after a kill -9 during its swap: versions shifted and
    # prev-1 a hard link to the live file (so a note saved later changed the "backup" too).
    prev = [db.with_name(f"store.prev-{n}.duckdb") for n in (1, 2, 3)]
    os.replace(prev[0], prev[1])
    os.link(db, prev[0])
    run(tmp_path, log_file(tmp_path, [good(7)], "f7.csv"))
    assert links(db) == []
    # The live store before this import (2 events), then the one before it (1 event).
    assert [query(p, "select count(*) from events")[0][0] for p in importer.versions(db)] == [2, 1]


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path

    point, db, args = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    tmp, prev1, prev2 = (db.with_name(n) for n in (db.name + ".tmp", f"{db.stem}.prev-1{db.suffix}",
                                                     f"{db.stem}.prev-2{db.suffix}"))
    real = os.replace

    def replace(src, dst):
        src, dst = Path(src), Path(dst)
        swap = src == tmp and dst == db
        if (point == "before_swap" and swap) or (point == "mid_shift" and dst == prev2):
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)
        if (point == "after_swap" and swap) or (point == "rollback" and src == prev1 and dst == db):
            os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace
    from data import importer

    importer.rollback(db) if args == ["rollback"] else importer.main(args)
    """
)


def events(db: Path) -> int:
    return query(db, "select count(*) from events")[0][0]


def kill_at(point: str, db: Path, *args) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, point, str(db), *map(str, args)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()


@pytest.mark.parametrize(
    ("point", "swapped"), [("before_swap", False), ("after_swap", True), ("mid_shift", True)]
)
def test_kill_9_during_the_swap_keeps_versions_distinct_and_in_order(tmp_path, point, swapped):
    # Three imports of one event each: live = 3 events, kept 2 and 1. The fourth is killed at
    # `point`; the store is then the old version or the new, no kept version is a hard link,
    # and after one more import every version rolls back in order, one import at a time.
    db = tmp_path / "store.duckdb"
    for i in range(3):
        run(tmp_path, log_file(tmp_path, [good(i)], f"f{i}.csv"))
    kill_at(point, db, log_file(tmp_path, [good(3)], "f3.csv"), "--mapping", "event_log", "--db", db)
    assert events(db) == (4 if swapped else 3)
    assert shared(db) == []  # (a link to the live file under a name that is no version may remain)
    run(tmp_path, log_file(tmp_path, [good(4)], "f4.csv"))
    assert links(db) == []
    live = 5 if swapped else 4
    seen = [events(db)]
    while importer.versions(db):
        importer.rollback(db)
        seen.append(events(db))
        assert links(db) == []
    assert seen == [live, live - 1, live - 2, live - 3]  # 3 versions kept, none repeated


def test_kill_9_during_a_rollback_keeps_the_older_versions(tmp_path):
    db = tmp_path / "store.duckdb"
    for i in range(4):
        run(tmp_path, log_file(tmp_path, [good(i)], f"f{i}.csv"))
    kill_at("rollback", db, "rollback")  # made the 3-event version live, then died
    assert events(db) == 3
    importer.rollback(db)
    assert events(db) == 2
    importer.rollback(db)
    assert events(db) == 1
    assert importer.versions(db) == [] and links(db) == []


# --- 3. one odd amount crashed the whole import ---------------------------------------------------


def test_odd_amounts_are_rejected_rows_never_a_crash(tmp_path, capsys):
    won = "2025-03-01 10:00:00,O1,sales,,"
    rows = [
        f"E1,L1,D1,won,{won}١٢٣",  # line 2: Arabic-Indic digits (DuckDB's cast refuses them)
        f"E2,L2,D2,won,{won}１２３",  # line 3: full-width digits
        f"E3,L3,D3,won,{won}999999999999.999",  # line 4: rounds to 1e12, over decimal(14, 2)
        f"E4,L4,D4,won,{won}1000000000000",  # line 5: too large
        f"E5,L5,D5,won,{won}999999999999.99",  # line 6: the largest amount stored
    ]
    path = log_file(tmp_path, rows)
    db = tmp_path / "store.duckdb"
    code, out, _ = cli(capsys, path, "--mapping", log_mapping(tmp_path), "--db", db)
    assert code == 0
    assert "rows in 5 = accepted 1 + rejected 4 + duplicate 0" in out
    assert "row 2, column 'amount': amount '١٢٣' has digits other than 0-9" in out
    assert "row 3, column 'amount': amount '１２３' has digits other than 0-9" in out
    assert "row 4, column 'amount': amount '999999999999.999' has more than 2 decimals" in out
    assert "row 5, column 'amount': amount '1000000000000' is too large" in out
    assert query(db, "select event_id, amount from events") == [("E5", Decimal("999999999999.99"))]
    # The preview (the Data page's) names the row and the column too.
    _, df = importer.preview(Source.from_path(path), log_mapping(tmp_path), now=dt.datetime(2025, 6, 1))
    assert df["status"].tolist() == ["rejected"] * 4 + ["ok"]
    assert df["problem"].iloc[0].startswith("amount: amount '١٢٣' has digits other than 0-9")


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        ("12000", None, "12000.00"),
        ("$12,000.50", None, "12000.50"),
        ("1,500,000", None, "1500000.00"),
        ("12.990", ".", "12.99"),  # trailing zeros are no rounding
        ("1,500", ".", "1500.00"),
        ("1,500", ",", "1.50"),
        ("1.500", ",", "1500.00"),
        ("1.500,25 €", ",", "1500.25"),
        ("1\u202f500,25", ",", "1500.25"),  # French: a narrow no-break space groups thousands
        ("999999999999.99", ".", "999999999999.99"),
        ("1,500", None, "ambiguous: 1500 with '.' as the decimal separator, 1.5 with ','"),
        ("12.999", None, "ambiguous"),
        ("12.999", ".", "more than 2 decimals"),
        ("1,5", None, 'declare decimal_separator = "," in the mapping'),
        ("1,234.56", ",", "the mapping declares decimal_separator = ','"),
        ("-500", None, "negative amount"),
        ("(500)", None, "negative amount"),
        ("١٢٣", ".", "digits other than 0-9"),
        ("１２３", ".", "digits other than 0-9"),
        ("1000000000000", ".", "too large"),
        ("inf", ".", "is not a number"),
        ("nan", ".", "is not a number"),
        ("1e5", ".", "is not a number"),
        ("12k", ".", "is not a number"),
    ],
)
def test_the_amount_parser(text, declared, expected):
    # One parser for every file shape: ASCII digits, the declared decimal separator, at most two
    # decimals, within decimal(14, 2). Anything else is a reason, never a guess or a rounding.
    if expected[0].isdigit():
        assert parse_amount(text, declared) == expected
    else:
        with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            parse_amount(text, declared)


# --- 4. malformed mapping values are refused, naming the key and the type expected ---------------


def mapping_text(top: str = "", in_file: str = "") -> str:
    """The test event-log mapping with `top` lines before [[files]] (replacing the template's
    line for the same key) and `in_file` lines at the end of its [[files]] table."""
    text = EVENT_LOG_MAPPING.format(tz="UTC", share=1.0, extra="")
    for line in top.splitlines():
        key = line.split("=")[0].strip()
        text = "\n".join(t for t in text.splitlines() if t.split("=")[0].strip() != key)
        text = text.replace("[[files]]", line + "\n\n[[files]]", 1)
    return text + "\n" + in_file


@pytest.mark.parametrize(
    ("top", "in_file", "message"),
    [
        (
            "",
            '[files.stage_names]\n"Won it" = ["won"]\n',
            "stage_names.'Won it': expected a stage or exit key",
        ),
        ("", 'stage_dates = "Became a Lead Date"\n', "stage_dates: expected a table of stage"),
        (
            "max_future_hours = inf",
            "",
            "max_future_hours: expected a number of hours from 0 to 87840, got the number inf",
        ),
        ("max_future_hours = 1e300", "", "max_future_hours: expected a number of hours"),
        (
            "max_rejected_share = nan",
            "",
            "max_rejected_share: expected a share between 0 and 1, got the number nan",
        ),
        ('encoding = ["utf-8"]', "", "encoding: expected a text encoding"),
        ('encoding = "base64"', "", "encoding: expected a text encoding"),
        ('decimal_separator = ";"', "", "decimal_separator: expected '.' (1,500.25) or ','"),
        ('decimal_separator = ","', "", "decimal_separator: ',' is also the delimiter"),
        ("max_line_length = 10.5", "", "max_line_length: expected a whole number of characters"),
        ("max_fields = 0", "", "max_fields: expected a whole number of columns from 1"),
        ("max_lines_per_row = true", "", "max_lines_per_row: expected a whole number of lines"),
        ('ignore_stage_names = "Prospecting"', "", "unknown key(s) ['ignore_stage_names']"),
        ("", 'ignore_stage_names = "Prospecting"\n', "ignore_stage_names: expected a list of stage names"),
        ("", 'attributes = "Company"\n', "attributes: expected a table of attribute = column"),
        ("", "lead_from_deal = 1\n", "lead_from_deal: expected true or false, got the number 1"),
        ("name = 7", "", "name: expected a name (text), got the number 7"),
        ("delimiter = 3", "", "delimiter: expected one character"),
    ],
)
def test_a_malformed_mapping_value_is_refused_with_exit_code_2(tmp_path, capsys, top, in_file, message):
    # TypeError or OverflowError and exit 1 before; now a MappingError naming the key, exit 2,
    # and no store written.
    bad = write(tmp_path, "bad.toml", mapping_text(top, in_file))
    db = tmp_path / "store.duckdb"
    code, out, err = cli(capsys, log_file(tmp_path, [good(1)]), "--mapping", bad, "--db", db)
    assert code == 2
    assert err.startswith("error: bad") and message in err, err
    assert not db.exists()
    with pytest.raises(MappingError, match="expected|unknown key|also the delimiter"):
        parse(mapping_text(top, in_file), contract.load(), origin="bad")


def test_utf16_declared_on_a_file_without_a_bom_is_refused(tmp_path, capsys):
    # UTF-16 without its byte order mark decodes to garbage: refused, naming the file.
    db = tmp_path / "store.duckdb"
    run(tmp_path, log_file(tmp_path, [good(1)], "first.csv"))
    before = state(db)
    mapping = log_mapping(tmp_path, extra='encoding = "utf-16"')
    plain = log_file(tmp_path, [good(2)], "plain.csv")
    code, out, _ = cli(capsys, plain, "--mapping", mapping, "--db", db)
    assert code == 1
    assert "plain.csv: REFUSED, nothing imported. plain.csv: the mapping says encoding = 'utf-16', but" in out
    assert "does not start with a UTF-16 byte order mark" in out
    assert state(db) == before
    # With its byte order mark the same rows import; and a UTF-16 file read as UTF-8 is refused
    # with the encoding to declare.
    text = HEADER + "\n" + good(2) + "\n"
    bom = write(tmp_path, "bom.csv", text.encode("utf-16"))
    assert run(tmp_path, bom, mapping).files[0].n_accepted == 1
    refused = run(tmp_path, bom, log_mapping(tmp_path)).files[0].refused
    assert "bom.csv: the file is UTF-16 text" in refused and 'Declare encoding = "utf-16"' in refused


# --- 5. memory: bounded rows, a preview that reads only the first rows --------------------------


def test_the_limits_have_documented_defaults():
    m = parse(mapping_text(), contract.load())
    assert (m.max_line_length, m.max_fields, m.max_lines_per_row) == (1_000_000, 500, 100)
    assert (MAX_LINE_LENGTH, MAX_FIELDS) == (1_000_000, 500)


def test_a_line_over_the_limit_is_a_rejected_row(tmp_path, capsys):
    text = HEADER + ",notes\n" + good(1) + ",ok\n" + good(2) + "," + "x" * 5_000 + "\n" + good(3) + ",ok\n"
    path = write(tmp_path, "long.csv", text)
    db = tmp_path / "store.duckdb"
    mapping = log_mapping(tmp_path, extra="max_line_length = 1000")
    code, out, _ = cli(capsys, path, "--mapping", mapping, "--db", db)
    assert code == 0
    assert "rows in 3 = accepted 2 + rejected 1 + duplicate 0" in out
    assert "row 3, row: the line is longer than 1,000 characters (max_line_length)" in out
    ((raw,),) = query(db, "select raw from import_issues")
    assert raw.startswith("E2,L2,") and len(raw) == 300  # its first characters are kept
    assert query(db, "select event_id from events order by 1") == [("E1",), ("E3",)]


def test_a_header_over_the_limits_refuses_the_file(tmp_path):
    mapping = log_mapping(tmp_path, extra="max_line_length = 1000\nmax_fields = 12")
    long_header = write(tmp_path, "long.csv", HEADER + "," + "y" * 2_000 + "\n" + good(1) + ",\n")
    refused = run(tmp_path, long_header, mapping).files[0].refused
    assert "long.csv: row 1 (the header) cannot be read: the line is longer than 1,000 characters" in refused
    wide = write(tmp_path, "wide.csv", HEADER + ",a,b,c,d\n" + good(1) + ",,,,\n")
    refused = run(tmp_path, wide, mapping).files[0].refused
    assert "wide.csv: row 1 (the header) has 13 columns, more than the mapping's max_fields = 12" in refused


def peak_bytes(fn) -> int:
    """The peak of Python's allocations while fn() runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_preview_and_import_hold_one_bounded_row_not_the_file(tmp_path):
    # Line 3 is 30 MB (a one-line dump pasted into an export). Before, the preview held it
    # (and its split fields) whole; now neither the preview nor the import holds much more than
    # the 1 MB row limit.
    path = tmp_path / "huge.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER + "\n" + good(1) + "\n" + good(2) + "x" * 30_000_000 + "\n" + good(3) + "\n")
    mapping = log_mapping(tmp_path)
    seen = {}

    def do_preview():
        seen["preview"] = importer.preview(Source.from_path(path), mapping, now=dt.datetime(2025, 6, 1))[1]

    assert peak_bytes(do_preview) < 8_000_000
    assert seen["preview"]["status"].tolist() == ["ok", "rejected", "ok"]
    assert peak_bytes(lambda: seen.update(report=run(tmp_path, path, mapping))) < 12_000_000
    f = seen["report"].files[0]
    assert (f.n_rows_in, f.n_accepted, f.n_rejected) == (3, 2, 1)
    # A file that is one 30 MB line (no line break at all): its header is over the limit.
    one_line = tmp_path / "one_line.csv"
    one_line.write_text("x," * 15_000_000, encoding="utf-8")
    assert peak_bytes(lambda: seen.update(one=run(tmp_path, one_line, mapping))) < 8_000_000
    assert (
        "(the header) cannot be read: the line is longer than 1,000,000 characters"
        in seen["one"].files[0].refused
    )


def test_preview_reads_only_the_first_rows(tmp_path):
    # 50,000 rows; a preview of 20 reads the first block of the file, not the rest.
    path = log_file(tmp_path, [good(i) for i in range(50_000)])
    read = []

    class Counted(Source):
        def open(self):
            f = super().open()
            real = f.read

            def counted(n=-1):
                data = real(n)
                read.append(len(data))
                return data

            f.read = counted
            return f

    role, df = importer.preview(Counted(name="big.csv", path=path), log_mapping(tmp_path), n=20)
    assert len(df) == 20 and df["row_number"].tolist() == list(range(2, 22))
    assert sum(read) < 600_000 < path.stat().st_size


# --- 9. the import record names who loaded it; the encoding error names the row ----------------


def test_the_import_record_names_who_loaded_the_file(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    cli(capsys, log_file(tmp_path, [good(1)], "a.csv"), "--mapping", "event_log", "--db", db, "--user", "ana")
    cli(capsys, log_file(tmp_path, [good(2)], "b.csv"), "--mapping", "event_log", "--db", db)
    run(tmp_path, log_file(tmp_path, [good(3)], "c.csv"), user="Dana (sales ops)")  # the Data page's way
    assert query(db, "select file_name, imported_by from import_files order by file_name") == [
        ("a.csv", "ana"),
        ("b.csv", getpass.getuser()),  # the command line's default: the OS user
        ("c.csv", "Dana (sales ops)"),
    ]
    ((desc,),) = query(db, "select description from loads where description like 'a.csv%'")
    assert desc.endswith(", by ana")  # shown in the Data page's history


@pytest.mark.parametrize("bad_line", [12, 9_000])
def test_the_encoding_error_names_the_row_of_the_bad_byte(tmp_path, capsys, bad_line):
    # A cp1252 'é' on line 12 (and on line 9,000, past the first block read): not "near row 1".
    lines = [good(i).encode() for i in range(bad_line + 10)]
    lines[bad_line - 2] = good(0).replace("marketing,,", "marketing,Chlo\xe9,").encode("cp1252")
    path = write(tmp_path, "latin.csv", HEADER.encode() + b"\n" + b"\n".join(lines) + b"\n")
    code, out, _ = cli(capsys, path, "--mapping", "event_log", "--db", tmp_path / "store.duckdb")
    assert code == 1
    assert f"latin.csv: row {bad_line}, the bytes are not valid utf-8 text" in out


# --- 12. amount locales and daylight saving -------------------------------------------------------


def test_a_european_file_declares_its_decimal_comma(tmp_path, capsys):
    # `;`-delimited, as a European Excel writes it: `1,500` is 1.5 there. Without a declared
    # separator it is ambiguous and rejected (never 1500.00); declared, it is read as meant.
    text = (
        HEADER.replace(",", ";") + "\n"
        "E1;L1;D1;won;2025-03-01 10:00:00;O1;sales;;1,500\n"
        "E2;L2;D2;won;2025-03-01 10:00:00;O1;sales;;1.500,25\n"
        "E3;L3;D3;won;2025-03-01 10:00:00;O1;sales;;12,999\n"
    )
    path = write(tmp_path, "eu.csv", text)
    db = tmp_path / "store.duckdb"
    code, out, _ = cli(capsys, path, "--mapping", log_mapping(tmp_path, extra='delimiter = ";"'), "--db", db)
    assert code == 0
    assert "rows in 3 = accepted 0 + rejected 3 + duplicate 0" in out
    assert "row 2, column 'amount': amount '1,500' is ambiguous" in out
    eu = log_mapping(tmp_path, extra='delimiter = ";"\ndecimal_separator = ","')
    code, out, _ = cli(capsys, path, "--mapping", eu, "--db", db)
    assert "rows in 3 = accepted 2 + rejected 1 + duplicate 0" in out
    assert "row 4, column 'amount': amount '12,999' has more than 2 decimals" in out
    assert dict(query(db, "select event_id, amount from events")) == {
        "E1": Decimal("1.50"),
        "E2": Decimal("1500.25"),
    }


def test_a_local_time_in_the_daylight_saving_gap_is_rejected_and_a_repeated_one_flagged(tmp_path):
    # Berlin, 2025-03-30: clocks jump from 02:00 to 03:00, so 02:30 never happened (stored
    # shifted before). 2025-10-26: 02:30 happened twice; read as the first (CEST, UTC+2), flagged.
    rows = [
        "E1,L1,,lead,2025-03-30 01:30:00,O1,marketing,,",  # CET: 00:30 UTC
        "E2,L1,,mql,2025-03-30 02:30:00,O1,marketing,,",  # line 3: no such time
        "E3,L1,,sal,2025-03-30 03:30:00,O1,sales,,",  # CEST: 01:30 UTC
        "E4,L1,,sql,2025-10-26 02:30:00,O1,sales,,",  # line 5: twice; first = 00:30 UTC
    ]
    mapping = log_mapping(tmp_path, tz="Europe/Berlin")
    report = run(tmp_path, log_file(tmp_path, rows), mapping, now=dt.datetime(2025, 11, 1))
    f = report.files[0]
    assert (f.n_accepted, f.n_rejected, f.n_flagged) == (3, 1, 1)
    issues = f.issues.set_index("row_number")
    assert "no such local time '2025-03-30 02:30:00' in Europe/Berlin" in issues.loc[3, "reason"]
    assert issues.loc[3, "severity"] == "rejected"
    assert "happened twice in Europe/Berlin" in issues.loc[5, "reason"]
    assert issues.loc[5, "severity"] == "flagged"
    assert dict(query(tmp_path / "store.duckdb", "select event_id, occurred_at from events")) == {
        "E1": dt.datetime(2025, 3, 30, 0, 30),
        "E3": dt.datetime(2025, 3, 30, 1, 30),
        "E4": dt.datetime(2025, 10, 26, 0, 30),
    }

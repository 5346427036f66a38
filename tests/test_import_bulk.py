"""The import's row reading, pinned: a crafted event log with every kind of bad row (bad and
impossible dates, daylight-saving gap and fold local times, empty, Excel-mangled and over-long
ids, bad amounts, unknown stages and teams, quoted values with line breaks, stray quotes, NULs,
blank lines, ragged rows) gives exactly these rows: the same physical line numbers, raw text,
columns, reasons, events and flags as the reader gave before its per-row path was made cheaper,
with LF, CRLF and old-Mac CR line breaks. What observing the file for a proposed contract sees
is pinned too. A change to a reason, a line number or a value fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from data import contract as contract_mod
from data import propose
from data.import_mapping import load as load_mapping
from data.import_read import Source, read_rows
from tests.import_helpers import HEADER, NOW, log_mapping, query, run, write

ROWS = [
    "E1,L1,,lead,2025-01-02 10:00:00,O1,marketing,,",
    "E2,L1,,mql,2025-02-30 10:00:00,O1,marketing,,",  # no such day
    "E3,L2,,lead,not a date,O1,marketing,,",
    "E4,,,lead,2025-01-03 10:00:00,O1,marketing,,",  # no lead id
    "E5,1.23457E+11,,lead,2025-01-03 10:00:00,O1,marketing,,",  # ids a spreadsheet rewrote
    "123456789012.0,L3,,lead,2025-01-03 10:00:00,O1,marketing,,",
    "E6,L3,D1,won,2025-01-04 10:00:00,O1,sales,,12,000.50",  # one field too many
    'E7,L3,D1,won,2025-01-04 10:00:00,O1,sales,,"12,000.50"',
    "E8,L4,D2,won,2025-01-04 10:00:00,O1,sales,,1.234",
    "E9,L4,D2,won,2025-01-04 10:00:00,O1,sales,,-5",
    "E10,L4,D2,won,2025-01-04 10:00:00,O1,sales,,abc",
    "E11,L5,,frobnicated,2025-01-04 10:00:00,O1,sales,,",
    "E12,L5,,lead,2025-01-04 10:00:00,O1,wizards,,",
    "E13,L5,,disqualified,2025-01-05 10:00:00,O1,marketing,weird_reason,",
    "",
    "   ",
    ",,,,,,,,",
    'E14,L6,,lead,"2025-01-06\n10:00:00",O1,marketing,,',  # a line break inside a quoted value
    'E15,L6,,mql,2025-01-07 10:00:00,O1,marketing,"not_a_fit,',  # a stray quote
    "E16,L7,,lead,2025-01-07 10:00:00,O1,marketing,,",
    "E17,L7,,lead,2025-01-07T10:00:00+02:00,O1,marketing,,",
    "E18,L7,,lead,2030-01-07 10:00:00,O1,marketing,,",
    "E19,L7,,lead,1970-01-07 10:00:00,O1,marketing,,",
    "E20,L8,,lead,2025-03-30 02:30:00,O1,marketing,,",  # the spring gap in Berlin
    "E21,L8,,mql,2024-10-27 02:30:00,O1,marketing,,",  # the autumn fold in Berlin
    "E1,L1,,lead,2025-01-02 10:00:00,O1,marketing,,",
    "E1,L1,,lead,2025-01-02 11:00:00,O1,marketing,,",
    "E22,L9,,lead,2025-01-02 10:00:00,O1,marketing," + "x" * 600 + ",",
    "E23,L9,,lead,2025-01-02 10:00:00,O1,marketing,,,",
    "E24,L9,,lead,2025-01-02 10:00:00",
    "E25,L10,,LEAD,2025-01-02 10:00:00,O1,Marketing,,",
    "E26,L10,,Lead ,02/01/2025 10:00,O1,marketing,,",  # one of the mapping's date formats
    " E27 , L11 ,, mql ,2025-01-02 10:00:00.123456, O2 ,,,",
    "E28,L12,D3,amount,2025-01-02 10:00:00,O1,sales,,",
    "E29,L12,D3,amount,2025-01-02 10:00:00,O1,sales,,1000",
    "E30,L13,,lead,2025-01-02 10:00:00,O1,marketing,,\x00",
    "E31,L13,,lead,2025-01-02 10:00:00,O1,marketing,,\u00a01 000",
    "E32,L14,,lead,2025-01-02 10:00:00Z,O1,marketing,,",
    "E33," + "L" * 501 + ",,lead,2025-01-02 10:00:00,O1,marketing,,",  # an over-long id
    "E34,L15,," + "m" * 501 + ",2025-01-02 10:00:00,O1,marketing,,",
    "E35,L15,,,2025-01-02 10:00:00,O1,marketing,,",  # no stage
    "E36,L15,,lead,,O1,marketing,,",  # no time
    "E37,L16,,lead,2025-01-02 10:00:00," + "O" * 501 + ",marketing,,",
    "E38,L16,,sql,2025-01-02 10:00:00,-1.5e+3,marketing,,",
    "E39,L17,,lead,2025-01-02 10:00:00,O1,marketing,,",
]
CASES = ["lf", "crlf", "cr"]
BREAKS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}


def crafted(tmp_path: Path, case: str) -> tuple[Path, Path]:
    newline = BREAKS[case]
    text = newline.join([HEADER, *(r.replace("\n", newline) for r in ROWS)]) + newline
    mapping = log_mapping(
        tmp_path, tz="Europe/Berlin", extra='date_formats = ["%d/%m/%Y %H:%M"]\nmax_lines_per_row = 3'
    )
    return write(tmp_path, f"events_{case}.csv", text), mapping


def outcomes(tmp_path: Path, case: str) -> list[tuple]:
    path, mapping_path = crafted(tmp_path, case)
    contract = contract_mod.load()
    _, rows = read_rows(Source.from_path(path), load_mapping(mapping_path, contract), contract, NOW)
    out = []
    for o in rows:
        p = o.parsed
        parsed = None if p is None else (p.key, p.events, p.flags, p.ignored, p.owners)
        out.append((o.row_number, o.last_row_number, o.raw, o.column, o.reason, parsed))
    return out


def observed(tmp_path: Path, case: str) -> tuple:
    path, mapping_path = crafted(tmp_path, case)
    contract = contract_mod.load()
    obs = propose.Observations()
    _, rows = read_rows(
        Source.from_path(path), load_mapping(mapping_path, contract), contract, NOW, observations=obs
    )
    assert list(rows) == []
    firsts = sorted((r, n, at) for r, seen in obs.firsts.items() for n, at in seen.items())
    spelling = sorted((p, sorted(c.items())) for p, c in obs.spelling.items())
    return sorted(obs.names.items()), spelling, firsts


def stored(tmp_path: Path, case: str) -> list[str]:
    """The rows a whole import stores: its issues (lines, column, severity, reason, raw text),
    its events and leads, and the file's counts."""
    path, mapping_path = crafted(tmp_path, case)
    db = tmp_path / f"store_{case}.duckdb"
    report = run(tmp_path, path, str(mapping_path), db=db, fresh=True)
    lines = [report.files[0].summary()]
    for sql in (
        "select row_number, last_row_number, column_name, severity, reason, raw from import_issues",
        "select * exclude (source) from events",
        "select * from leads",
        "select * from owners",
    ):
        lines += sorted(repr(r) for r in query(db, sql))
    return lines


def golden(tmp_path: Path) -> list[str]:
    """Every pinned line, in the order GOLDEN holds them."""
    out = []
    for case in CASES:
        out.append(f"# {case}: rows read")
        out += [repr(o) for o in outcomes(tmp_path, case)]
        out.append(f"# {case}: observed for a proposal")
        out.append(repr(observed(tmp_path, case)))
        out.append(f"# {case}: stored")
        out += stored(tmp_path, case)
    return out


# Written by the reader as it was before its per-row path was made cheaper (regenerate only for
# an intended change: `python -m tests.test_import_bulk > tests/fixtures/import_rows_golden.txt`).
GOLDEN = Path(__file__).parent / "fixtures" / "import_rows_golden.txt"


@pytest.mark.parametrize("case", CASES)
def test_every_row_reads_as_pinned(tmp_path, case):
    expected = GOLDEN.read_text(encoding="utf-8").splitlines()
    start = expected.index(f"# {case}: rows read") + 1
    end = expected.index(f"# {case}: observed for a proposal")
    assert [repr(o) for o in outcomes(tmp_path, case)] == expected[start:end]
    assert repr(observed(tmp_path, case)) == expected[end + 1]
    stop = expected.index(f"# {CASES[CASES.index(case) + 1]}: rows read") if case != CASES[-1] else None
    assert stored(tmp_path, case) == expected[end + 3 : stop]


def test_the_pinned_rows_cover_each_kind_of_rejection():
    text = GOLDEN.read_text(encoding="utf-8")
    for words in (
        "impossible date",
        "is not a date",
        "no such local time",
        "happened twice in Europe/Berlin",
        "looks like a number a spreadsheet rewrote",
        "required value is missing",
        "value is longer than 500 characters",
        "is ambiguous",
        "negative amount",
        "unknown stage name",
        "unknown team",
        "unknown reason code",
        "is in the future",
        "(far past)",
        "row has 10 fields but the header has 9",
        "a stray quote?",
        "an 'amount' event needs an amount",
    ):
        assert words in text, words


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print("\n".join(golden(Path(tmp))))

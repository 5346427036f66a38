"""The record reader's fast path (a line with no quote, NUL or line break inside it is split on
the delimiter instead of going through Python's CSV parser) reads a tricky file exactly as the
parser alone does: the same rows, line numbers, raw text, rejections with their columns and
reasons, flags and events, in a full import too.
"""

from __future__ import annotations

import pytest

from data import import_read
from data.import_read import Source, read_rows
from tests.import_helpers import HEADER, NOW, log_mapping, query, run, write

ROWS = [
    "E1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,",
    "E2,L1,,mql,2025-01-08 10:00:00,O1,marketing,,",
    # quoted values, one quoted with a doubled quote inside
    '"E3","L2",,lead,2025-01-06 09:00:00,"O1",marketing,,',
    'E4,L2,,rejected,2025-01-07 09:00:00,O1,marketing,"not ""a"" fit",',
    # a quoted value holding line breaks: one row over three lines
    'E5,L2,,recycled,2025-01-09 09:00:00,O1,marketing,"not_ready\nreally\nnot",',
    "",  # a blank line keeps its number
    "   ",  # and so does one of spaces only
    # bad dates
    "E6,L3,,lead,2025-02-30 10:00:00,O1,marketing,,",
    "E7,L3,,lead,next tuesday,O1,marketing,,",
    "E8,L3,,lead,1970-01-01 00:00:00,O1,marketing,,",
    "E9,L3,,lead,2025-06-03 12:00:00,O1,marketing,,",
    # bad amounts, and good ones
    "E10,L4,D4,won,2025-03-01 10:00:00,O2,sales,,12k",
    "E11,L4,D4,won,2025-03-01 10:00:00,O2,sales,,-500",
    'E12,L4,D4,won,2025-03-01 10:00:00,O2,sales,,"1,500"',
    "E13,L4,D4,won,2025-03-01 10:00:00,O2,sales,,1.005",
    "E14,L5,D5,won,2025-03-02 10:00:00,O2,sales,,22500",
    "E15,L6,D6,won,2025-03-03 10:00:00,O2,sales,, $ 1200.50 ",
    # duplicate ids: an identical repeat (once quoted), and a conflicting one
    "E1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,",
    '"E1",L1,,lead,2025-01-06 09:00:00,O1,marketing,,',
    "E2,L1,,mql,2025-01-09 10:00:00,O1,marketing,,",
    # spaces around values, an id a spreadsheet rewrote, an unknown stage, team and reason
    " E16 , L7 ,,lead, 2025-01-06 09:00:00 ,O1,marketing,,",
    "E17,1.23457E+11,,lead,2025-01-06 09:00:00,O1,marketing,,",
    "E18,L8,,negotiation,2025-01-06 09:00:00,O1,marketing,,",
    "E19,L8,,lead,2025-01-06 09:00:00,O1,finance,,",
    "E20,L8,,disqualified,2025-01-07 09:00:00,O1,marketing,made_up,",
    # ragged rows, a stray quote, a NUL, a carriage return inside an unquoted value
    "E21,L9,,lead,2025-01-06 09:00:00,O1,marketing",
    "E22,L9,,lead,2025-01-06 09:00:00,O1,marketing,,,",
    'E23,L9,,lead,2025-01-06 "09:00:00,O1,marketing,,',
    "E24,L9,,lead,2025-01-06 09:00:00,O1,mar\x00keting,,",
    "E25,L9,,lead,2025-01-06 09:00:00,O1,mar\rketing,,",
    # a value over 500 characters, a missing required value
    "E26,L10,,lead,2025-01-06 09:00:00,O1,marketing," + "x" * 600 + ",",
    "E27,,,lead,2025-01-06 09:00:00,O1,marketing,,",
    # a quote that never closes, then good rows read again after it
    'E28,"L11,,lead,2025-01-06 09:00:00,O1,marketing,,',
    "E29,L12,,lead,2025-01-06 09:00:00,O1,marketing,,",
    "E30,L12,,mql,2025-01-07 09:00:00,O1,marketing,,",
]


def _csv_parser_only(monkeypatch) -> None:
    """Every line through Python's CSV parser, as before the fast path."""
    monkeypatch.setattr(import_read.Records, "fast_split", False)


def _outcomes(path, mapping_path) -> list[tuple]:
    from data import contract as contract_mod
    from data.import_mapping import load as load_mapping

    contract = contract_mod.load()
    _, rows = read_rows(Source.from_path(path), load_mapping(mapping_path, contract), contract, NOW)
    out = []
    for o in rows:
        p = o.parsed
        parsed = None if p is None else (p.key, p.events, p.flags, p.ignored, p.owners, p.digest)
        out.append((o.row_number, o.last_row_number, o.raw, o.column, o.reason, parsed))
    return out


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("end", ["", "final_break"])
def test_the_fast_path_reads_rows_as_the_csv_parser_does(tmp_path, monkeypatch, newline, end):
    rows = [r.replace("\n", newline) for r in ROWS]
    if newline == "\r":  # a lone CR ends lines here: keep the one inside a value out of the file
        rows = [r for r in rows if "mar\rketing" not in r]
    text = newline.join([HEADER, *rows]) + (newline if end else "")
    path = write(tmp_path, "events.csv", text)
    mapping = log_mapping(tmp_path)
    fast = _outcomes(path, mapping)
    with monkeypatch.context() as m:
        _csv_parser_only(m)
        slow = _outcomes(path, mapping)
    assert fast == slow
    # the file is tricky: both kinds of row are there, and the line numbers are physical lines
    assert any(o[5] is None for o in fast) and any(o[5] is not None for o in fast)
    assert any(o[1] != o[0] for o in fast)


def test_a_full_import_stores_the_same_with_and_without_the_fast_path(tmp_path, monkeypatch):
    path = write(tmp_path, "events.csv", "\n".join([HEADER, *ROWS]) + "\n")
    mapping = log_mapping(tmp_path)
    tables = {
        "events": "select * exclude (source) from events order by all",
        "issues": "select * exclude (load_id) from import_issues order by all",
        "files": "select n_rows_in, n_accepted, n_rejected, n_duplicate from import_files",
    }

    def stored(db):
        return {name: query(db, sql) for name, sql in tables.items()}

    fast_db, slow_db = tmp_path / "fast.duckdb", tmp_path / "slow.duckdb"
    fast = run(tmp_path, path, mapping, db=fast_db)
    with monkeypatch.context() as m:
        _csv_parser_only(m)
        slow = run(tmp_path, path, mapping, db=slow_db)
    assert fast.ok and slow.ok
    assert stored(fast_db) == stored(slow_db)
    (f,) = fast.files
    assert (
        f.n_rejected > 10
        and f.n_duplicate >= 2
        and f.n_rows_in == f.n_accepted + f.n_rejected + f.n_duplicate
    )

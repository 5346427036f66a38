"""Reading an event log in bulk (data/import_bulk.py: plain lines split and checked in SQL, the
others through the per-row parser) stages exactly the rows the per-row reader stages: the same
row and line numbers, raw text, keys, rejections with their columns and reasons, flags, events
and owners, and the same repeats found identical or conflicting. A whole import stores the
same, and a proposal observes the same. Each test also checks which way the file was read.
"""

from __future__ import annotations

import duckdb
import pytest

from data import contract as contract_mod
from data import import_bulk, import_lines, importer
from data.import_mapping import load as load_mapping
from data.import_read import Source
from data.import_settle import STAGING, Stager
from tests.import_helpers import HEADER, NOW, log_mapping, query, run, write

ROWS = [
    # plain rows the SQL decides
    "E1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,",
    "E2,L1,,mql,2025-01-08 10:00,O1,,,",
    "E3,L2,,lead,2025-01-06,O2,marketing,,",
    "E4,L2,,sql,2025-01-07T09:30:00,O2,sales,,",
    "E5,L3,D3,won,2025-03-01 10:00:00,O3,sales,,22500",
    "E6,L4,D4,won,2025-03-01 10:00:00,O3,sales,,1200.5",
    "E7,L4,D4,amount,2025-03-02 10:00:00,O3,sales,,007",
    "E8,L5,,disqualified,2025-01-07 09:00:00,O1,marketing,not_a_fit,",
    "E9,L5,,recycled,2025-01-09 09:00:00,O1,MARKETING,made_up,",  # a flag: unknown reason
    "E10,L6,,Lead,2025-01-06 09:00:00,,Marketing,,",  # stage and team in other cases
    "E11,L6,D6,opportunity,2025-01-06 09:00:00,O4,,,",
    # bad dates: impossible, not a date, far past, future, leap second, an offset, fractions
    "E12,L7,,lead,2025-02-30 10:00:00,O1,marketing,,",
    "E13,L7,,lead,next tuesday,O1,marketing,,",
    "E14,L7,,lead,1970-01-01 00:00:00,O1,marketing,,",
    "E15,L7,,lead,2025-06-03 12:00:00,O1,marketing,,",
    "E16,L7,,lead,2025-01-06 23:59:60,O1,marketing,,",
    "E17,L7,,lead,2025-01-06T09:00:00+02:00,O1,marketing,,",
    "E18,L7,,lead,2025-01-06 09:00:00.250,O1,marketing,,",
    "E19,L7,,lead,2025-1-6 09:00:00,O1,marketing,,",
    "E20,L7,,lead,2025-01-06 9:00,O1,marketing,,",
    "E21,L7,,lead,2025-01-06Z,O1,marketing,,",
    # bad and odd amounts
    "E22,L8,D8,won,2025-03-01 10:00:00,O2,sales,,12k",
    "E23,L8,D8,won,2025-03-01 10:00:00,O2,sales,,-500",
    'E24,L8,D8,won,2025-03-01 10:00:00,O2,sales,,"1,500"',
    "E25,L8,D8,won,2025-03-01 10:00:00,O2,sales,,1.005",
    "E26,L8,D8,won,2025-03-01 10:00:00,O2,sales,,1234567890123",
    "E27,L8,D8,won,2025-03-01 10:00:00,O2,sales,,$1200",
    "E28,L9,D9,amount,2025-03-01 10:00:00,O2,sales,,",  # an amount event without an amount
    # unknown stage and team, missing and mangled ids, over-long values
    "E29,L10,,negotiation,2025-01-06 09:00:00,O1,marketing,,",
    "E30,L10,,lead,2025-01-06 09:00:00,O1,finance,,",
    "E31,,,lead,2025-01-06 09:00:00,O1,marketing,,",
    ",L10,,lead,2025-01-06 09:00:00,O1,marketing,,",
    "E32,1.23457E+11,,lead,2025-01-06 09:00:00,O1,marketing,,",
    "123456789012.0,L10,,lead,2025-01-06 09:00:00,O1,marketing,,",
    "E33,L10,,lead,2025-01-06 09:00:00,-1.5e+3,marketing,,",
    "E34,L10,,lead,2025-01-06 09:00:00,4e81,marketing,,",  # a hex id, not a rewritten number
    "E35," + "L" * 501 + ",,lead,2025-01-06 09:00:00,O1,marketing,,",
    "E36,L10,,lead,2025-01-06 09:00:00,O1,marketing," + "x" * 600 + ",",
    "E37,L10,," + "m" * 501 + ",2025-01-06 09:00:00,O1,marketing,,",
    # duplicates: identical (once quoted), conflicting, and one with spaces around its values
    "E1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,",
    '"E1",L1,,lead,2025-01-06 09:00:00,O1,marketing,,',
    "E2,L1,,mql,2025-01-09 10:00:00,O1,marketing,,",
    " E38 , L11 ,,lead, 2025-01-06 09:00:00 ,O1,marketing,,",
    "E38,L11,,lead,2025-01-06 09:00:00,O1,marketing,,",
    # text SQL leaves to the parser: accents, a no-break space, a tab
    "E39,L12,,lead,2025-01-06 09:00:00,Ö1,marketing,,",
    "E40,L12,,mql,2025-01-07 09:00:00,O1,marketing,,\u00a01 000",
    "E41,L12,,sql,2025-01-08 09:00:00,O1\t,marketing,,",
    # blank lines keep their numbers
    "",
    "   ",
    ",,,,,,,,",
    # ragged rows, a stray quote, a NUL, a carriage return inside an unquoted value
    "E42,L13,,lead,2025-01-06 09:00:00,O1,marketing",
    "E43,L13,,lead,2025-01-06 09:00:00,O1,marketing,,,",
    'E44,L13,,lead,2025-01-06 "09:00:00,O1,marketing,,',
    "E45,L13,,lead,2025-01-06 09:00:00,O1,mar\x00keting,,",
    "E46,L13,,lead,2025-01-06 09:00:00,O1,mar\rketing,,",
    # quoted values over several lines, with plain lines inside them
    'E47,L14,,recycled,2025-01-09 09:00:00,O1,marketing,"not_ready\nE99,L99,,lead,2025-01-06 09:00:00,O1,marketing,,\nstill",',
    "E48,L14,,lead,2025-01-06 09:00:00,O1,marketing,,",
    # a quote that never closes within max_lines_per_row: its lines are read again as rows
    'E49,"L15,,lead,2025-01-06 09:00:00,O1,marketing,,',
    "E50,L16,,lead,2025-01-06 09:00:00,O1,marketing,,",
    "E51,L16,,mql,2025-01-07 09:00:00,O1,marketing,,",
    "E52,L16,,sql,2025-01-08 09:00:00,O1,marketing,,",
    # lines over max_line_length (the second one read in part, the rest dropped), then plain rows
    "E53,L17,,lead,2025-01-06 09:00:00,O1,marketing," + "y" * 1200 + ",",
    "E55,L17,,lead,2025-01-06 09:00:00,O1,marketing," + "z" * 9000 + ",",
    "E54,L17,,lead,2025-01-06 09:00:00,O1,marketing,,",
]
MAPPING_EXTRA = "max_line_length = 1000\nmax_lines_per_row = 3"
BREAKS = {"lf": "\n", "crlf": "\r\n"}


def _file(tmp_path, case: str = "lf", end: bool = True, rows=ROWS):
    newline = BREAKS[case]
    text = newline.join([HEADER, *(r.replace("\n", newline) for r in rows)]) + (newline if end else "")
    return write(tmp_path, f"events_{case}.csv", text), log_mapping(tmp_path, extra=MAPPING_EXTRA)


def _row_by_row(monkeypatch) -> None:
    monkeypatch.setattr(import_bulk, "bulk_reason", lambda mapping, spec: "row by row, for the test")


def _staged(path, mapping_path) -> tuple[import_bulk.BulkRead, dict]:
    """What reading the file stages: every staging table, row by row, and which rows of one
    key share a digest (the digest itself is made differently by the two paths)."""
    contract = contract_mod.load()
    mapping = load_mapping(mapping_path, contract)
    con = duckdb.connect()
    con.execute(STAGING)
    stager = Stager(con)
    read = import_bulk.stage_file(con, stager, 0, Source.from_path(path), mapping, contract, NOW)
    stager.flush()
    stager.flush_owners()
    tables = {
        "rows": "select * exclude (row_hash) from st_rows order by row_number",
        "events": "select * from st_events order by row_number",
        "owners": "select * from st_owners order by all",
        "same_digest": """
            select a.row_number, b.row_number
            from st_rows as a join st_rows as b on a.row_key = b.row_key and a.row_hash = b.row_hash
            where a.row_number < b.row_number and a.reason is null
            order by all
        """,
    }
    staged = {name: con.execute(sql).fetchall() for name, sql in tables.items()}
    con.close()
    return read, staged


@pytest.mark.parametrize("case", ["lf", "crlf"])
@pytest.mark.parametrize("end", [True, False], ids=["final_break", "no_final_break"])
@pytest.mark.parametrize(
    "chunk", [None, (97, 13), (640, 50)], ids=["one_chunk", "tiny_chunks", "small_chunks"]
)
def test_the_bulk_read_stages_what_the_per_row_reader_stages(tmp_path, monkeypatch, case, end, chunk):
    path, mapping = _file(tmp_path, case, end)
    with monkeypatch.context() as m:
        if chunk:  # chunks of a few lines, so that quoted values and stray quotes span them
            m.setattr(import_lines, "CHUNK", chunk[0])
            m.setattr(import_lines, "READ", chunk[1])
        bulk, in_bulk = _staged(path, mapping)
    with monkeypatch.context() as m:
        _row_by_row(m)
        slow, row_by_row = _staged(path, mapping)
    assert bulk.why is None and bulk.n_bulk >= 15  # read in bulk, its odd rows aside
    assert slow.n_bulk == 0 and slow.why
    for name in in_bulk:
        assert in_bulk[name] == row_by_row[name], name
    rows = in_bulk["rows"]
    # the file is tricky: rows rejected and kept, flagged, over several lines, repeats
    assert any(r[7] for r in rows) and any(r[7] is None for r in rows)  # reason
    assert any(r[8] for r in rows)  # flag
    assert any(r[2] != r[1] for r in rows)  # last_row_number
    assert in_bulk["same_digest"]


def test_a_full_import_in_bulk_stores_what_the_per_row_reader_stores(tmp_path, monkeypatch):
    path, mapping = _file(tmp_path)
    tables = {
        "events": "select * exclude (source) from events order by all",
        "issues": "select * exclude (load_id) from import_issues order by all",
        "files": "select n_rows_in, n_accepted, n_rejected, n_duplicate, n_flagged from import_files",
        "owners": "select * from owners order by all",
        "leads": "select * from leads order by all",
    }
    bulk = run(tmp_path, path, str(mapping), db=tmp_path / "bulk.duckdb")
    with monkeypatch.context() as m:
        _row_by_row(m)
        slow = run(tmp_path, path, str(mapping), db=tmp_path / "slow.duckdb")
    (f,) = bulk.files
    assert f.n_read_in_bulk >= 15 and f.read_row_by_row is None
    assert slow.files[0].n_read_in_bulk == 0
    for name, sql in tables.items():
        assert query(tmp_path / "bulk.duckdb", sql) == query(tmp_path / "slow.duckdb", sql), name
    assert f.n_rejected > 20 and f.n_duplicate >= 2 and f.n_flagged >= 1
    assert (f.summary(), f.n_lines) == (slow.files[0].summary(), slow.files[0].n_lines)
    assert f.n_rows_in == f.n_accepted + f.n_rejected + f.n_duplicate


def _observed(path, mapping_path) -> tuple:
    obs, _ = importer.observe([Source.from_path(path)], str(mapping_path), now=NOW)
    # in order: the proposal reads them as dicts and counters
    return (
        list(obs.names.items()),
        [(p, list(c.items())) for p, c in obs.spelling.items()],
        [(r, list(seen.items())) for r, seen in obs.firsts.items()],
        list(obs.grains.items()),
        dict(obs.undated),
        obs.won,
        obs.lost,
    )


def test_a_proposal_observes_in_bulk_what_it_observes_row_by_row(tmp_path, monkeypatch):
    path, mapping = _file(tmp_path)
    calls = []
    observe_file = import_bulk.observe_file

    def recording(*args, **kwargs):
        calls.append(observe_file(*args, **kwargs))
        return calls[-1]

    monkeypatch.setattr(import_bulk, "observe_file", recording)
    in_bulk = _observed(path, mapping)
    with monkeypatch.context() as m:
        _row_by_row(m)
        row_by_row = _observed(path, mapping)
    assert calls[0].n_bulk >= 15 and calls[0].why is None and calls[1].n_bulk == 0
    assert in_bulk == row_by_row
    assert len(in_bulk[2]) > 10


@pytest.mark.parametrize(
    "text",
    [
        HEADER + "\rE1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,\r",  # old Mac line breaks
        HEADER + "\nE1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,\r\nE2,L1,,mql,2025-01-07 09:00:00,O1,,,\n",
    ],
    ids=["lone_cr", "mixed_breaks"],
)
def test_a_file_whose_lines_the_bulk_read_cannot_prove_is_read_row_by_row(tmp_path, monkeypatch, text):
    path = write(tmp_path, "events.csv", text)
    mapping = log_mapping(tmp_path, extra=MAPPING_EXTRA)
    bulk, in_bulk = _staged(path, mapping)
    assert bulk.n_bulk == 0 and "one kind of line break" in bulk.why
    with monkeypatch.context() as m:
        _row_by_row(m)
        _, row_by_row = _staged(path, mapping)
    assert in_bulk == row_by_row


def test_a_file_in_a_local_time_zone_is_read_row_by_row(tmp_path):
    path = write(tmp_path, "events.csv", HEADER + "\nE1,L1,,lead,2025-01-06 09:00:00,O1,marketing,,\n")
    read, staged = _staged(path, log_mapping(tmp_path, tz="Europe/Berlin"))
    assert read.n_bulk == 0 and "time zone" in read.why
    assert len(staged["events"]) == 1


def test_a_bulk_read_file_with_only_blank_rows_is_refused_as_before(tmp_path, monkeypatch):
    path = write(tmp_path, "events.csv", HEADER + "\n\n,,,,,,,,\n   \n")
    mapping = log_mapping(tmp_path)
    with pytest.raises(importer.ImportRefused, match="no data rows") as bulk:
        _staged(path, mapping)
    with monkeypatch.context() as m:
        _row_by_row(m)
        with pytest.raises(importer.ImportRefused) as slow:
            _staged(path, mapping)
    assert str(bulk.value) == str(slow.value)

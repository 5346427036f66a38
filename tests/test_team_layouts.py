"""The Teams page's layouts (data/team_layouts.py), row by row from a story computed by hand,
and written empty with every column where there is nothing to lay out."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pytest

from data import contract as contract_mod
from data import team_layouts
from queries import teams
from queries.filters import Filters
from tests import stories

M = None  # a column placeholder: (type, time, reason, amount, owner)
ts = stories.ts

STORY = {
    # A: handed over on Jan 3, accepted by Sales on Jan 4 10:00, rejected by another Sales owner
    # (a reason) on Jan 6, which ends its journey.
    "A": {
        "events": [
            ("lead", "2025-01-02", M, M, "M1"),
            ("mql", "2025-01-03", M, M, "M2"),
            ("sal", "2025-01-04 10:00", M, M, "S1"),
            ("rejected", "2025-01-06", "not_a_fit", M, "S2"),
        ]
    },
    # B: Marketing recycled it before Sales acted, and it came back to MQL on Feb 1 (a re-entry:
    # the handoff stays Jan 3; no final exit, the journey resumed).
    "B": {
        "events": [
            ("lead", "2025-01-02", M, M, "M1"),
            ("mql", "2025-01-03", M, M, "M1"),
            ("recycled", "2025-01-05", "not_ready", M, "M1"),
            ("mql", "2025-02-01", M, M, "M2"),
        ]
    },
}


def _rows(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_layouts_by_hand(tmp_path):
    path = stories.build(tmp_path / "layouts.duckdb", STORY)
    owners = _rows(path, "select * from team_first_owners order by lead_id, team")
    assert owners == [
        ("A", "marketing", "M1", ts("2025-01-02"), "M1", ts("2025-01-02")),
        ("A", "sales", "S1", ts("2025-01-04 10:00"), "S1", ts("2025-01-04 10:00")),
        ("B", "marketing", "M1", ts("2025-01-02"), "M1", ts("2025-01-02")),
    ]
    handoffs = _rows(path, "select * from team_handoffs order by lead_id")
    assert handoffs == [
        # Sales' first action is the accept; the first reason among its actions is the
        # rejection's (what min_by gives), known from Jan 6.
        ("A", "mql", "sales", ts("2025-01-03"), ts("2025-01-04 10:00"), "sal", "not_a_fit",
         ts("2025-01-06"), "sales"),
        ("B", "mql", "sales", ts("2025-01-03"), None, None, None, None, None),
    ]  # fmt: skip
    positions = _rows(path, "select * from team_positions order by lead_id, since")
    assert positions == [
        ("A", "lead", ts("2025-01-02"), ts("2025-01-03"), ts("2025-01-06")),
        ("A", "mql", ts("2025-01-03"), ts("2025-01-04 10:00"), ts("2025-01-06")),
        ("A", "sal", ts("2025-01-04 10:00"), None, ts("2025-01-06")),
        ("B", "lead", ts("2025-01-02"), ts("2025-01-03"), ts("2025-01-05")),
        ("B", "mql", ts("2025-01-03"), ts("2025-02-01"), ts("2025-01-05")),
        ("B", "mql", ts("2025-02-01"), None, None),
    ]


RECYCLES = {
    # C: recycled without a reason on Jan 5 (an MQL event at that very time counts as before
    # it), recycled again for a reason on Jan 8; back to MQL Jan 20, SAL Feb 1, SQL (new) Mar 1.
    "C": {
        "events": [
            ("lead", "2025-01-02", M, M, "M1"),
            ("mql", "2025-01-03", M, M, "M1"),
            ("sal", "2025-01-04", M, M, "S1"),
            ("mql", "2025-01-05", M, M, "M1"),
            ("recycled", "2025-01-05", M, M, "M1"),
            ("recycled", "2025-01-08", "not_ready", M, "M1"),
            ("mql", "2025-01-20", M, M, "M1"),
            ("sal", "2025-02-01 10:00", M, M, "S1"),
            ("sql", "2025-03-01", M, M, "S1"),
        ]
    },
    # D: recycled before any stage event, then a lead event after it.
    "D": {"events": [("recycled", "2025-01-10", "no_budget", M, "M1"), ("lead", "2025-01-12", M, M, "M1")]},
    # E: a recycle and no stage event at all: one row without a stage.
    "E": {"events": [("recycled", "2025-01-15", M, M, "M1")]},
    # F: never recycled: no rows.
    "F": {"events": [("lead", "2025-01-02", M, M, "M1"), ("rejected", "2025-01-03", "not_a_fit", M, "S1")]},
}


def test_recycles_by_hand(tmp_path):
    path = stories.build(tmp_path / "recycles.duckdb", RECYCLES)
    rows = _rows(path, "select * from team_recycles order by lead_id, stage_key nulls last")
    c = ("C", "recycled", ts("2025-01-05"), "not_ready", ts("2025-01-08"))
    assert rows == [
        (*c, "lead", True, None),
        (*c, "mql", True, ts("2025-01-20")),
        (*c, "sal", True, ts("2025-02-01 10:00")),
        (*c, "sql", False, ts("2025-03-01")),
        ("D", "recycled", ts("2025-01-10"), "no_budget", ts("2025-01-10"), "lead", False, ts("2025-01-12")),
        ("E", "recycled", ts("2025-01-15"), None, None, None, None, None),
    ]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # C recycled, its reason not given yet; D (starts Jan 10) not in the cohort yet.
        ("2025-01-06", {"(no reason)": [1, 0, 0]}),
        ("2025-01-09", {"not_ready": [1, 0, 0]}),
        # D came back to Lead (stage 1) after a recycle before any stage: converted.
        ("2025-01-13", {"no_budget": [1, 1, 1], "not_ready": [1, 0, 0]}),
        # C back to MQL (2), short of SAL (3), its furthest before the recycle: not converted...
        ("2025-02-02", {"no_budget": [1, 1, 1], "not_ready": [1, 1, 0]}),
        # ...until SQL (4) on Mar 1.
        ("2025-03-02", {"no_budget": [1, 1, 1], "not_ready": [1, 1, 1]}),
    ],
)
def test_recycled_reads_the_layout_as_of_each_date(tmp_path, as_of, expected):
    path = stories.build(tmp_path / "recycles.duckdb", RECYCLES)
    filters = Filters(
        start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31), as_of=dt.datetime.fromisoformat(as_of)
    )
    df = teams.recycled(filters, db=path)
    cols = ["n_recycled", "n_came_back", "n_converted"]
    by_reason = {r.reason_code: [getattr(r, c) for c in cols] for r in df[~df["is_total"]].itertuples()}
    assert by_reason == expected
    total = df[df["is_total"]].iloc[0]
    assert total[cols].tolist() == [sum(v[i] for v in expected.values()) for i in range(3)]
    assert total["n_won"] == 0


def test_no_recycle_exit_no_recycle_rows(tmp_path):
    base = contract_mod.load()
    contract = dataclasses.replace(base, exits=tuple(e for e in base.exits if e.kind != "recycled"))
    path = stories.build(tmp_path / "no-recycle.duckdb", RECYCLES, contract=contract)
    assert _rows(path, "select count(*) from team_recycles") == [(0,)]


def test_no_handoff_no_handoff_rows(tmp_path):
    contract = dataclasses.replace(contract_mod.load(), handoff_stage=None, alerts=())
    path = stories.build(tmp_path / "no-handoff.duckdb", STORY, contract=contract)
    assert _rows(path, "select count(*) from team_handoffs") == [(0,)]
    assert _rows(path, "select count(*) from team_positions") == [(6,)]


def test_layouts_exist_empty_without_events(tmp_path):
    path = stories.build(tmp_path / "empty.duckdb", {})
    _columns(path, is_empty=True)


def _columns(path, is_empty):
    with duckdb.connect(str(path), read_only=True) as con:
        for name in team_layouts.TABLES:
            if is_empty:
                assert con.execute(f"select count(*) from {name}").fetchone() == (0,)
        columns = {
            name: [r[0] for r in con.execute(f"describe {name}").fetchall()] for name in team_layouts.TABLES
        }
    assert columns == {
        "team_first_owners": ["lead_id", "team", "first_owner_id", "first_at", "own_owner_id", "own_first_at"],
        "team_handoffs": [
            "lead_id", "handoff_key", "follow_team", "handoff_at", "first_action_at", "first_action_type",
            "first_action_reason", "first_reason_at", "exit_team",
        ],
        "team_positions": ["lead_id", "stage_key", "since", "until", "next_exit_at"],
        "team_recycles": [
            "lead_id", "recycle_key", "recycled_at", "reason_code", "first_reason_at", "stage_key", "is_before",
            "first_after_at",
        ],
    }  # fmt: skip

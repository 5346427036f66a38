"""The Teams page's layouts (data/team_layouts.py), row by row from a story computed by hand,
and written empty with every column where there is nothing to lay out."""

from __future__ import annotations

import dataclasses

import duckdb

from data import contract as contract_mod
from data import team_layouts
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
    }  # fmt: skip

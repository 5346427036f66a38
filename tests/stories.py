"""Build tiny stores from hand-written stories, for tests whose numbers are computed by hand.

    story = {
        "A1": {"channel": "web", "events": [("lead", "2025-01-02"), ("mql", "2025-01-05")]},
        "A2": {"events": [("lead", "2025-01-03"), ("rejected", "2025-01-05", "not_a_fit")]},
    }
    path = build(tmp_path / "story.duckdb", story)

An event is (type, time) or (type, time, reason) or (type, time, reason, amount); times are UTC.
Event ids are "<lead>-<n>" in the order written, so a story is stable across runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from data import contract as contract_mod
from data import store

OWNERS = [
    ("M1", "Maya Patel", "marketing"),
    ("M2", "Jonas Berg", "marketing"),
    ("S1", "Priya Nair", "sales"),
    ("S2", "Dana Reyes", "sales"),
]


def ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def build(path: Path, story: dict[str, dict], contract=None, owners=OWNERS) -> Path:
    """Write `story` into a new store at `path` with journeys rebuilt; returns the path."""
    contract = contract or contract_mod.load()
    with store.replacing(Path(path)) as con:
        store.create_schema(con)
        con.executemany("insert into owners values (?, ?, ?)", owners)
        for lead_id, lead in story.items():
            events = lead.get("events", [])
            created = lead.get("created") or (min(e[1] for e in events) if events else "2025-01-01")
            con.execute(
                "insert into leads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    lead_id,
                    ts(created),
                    lead.get("name", f"Contact {lead_id}"),
                    lead.get("company", f"Company {lead_id}"),
                    None,
                    lead.get("channel", "web"),
                    lead.get("campaign", "spring"),
                    lead.get("region", "EMEA"),
                    lead.get("segment", "SMB"),
                    lead.get("owner", "S1"),
                ],
            )
            for n, event in enumerate(events, start=1):
                kind, when = event[0], event[1]
                reason = event[2] if len(event) > 2 else None
                amount = event[3] if len(event) > 3 else None
                owner = event[4] if len(event) > 4 else lead.get("owner", "S1")
                team = "marketing" if owner.startswith("M") else "sales"
                con.execute(
                    "insert into events values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'story')",
                    [f"{lead_id}-{n}", lead_id, None, kind, ts(when), owner, team, reason, amount],
                )
        store.rebuild_journey(con, contract)
    return Path(path)


def copy_store(source: Path, target: Path) -> Path:
    """Copy a store and the team's edits file beside it (data/edits.py) to `target`: a copy of
    the store alone would have no targets and no notes."""
    import shutil

    from data import edits

    shutil.copyfile(source, target)
    if edits.path_for(source).exists():
        shutil.copyfile(edits.path_for(source), edits.path_for(target))
    return Path(target)

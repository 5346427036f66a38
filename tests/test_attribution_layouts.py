"""The attribution layouts (data/attribution_layouts.py) row by row on a hand-made story, and
empty with every column on a store without events.

Story (tests/test_attribution.build_store; event ids are "<lead>-<n>", deal ids "D-<lead>"):
L1 a Marketing lead won as D-L1; L2 starts at SQL twice on one timestamp (L2-1 by Sales, L2-2
by Marketing: the tie goes to the smaller event id) and opens D-L2; L3 has no deal.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb

from data import attribution_layouts, store
from tests.test_attribution import build_store, ts

LEADS = {
    "L1": {
        "events": [
            ("lead", "2025-01-01"),
            ("opportunity", "2025-01-15"),
            ("amount", "2025-01-15", 1000),
            ("won", "2025-02-01", 1000),
        ]
    },
    "L2": {
        "channel": "outbound",
        "events": [("sql", "2025-03-01"), ("sql", "2025-03-01"), ("opportunity", "2025-03-10")],
    },
    "L3": {"events": [("lead", "2025-04-01")]},
}
TOUCHES = [
    ("T1", "L1", "C1", "2025-01-05", "marketing"),
    ("T2", "L2", "C3", "2025-03-12", "sales"),
    ("T3", "L3", "C2", "2025-04-02", "marketing"),
]


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_the_layouts_hold_each_deals_events_leads_first_events_and_touches(tmp_path):
    path = build_store(tmp_path / "s.duckdb", LEADS, TOUCHES)
    with duckdb.connect(str(path)) as con:
        # Of L2's two sql events on one timestamp, the second is Marketing's.
        con.execute("update events set team = 'marketing' where event_id = 'L2-2'")
        store.rebuild_journey(con)
        assert rows(
            con,
            "select deal_id, lead_id, event_type, occurred_at, amount from attribution_deal_events "
            "order by deal_id, occurred_at, event_type",
        ) == [
            ("D-L1", "L1", "amount", ts("2025-01-15"), Decimal("1000.00")),
            ("D-L1", "L1", "opportunity", ts("2025-01-15"), None),
            ("D-L1", "L1", "won", ts("2025-02-01"), Decimal("1000.00")),
            ("D-L2", "L2", "opportunity", ts("2025-03-10"), None),
        ]
        # Each deal: the lead its events name (also its contact lead, converted from it) and
        # no lead; the lead's attributes on its row.
        assert rows(
            con,
            "select deal_id, lead_id, is_contact, lead_start_at, channel from attribution_deal_leads "
            "order by deal_id, lead_id nulls last",
        ) == [
            ("D-L1", "L1", True, ts("2025-01-01"), "web"),
            (
                "D-L1",
                None,
                False,
                None,
                con.execute("select channel from deal_journey_leads where lead_id = 'D-L1'").fetchone()[0],
            ),
            ("D-L2", "L2", True, ts("2025-03-01"), "outbound"),
            (
                "D-L2",
                None,
                False,
                None,
                con.execute("select channel from deal_journey_leads where lead_id = 'D-L2'").fetchone()[0],
            ),
        ]
        # The first event of each type of the row's lead (of the deal without a lead); L2's
        # tie on one timestamp goes to the smaller event id, L2-1, made by Sales.
        assert rows(
            con,
            "select deal_id, lead_id, event_type, occurred_at, event_id, team from attribution_source_events "
            "order by deal_id, lead_id nulls last, occurred_at, event_type",
        ) == [
            ("D-L1", "L1", "lead", ts("2025-01-01"), "L1-1", "marketing"),
            ("D-L1", "L1", "amount", ts("2025-01-15"), "L1-3", "sales"),
            ("D-L1", "L1", "opportunity", ts("2025-01-15"), "L1-2", "sales"),
            ("D-L1", "L1", "won", ts("2025-02-01"), "L1-4", "sales"),
            ("D-L1", None, "amount", ts("2025-01-15"), "L1-3", "sales"),
            ("D-L1", None, "opportunity", ts("2025-01-15"), "L1-2", "sales"),
            ("D-L1", None, "won", ts("2025-02-01"), "L1-4", "sales"),
            ("D-L2", "L2", "sql", ts("2025-03-01"), "L2-1", "sales"),
            ("D-L2", "L2", "opportunity", ts("2025-03-10"), "L2-3", "sales"),
            ("D-L2", None, "opportunity", ts("2025-03-10"), "L2-3", "sales"),
        ]
        # Touches of each deal's people only (L3 has no deal), whenever they were made.
        assert rows(
            con,
            "select opportunity_id, touch_id, lead_id, content_id, touched_at, team "
            "from attribution_deal_touches order by opportunity_id, touch_id",
        ) == [
            ("D-L1", "T1", "L1", "C1", ts("2025-01-05"), "marketing"),
            ("D-L2", "T2", "L2", "C3", ts("2025-03-12"), "sales"),
        ]


def test_a_store_without_events_has_every_layout_empty_with_every_column(tmp_path):
    path = build_store(tmp_path / "s.duckdb", {}, [])
    with duckdb.connect(str(path), read_only=True) as con:
        for table in attribution_layouts.TABLES:
            assert con.execute(f"select count(*) from {table}").fetchone() == (0,)  # noqa: S608
        columns = {
            t: [r[0] for r in con.execute(f"describe {t}").fetchall()]  # noqa: S608
            for t in attribution_layouts.TABLES
        }
    assert columns["attribution_deal_events"] == ["deal_id", "lead_id", "event_type", "occurred_at", "amount"]
    assert columns["attribution_deal_leads"][:4] == ["deal_id", "lead_id", "is_contact", "is_known"]
    assert columns["attribution_source_events"] == [
        "deal_id",
        "lead_id",
        "event_type",
        "occurred_at",
        "event_id",
        "team",
    ]
    assert columns["attribution_deal_touches"] == [
        "opportunity_id",
        "touch_id",
        "lead_id",
        "content_id",
        "campaign",
        "touched_at",
        "team",
    ]

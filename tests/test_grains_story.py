"""Two grains from one store (docs/design.md "Grains"): leads (people, through every stage) and
opportunities (each deal once, through its own stages), against a hand-computed story.

Q1 2025. Three people work on one opportunity D1 (a buying group): only P1 was converted to it,
P2 and P3 are its other contacts. D2 belongs to P4 and is lost. D3 is an opportunity no lead is
known for (Sales-sourced, imported from the opportunity history alone).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from data import store
from queries import contracts, funnel
from queries.filters import Filters

Q1 = dict(start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31), as_of=dt.datetime(2025, 12, 31))


def ts(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("grains") / "store.duckdb"
    events = [
        # (event_id, lead_id, deal_id, type, day, amount)
        ("e1", "P1", None, "lead", "2025-01-05", None),
        ("e2", "P1", None, "mql", "2025-01-07", None),
        ("e3", "P2", None, "lead", "2025-01-10", None),
        ("e4", "P3", None, "lead", "2025-01-12", None),
        ("e5", "P1", "D1", "opportunity", "2025-02-01", None),
        ("e6", "P1", "D1", "won", "2025-03-01", 9000),
        ("e7", "P4", None, "lead", "2025-01-20", None),
        ("e8", "P4", "D2", "opportunity", "2025-02-10", None),
        ("e9", "P4", "D2", "lost", "2025-03-10", None),
        ("e10", None, "D3", "opportunity", "2025-02-15", None),
        ("e11", None, "D3", "won", "2025-03-20", 4000),
    ]
    with store.replacing(path) as con:
        store.create_schema(con)
        con.execute("insert into owners values ('S1', 'Priya Nair', 'sales')")
        for lead in ("P1", "P2", "P3", "P4"):
            con.execute(
                "insert into leads (lead_id, created_at, channel, owner_id) values (?, ?, 'web', 'S1')",
                [lead, ts("2025-01-01")],
            )
        for e in events:
            con.execute(
                "insert into events (event_id, lead_id, deal_id, event_type, occurred_at, owner_id, amount, "
                "currency, source) values (?, ?, ?, ?, ?, 'S1', ?, 'EUR', 'story')",
                [e[0], e[1], e[2], e[3], ts(e[4]), e[5]],
            )
        for lead, role, primary in (
            ("P1", "Champion", True),
            ("P2", "Decision Maker", False),
            ("P3", "User", False),
        ):
            con.execute(
                "insert into opportunity_contacts values ('D1', ?, ?, ?, 'story')", [lead, role, primary]
            )
        store.rebuild_journey(con)
    return path


def counts(df) -> dict:
    return {s: (None if pd.isna(n) else int(n)) for s, n in zip(df["stage"], df["n_reached"], strict=True)}


def test_the_store_counts_both_grains(db):
    assert contracts.current(db).grains == ("lead", "opportunity")


def test_lead_grain_counts_people_through_their_opportunitys_stages(db):
    df = funnel.cohort_funnel(Filters(**Q1), db=db)
    # P1..P4 are leads; P2 and P3 reach D1's stages as its contacts: 3 people on a won deal.
    # SAL and SQL are not recorded in this story: never counted. MQL is filled in for P2..P4,
    # who reached a later stage (implied).
    assert counts(df) == {"lead": 4, "mql": 4, "sal": None, "sql": None, "opportunity": 4, "won": 3}
    # ...but D1's revenue is counted once, on P1 (its own lead).
    assert funnel.revenue_by_currency(funnel.revenue(Filters(**Q1), db=db)) == {"EUR": 9000.0}


def test_opportunity_grain_counts_each_deal_once(db):
    f = Filters(**Q1, grain="opportunity")
    df = funnel.cohort_funnel(f, db=db)
    assert df["stage"].tolist() == ["opportunity", "won"]  # only the opportunity's own stages
    # D1, D2 and D3 (the one with no known lead); D1 and D3 won.
    assert counts(df) == {"opportunity": 3, "won": 2}
    o = funnel.outcomes(f, db=db).iloc[0]
    assert (int(o["n_won"]), int(o["n_lost"])) == (2, 1)
    assert o["win_rate"] == pytest.approx(2 / 3)
    assert funnel.revenue_by_currency(funnel.revenue(f, db=db)) == {"EUR": 13000.0}
    # D1 Feb 1 -> Mar 1 = 28 days; D3 Feb 15 -> Mar 20 = 33 days.
    assert funnel.time_to_win(f, db=db) == {"median": 30.5, "p75": pytest.approx(31.75), "p90": 32.5, "n": 2}

"""Tracked stages, outcomes, the win rate, revenue per currency, no window, and as-of views
against a hand-computed story (docs/design.md "Tracked stages", "Outcomes", "As of").

The story is an export of MQLs with their won and lost deals, the shape a team hands over
when its CRM records no Lead, SAL, SQL or Opportunity dates. The contract is the default one
(window 180 days), so those four stages are not tracked: shown as not recorded, never counted.
The January 2025 cohort starts at each lead's MQL entry (its earliest entry).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from queries import contracts, executor, funnel
from queries.filters import NO_WINDOW, Filters
from tests import stories

STORY = {
    # Won in time, in euros.
    "B1": {"events": [("mql", "2025-01-05"), ("won", "2025-02-10", None, 1000, "S1", "EUR")]},
    # Won in time, in dollars: never added to the euros.
    "B2": {"events": [("mql", "2025-01-10"), ("won", "2025-03-01", None, 2000, "S2", "USD")]},
    # Lost in time: an outcome, not an "other drop".
    "B3": {"events": [("mql", "2025-01-12"), ("lost", "2025-02-01", "price")]},
    # Nothing since the MQL: open (past its window by December).
    "B4": {"events": [("mql", "2025-01-20")]},
    # Won on Sep 1, after its window (Jan 25 + 180 days = Jul 24): not won in time.
    "B5": {"events": [("mql", "2025-01-25"), ("won", "2025-09-01", None, 500, "S1", "EUR")]},
    # Disqualified: another exit, not an outcome.
    "B6": {"events": [("mql", "2025-01-28"), ("disqualified", "2025-02-02", "no_budget")]},
    # Started in February: not in the January cohort.
    "B7": {"events": [("mql", "2025-02-03"), ("lost", "2025-02-20", "price")]},
}
JANUARY = dict(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31))
DECEMBER = dt.datetime(2025, 12, 31)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    # recorded=None: the export records only the stages its events enter (MQL and won).
    return stories.build(tmp_path_factory.mktemp("outcomes") / "story.duckdb", STORY, recorded=None)


def reached(df) -> dict:
    """stage -> n_reached, None for a stage the data does not record."""
    return {s: None if pd.isna(v) else int(v) for s, v in zip(df["stage"], df["n_reached"], strict=True)}


def test_stages_the_data_never_records_are_not_tracked(db):
    c = contracts.current(db)
    assert [s.key for s in c.tracked_stages] == ["mql", "won"]
    assert not c.is_tracked("lead") and not c.is_tracked("sal")
    # Sales' first action (SAL) is not recorded, so the handoff SLA cannot be measured.
    assert not c.sla_measured
    assert c.outcomes_recorded  # won and a lost exit are both in the data


def test_untracked_stages_are_never_counted_or_filled_in(db):
    df = funnel.cohort_funnel(Filters(**JANUARY, as_of=DECEMBER), db=db)
    assert df["tracked"].tolist() == [False, True, False, False, False, True]
    # Untracked stages: no count at all (not 6 filled in by the implied skip policy).
    assert reached(df) == {"lead": None, "mql": 6, "sal": None, "sql": None, "opportunity": None, "won": 2}
    by = df.set_index("stage")
    assert by.loc["lead", "step_rate"] != by.loc["lead", "step_rate"]  # NaN
    # The rates run from the first tracked stage: MQL -> won = 2 / 6.
    assert by.loc["won", "step_rate"] == pytest.approx(2 / 6)
    assert by.loc["won", "overall_rate"] == pytest.approx(2 / 6)
    assert by.loc["mql", "overall_rate"] == 1.0
    # Dropped at MQL: B3 (lost), B4 and B5 (windows over, no win in time), B6 (disqualified).
    assert (int(by.loc["mql", "n_dropped"]), int(by.loc["mql", "n_in_progress"])) == (4, 0)
    assert int(by.loc["mql", "n_skipped"]) == 0


def test_outcomes_and_win_rate(db):
    o = funnel.outcomes(Filters(**JANUARY, as_of=DECEMBER), db=db)
    assert o.attrs["is_recorded"]
    row = o.iloc[0]
    counts = {
        k: int(row[k]) for k in ("n_cohort", "n_won", "n_lost", "n_after_window", "n_other_exit", "n_open")
    }
    assert counts == {
        "n_cohort": 6,
        "n_won": 2,  # B1, B2
        "n_lost": 1,  # B3
        "n_after_window": 1,  # B5 won after its window
        "n_other_exit": 1,  # B6 disqualified
        "n_open": 1,  # B4
    }
    assert int(row["n_open_past_window"]) == 1
    # Win rate = won / (won + lost) = 2 / 3; open and disqualified leads are not outcomes.
    assert row["n_decided"] == 3 and row["win_rate"] == pytest.approx(2 / 3)
    # 95% Wilson interval for 2 of 3, worked by hand: centre (2/3 + 1.92/3) / 2.28, ...
    assert row["win_low"] == pytest.approx(0.2077, abs=1e-4)
    assert row["win_high"] == pytest.approx(0.9385, abs=1e-4)
    assert bool(row["is_small"])


def test_revenue_is_kept_per_currency(db):
    money = funnel.revenue_by_currency(funnel.revenue(Filters(**JANUARY, as_of=DECEMBER), db=db))
    # B5's 500 EUR was won after the window: not counted. Dollars and euros never summed.
    assert money == {"USD": 2000.0, "EUR": 1000.0}


def test_no_window_counts_every_outcome_by_the_as_of(db):
    f = Filters(**JANUARY, as_of=DECEMBER, window_days=NO_WINDOW)
    assert reached(funnel.cohort_funnel(f, db=db))["won"] == 3  # B5 counts now
    row = funnel.outcomes(f, db=db).iloc[0]
    assert (int(row["n_won"]), int(row["n_lost"]), int(row["n_after_window"]), int(row["n_open"])) == (
        3,
        1,
        0,
        1,
    )
    assert row["win_rate"] == pytest.approx(3 / 4)
    assert not funnel.cohort_funnel(f, db=db).attrs["is_mature"]  # never final by time alone
    assert funnel.revenue_by_currency(funnel.revenue(f, db=db)) == {"USD": 2000.0, "EUR": 1500.0}


def test_a_past_as_of_counts_only_what_was_known_then(db):
    f = Filters(**JANUARY, as_of=dt.datetime(2025, 3, 15))
    df = funnel.cohort_funnel(f, db=db).set_index("stage")
    # By Mar 15: B1 and B2 won; B3 lost and B6 disqualified (dropped); B4 and B5 in progress.
    assert int(df.loc["won", "n_reached"]) == 2
    assert (int(df.loc["mql", "n_dropped"]), int(df.loc["mql", "n_in_progress"])) == (2, 2)
    row = funnel.outcomes(f, db=db).iloc[0]
    assert (int(row["n_won"]), int(row["n_lost"]), int(row["n_other_exit"]), int(row["n_open"])) == (
        2,
        1,
        1,
        2,
    )


def test_time_to_win(db):
    t = funnel.time_to_win(Filters(**JANUARY, as_of=DECEMBER), db=db)
    # B1: Jan 5 -> Feb 10 = 36 days; B2: Jan 10 -> Mar 1 = 50 days. Median 43, p75 46.5, p90 48.6.
    assert t == {
        "median": pytest.approx(43.0),
        "p75": pytest.approx(46.5),
        "p90": pytest.approx(48.6),
        "n": 2,
    }


RECYCLED = {
    # Recycled on Feb 1, back as an MQL on Apr 1 and won on Apr 20. As of Mar 1 its journey had
    # ended (the recycle was its final exit then); as of the latest event it won.
    "R1": {
        "events": [
            ("lead", "2025-01-03"),
            ("mql", "2025-01-05"),
            ("recycled", "2025-02-01", "not_ready"),
            ("mql", "2025-04-01"),
            ("won", "2025-04-20", None, 100, "S1", "EUR"),
        ]
    },
    # Still an open lead.
    "R2": {"events": [("lead", "2025-01-10")]},
}


def test_final_exit_as_of_a_past_date(tmp_path):
    db = stories.build(tmp_path / "recycled.duckdb", RECYCLED)
    past = funnel.cohort_funnel(Filters(**JANUARY, as_of=dt.datetime(2025, 3, 1)), db=db).set_index("stage")
    # As of Mar 1, R1 had dropped at MQL (recycled, not back yet); R2 in progress at Lead.
    assert (int(past.loc["mql", "n_dropped"]), int(past.loc["mql", "n_in_progress"])) == (1, 0)
    latest = funnel.cohort_funnel(Filters(**JANUARY), db=db).set_index("stage")
    # As of the latest event (Apr 20) R1 won: nothing dropped at MQL.
    assert int(latest.loc["mql", "n_dropped"]) == 0 and int(latest.loc["won", "n_reached"]) == 1
    row = funnel.outcomes(Filters(**JANUARY, as_of=dt.datetime(2025, 3, 1)), db=db).iloc[0]
    assert (int(row["n_other_exit"]), int(row["n_open"])) == (1, 1)


HISTORY = {
    # Forward, back to the first stage, forward again and won: one backward move.
    "H1": {
        "events": [
            ("lead", "2025-01-02"),
            ("mql", "2025-01-05"),
            ("sal", "2025-01-06"),
            ("mql", "2025-01-08"),
            ("sal", "2025-01-10"),
            ("won", "2025-01-20", None, 10, "S1", "EUR"),
        ]
    },
    # Lost, then worked again (re-opened at SQL) and lost again: re-opened, not moved back.
    "H2": {
        "events": [
            ("lead", "2025-01-03"),
            ("sql", "2025-01-05"),
            ("lost", "2025-01-09", "price"),
            ("sql", "2025-01-15"),
            ("lost", "2025-01-25", "price"),
        ]
    },
    # Won, then re-opened at Opportunity (an earlier stage): both re-opened and moved back.
    "H3": {
        "events": [
            ("lead", "2025-01-04"),
            ("opportunity", "2025-01-06"),
            ("won", "2025-01-10", None, 5, "S1", "EUR"),
            ("opportunity", "2025-01-12"),
        ]
    },
}


def test_stage_history_counts_backward_moves_and_reopens(tmp_path):
    db = stories.build(tmp_path / "history.duckdb", HISTORY)
    h = funnel.stage_history(Filters(**JANUARY), db=db)
    # H1: lead, mql, sal, mql(back), sal, won = 6 stage events, 1 backward.
    # H2: lead, sql, sql = 3 (the second sql is a re-entry, not backward).
    # H3: lead, opportunity, won, opportunity(back) = 4, 1 backward.
    assert h == {"n_stage_events": 13, "backward_moves": 2, "moved_back": 2, "reopened": 2}


def test_owner_comes_from_events_when_the_lead_names_none(tmp_path):
    story = {
        "O1": {
            "owner": None,
            "events": [("mql", "2025-01-05", None, None, "S2"), ("won", "2025-01-20", None, 5, "S2")],
        },
        "O2": {"owner": None, "events": [("mql", "2025-01-06", None, None, None)]},
    }
    db = stories.build(tmp_path / "owners.duckdb", story)
    df = funnel.breakdown(Filters(**JANUARY), "owner", db=db)
    rows = df[df["stage"] == "mql"]
    counts = {g: int(n) for g, n in zip(rows["group_value"], rows["n_reached"], strict=True)}
    # O1's record names no owner, its events name S2; O2 has no owner anywhere: no value (None).
    assert counts == {"S2": 1, None: 1}


def test_the_store_keeps_the_contract_it_was_built_under(db):
    with executor.connect(db) as con:
        rows = con.execute("select version, source from contract_versions").fetchall()
        meta = dict(con.execute("select key, value from store_meta").fetchall())
    assert rows == [(1, "build")]
    assert meta["tracked_stages"] == '["mql", "won"]'

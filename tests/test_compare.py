"""Fair comparisons (docs/design.md "Fair comparisons"): the headline's current period against
the one before it, at equal age, with immature and pre-data periods marked and given no noise
verdict. Hand-computed story; window W = 30 days (set in the filters), skip policy implied.

Current period: February 2025 (28 days); the previous period is the 28 days before it, 4 to 31
January. The store's first lead starts on 2 January (P0, in neither period), so the previous
period does not begin before the data.

    current (Feb)              previous (4-31 Jan)
    C1 lead 1 Feb, MQL 5 Feb    P1 lead 5 Jan, MQL 10 Jan  (5 days)
       (4 days)                 P2 lead 6 Jan, MQL 28 Jan  (22 days)
    C2 lead 2 Feb, MQL 25 Feb   P3 lead 7 Jan, MQL 30 Jan  (23 days)
       (23 days)                P4 lead 8 Jan, no MQL
    C3 lead 10 Feb, no MQL
    C4 lead 20 Feb, no MQL
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from queries import cube, funnel
from queries.filters import NO_WINDOW, Filters
from tests import stories

STORY = {
    "P0": {"events": [("lead", "2025-01-02")]},
    "P1": {"events": [("lead", "2025-01-05"), ("mql", "2025-01-10")]},
    "P2": {"events": [("lead", "2025-01-06"), ("mql", "2025-01-28")]},
    "P3": {"events": [("lead", "2025-01-07"), ("mql", "2025-01-30")]},
    "P4": {"events": [("lead", "2025-01-08")]},
    "C1": {"events": [("lead", "2025-02-01"), ("mql", "2025-02-05")]},
    "C2": {"events": [("lead", "2025-02-02"), ("mql", "2025-02-25")]},
    "C3": {"events": [("lead", "2025-02-10")]},
    "C4": {"events": [("lead", "2025-02-20")]},
}
FEBRUARY = dict(start=dt.date(2025, 2, 1), end=dt.date(2025, 2, 28), window_days=30)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("compare") / "compare.duckdb", STORY)


def rows(db, **filters):
    return funnel.compare_periods(Filters(**{**FEBRUARY, **filters}), db=db).set_index("metric")


def test_an_immature_period_is_compared_at_its_own_age(db):
    # As of 15 March, end of day: February ended 14 days and 23:59 before, so every February
    # lead has had 14 whole days: both periods are compared within 14 days of each start.
    df = rows(db, as_of=dt.datetime(2025, 3, 15, 23, 59, 59))
    assert df.attrs["age_days"] == 14
    assert (df.attrs["previous_start"], df.attrs["previous_end"]) == (
        dt.date(2025, 1, 4),
        dt.date(2025, 1, 31),
    )
    mqls = df.loc["mqls"]
    # As it stands February has 2 MQLs (C1, C2: both within the 30-day window by the as-of);
    # within 14 days only C1; January within 14 days only P1 (P2, P3 took 22 and 23 days).
    # Against January's full 3 the change would read -33%: against its 1 at the same age, 0.
    assert (mqls["current"], mqls["current_at_age"], mqls["previous"]) == (2, 1, 1)
    assert (mqls["change"], mqls["change_pct"]) == (0, 0.0)
    # Immature: marked in the metric itself, and no noise verdict.
    assert (mqls["mark"], mqls["is_immature"], mqls["is_significant"]) == ("immature", True, False)
    assert pd_isnan(mqls["p_value"])
    # The handoff rate at 14 days: 1 of 4 leads both times.
    rate = df.loc["mql_rate"]
    assert (rate["current_at_age"], rate["previous"], rate["n_current"], rate["n_previous"]) == (
        0.25,
        0.25,
        4,
        4,
    )
    assert rate["mark"] == "immature" and pd_isnan(rate["p_value"]) and rate["is_small"]
    # How many leads started does not depend on age: February has ended, so it is final.
    leads = df.loc["leads"]
    assert (leads["current"], leads["previous"], leads["change"], leads["mark"]) == (4, 4, 0, "")


def test_a_mature_period_is_compared_over_the_whole_window(db):
    # As of 30 June every window is over: the comparison runs over the full 30 days.
    df = rows(db, as_of=dt.datetime(2025, 6, 30, 23, 59, 59))
    assert df.attrs["age_days"] == 30 and df.attrs["is_mature_current"]
    mqls = df.loc["mqls"]
    assert (mqls["current"], mqls["current_at_age"], mqls["previous"], mqls["change"]) == (2, 2, 3, -1)
    assert mqls["change_pct"] == pytest.approx(-1 / 3)
    assert mqls["mark"] == ""
    rate = df.loc["mql_rate"]
    # 2 of 4 against 3 of 4: a noise test is run (p by hand: pooled 5/8, se sqrt(0.625 * 0.375 *
    # (1/4 + 1/4)) = 0.342327, z = 0.25 / 0.342327 = 0.730297, two-sided p = 0.465209).
    assert (rate["current"], rate["previous"]) == (0.5, 0.75)
    assert rate["p_value"] == pytest.approx(0.465209, abs=1e-5)
    assert not rate["is_significant"]


def test_without_a_window_the_age_caps_the_comparison(db):
    # No window: never mature by time, so always compared at the current period's age (14).
    df = rows(db, window_days=NO_WINDOW, as_of=dt.datetime(2025, 3, 15, 23, 59, 59))
    assert df.attrs["age_days"] == 14
    assert df.loc["mqls", ["current_at_age", "previous", "mark"]].tolist() == [1, 1, "immature"]


def test_a_period_that_has_not_had_a_day_is_too_young_to_compare(db):
    # As of noon on 28 February the period has not even ended: nothing that takes time can be
    # compared; how many leads started so far is still counting, so it is immature too.
    df = rows(db, as_of=dt.datetime(2025, 2, 28, 12))
    assert df.attrs["age_days"] is None
    mqls = df.loc["mqls"]
    assert mqls["mark"] == "too young to compare" and pd_isnan(mqls["change"]) and pd_isnan(mqls["previous"])
    assert df.loc["leads", ["mark", "is_immature"]].tolist() == ["immature", True]


def test_a_previous_period_before_the_first_data_gets_no_change_and_no_verdict(db):
    # January against December 2024: the store's first lead starts on 2 January, so December
    # holds no cohort at all. Marked in the metric, no change, no noise verdict.
    df = funnel.compare_periods(
        Filters(
            start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31), window_days=30, as_of=dt.date(2025, 6, 30)
        ),
        db=db,
    ).set_index("metric")
    assert df.attrs["previous_before_data"] and df.attrs["first_start"] == dt.date(2025, 1, 2)
    for metric in ("leads", "mqls", "mql_rate"):
        row = df.loc[metric]
        assert row["mark"] == "no earlier data"
        assert pd_isnan(row["change"]) and pd_isnan(row["p_value"]) and not row["is_significant"]
    # January as it stands: P0-P4, 5 leads, 3 MQLs.
    assert df.loc["leads", "current"] == 5 and df.loc["mqls", "current"] == 3


def test_a_comparison_across_a_definition_change_says_so(db):
    # The default contract's change log has a change dated 2024-11-01 and one on 2025-06-02:
    # neither falls between 4 January and 28 February; a range over June does.
    df = rows(db, as_of=dt.datetime(2025, 6, 30, 23, 59, 59))
    assert df.attrs["changes"] == []
    june = funnel.compare_periods(Filters(start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 30)), db=db)
    assert [d for d, _ in june.attrs["changes"]] == [dt.date(2025, 6, 2)]


# At the latest date (the as-of is the store's last event, Z1): the figures at equal age are
# summed from the rollups that keep each reach and outcome apart by the age it came at
# (queries/cube.py AGED). Previous period 4-31 January, current February; as of 15 March noon
# February's leads have had 14 whole days, so both are compared within 14 days of each start.
# Q1 is won exactly 14 days after its start (in), Q2 one second later (out).
LATEST = {
    "Q1": {
        "events": [
            ("lead", "2025-01-05T00:00:00"),
            ("mql", "2025-01-06"),
            ("won", "2025-01-19T00:00:00", None, 1000),
        ]
    },
    "Q2": {
        "events": [
            ("lead", "2025-01-06T00:00:00"),
            ("mql", "2025-01-07"),
            ("won", "2025-01-20T00:00:01", None, 700),
        ]
    },
    "Q3": {"events": [("lead", "2025-01-07"), ("lost", "2025-01-10", "no_budget")]},  # lost at 3 days
    "Q4": {"events": [("lead", "2025-01-08"), ("lost", "2025-01-30", "no_budget")]},  # lost at 22 days
    "R1": {"events": [("lead", "2025-02-01"), ("mql", "2025-02-03"), ("won", "2025-02-10", None, 500)]},
    "R2": {"events": [("lead", "2025-02-02"), ("lost", "2025-02-20", "no_budget")]},  # lost at 18 days
    "R3": {"events": [("lead", "2025-02-10"), ("mql", "2025-02-25")]},  # MQL at 15 days
    "Z1": {"events": [("lead", "2025-03-15T12:00:00")]},
}


@pytest.fixture(scope="module")
def latest_db(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("compare_latest") / "latest.duckdb", LATEST)


@pytest.mark.parametrize("window_days", [None, 30], ids=["contract window", "own window"])
def test_at_the_latest_date_the_equal_age_figures_come_from_the_rollups(latest_db, monkeypatch, window_days):
    cube.clear()
    monkeypatch.setattr(cube, "WAIT", True)
    view = Filters(start=dt.date(2025, 2, 1), end=dt.date(2025, 2, 28), window_days=window_days)
    df = funnel.compare_periods(view, db=latest_db).set_index("metric")
    assert df.attrs["age_days"] == 14 and not df.attrs["is_mature_current"]
    # Every figure from one query of each at-age rollup: the current period as it stands (at
    # the contract's window, or at its own 30 days) and both periods at 14 days; nothing from
    # the cohort rollups or the journeys.
    assert cube.ANSWERED["cohort_funnel_at_age"] == 1 and cube.ANSWERED["cohort_outcomes_at_age"] == 1
    assert cube.ANSWERED["cohort_funnel"] == cube.ANSWERED["cohort_outcomes"] == 0
    got = df[["current", "current_at_age", "previous", "n_current", "n_previous"]]
    # By hand. February as it stands: 3 leads, MQLs R1 and R3, won R1 (500), lost R2: 1 of 2.
    # At 14 days: MQL R1 only, won R1, nothing lost yet (R2 at 18 days): 1 of 1.
    # January at 14 days: 4 leads, MQLs Q1 and Q2 (a day each), won Q1 only (Q2 one second
    # past 14 days), 1,000; lost Q3 (3 days; Q4 at 22 days is not yet): won 1 of 2 decided.
    assert got.loc["leads"].tolist() == [3, 3, 4, 3, 4]
    assert got.loc["mqls"].tolist() == [2, 1, 2, 1, 2]
    assert got.loc["won"].tolist() == [1, 1, 1, 1, 1]
    assert got.loc["revenue"].tolist() == [500, 500, 1000, 1, 1]
    assert got.loc["win_rate"].tolist() == [0.5, 1.0, 0.5, 1, 2]
    assert got.loc["mql_rate"].tolist() == [2 / 3, 1 / 3, 0.5, 3, 4]
    assert got.loc["mql_to_won"].tolist() == [0.5, 1.0, 0.5, 1, 2]
    assert got.loc["overall_rate"].tolist() == [1 / 3, 1 / 3, 0.25, 3, 4]
    # The same frame as the queries over the journeys at a window of 14 days.
    with monkeypatch.context() as m:
        m.setattr(cube, "answers", lambda *args: False)
        journeys = funnel.compare_periods(view, db=latest_db).set_index("metric")
    pd.testing.assert_frame_equal(df, journeys, check_exact=True)
    cube.clear()


def pd_isnan(x) -> bool:
    return x != x

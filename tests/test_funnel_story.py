"""The funnel engine against a hand-computed story (docs/design.md "Definitions").

Cohort: leads starting in January 2025. Window W = 30 days, so "reached in time" means on or
before start + 30 days. Unless a test says otherwise, as of 2025-06-30: every January window is
over, so every lead that did not win has dropped somewhere.
"""

from __future__ import annotations

import datetime as dt

import pytest

from queries import executor, funnel
from queries.filters import FilterError, Filters
from tests import stories

STORY = {
    # Ordered progress, all inside the window; won 1,000.
    "A1": {
        "events": [
            ("lead", "2025-01-02"),
            ("mql", "2025-01-05"),
            ("sal", "2025-01-06"),
            ("sql", "2025-01-10"),
            ("opportunity", "2025-01-15"),
            ("won", "2025-01-25", None, 1000),
        ]
    },
    # Sales rejected the MQL: dropped at mql -> sal, by exit.
    "A2": {
        "events": [("lead", "2025-01-03"), ("mql", "2025-01-04"), ("rejected", "2025-01-05", "not_a_fit")]
    },
    # Skipped SAL straight to SQL: reached SAL by skip under implied; strict stops at MQL.
    "A3": {
        "events": [
            ("lead", "2025-01-04"),
            ("mql", "2025-01-06"),
            ("sql", "2025-01-08"),
            ("opportunity", "2025-01-20"),
            ("lost", "2025-01-28", "price"),
        ]
    },
    # Recycled and came back: the second MQL and SAL are re-entries, never second conversions.
    "A4": {
        "events": [
            ("lead", "2025-01-05"),
            ("mql", "2025-01-07"),
            ("sal", "2025-01-08"),
            ("recycled", "2025-01-10", "not_ready"),
            ("mql", "2025-01-20"),
            ("sal", "2025-01-21"),
            ("sql", "2025-01-25"),
        ]
    },
    # Converted to SAL after the date range (Feb 5) but inside its window (Feb 19): counts.
    "A5": {
        "channel": "events",
        "events": [("lead", "2025-01-20"), ("mql", "2025-01-28"), ("sal", "2025-02-05")],
    },
    # SAL on Mar 1 is outside its window (Feb 9): does not count.
    "A6": {
        "channel": "events",
        "events": [("lead", "2025-01-10"), ("mql", "2025-01-12"), ("sal", "2025-03-01")],
    },
    # Sourced by Sales straight to SQL: starts at its earliest entry (Jan 12); lead/mql/sal are skips.
    "A7": {
        "channel": "outbound",
        "events": [("sql", "2025-01-12"), ("opportunity", "2025-01-20"), ("won", "2025-02-01", None, 5000)],
    },
    # MQL and nothing since.
    "A8": {"channel": "events", "events": [("lead", "2025-01-15"), ("mql", "2025-01-16")]},
    # Out of order: MQL dated the day before the lead. Implied counts it; strict does not.
    "A9": {"channel": "events", "events": [("lead", "2025-01-18"), ("mql", "2025-01-17")]},
    # Started in December: not in the January cohort (its MQL is in January's flow).
    "A10": {"events": [("lead", "2024-12-28"), ("mql", "2025-01-05")]},
    # Started in February: not in the January cohort.
    "A11": {"events": [("lead", "2025-02-02"), ("mql", "2025-02-03")]},
    # Disqualified at once: dropped at lead -> mql.
    "A12": {"events": [("lead", "2025-01-22"), ("disqualified", "2025-01-23", "no_budget")]},
    # Opportunity after the range but in the window; lost on Feb 20.
    "A13": {
        "events": [
            ("lead", "2025-01-25"),
            ("mql", "2025-01-26"),
            ("sal", "2025-01-27"),
            ("sql", "2025-01-28"),
            ("opportunity", "2025-02-03"),
            ("lost", "2025-02-20", "lost_to_competitor"),
        ]
    },
    # MQL exactly 30 days after start: on the window's edge, which counts (entry <= start + W).
    "A14": {"events": [("lead", "2025-01-08 00:00:00"), ("mql", "2025-02-07 00:00:00")]},
}

JANUARY = dict(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31), window_days=30)
LATE = dt.datetime(2025, 6, 30, 23, 59, 59)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("story") / "story.duckdb", STORY)


def col(df, name):
    return df[name].tolist()


def test_cohort_implied(db):
    df = funnel.cohort_funnel(Filters(**JANUARY, as_of=LATE, skip_policy="implied"), db=db)
    assert col(df, "stage") == ["lead", "mql", "sal", "sql", "opportunity", "won"]
    # Cohort: A1-A9, A12, A13, A14 = 12 (A10 started in December, A11 in February).
    # mql: all but A12 = 11. sal: A1, A3 (skip), A4, A5 (after range, in window), A7 (skip), A13 = 6;
    # A6's SAL is outside its window. sql: A1, A3, A4, A7, A13. opportunity: A1, A3, A7, A13. won: A1, A7.
    assert col(df, "n_reached") == [12, 11, 6, 5, 4, 2]
    # Skips: A7 into lead, mql and sal; A3 into sal.
    assert col(df, "n_skipped") == [1, 1, 2, 0, 0, 0]
    # Every window is over by June: lead A12; mql A2, A6, A8, A9, A14; sal A5; sql A4 (window);
    # opportunity A3, A13 (lost).
    assert col(df, "n_dropped") == [1, 5, 1, 1, 2, 0]
    assert col(df, "n_in_progress") == [0, 0, 0, 0, 0, 0]
    # Revenue: A1 1,000 + A7 5,000.
    assert df["revenue"].iloc[-1] == 6000
    # Step rates: 11/12, 6/11, 5/6, 4/5, 2/4; overall 2/12.
    assert col(df, "step_rate") == pytest.approx([1.0, 11 / 12, 6 / 11, 5 / 6, 4 / 5, 2 / 4])
    assert df["overall_rate"].iloc[-1] == pytest.approx(2 / 12)
    # Wilson 95% for 2/12, by hand (z^2 = 3.841459): denominator 1 + 3.841459/12 = 1.320122;
    # centre (0.166667 + 3.841459/24) / 1.320122 = 0.326728 / 1.320122 = 0.247498;
    # half-width 1.959964 * sqrt(0.138889/12 + 3.841459/576) / 1.320122
    #   = 1.959964 * sqrt(0.011574 + 0.006669) / 1.320122 = 0.200533.
    assert df["overall_low"].iloc[-1] == pytest.approx(0.046965, abs=1e-5)
    assert df["overall_high"].iloc[-1] == pytest.approx(0.448031, abs=1e-5)
    assert df.attrs["is_mature"] is True  # Jan 31 + 1 day + 30 days = Mar 3 <= Jun 30


def test_cohort_strict(db):
    df = funnel.cohort_funnel(Filters(**JANUARY, as_of=LATE, skip_policy="strict"), db=db)
    # Strict cohort: only leads with a lead entry: 12 - A7 = 11.
    # mql in order and in time: A1, A2, A3, A4, A5, A6, A8, A13, A14 = 9 (A9's MQL precedes its lead).
    # sal: A1, A4, A5, A13 (A3 has no SAL of its own; A6's is late). sql: A1, A4, A13.
    # opportunity: A1, A13. won: A1.
    assert col(df, "n_reached") == [11, 9, 4, 3, 2, 1]
    # Skips are still shown under strict: A3 passed SAL without an event of its own.
    assert col(df, "n_skipped") == [0, 0, 1, 0, 0, 0]
    # lead: A9 (chain broken), A12; mql: A2, A3, A6, A8, A14; sal: A5; sql: A4; opportunity: A13.
    assert col(df, "n_dropped") == [2, 5, 1, 1, 1, 0]


def test_in_progress_is_not_dropped(db):
    # As of Feb 10 (end of day): events after it have not happened yet.
    df = funnel.cohort_funnel(Filters(**JANUARY, as_of=dt.date(2025, 2, 10)), db=db)
    assert col(df, "n_reached") == [12, 11, 6, 5, 4, 2]
    # In progress: A8 (window to Feb 14) and A9 (to Feb 17) at mql; A5 at sal (to Feb 19);
    # A13 at opportunity (lost only on Feb 20, after the as-of date).
    assert col(df, "n_in_progress") == [0, 2, 1, 0, 1, 0]
    # Dropped: A12 (exit); A2 (exit), A6 (window ended Feb 9), A14 (window ended Feb 7) at mql;
    # A4 at sql (window ended Feb 4); A3 at opportunity (lost Jan 28).
    assert col(df, "n_dropped") == [1, 3, 0, 1, 1, 0]
    # Jan 31 + 1 day + 30 days = Mar 3, after Feb 10: the cohort is immature.
    assert df.attrs["is_mature"] is False


def test_reentry_does_not_count_twice(db):
    df = funnel.cohort_funnel(
        Filters(start=dt.date(2025, 1, 5), end=dt.date(2025, 1, 5), window_days=30, as_of=LATE), db=db
    )
    # Only A4 starts on Jan 5: its second MQL and SAL are recycling, not conversions.
    assert col(df, "n_reached") == [1, 1, 1, 1, 0, 0]


def test_flow_view(db):
    df = funnel.flow_funnel(Filters(**JANUARY, as_of=LATE), db=db)
    # First entries dated in January, whoever the lead: lead 11 (all January lead events but
    # A10's and A11's); mql 10 (A1-A6, A8, A9, A10, A13); sal 3 (A1, A4, A13); sql 5 (A1, A3,
    # A4, A7, A13); opportunity 3 (A1, A3, A7); won 1 (A1).
    assert col(df, "n_entries") == [11, 10, 3, 5, 3, 1]
    # A4's second MQL and SAL (Jan 20, 21) are re-entries.
    assert col(df, "n_reentries") == [0, 1, 1, 0, 0, 0]
    assert df["revenue"].iloc[-1] == 1000


def test_stage_times(db):
    df = funnel.stage_times(Filters(**JANUARY, as_of=LATE), db=db)
    lead_mql = df[df["from_stage"] == "lead"].iloc[0]
    # Days from own lead entry to reaching mql in time: A1 3, A2 1, A3 2, A4 2, A5 8, A6 2,
    # A8 1, A13 1, A14 30 (A9 reached mql before its lead: excluded). Sorted
    # [1, 1, 1, 2, 2, 2, 3, 8, 30]: median (position 4) 2; p75 (position 6) 3;
    # p90 (position 7.2) 8 + 0.2 * 22 = 12.4.
    assert lead_mql["n_leads"] == 9
    assert (lead_mql["median_days"], lead_mql["p75_days"], lead_mql["p90_days"]) == pytest.approx(
        (2, 3, 12.4)
    )
    mql_sal = df[df["from_stage"] == "mql"].iloc[0]
    # A1 1, A3 2 (reached sal by skipping to sql on Jan 8), A4 1, A5 8, A13 1: [1, 1, 1, 2, 8]:
    # median 1, p75 (position 3) 2, p90 (position 3.6) 2 + 0.6 * 6 = 5.6.
    assert mql_sal["n_leads"] == 5
    assert (mql_sal["median_days"], mql_sal["p75_days"], mql_sal["p90_days"]) == pytest.approx((1, 2, 5.6))
    total = df[df["is_total"]].iloc[0]
    # Start to won: A1 23 days, A7 20 days: median 21.5, p75 22.25, p90 22.7 (its own median,
    # not a sum of step medians).
    assert total["n_leads"] == 2
    assert (total["median_days"], total["p75_days"], total["p90_days"]) == pytest.approx((21.5, 22.25, 22.7))


def test_trend_by_month_matches_cohort(db):
    df = funnel.trend(
        Filters(start=dt.date(2024, 12, 1), end=dt.date(2025, 1, 31), window_days=30, as_of=LATE),
        grain="month",
        db=db,
    )
    january = df[df["period_start"] == dt.date(2025, 1, 1)]
    assert col(january, "n_reached") == [12, 11, 6, 5, 4, 2]
    december = df[df["period_start"] == dt.date(2024, 12, 1)]
    # A10 alone: lead and mql (Jan 5 is inside its window).
    assert col(december, "n_reached") == [1, 1, 0, 0, 0, 0]
    assert december["is_small"].all() and december["is_mature"].all()


def test_trend_marks_immature_periods(db):
    df = funnel.trend(Filters(**JANUARY, as_of=dt.date(2025, 2, 10)), grain="week", db=db)
    weeks = sorted(set(df["period_start"]))
    # ISO weeks start on Monday: Jan 1 2025 is a Wednesday, in the week of Dec 30.
    assert weeks[0] == dt.date(2024, 12, 30)
    mature = df.groupby("period_start")["is_mature"].first()
    # Week of Dec 30 ends Jan 5; + 1 day + 30 days = Feb 5 <= Feb 10: mature. Week of Jan 6 ends
    # Jan 12 -> Feb 12 > Feb 10: immature, and so are all later weeks.
    assert mature[dt.date(2024, 12, 30)]
    assert not mature[dt.date(2025, 1, 6)]


def test_breakdown_by_channel_flags_small_groups(db):
    df = funnel.breakdown(Filters(**JANUARY, as_of=LATE), by="channel", db=db)
    first = df[df["stage"] == "lead"].set_index("group_value")
    # web: A1-A4, A12-A14 = 7; events: A5, A6, A8, A9 = 4; outbound: A7 = 1. All under 30.
    assert first["n_reached"].to_dict() == {"web": 7, "events": 4, "outbound": 1}
    assert first["is_small"].all()
    won = df[df["stage"] == "won"].set_index("group_value")["n_reached"].to_dict()
    assert won == {"web": 1, "events": 0, "outbound": 1}


def test_channel_filter(db):
    df = funnel.cohort_funnel(Filters(**JANUARY, as_of=LATE, channels=("events",)), db=db)
    # A5, A6, A8, A9: all reach mql (A9 out of order, counted under implied); only A5 reaches sal.
    assert col(df, "n_reached") == [4, 4, 1, 0, 0, 0]


def test_injection_in_a_filter_matches_nothing_and_changes_nothing(db):
    before = db.read_bytes()
    df = funnel.cohort_funnel(Filters(**JANUARY, as_of=LATE, channels=("x' or 1=1 --",)), db=db)
    assert col(df, "n_reached") == [0, 0, 0, 0, 0, 0]
    df = funnel.cohort_funnel(Filters(**JANUARY, as_of=LATE, owners=("'); drop table events; --",)), db=db)
    assert col(df, "n_reached") == [0, 0, 0, 0, 0, 0]
    assert db.read_bytes() == before


def test_attribute_outside_allow_list_is_refused_before_sql(db, monkeypatch):
    def no_sql(*args, **kwargs):
        raise AssertionError("SQL ran")

    monkeypatch.setattr(executor, "run", no_sql)
    with pytest.raises(FilterError, match="cannot group by 'lead_id; drop table events'"):
        funnel.breakdown(Filters(**JANUARY), by="lead_id; drop table events", db=db)
    with pytest.raises(FilterError, match="grain"):
        funnel.trend(Filters(**JANUARY), grain="day; drop", db=db)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            dict(start=dt.date(2025, 2, 1), end=dt.date(2025, 1, 1)),
            "start 2025-02-01 is after end 2025-01-01",
        ),
        (dict(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 2), window_days=-5), "conversion window"),
        (dict(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 2), skip_policy="lenient"), "skip policy"),
        (dict(start="2025-01-01", end=dt.date(2025, 1, 2)), "start: expected a date"),
    ],
)
def test_bad_filters_are_refused_with_a_message(kwargs, message):
    with pytest.raises(FilterError, match=message):
        Filters(**kwargs)


def test_unknown_stage_key_is_named():
    from data import contract

    with pytest.raises(contract.ContractError, match="unknown stage key 'demo'"):
        contract.load().stage("demo")


def test_compare_periods_on_story(db):
    df = funnel.compare_periods(Filters(**JANUARY, as_of=LATE), db=db).set_index("metric")
    # January: 12 leads; the previous 31 days (Dec 1-31) hold A10 alone.
    assert df.loc["leads", "current"] == 12 and df.loc["leads", "previous"] == 1
    assert df.loc["won", "current"] == 2 and df.loc["revenue", "current"] == 6000
    # Rates on one December lead: far too few to call any change.
    assert not df["is_significant"].any()
    assert df.loc["overall_rate", "is_small"]


def _bulk(prefix: str, day: str, n_leads: int, n_mql: int) -> dict:
    return {
        f"{prefix}{i}": {
            "events": [("lead", f"{day} 09:00:00")] + ([("mql", f"{day} 12:00:00")] if i < n_mql else [])
        }
        for i in range(n_leads)
    }


@pytest.mark.parametrize(
    ("mql_before", "mql_now", "significant", "p_value"),
    [
        # 50/100 vs 20/100: pooled 0.35, se = sqrt(0.35 * 0.65 * 0.02) = 0.067454,
        # z = 0.30 / 0.067454 = 4.4475, two-sided p = 8.7e-6: outside the noise.
        (50, 20, True, 8.7e-6),
        # 50/100 vs 45/100: pooled 0.475, se = 0.070622, z = 0.708, p = 0.479: noise.
        (50, 45, False, 0.479),
    ],
)
def test_compare_periods_significance(tmp_path, mql_before, mql_now, significant, p_value):
    # E: the store's first data, early in January, so the previous period lies within the data.
    story = {
        "E": {"events": [("lead", "2025-01-02 09:00:00")]},
        **_bulk("P", "2025-03-10", 100, mql_before),
        **_bulk("C", "2025-03-20", 100, mql_now),
    }
    db = stories.build(tmp_path / "two.duckdb", story)
    f = Filters(start=dt.date(2025, 3, 15), end=dt.date(2025, 3, 24), window_days=30, as_of=LATE)
    row = funnel.compare_periods(f, db=db).set_index("metric").loc["mql_rate"]
    assert (row["current"], row["previous"]) == (mql_now / 100, mql_before / 100)
    assert bool(row["is_significant"]) is significant
    assert row["p_value"] == pytest.approx(p_value, rel=0.02)

"""Content use against hand-computed stories, and the sample's planted story.

Stories are built with tests.test_attribution.build_store (deal ids "D-<lead>", touches as
(touch_id, lead, content, when, team)); content C1 and C2 are made by Marketing, C3 by Sales.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from data import contract as contract_mod
from data import store
from queries import attribution, content, cube, funnel, stats
from queries.filters import FilterError, Filters
from tests.test_attribution import build_store
from ui.state import last_full_quarter

YEAR = Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31), as_of=dt.datetime(2025, 12, 31))


def opportunity(opened: str, close: tuple | None = None) -> list:
    events = [("lead", "2025-01-02"), ("opportunity", opened), ("amount", opened, 1000)]
    if close:
        kind, when = close
        events.append((kind, when, 1000) if kind == "won" else (kind, when))
    return events


# Sales use of Marketing content: only a touch made by Sales, on content Marketing made,
# between the opportunity entry and its close (or as-of while open) counts.
SALES_USE_LEADS = {
    "O1": {"events": opportunity("2025-03-01", ("won", "2025-04-01"))},  # shared: won
    "O2": {"events": opportunity("2025-03-01", ("lost", "2025-04-01"))},  # shared: lost
    "O3": {"events": opportunity("2025-03-01", ("won", "2025-04-01"))},  # Sales' own battlecard
    "O4": {"events": opportunity("2025-03-01", ("lost", "2025-04-01"))},  # Marketing sent it
    "O5": {"events": opportunity("2025-03-01", ("lost", "2025-04-01"))},  # before the opportunity
    "O6": {"events": opportunity("2025-03-01", ("lost", "2025-04-01"))},  # after the close
    "O7": {"events": opportunity("2025-11-01")},  # shared, still open: no win rate
    "O8": {"events": opportunity("2025-03-01", ("won", "2025-04-01"))},  # no touch at all
    "O9": {"events": opportunity("2024-12-01", ("won", "2025-01-15"))},  # opened before the range
}
SALES_USE_TOUCHES = [
    ("T1", "O1", "C1", "2025-03-10", "sales"),
    ("T2", "O2", "C2", "2025-03-10", "sales"),
    ("T3", "O3", "C3", "2025-03-10", "sales"),
    ("T4", "O4", "C1", "2025-03-10", "marketing"),
    ("T5", "O5", "C1", "2025-02-20", "sales"),
    ("T6", "O6", "C1", "2025-04-02", "sales"),
    ("T7", "O7", "C1", "2025-11-05", "sales"),
    ("T9", "O9", "C1", "2024-12-10", "sales"),
]


@pytest.fixture(scope="module")
def sales_use_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sales_use") / "story.duckdb"
    return build_store(path, SALES_USE_LEADS, SALES_USE_TOUCHES)


def test_sales_use_of_marketing_content_with_and_without(sales_use_db):
    row = content.sales_content_use(YEAR, db=sales_use_db).iloc[0]
    # Opened in 2025: O1..O8. Shared: O1, O2, O7 (O3 is Sales' own content, O4 was sent by
    # Marketing, O5 came before the opportunity, O6 after the close).
    assert row["group_value"] == "All opportunities"
    assert (row["n_opportunities"], row["n_shared"]) == (8, 3)
    assert row["share_rate"] == pytest.approx(3 / 8)
    # Win rates over closed deals only (O7 is open): shared 1 won of 2 (O1, O2); without,
    # 2 won of 5 (O3 and O8 won; O4, O5, O6 lost).
    assert (row["n_closed_shared"], row["n_won_shared"]) == (2, 1)
    assert (row["n_closed_not_shared"], row["n_won_not_shared"]) == (5, 2)
    assert row["win_rate_shared"] == pytest.approx(0.5)
    assert row["win_rate_not_shared"] == pytest.approx(0.4)
    assert row["difference"] == pytest.approx(0.1)
    # Pooled test by hand: p = 3/7, se = sqrt(3/7 * 4/7 * (1/2 + 1/5)), z = 0.1 / se.
    se = math.sqrt(3 / 7 * 4 / 7 * (1 / 2 + 1 / 5))
    assert row["p_value"] == pytest.approx(math.erfc(0.1 / se / math.sqrt(2)))
    assert not row["is_significant"]
    assert row["is_small"]  # 2 and 5 closed deals: far under 30
    assert (row["win_low_shared"], row["win_high_shared"]) == pytest.approx(stats.wilson(1, 2))


def test_open_deals_are_counted_and_a_range_inside_its_window_is_immature(sales_use_db):
    df = content.sales_content_use(YEAR, db=sales_use_db)
    row = df.iloc[0]
    # O7 is shared and still open: in neither win rate, counted as open. 2025 ends on the
    # as-of date, so its 180-day window is still open: immature, not final.
    assert (row["n_open_shared"], row["n_open_not_shared"]) == (1, 0)
    assert df.attrs["n_open"] == 1
    assert df.attrs["is_mature"] is False


def test_the_default_look_back_is_twelve_months_whose_window_has_closed(sales_use_db):
    contract = contract_mod.load()
    as_of = dt.datetime(2025, 12, 31)
    lookback = content.mature_range(YEAR, contract, as_of)
    # 2025-12-31 minus the 180-day window = 2025-07-04: opportunities opened from 2024-07-04
    # up to 2025-07-03 (the day before), 12 months. 2025-07-04 + 180 days = the as-of date.
    assert (lookback.start, lookback.end) == (dt.date(2024, 7, 4), dt.date(2025, 7, 3))
    df = content.sales_content_use(lookback, db=sales_use_db)
    row = df.iloc[0]
    # Opened in it: O1..O6, O8 (March 2025) and O9 (December 2024); O7 (November) is not.
    # Shared: O1, O2, O9 (Sales' touch on C1 after its December opportunity): 2 won of 3.
    assert (row["n_opportunities"], row["n_shared"]) == (8, 3)
    assert (row["n_won_shared"], row["n_closed_shared"]) == (2, 3)
    assert df.attrs["is_mature"] is True
    assert df.attrs["n_open"] == 0
    # Leap day: a year before 29 February is 28 February.
    leap = content.mature_range(YEAR, contract, dt.datetime(2024, 8, 27, 12))
    assert (leap.start, leap.end) == (dt.date(2023, 2, 28), dt.date(2024, 2, 28))


def test_sales_use_by_segment_and_bad_grouping(sales_use_db):
    df = content.sales_content_use(YEAR, by="segment", db=sales_use_db)
    assert list(df["group_value"]) == ["SMB"]
    assert int(df["n_opportunities"].iloc[0]) == 8
    with pytest.raises(FilterError, match="cannot group by"):
        content.sales_content_use(YEAR, by="title", db=sales_use_db)


@pytest.fixture(params=["layouts", "kept touch rows"])
def touches_from(request, monkeypatch):
    """The touches counted from the layouts, and from the touch rows kept whole per store
    version (queries/cube.py ROWS): the same hand-computed numbers either way."""
    cube.clear()
    if request.param == "layouts":
        monkeypatch.setattr(cube, "answers", lambda *args: False)
    else:
        monkeypatch.setattr(cube, "WAIT", True)
    yield request.param
    cube.clear()


def test_content_reach_counts_touches_by_team_in_the_range(sales_use_db, touches_from):
    assert YEAR.as_of >= funnel.latest_event_at(sales_use_db)  # what the kept rows answer
    df = content.content_reach(YEAR, db=sales_use_db).set_index("content_id")
    assert cube.ANSWERED["content_reach"] == (touches_from == "kept touch rows")
    # C1 in 2025: Sales T1, T5, T6, T7; Marketing T4 (T9 is in 2024). C2: Sales T2. C3: T3.
    assert tuple(df.loc["C1", ["n_touches_marketing", "n_touches_sales", "n_leads"]]) == (1, 4, 5)
    assert tuple(df.loc["C2", ["n_touches_marketing", "n_touches_sales", "n_leads"]]) == (0, 1, 1)
    assert df.loc["C3", "made_by"] == "sales"
    assert list(df.index) == ["C1", "C2", "C3"]  # most leads reached first


# Content and stage progress at the first stage ("lead", expected 21 days: the landmark is 21
# days after entering). Channel "web", January 2025 unless said otherwise.
ADVANCE_LEADS = {
    "A": {"events": [("lead", "2025-01-02"), ("mql", "2025-02-10")]},  # C1 + C2, advanced later
    "B": {"events": [("lead", "2025-01-03")]},  # C1, never advanced
    "C": {"events": [("lead", "2025-01-04"), ("mql", "2025-02-15")]},  # untouched, advanced
    "D": {"events": [("lead", "2025-01-05")]},  # untouched
    "E": {"events": [("lead", "2025-01-06")]},  # untouched
    # Moved on before its landmark (Jan 28): not in the comparison at all.
    "F": {"events": [("lead", "2025-01-07"), ("mql", "2025-01-10")]},
    # Touched only after its landmark (Jan 29): counts as untouched.
    "G": {"events": [("lead", "2025-01-08")]},
    # Alone in its stratum (events, January): touched, with no untouched lead to compare with.
    "H": {"channel": "events", "events": [("lead", "2025-01-09")]},
    # Entered before the range.
    "I": {"events": [("lead", "2024-12-20"), ("mql", "2025-02-01")]},
}
ADVANCE_TOUCHES = [
    ("TA1", "A", "C1", "2025-01-05", "marketing"),
    ("TA2", "A", "C2", "2025-01-06", "marketing"),
    ("TB1", "B", "C1", "2024-12-30", "marketing"),  # before the lead's first entry: counts
    ("TF1", "F", "C1", "2025-01-08", "marketing"),
    ("TG1", "G", "C1", "2025-02-20", "marketing"),
    ("TH1", "H", "C1", "2025-01-09", "marketing"),
    ("TI1", "I", "C1", "2024-12-21", "marketing"),
]


@pytest.fixture(scope="module")
def advance_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("advance") / "story.duckdb"
    return build_store(path, ADVANCE_LEADS, ADVANCE_TOUCHES)


def test_content_advance_against_comparable_leads(advance_db):
    df = content.content_advance(YEAR, db=advance_db).set_index(["stage", "content_id"])
    assert sorted(df.index) == [("lead", "C1"), ("lead", "C2")]
    c1 = df.loc[("lead", "C1")]
    # Web, January, still in "lead" at the landmark: A, B, C, D, E, G (F moved on first).
    # Touched with C1: A (advanced) and B (not); untouched: C (advanced), D, E, G -> 1 of 4.
    # H (events) is touched but has no untouched lead in its stratum: not matched.
    assert (c1["n_touched"], c1["n_advanced"], c1["n_matched"], c1["n_matched_advanced"]) == (3, 1, 2, 1)
    assert c1["n_comparison"] == 4
    assert c1["advance_rate"] == pytest.approx(0.5)
    assert c1["baseline_rate"] == pytest.approx(0.25)  # 2 touched leads x 1/4 = 0.5 expected
    assert c1["difference"] == pytest.approx(0.25)
    # Baseline variance: 2² x 0.25 x 0.75 / 4 = 0.1875 on the count; /2² on the rate.
    half = stats.Z95 * math.sqrt(0.1875) / 2
    assert c1["baseline_low"] == pytest.approx(0.0)  # 0.25 - 0.42 clipped at 0
    assert c1["baseline_high"] == pytest.approx(0.25 + half)
    var = 0.5 * 0.5 / 2 + 0.1875 / 4
    assert c1["p_value"] == pytest.approx(math.erfc(0.25 / math.sqrt(var) / math.sqrt(2)))
    assert c1["is_small"]
    # 2025 ends on the as-of date: leads of December still have their window: immature.
    assert df.attrs["is_mature"] is False
    # C2: only A touched; untouched B, C, D, E, G: 1 advanced of 5.
    c2 = df.loc[("lead", "C2")]
    assert (c2["n_matched"], c2["n_matched_advanced"], c2["n_comparison"]) == (1, 1, 5)
    assert c2["baseline_rate"] == pytest.approx(0.2)


# --- the sample's planted story, on a sample big enough to see it


@pytest.fixture(scope="session")
def sample_20k(tmp_path_factory) -> Path:
    """20,000 generated leads (seed 7), built once per session (about 2 s)."""
    return store.build_sample(tmp_path_factory.mktemp("sample20k") / "sample.duckdb", n_leads=20_000)


ALL_TIME = Filters(start=dt.date(2024, 11, 1), end=dt.date(2026, 10, 31))


def test_sample_deals_where_sales_shared_marketing_content_win_more(sample_20k):
    row = content.sales_content_use(ALL_TIME, db=sample_20k).iloc[0]
    # Planted: +14 points of win probability when Sales shares Marketing content (diluted a
    # little because some deals are still open). Hundreds of closed deals on each side.
    assert min(row["n_closed_shared"], row["n_closed_not_shared"]) > 500
    assert row["difference"] > 0.06
    assert row["p_value"] < 1e-4
    assert row["win_low_shared"] > row["win_rate_not_shared"]


def test_sample_default_view_shows_the_planted_effect(sample_20k):
    # The page's default for this section: 12 months of opportunities whose window has closed,
    # before the as-of date (the latest event). Planted: +14 points when Sales shares content.
    contract = contract_mod.load()
    as_of = funnel.latest_event_at(db=sample_20k)
    quarter = Filters(*last_full_quarter(as_of.date()))
    df = content.sales_content_use(content.mature_range(quarter, contract, as_of), db=sample_20k)
    row = df.iloc[0]
    assert df.attrs["is_mature"] is True
    assert min(row["n_closed_shared"], row["n_closed_not_shared"]) > 400
    assert row["difference"] > 0.08
    assert row["p_value"] < 1e-4
    # Almost every deal of the look-back is closed; the last full quarter is not, and says so.
    assert df.attrs["n_open"] < 0.1 * row["n_opportunities"]
    recent = content.sales_content_use(quarter, db=sample_20k)
    assert recent.attrs["is_mature"] is False
    assert recent.attrs["n_open"] > 0.2 * recent["n_opportunities"].iloc[0]


def test_sample_marketing_content_at_the_opportunity_stage_is_associated_with_winning(sample_20k):
    df = content.content_advance(ALL_TIME, db=sample_20k)
    opp = df[df["stage_order"] == len(contract_mod.load().stages) - 1]  # the stage before won
    mkt = opp[opp["made_by"] == "marketing"]
    # Pooled over Marketing's pieces: touched deals win more often than their strata's baseline.
    assert mkt["n_matched_advanced"].sum() / mkt["n_matched"].sum() > (
        (mkt["baseline_rate"] * mkt["n_matched"]).sum() / mkt["n_matched"].sum() + 0.015
    )
    # At the first stage nothing was planted: content touches there show no sizeable lift.
    first = df[df["stage_order"] == 1]
    assert (first["difference"].abs() < 0.05).all()


@pytest.mark.parametrize("basis", ["revenue", "pipeline"])
def test_sample_every_model_reconciles_with_the_deal_total(sample_20k, basis):
    total = attribution.sourcing(ALL_TIME, basis=basis, db=sample_20k).attrs["total_amount"]
    assert total > 0
    for by in ("content", "channel", "touch_team"):
        df = attribution.credits(ALL_TIME, by=by, basis=basis, db=sample_20k)
        for col in attribution.CREDIT_COLUMNS:
            assert df[col].sum() == pytest.approx(total, rel=1e-9), (basis, by, col)


def test_an_empty_range_gives_empty_frames_with_every_column(sales_use_db):
    # Nothing happened in 2020: no rows, but the documented columns are there for the page.
    empty = Filters(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 31), as_of=dt.datetime(2025, 12, 31))
    use = content.sales_content_use(empty, db=sales_use_db)
    assert use.empty and {"win_rate_shared", "p_value", "is_small"} <= set(use.columns)
    advance = content.content_advance(empty, db=sales_use_db)
    assert advance.empty and {"advance_rate", "baseline_rate", "difference"} <= set(advance.columns)
    credits = attribution.credits(empty, db=sales_use_db)
    assert credits.empty and credits.attrs["total_amount"] == 0.0


def test_content_advance_is_mature_once_the_window_has_passed(advance_db):
    # January 2025 + the 180-day window ends 30 July 2025: final as of 31 December.
    january = Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31), as_of=dt.datetime(2025, 12, 31))
    assert content.content_advance(january, db=advance_db).attrs["is_mature"] is True

"""Targets readers and writer on a hand-built story store.

Actuals to date, the look-back deal size and the pacing table are checked against numbers
computed by hand from the story below; the writer must refuse every invalid edit or file and
leave the targets exactly as they were (targets and target_history compared before and after,
in the team's edits file beside the store, data/edits.py).
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from data import contract as contract_mod
from data import edits, store
from data import targets as writer
from queries import plan
from queries import targets as qt
from queries.filters import Filters
from tests import stories

CONTRACT = contract_mod.load()
AS_OF = dt.datetime(2026, 10, 20, 12, 0)  # noon on 20 October 2026
OCT = dt.date(2026, 10, 1)

# October 2026, as of the 20th at noon:
STORY = {
    # Entered lead in September (not counted), MQL 2 Oct, opportunity 6 Oct with 50,000 of
    # pipeline, won 15 Oct for 48,000: one MQL, one opportunity, one deal, 48,000 revenue.
    "L1": {
        "events": [
            ("lead", "2026-09-25 10:00"),
            ("mql", "2026-10-02 10:00"),
            ("sal", "2026-10-03 10:00"),
            ("sql", "2026-10-05 10:00"),
            ("opportunity", "2026-10-06 10:00"),
            ("amount", "2026-10-06 10:15", None, 50_000),
            ("won", "2026-10-15 10:00", None, 48_000),
        ]
    },
    # Lead 1 Oct, MQL 4 Oct, rejected, back as MQL on 10 Oct: the re-entry is recycling, so one
    # lead and one MQL.
    "L2": {
        "events": [
            ("lead", "2026-10-01 09:00"),
            ("mql", "2026-10-04 09:00"),
            ("rejected", "2026-10-05 09:00", "not_a_fit"),
            ("mql", "2026-10-10 09:00"),
        ]
    },
    # Sales-sourced: starts at SQL, opportunity 9 Oct with 20,000 of pipeline, won on the 25th,
    # after the as-of moment: one opportunity, no deal yet.
    "L3": {
        "events": [
            ("sql", "2026-10-08 09:00"),
            ("opportunity", "2026-10-09 09:00"),
            ("amount", "2026-10-09 09:30", None, 20_000),
            ("won", "2026-10-25 09:00", None, 20_000),
        ]
    },
    # A lead on the 21st: after the as-of moment, not counted.
    "L4": {"events": [("lead", "2026-10-21 09:00")]},
    # Opportunity opened in September (its pipeline is September's), won 2 Oct for 31,000.
    "L5": {
        "events": [
            ("sql", "2026-09-20 09:00"),
            ("opportunity", "2026-09-28 09:00"),
            ("amount", "2026-09-28 09:30", None, 30_000),
            ("won", "2026-10-02 09:00", None, 31_000),
        ]
    },
}
CONTENT = [
    ("C1", "Guide", "guide", "marketing", dt.datetime(2026, 10, 3)),
    ("C2", "Webinar", "webinar", "marketing", dt.datetime(2026, 10, 14)),
    ("C3", "Battlecard", "battlecard", "sales", dt.datetime(2026, 10, 5)),  # Sales' own: not counted
    ("C4", "Ebook", "ebook", "marketing", dt.datetime(2026, 10, 28)),  # after as of
    ("C5", "Blog", "blog", "marketing", dt.datetime(2026, 9, 30)),  # September
]
TARGETS = [
    (OCT, "marketing", "content_published", 4.0),
    (OCT, "marketing", "mqls", 6.0),
    (OCT, "sales", "deals_won", 3.0),
    (OCT, "shared", "revenue", 100_000.0),
]


@pytest.fixture
def story_db(tmp_path):
    path = stories.build(tmp_path / "story.duckdb", STORY)
    with store.small_write(path) as con:  # content is analytics data: the store's own
        con.executemany("insert into content values (?, ?, ?, ?, ?)", CONTENT)
    with edits.write(path, (edits.TARGETS,)) as con:  # targets are the team's edits
        for row in TARGETS:
            con.execute(
                "insert into targets values (?, ?, ?, ?, timestamp '2026-09-01 09:00', 'plan')", list(row)
            )
            con.execute(
                "insert into target_history values (?, ?, ?, null, ?, timestamp '2026-09-01 09:00', 'plan')",
                list(row),
            )
    return path


def snapshot(path) -> tuple[list, list]:
    """Every row of targets and target_history (in the edits file), for before/after comparisons."""
    return (
        edits.read(path, "select * from targets order by all"),
        edits.read(path, "select * from target_history order by all"),
    )


# --- readers ----------------------------------------------------------------------------------


def test_actuals_to_date(story_db):
    got = qt.actuals(OCT, AS_OF, db=story_db, contract=CONTRACT).set_index("metric")["actual"].to_dict()
    assert got == {
        "content_published": 2,  # C1, C2 (C3 is Sales', C4 after as of, C5 in September)
        "leads": 1,  # L2 (L1's lead was in September, L4's after as of)
        "mqls": 2,  # L1, L2 (L2's re-entry on the 10th is not a second MQL)
        "opportunities": 2,  # L1, L3 (L5 opened in September)
        "deals_won": 2,  # L1, L5 (L3 wins after as of)
        "revenue": 79_000,  # 48,000 + 31,000
        "pipeline": 70_000,  # 50,000 + 20,000 opened in October
    }


def test_actuals_after_the_month_count_the_whole_month(story_db):
    # As of 1 November, L3's win (25 Oct, 20,000), L4's lead and C4 are in: October only.
    got = qt.actuals(OCT, dt.datetime(2026, 11, 1), db=story_db, contract=CONTRACT)
    got = got.set_index("metric")["actual"].to_dict()
    assert (got["deals_won"], got["revenue"], got["leads"], got["content_published"]) == (3, 99_000, 2, 3)


def test_deal_size_of_the_lookback_cohort(story_db):
    # Everyone started in Sep-Oct 2026; deals won in time by the as-of moment: L1 48,000 and
    # L5 31,000 (L3's win is after it). Mean 39,500; sample sd sqrt(2 x 8,500^2 / 1) = 12,020.8;
    # 95% interval 39,500 +/- 1.96 x 12,020.8 / sqrt(2).
    lookback = Filters(start=dt.date(2026, 9, 1), end=dt.date(2026, 10, 31), as_of=AS_OF)
    d = qt.deal_size(lookback, db=story_db, contract=CONTRACT).iloc[0]
    sd = math.sqrt(2 * 8_500**2)
    assert (d["n_deals"], d["avg_amount"]) == (2, 39_500)
    assert d["sd_amount"] == pytest.approx(sd)
    assert d["high"] - d["avg_amount"] == pytest.approx(1.959964 * sd / math.sqrt(2), rel=1e-5)


def test_lookback_is_a_mature_cohort():
    # As of 31 Oct 2026 with a 180-day window, the cohort ends 180 days earlier, on 4 May 2026,
    # and six months of starts run 5 Nov 2025 - 4 May 2026.
    f = qt.lookback(dt.datetime(2026, 10, 31, 23, 40), 180, 6)
    assert (f.start, f.end) == (dt.date(2025, 11, 5), dt.date(2026, 5, 4))


def test_targets_periods_and_history(story_db):
    t = qt.targets_for(OCT, db=story_db)
    assert list(zip(t["team"], t["metric"], t["value"], strict=True)) == [
        ("marketing", "content_published", 4.0),
        ("marketing", "mqls", 6.0),
        ("sales", "deals_won", 3.0),
        ("shared", "revenue", 100_000.0),
    ]
    assert list(qt.periods(db=story_db)["period"]) == [OCT]
    assert len(qt.history(OCT, db=story_db)) == 4
    assert qt.history(dt.date(2026, 9, 1), db=story_db).empty


def test_stage_roles_come_from_the_contract():
    assert [qt.stage_for_role(r, CONTRACT) for r in ("first", "handoff", "opportunity", "won")] == [
        CONTRACT.stages[0].key,
        CONTRACT.handoff_stage,
        CONTRACT.stages[-2].key,
        CONTRACT.stages[-1].key,
    ]


def test_pacing_table_on_the_story(story_db):
    # 19.5 of October's 31 days gone at noon on the 20th. MQLs: 6 x 19.5/31 = 3.774 expected,
    # 2 actual: behind by 1.774; projected 2 x 31/19.5 = 3.18. Content: 4 x 19.5/31 = 2.516
    # expected, 2 actual (79%): behind. Revenue: 100,000 x 19.5/31 = 62,903 expected, 79,000
    # actual (126%): ahead. Leads have no target: no status.
    targets = qt.targets_for(OCT, db=story_db)
    actual = qt.actuals(OCT, AS_OF, db=story_db, contract=CONTRACT)
    share = plan.elapsed_share(OCT, dt.date(2026, 11, 1), AS_OF)
    assert share == pytest.approx(19.5 / 31)
    t = qt.pacing_table(targets, actual, share, CONTRACT).set_index(["team", "metric"])
    mql = t.loc[("marketing", "mqls")]
    assert (mql["expected"], mql["status"], mql["gap_to_pace"], mql["projected"]) == pytest.approx(
        (6 * 19.5 / 31, plan.BEHIND, 2 - 6 * 19.5 / 31, 2 * 31 / 19.5)
    )
    assert t.loc[("marketing", "content_published"), "status"] == plan.BEHIND
    assert t.loc[("shared", "revenue"), "status"] == plan.AHEAD
    assert t.loc[("shared", "revenue"), "attainment"] == pytest.approx(0.79)
    assert t.loc[("marketing", "leads"), "status"] == plan.NO_TARGET
    # Without a plan there is no revenue value per unit to convert a gap with.
    assert math.isnan(mql["gap_to_pace_revenue"])


def test_pacing_gap_in_revenue_uses_the_plan():
    # A plan that needs 60 MQL entries for 100,000 of revenue values one MQL at 1,666.67; being
    # 10 MQLs behind pace is then 16,666.67 of revenue behind.
    stages = [
        plan.StageInput("lead", "Lead", "marketing", 0.4, 5),
        plan.StageInput("mql", "MQL", "sales", 0.5, 10, entered_share=0.75),
        plan.StageInput("sal", "SAL", "sales", 1.0, 0),
        plan.StageInput("sql", "SQL", "sales", 1.0, 0),
        plan.StageInput("opportunity", "Opportunity", "sales", 0.25, 30),
        plan.StageInput("won", "Won", None),
    ]
    p = plan.reverse_waterfall(100_000, 10_000, stages, OCT, dt.date(2026, 11, 1))
    targets = pd.DataFrame({"team": ["marketing"], "metric": ["mqls"], "value": [310.0]})
    actual = pd.DataFrame({"metric": ["mqls"], "actual": [90.0]})
    t = qt.pacing_table(targets, actual, 10 / 31, CONTRACT, p).set_index(["team", "metric"])
    assert t.loc[("marketing", "mqls"), "gap_to_pace_revenue"] == pytest.approx(-10 * 100_000 / 60)


def test_quota_specs_take_each_quota_from_the_month_it_is_due():
    # October's shared revenue target, with 69 days from MQL to won (9 to the opportunity, 60 on
    # to the win): the MQLs for October's deals must enter 24 Jul - 23 Aug (middle 8 Aug) and
    # the opportunities 2 Aug - 1 Sep (1 Oct - 60, 31 Oct - 60; middle 17 Aug). So August's
    # MQL quota (300) is held against October's need, not October's (430); deals won and
    # revenue close in October itself. Marketing's August quota covers 300 / 400 needed = 75%.
    stages = [
        plan.StageInput("lead", "Lead", "marketing", 0.5, 0),
        plan.StageInput("mql", "MQL", "sales", 0.5, 9, entered_share=1.0),
        plan.StageInput("sal", "SAL", "sales", 1.0, 0),
        plan.StageInput("sql", "SQL", "sales", 1.0, 0),
        plan.StageInput("opportunity", "Opportunity", "sales", 0.5, 60),
        plan.StageInput("won", "Won", None),
    ]
    # 1,000,000 at 10,000 a deal: 100 deals, 200 opportunities, 400 MQLs, 800 leads.
    p = plan.reverse_waterfall(1_000_000, 10_000, stages, OCT, dt.date(2026, 11, 1))
    aug, sep = dt.date(2026, 8, 1), dt.date(2026, 9, 1)
    targets = pd.DataFrame(
        {
            "period": [aug, aug, aug, sep, OCT, OCT, OCT, OCT, OCT],
            "team": [
                "marketing",
                "sales",
                "shared",
                "marketing",
                "marketing",
                "marketing",
                "sales",
                "shared",
                "shared",
            ],
            "metric": [
                "mqls",
                "opportunities",
                "pipeline",
                "mqls",
                "content_published",
                "mqls",
                "deals_won",
                "revenue",
                "pipeline",
            ],
            "value": [300.0, 200.0, 2_000_000.0, 350.0, 2.0, 430.0, 86.0, 1_000_000.0, 9_223_000.0],
        }
    )
    specs = {(s.team, s.metric): s for s in qt.quota_specs(targets, CONTRACT, p)}
    assert ("marketing", "content_published") not in specs
    assert ("shared", "revenue") not in specs
    assert specs[("marketing", "mqls")] == plan.QuotaSpec("marketing", "mqls", plan.STAGE, "mql", 300.0, aug)
    assert specs[("sales", "opportunities")].quota == 200.0  # August's
    assert specs[("shared", "pipeline")] == plan.QuotaSpec(
        "shared", "pipeline", plan.PIPELINE, "opportunity", 2_000_000.0, aug
    )
    assert (specs[("sales", "deals_won")].quota, specs[("sales", "deals_won")].period) == (86.0, OCT)
    assert specs[("marketing", "leads")].quota is None  # not set for August
    checks = qt.checks_table(plan.check_quotas(p, list(specs.values()))).set_index("metric")
    assert checks.loc[
        "mqls", ["quota_period", "target_period", "quota", "needed", "coverage", "verdict"]
    ].tolist() == [
        aug,
        OCT,
        300.0,
        pytest.approx(400.0),
        pytest.approx(0.75),
        plan.SHORT,
    ]


def test_targets_through_reads_earlier_months(story_db):
    # The story store holds October's four targets; reading through September finds none, and
    # through October all four, with their month.
    assert qt.targets_through(dt.date(2026, 9, 1), db=story_db).empty
    got = qt.targets_through(OCT, db=story_db)
    assert sorted(zip(got["team"], got["metric"], got["value"], strict=True)) == sorted(
        (t, m, v) for _p, t, m, v in TARGETS
    )
    assert set(got["period"]) == {OCT}


# --- the writer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "team", "metric", "value", "by", "match"),
    [
        ("2026-10-15", "marketing", "mqls", 400, "Ann", "not the first day of a month"),
        ("October", "marketing", "mqls", 400, "Ann", "not a month"),
        (OCT, "finance", "mqls", 400, "Ann", "team 'finance' is not one of"),
        (OCT, "marketing", "revenue", 400, "Ann", "not a marketing target"),
        (OCT, "marketing", "mqls", -5, "Ann", "must not be negative"),
        (OCT, "marketing", "mqls", 400.5, "Ann", "not a whole number"),
        (OCT, "marketing", "mqls", math.nan, "Ann", "finite number"),
        (OCT, "shared", "revenue", math.inf, "Ann", "finite number"),
        (OCT, "shared", "revenue", "lots", "Ann", "not a number"),
        (OCT, "shared", "revenue", 5e12, "Ann", "looks like a typo"),
        (OCT, "marketing", "mqls", 400, "  ", "say who is setting the target"),
    ],
)
def test_invalid_edits_are_refused_and_nothing_is_written(story_db, period, team, metric, value, by, match):
    before = snapshot(story_db)
    with pytest.raises(writer.TargetError, match=match):
        writer.set_target(period, team, metric, value, by, path=story_db)
    assert snapshot(story_db) == before


def test_valid_edit_updates_the_target_and_keeps_history(story_db):
    at = dt.datetime(2026, 10, 20, 13, 0)
    assert writer.set_target("2026-10", "marketing", "mqls", "580", "Ann Lee", path=story_db, now=at)
    targets, history = snapshot(story_db)
    assert (OCT, "marketing", "mqls", 580.0, at, "Ann Lee") in targets
    assert (OCT, "marketing", "mqls", 6.0, 580.0, at, "Ann Lee") in history
    assert len(history) == 5  # the four first settings plus this change
    # Setting the same value again changes nothing and adds no history line.
    assert not writer.set_target(OCT, "marketing", "mqls", 580, "Ann Lee", path=story_db)
    assert len(snapshot(story_db)[1]) == 5


def test_csv_import_all_rows(story_db):
    at = dt.datetime(2026, 10, 20, 14, 0)
    data = 'metric,team,period,value\nmqls,marketing,2026-11,450\nrevenue,shared,2026-11-01,"2,800,000"\n'
    assert writer.import_csv(data.encode(), "Ops", path=story_db, now=at) == 2
    targets, history = snapshot(story_db)
    nov = dt.date(2026, 11, 1)
    assert (nov, "marketing", "mqls", 450.0, at, "Ops") in targets
    assert (nov, "shared", "revenue", 2_800_000.0, at, "Ops") in targets
    assert (nov, "shared", "revenue", None, 2_800_000.0, at, "Ops") in history


@pytest.mark.parametrize(
    ("data", "match"),
    [
        # One good row and one bad: the whole file is refused, naming the row and column.
        (
            "period,team,metric,value\n2026-11,marketing,mqls,450\n2026-11,marketing,mqls_x,3\n",
            "row 3, column metric",
        ),
        ("period,team,metric,value\n2026-11,marketing,mqls,-3\n", "row 2, column value"),
        ("period,team,metric,value\n2026-11-02,marketing,mqls,3\n", "row 2, column period"),
        (
            "period,team,metric,value\n2026-11,marketing,mqls,3\n2026-11,marketing,mqls,4\n",
            "already on row 2",
        ),
        ("period,team,metric,value\n2026-11,marketing,mqls\n", "row 2: expected 4 cells"),
        ("period,team,value\n2026-11,marketing,3\n", "missing column"),
        ("period,team,metric,value,owner\n2026-11,marketing,mqls,3,x\n", "unexpected column"),
        ("period,team,metric,value\n", "no target rows"),
        ("", "the file is empty"),
    ],
)
def test_invalid_csv_is_refused_and_nothing_is_written(story_db, data, match):
    before = snapshot(story_db)
    with pytest.raises(writer.TargetError, match=match):
        writer.import_csv(data.encode(), "Ops", path=story_db)
    assert snapshot(story_db) == before


def test_csv_that_is_not_text_is_refused(story_db):
    before = snapshot(story_db)
    with pytest.raises(writer.TargetError, match="not UTF-8"):
        writer.import_csv(b"\xff\xfe\x00p\x00e", "Ops", path=story_db)
    assert snapshot(story_db) == before


def test_downloaded_template_imports_back_unchanged(story_db):
    # The page offers the month's targets as a CSV template (spreadsheet-safe, with a BOM):
    # importing it untouched is valid and changes nothing, so no history line is added.
    from ui.tables import safe_csv

    before = snapshot(story_db)
    template = safe_csv(qt.targets_for(OCT, db=story_db)[["period", "team", "metric", "value"]])
    assert writer.import_csv(template, "Ops", path=story_db) == 0
    assert snapshot(story_db) == before

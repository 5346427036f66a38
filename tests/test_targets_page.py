"""The Targets page under AppTest, on small sample stores.

The page must run without an exception, show the planted story (Marketing's MQL quota feeds
only about three quarters of the shared revenue target), recompute the plan when a what-if
slider moves, explain a zero rate instead of failing, reset to the observed values, and refuse
an invalid target edit without writing anything.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from data import edits, store
from tests import stories
from tests.test_targets import snapshot

PAGE = str(store.HERE.parent / "pages" / "targets.py")


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory):
    """The 3,000-lead sample (seed 7). Read only: tests that write use a copy."""
    return store.build_sample(tmp_path_factory.mktemp("targets") / "s3k.duckdb", n_leads=3000)


@pytest.fixture(scope="module")
def story_sample(tmp_path_factory):
    """20,000 leads: enough won deals (about 220 in the look-back) for steady rates."""
    return store.build_sample(tmp_path_factory.mktemp("targets") / "s20k.duckdb", n_leads=20_000)


@pytest.fixture
def app(monkeypatch):
    """app(path): the page as an AppTest with HANDOFF_DB -> path, caches cleared, run once."""
    import streamlit as st

    st.cache_data.clear()

    def make(path) -> AppTest:
        monkeypatch.setenv(store.ENV_DB, str(path))
        at = AppTest.from_file(PAGE, default_timeout=120).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    yield make
    st.cache_data.clear()


def metric(at: AppTest, label: str) -> float:
    """A figure by its label; an amount's label names its currency (" (USD)" on the sample)."""
    (m,) = [m for m in at.metric if m.label in (label, f"{label} (USD)")]
    return float(m.value.replace(",", ""))


def slider(at: AppTest, label_start: str):
    (s,) = [s for s in at.slider if s.label.startswith(label_start)]
    return s


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def test_page_runs_and_shows_the_planted_inconsistency(app, small_sample):
    at = app(small_sample)
    assert not at.error  # a finding is a warning; nothing on the page failed
    # October 2026, the month of the latest event, is chosen by default.
    assert at.selectbox(key="targets-period").value.isoformat() == "2026-10-01"
    warnings = " ".join(texts(at.warning))
    assert "Marketing's quota is inconsistent with the shared revenue target" in warnings
    assert "MQLs passed to Sales quota" in warnings
    # Every table has a download button next to it (pacing, waterfall, quota check, history).
    assert len(at.get("download_button")) >= 4
    assert len(at.get("plotly_chart")) == 2


def test_planted_story_on_a_larger_sample(app, story_sample):
    # With about 220 won deals in the look-back window the rates are steady enough to tell the
    # sample's story exactly. October's revenue needs MQLs that enter about 69 days earlier, so
    # it is held against Marketing's August MQL quota. The generator sets each month's lead and
    # MQL quotas to last year's monthly volume x the season factor of the month they feed, two
    # months on (October 1.15), and the shared revenue target to last year's monthly revenue x
    # the factor (October 1.15) x 1.35. At the real rates August's quota then covers
    # 1.15 / (1.15 x 1.35) = 74% of what October needs.
    at = app(story_sample)
    (marketing,) = [w for w in texts(at.warning) if w.startswith("**Marketing's quota is inconsistent")]
    assert "shared revenue target** of October 2026" in marketing
    mql = re.search(
        r"MQLs passed to Sales quota for August 2026 \(([\d,]+)\) covers (\d+)% of the ([\d,]+) needed",
        marketing,
    )
    assert mql, marketing
    quota, covers, needed = (int(g.replace(",", "")) for g in mql.groups())
    assert 65 <= covers <= 84
    assert covers == round(100 * quota / needed)
    # The gap Marketing's quotas leave is about a quarter of the target (its tightest quota,
    # leads or MQLs: 1 - 0.74 = 26%).
    target = metric(at, "Revenue to plan for")
    assert 0.15 * target <= metric(at, "Gap Marketing's quotas leave") <= 0.36 * target
    # The table says which month's quota is held against which month's target.
    (checks,) = [d.value for d in at.dataframe if "target_period" in d.value.columns]
    row = checks[checks["metric"] == "mqls"].iloc[0]
    assert (row["quota_period"].isoformat(), row["target_period"].isoformat()) == ("2026-08-01", "2026-10-01")
    # Sales' opportunities for October's deals are due in September: the September quota follows
    # the season of the month after it (October 1.15) x 1.4 against October's need x 1.35, so it
    # covers about 1.4 / 1.35 = 104%: consistent, like deals won and revenue, which close in
    # October and match the target. Only Marketing's quota is out of line with the target.
    opp = checks[checks["metric"] == "opportunities"].iloc[0]
    assert opp["quota_period"].isoformat() == "2026-09-01"
    assert 95 <= opp["coverage"] <= 115 and opp["verdict"] != "short"  # shown in percent
    won = checks[checks["metric"] == "deals_won"].iloc[0]
    assert won["verdict"] == "consistent"
    revenue = checks[(checks["team"] == "Sales") & (checks["metric"] == "revenue")].iloc[0]
    assert revenue["quota_period"] == revenue["target_period"]  # revenue closes in the month itself


def test_pacing_says_it_is_the_whole_company(app, small_sample):
    # Actuals and targets are company-wide whatever the sidebar holds: the caption under the
    # pacing numbers says whose numbers they are, and the sidebar (drawing only the as-of date
    # here) says once that its other filters do not apply.
    from ui import filters as ui_filters

    at = app(small_sample)
    (pacing,) = [c for c in texts(at.caption) if "of the month has passed" in c]
    assert pacing.startswith("Whole company")
    uses, note = ui_filters.page_filters("pages/targets.py")
    assert uses == ("as_of",) and "only the as-of date applies here" in note


def test_sliders_change_the_plan_and_reset_restores_it(app, small_sample):
    at = app(small_sample)
    target = metric(at, "Revenue to plan for")
    deal = slider(at, "Average deal size")
    observed = deal.value
    # Deals needed = target / deal size, read back from the page as whole deals (rounded up).
    assert metric(at, "Deals needed (expected)") == math.ceil(target / observed)
    before_mqls = metric(at, "Marketing qualified entries needed (expected)")

    # Double the deal size: half the deals, half the MQLs.
    deal.set_value(2 * observed).run()
    assert not at.exception
    assert metric(at, "Deals needed (expected)") == math.ceil(target / (2 * observed))
    assert metric(at, "Marketing qualified entries needed (expected)") == pytest.approx(
        before_mqls / 2, abs=1
    )

    # Halve the MQL -> SAL step rate: twice the MQLs (the rest of the funnel is unchanged).
    rate = slider(at, "Marketing qualified → Sales accepted, step rate")
    rate.set_value(rate.value / 2).run()
    assert metric(at, "Marketing qualified entries needed (expected)") == pytest.approx(before_mqls, rel=0.01)

    # Reset to observed: back to the first plan.
    at.button(key="wf-reset").click().run()
    assert slider(at, "Average deal size").value == observed
    assert metric(at, "Marketing qualified entries needed (expected)") == before_mqls


def test_zero_rate_gives_a_clear_message(app, small_sample):
    at = app(small_sample)
    slider(at, "Opportunity → Closed won, step rate").set_value(0.0).run()
    assert not at.exception
    message = " ".join(texts(at.warning))
    assert "The step rate from Opportunity to Closed won is 0%" in message
    assert "Deals needed (expected)" not in [m.label for m in at.metric]  # no plan from a zero rate


def test_month_without_shared_revenue_target_says_so(app, small_sample, tmp_path):
    # Remove October's shared revenue target: pacing still shows, the plan explains what is
    # missing and what to do instead of failing.
    path = stories.copy_store(small_sample, tmp_path / "no-target.duckdb")
    with edits.write(path, (edits.TARGETS,)) as con:
        con.execute(
            "delete from targets where period = date '2026-10-01' and team = 'shared' and metric = 'revenue'"
        )
    at = app(path)
    message = " ".join(texts(at.warning))
    assert "There is no shared revenue target for October 2026: set one under Edit targets" in message
    assert not at.error
    assert "Shared revenue to date (USD)" in [m.label for m in at.metric]  # its currency named


def test_lag_moves_the_due_dates(app, small_sample):
    at = app(small_sample)
    slider(at, "Opportunity → Closed won, median lag").set_value(0.0)
    slider(at, "Sales qualified → Opportunity, median lag").set_value(0.0)
    slider(at, "Sales accepted → Sales qualified, median lag").set_value(0.0)
    slider(at, "Marketing qualified → Sales accepted, median lag").set_value(0.0)
    slider(at, "Lead (inquiry) → Marketing qualified, median lag").set_value(0.0).run()
    # No lag anywhere: every stage is due inside October itself, nothing falls before it.
    assert not any("push these stages' entry windows" in i for i in texts(at.info))
    slider(at, "Opportunity → Closed won, median lag").set_value(60.0).run()
    (info,) = [i for i in texts(at.info) if "push these stages' entry windows" in i]
    assert "Opportunity" in info and "Lead (inquiry)" in info


def test_invalid_edit_is_refused_and_nothing_written(app, small_sample, tmp_path):
    path = stories.copy_store(small_sample, tmp_path / "edit.duckdb")
    at = app(path)
    before = snapshot(path)
    at.selectbox(key="tf-choice").set_value(("marketing", "mqls"))
    at.number_input(key="tf-value").set_value(-5.0)
    at.text_input(key="tf-by").set_value("Ann Lee")
    at.button(key="FormSubmitter:target-form-Save target").click().run()
    assert not at.exception
    (error,) = texts(at.error)
    assert "Not saved" in error and "must not be negative" in error and "Nothing was written" in error
    assert snapshot(path) == before


def test_valid_edit_is_saved_and_shown_in_history(app, small_sample, tmp_path):
    path = stories.copy_store(small_sample, tmp_path / "edit.duckdb")
    at = app(path)
    at.selectbox(key="tf-choice").set_value(("marketing", "mqls"))
    at.number_input(key="tf-value").set_value(999.0)
    at.text_input(key="tf-by").set_value("Ann Lee")
    at.button(key="FormSubmitter:target-form-Save target").click().run()
    assert not at.exception
    assert any("Saved Marketing · MQLs passed to Sales for October 2026" in s for s in texts(at.success))
    got = edits.read(
        path,
        "select new_value, set_by from target_history where period = date '2026-10-01' "
        "and team = 'marketing' and metric = 'mqls' order by set_at desc limit 1",
    )
    assert got == [(999.0, "Ann Lee")]
    # October's MQLs feed later months' deals, not October's: October's revenue target is held
    # against the MQL quota of the month its MQLs are due (August on this sample), so raising
    # October's MQL quota leaves the finding as it was.
    (checks,) = [d.value for d in at.dataframe if "target_period" in d.value.columns]
    due = checks.loc[checks["metric"] == "mqls", "quota_period"].iloc[0]
    assert due < dt.date(2026, 10, 1)
    assert any(
        w.startswith("**Marketing's quota is inconsistent") and "MQLs passed" in w for w in texts(at.warning)
    )
    # Raise the quota of the month the MQLs are due: 999 MQLs is more than the target needs.
    at.selectbox(key="tf-period").set_value(due)
    at.selectbox(key="tf-choice").set_value(("marketing", "mqls"))
    at.number_input(key="tf-value").set_value(999.0)
    at.text_input(key="tf-by").set_value("Ann Lee")
    at.button(key="FormSubmitter:target-form-Save target").click().run()
    assert not at.exception
    assert any(f"Saved Marketing · MQLs passed to Sales for {due:%B %Y}" in s for s in texts(at.success))
    assert not any(
        w.startswith("**Marketing's quota is inconsistent") and "MQLs passed" in w for w in texts(at.warning)
    )


def store_errors():
    """What a write can meet besides an invalid value, and the advice the page must give."""
    from queries import executor

    return [
        (store.StoreLockedError("s.edits.duckdb is being rewritten"), "being rewritten", "try again"),
        (executor.StoreBusyError("busy"), "being rewritten", "try again"),
        (
            store.StoreDamagedError(store.StoreProblem(store.DAMAGED, Path("/srv/s.edits.duckdb"), "x")),
            "cannot be read",
            "restore the copy",
        ),
        (FileNotFoundError("No store at /srv/x.duckdb"), "no data store", "build or import the data"),
        (executor.StoreMissingError("missing"), "no data store", "build or import the data"),
        (
            duckdb.IOException("Could not set lock on file"),
            "database refused the write (IOException)",
            "try again",
        ),
    ]


@pytest.mark.parametrize(("exc", "what", "todo"), store_errors())
def test_store_error_on_save_is_a_message(app, small_sample, tmp_path, monkeypatch, exc, what, todo):
    # A locked, missing or failing store must not raise out of the save button's callback: the
    # page says what happened and what to do, and shows no file path.
    from data import targets as writer

    def failing_write(*args, **kwargs):
        raise exc

    path = stories.copy_store(small_sample, tmp_path / "edit.duckdb")
    at = app(path)
    monkeypatch.setattr(writer, "set_target", failing_write)
    at.selectbox(key="tf-choice").set_value(("marketing", "mqls"))
    at.number_input(key="tf-value").set_value(500.0)
    at.text_input(key="tf-by").set_value("Ann Lee")
    at.button(key="FormSubmitter:target-form-Save target").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = texts(at.error)
    assert error.startswith("Not saved:") and what in error and todo in error
    assert "Nothing was written" in error
    assert "/srv" not in error


def test_store_error_on_import_is_a_message(app, small_sample, tmp_path, monkeypatch):
    from data import targets as writer

    def locked(*args, **kwargs):
        raise store.StoreLockedError("s.duckdb is being rewritten (an import or a sample build)")

    path = stories.copy_store(small_sample, tmp_path / "edit.duckdb")
    at = app(path)
    monkeypatch.setattr(writer, "import_csv", locked)
    at.file_uploader(key="tf-csv").set_value(
        ("t.csv", b"period,team,metric,value\n2026-10,marketing,mqls,500\n", "text/csv")
    )
    at.text_input(key="tf-csv-by").set_value("Ann Lee")
    at.button(key="FormSubmitter:target-import-Import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = texts(at.error)
    assert error.startswith("Not imported:") and "being rewritten" in error and "try again" in error


def column_formats(table) -> dict[str, str]:
    """The display format column_config gives each number column of a rendered table."""
    config = json.loads(table.proto.columns)
    return {
        k: v["type_config"].get("format")
        for k, v in config.items()
        if v.get("type_config", {}).get("type") == "number"
    }


def test_numbers_charts_and_labels_are_readable(app, small_sample):
    at = app(small_sample)
    # Pacing: every count and amount column in one format, with thousands separators (the
    # table used to show "4,575,000" as a target beside "4572988" expected); values are rounded
    # for display, so a fraction of an MQL never shows as 3.774.
    (pacing,) = [d for d in at.dataframe if "gap_to_pace" in d.value.columns]
    number_columns = [
        "target",
        "actual",
        "expected",
        "projected",
        "gap_to_pace",
        "gap_to_pace_revenue",
        "projected_gap",
    ]
    formats = column_formats(pacing)
    assert {formats[c] for c in number_columns} == {"localized"}
    # Shares as percents with one decimal in every row ("50%" beside "116.67%" before).
    assert formats["attainment"] == "%.1f%%"
    mql = pacing.value[pacing.value["metric"] == "mqls"].iloc[0]
    assert mql["attainment"] == pytest.approx(100 * mql["actual"] / mql["target"])
    shown = pacing.value[number_columns].dropna(how="all")
    assert (shown.fillna(0) == shown.fillna(0).round(0)).all().all()
    # The quota check and the waterfall tables too: one format for all their numbers.
    (checks,) = [d for d in at.dataframe if "target_period" in d.value.columns]
    assert {f for c, f in column_formats(checks).items() if c != "coverage"} == {"localized"}
    assert column_formats(checks)["coverage"] == "%.1f%%"
    (wf,) = [d for d in at.dataframe if "n_entries_needed" in d.value.columns]
    assert {f for c, f in column_formats(wf).items() if c not in ("step_rate", "lag_days")} == {"localized"}

    # Sliders: the deal size with thousands separators, rates as percents, lags in days (they
    # showed "34100.00" and "40.10").
    assert slider(at, "Average deal size").proto.format == "localized"
    assert slider(at, "Opportunity → Closed won, step rate").proto.format == "%.1f%%"
    assert slider(at, "Opportunity → Closed won, median lag").proto.format == "%.1f days"

    # The waterfall chart: one small chart per stage, each on a linear axis from zero (a shared
    # log axis had unreadable ticks and shrank the gaps).
    spec = json.loads(at.get("plotly_chart")[1].proto.spec)
    axes = {k: v for k, v in spec["layout"].items() if k.startswith("yaxis")}
    assert len(axes) == len(wf.value) == 6
    assert all(a.get("type", "linear") == "linear" and a["rangemode"] == "tozero" for a in axes.values())
    # Its hover names the team and the quota's month, not a raw key.
    hovers = " ".join(t.get("hovertemplate", "") for t in spec["data"])
    assert "Marketing quota of " in hovers and "marketing quota" not in hovers

    # History: teams and metrics by their names, not the table's keys.
    (hist,) = [d.value for d in at.dataframe if "set_by" in d.value.columns]
    assert "MQLs passed to Sales" in set(hist["metric"]) and "mqls" not in set(hist["metric"])
    assert set(hist["team"]) <= {"Marketing", "Sales", "Shared"}

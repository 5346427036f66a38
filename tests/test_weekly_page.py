"""The Weekly meeting page under AppTest on a small sample store: renders without an exception,
shows the numbers the Markdown export carries, records notes as plain text, shows definition
changes first, and says what to do when the store is missing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from data import store
from queries import weekly
from reports import format as f
from reports import markdown

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "weekly.py")
SCRIPT = "<script>alert(1)</script> **not bold**"


@pytest.fixture(scope="module")
def sample_path(tmp_path_factory) -> Path:
    """A 3,000-lead sample (seed 7): small enough for two shared cores."""
    return store.build_sample(tmp_path_factory.mktemp("weekly_page") / "sample.duckdb", n_leads=3000)


@pytest.fixture
def page(sample_path, monkeypatch):
    """An AppTest of the page with HANDOFF_DB on the sample and a clean result cache."""
    monkeypatch.setenv(store.ENV_DB, str(sample_path))
    st.cache_data.clear()
    yield AppTest.from_file(PAGE, default_timeout=180)
    st.cache_data.clear()


def _md_rows(md: str) -> dict[str, list[str]]:
    """First cell -> cells of every Markdown table row (first occurrence of each label)."""
    rows: dict[str, list[str]] = {}
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows.setdefault(cells[0], cells)
    return rows


def test_page_renders_the_last_complete_week_without_error(page, sample_path):
    at = page.run()
    assert not at.exception
    assert not at.error
    _, latest = weekly.store_span(sample_path)
    default = weekly.default_week(latest)
    assert at.selectbox(key="weekly_week").value == default
    # One metric per stage plus pace.
    assert len(at.metric) == 7
    # Every table shown has its own CSV download right after it, and no download lacks a table:
    # the element sequence pairs them one to one, in page order.
    sequence = [e for e in at.main if e.type in ("dataframe", "download_button")]
    tables = [e for e in sequence if e.type == "dataframe"]
    csv = [e for e in sequence if e.type == "download_button" and "-dl-weekly-" in e.proto.id]
    assert len(csv) == len(tables) == len(at.dataframe)
    pairs = sequence[: 2 * len(tables)]
    for shown, button in zip(pairs[0::2], pairs[1::2], strict=True):
        assert (shown.type, button.type) == ("dataframe", "download_button")
        assert button in csv
    names = [e.proto.id.split("-dl-weekly-")[1].rsplit("-", 2)[0] for e in csv]
    expected = ["headline", "conversion", "movements", "exits", "actions-by-owner", "sla-breaches"]
    assert names == [*expected, "stalled", "notes-before"]
    # The other two downloads are the reports (HTML, Markdown), after every table.
    others = [e.proto.label for e in sequence if e.type == "download_button" and e not in csv]
    assert others == ["Download report (HTML)", "Download report (Markdown)"]
    charts = [e for e in at.main if e.type == "plotly_chart"]
    assert len(charts) == 5


def test_metrics_fit_three_to_a_row_with_short_labels(page):
    at = page.run()
    # Six stage metrics in one row cut their labels and deltas off at 1400 px: three per row.
    with_metric = [c for c in at.columns if any(e.type == "metric" for e in c)]
    assert len(with_metric) == 6
    assert all(c.weight == pytest.approx(1 / 3) for c in with_metric)
    assert all(len([e for e in c if e.type == "metric"]) == 1 for c in with_metric)
    assert max(len(m.label) for m in at.metric) <= 28
    assert all(len(m.delta or "") <= 40 for m in at.metric)


def test_markdown_export_matches_the_page(page, sample_path):
    at = page.run()
    week = at.selectbox(key="weekly_week").value
    report = weekly.week_report(week, db=sample_path)
    md = markdown.render(report, weekly.meeting_notes(week, db=sample_path))
    rows = _md_rows(md)
    metrics = {m.label: m.value for m in at.metric}
    for r in report.headline.itertuples(index=False):
        # The page's metric and the Markdown's "This week" column print the same count.
        assert metrics[r.label] == rows[markdown.text(r.label)][1] == f.count(r.this_week)
    # The page's conversion table is the Markdown's, cell for cell.
    shown = at.dataframe[1].value
    for row in shown.to_dict("records"):
        md_row = rows[markdown.text(row["Step"])]
        assert [md_row[1], md_row[4], md_row[5], md_row[6]] == [
            row["Rate"],
            row["Decided"],
            row["Moved on"],
            row["Window ran out"],
        ]
    # And pace: the page's caption is the Markdown's pace line.
    assert any(c.value in md for c in at.caption if c.value.startswith("Shared revenue target"))
    pace = report.pace.iloc[0]
    # the sample is in one currency, which the label names
    pace_metric = metrics["Won revenue this month (USD)"]
    assert pace_metric == f.money(pace["won_revenue"])


def test_year_boundary_week_and_a_definition_change_week(page):
    at = page.run()
    at.selectbox(key="weekly_week").set_value(weekly.parse_week("2025-W01")).run()
    assert not at.exception
    assert "2025-W01" in at.caption[0].value
    # 2025-W23 starts on Monday 2025-06-02, the day the MQL definition changed.
    at.selectbox(key="weekly_week").set_value(dt.date(2025, 6, 2)).run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("2025-06-02" in w and "in this week" in w for w in warnings)
    assert any("2026-03-02" in w and "since this week" in w for w in warnings)


def test_a_link_opens_the_week_it_names_and_the_url_follows_the_picker(page):
    page.query_params["week"] = "2025-W01"
    at = page.run()
    assert not at.exception
    assert at.selectbox(key="weekly_week").value == dt.date(2024, 12, 30)
    at.selectbox(key="weekly_week").set_value(dt.date(2025, 6, 2)).run()
    assert at.query_params["week"] in ("2025-W23", ["2025-W23"])


@pytest.mark.parametrize("bad", ["2025-W53", "<b>x</b>", "1999-W10"])
def test_a_bad_week_in_the_link_falls_back_with_a_message(page, bad):
    page.query_params["week"] = bad
    at = page.run()
    assert not at.exception
    assert "not an ISO week of this store" in at.warning[0].value
    assert bad not in at.warning[0].value  # the link's text is not echoed
    assert at.selectbox(key="weekly_week").index == 0


def test_notes_are_saved_for_the_week_and_shown_as_plain_text(page, sample_path):
    at = page.run()
    week = at.selectbox(key="weekly_week").value
    at.text_input[0].input("Maya <b>")
    at.text_area[0].input(SCRIPT)
    at.button[0].click().run()
    assert not at.exception
    saved = weekly.meeting_notes(week, db=sample_path)
    assert saved[["author", "note"]].values.tolist()[0] == ["Maya <b>", SCRIPT]
    # Shown through st.text (never markdown or HTML): the script is there as characters.
    texts = [t.value for t in at.text]
    assert any(SCRIPT in t and t.startswith("Maya <b>") for t in texts)
    assert not any("<script>" in m.value for m in at.markdown)
    # The form is cleared for the next note, and says where the note went.
    assert at.text_area[0].value == "" and at.text_input[0].value == ""
    assert at.success[0].value == f"Saved to {weekly.week_label(week)}."


def test_an_empty_note_is_refused_with_a_reason(page, sample_path):
    at = page.run()
    at.text_input[0].input("Maya")
    at.button[0].click().run()
    assert not at.exception
    assert any("note: write something" in e.value for e in at.error)
    assert at.text_input[0].value == "Maya"  # what was typed is kept to fix and resend


def test_a_missing_store_says_how_to_build_one(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENV_DB, str(tmp_path / "missing.duckdb"))
    st.cache_data.clear()
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not at.exception
    assert "No store at" in at.error[0].value and "make sample" in at.error[0].value
    st.cache_data.clear()

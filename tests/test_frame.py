"""The frame (dashboard.py) and its sidebar filters: navigation, first start, the sample note,
friendly store errors, URL parameters in and out, and refusal of anything the store does not
hold. Numbers use the hand-computed story of tests/test_health.py (5 leads in Q1 2025, 3 of
them on the web channel, 2 in EMEA)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from queries import executor
from queries.filters import Filters
from tests import stories
from tests.test_health import STORY
from ui import filters as ui_filters

ROOT = Path(__file__).resolve().parents[1]
PLANNED = [
    "pages/health.py",
    "pages/teams.py",
    "pages/targets.py",
    "pages/weekly.py",
    "pages/pipeline.py",
    "pages/content.py",
    "pages/data_admin.py",
    "pages/definitions.py",
]
Q1_URL = {"start": "2025-01-01", "end": "2025-03-31"}


@pytest.fixture(scope="module")
def story_store(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("frame") / "story.duckdb", STORY)


@pytest.fixture
def story_db(story_store, use_store):
    return use_store(story_store)


def run_frame(page_app, query: dict | None = None):
    at = page_app("dashboard.py")
    at.query_params = query or {}
    at.run()
    assert not at.exception, at.exception
    return at


def leads_shown(at) -> str:
    return next(m.value for m in at.metric if m.label == "Leads")


# ---- Navigation -----------------------------------------------------------------------------


def test_every_planned_page_is_named_in_the_frame_and_every_page_file_is_planned():
    source = (ROOT / "dashboard.py").read_text(encoding="utf-8")
    for page in PLANNED:
        assert f'"{page}"' in source, f"{page} missing from dashboard.py"
    on_disk = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert on_disk <= set(PLANNED), f"pages not in the navigation: {sorted(on_disk - set(PLANNED))}"


def test_frame_opens_on_funnel_health_with_the_sidebar_filters(sample_db, page_app):
    at = run_frame(page_app)
    assert at.title[0].value == "Funnel health"
    assert [m.label for m in at.sidebar.multiselect] == ["Channel", "Region", "Segment", "Owner"]
    assert isinstance(at.session_state["filters"], Filters)
    assert at.session_state["view"] == "cohort"


def test_sample_data_is_announced(sample_db, page_app):
    at = run_frame(page_app)
    assert any("sample data (3,000 generated leads)" in i.value for i in at.info)
    assert any("python -m data.importer" in i.value for i in at.info)


def test_real_data_has_no_sample_note(story_db, page_app):
    at = run_frame(page_app, Q1_URL)
    assert not any("sample data" in i.value for i in at.info)


def test_first_start_builds_the_sample_store(tmp_path, use_store, page_app):
    db = use_store(tmp_path / "new" / "handoff.duckdb")
    at = run_frame(page_app)
    assert db.exists()
    assert any("sample data (50,000 generated leads)" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 3


def test_a_store_from_an_older_version_says_how_to_rebuild(tmp_path, use_store, page_app):
    """A store whose journey tables lack a column the queries read (built before it existed)."""
    db = stories.build(tmp_path / "old.duckdb", STORY)
    con = duckdb.connect(str(db))
    con.execute("alter table journey_stages drop column won_amount")
    con.close()
    use_store(db)
    at = run_frame(page_app, Q1_URL)
    assert any("python -m data.store rebuild" in e.value for e in at.error)


@pytest.mark.parametrize(
    ("error", "shown", "words"),
    [
        (executor.StoreBusyError("locked"), "warning", "being written in place by another program"),
        (executor.StoreMissingError("gone"), "error", "python -m data.store sample"),
    ],
)
def test_store_problems_show_a_message_not_a_traceback(sample_db, page_app, monkeypatch, error, shown, words):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(executor, "run", fail)
    at = run_frame(page_app)
    assert any(words in e.value for e in getattr(at, shown))


# ---- URL parameters -------------------------------------------------------------------------


def test_url_parameters_set_the_filters_and_the_numbers(story_db, page_app):
    at = run_frame(page_app, {**Q1_URL, "channel": "web"})
    assert at.session_state["filters"] == Filters(
        dt.date(2025, 1, 1), dt.date(2025, 3, 31), channels=("web",)
    )
    assert leads_shown(at) == "3"  # C1, C2, C5 (hand count in tests/test_health.py)


def test_repeated_url_keys_select_several_values(story_db, page_app):
    at = run_frame(page_app, {**Q1_URL, "channel": ["web", "events"], "region": "EMEA"})
    f = at.session_state["filters"]
    assert f.channels == ("events", "web") and f.regions == ("EMEA",)
    assert leads_shown(at) == "2"  # C1, C2: the only EMEA leads of Q1


def test_view_from_the_url(story_db, page_app):
    at = run_frame(page_app, {**Q1_URL, "view": "flow"})
    assert at.session_state["view"] == "flow"
    assert any("whoever the leads are" in i.value for i in at.info)


@pytest.mark.parametrize(
    "bad",
    [
        {"channel": "x' or 1=1 --"},
        {"channel": ["web' or '1'='1", "x' or 1=1 --"]},
        {"region": "'; drop table leads; --"},
        {"owner": "S1' or owner_id is not null --"},
        {"segment": "A" * 5000},
        {"view": "flow'; --"},
        {"preset": "all_time"},
        {"start": "2025-13-45", "end": "2025-03-31"},
        {"start": "2025-03-31", "end": "2025-01-01"},  # start after end
        {"start": "1900-01-01", "end": "2999-12-31"},  # outside the store's range
        {"start": "2025-01-01T00:00:00' or 1=1", "end": "2025-03-31"},
        {"unknown": "value"},
    ],
)
def test_malicious_or_unknown_url_parameters_are_ignored(story_db, page_app, bad):
    """Nothing unknown reaches a query: the view falls back to defaults, never an error and
    never more data than the unfiltered default."""
    at = run_frame(page_app, bad)
    f = at.session_state["filters"]
    # Default: the latest full quarter with starts whose window has closed by the latest event
    # (31 Dec 2025; 180 days): Q1 2025 (Q2 and Q3 hold no start, Q4 is not over), unfiltered.
    assert (f.start, f.end) == (dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    assert f.channels == f.regions == f.segments == f.owners == ()
    assert at.session_state["view"] == "cohort"
    assert leads_shown(at) == "5"  # C1..C5 started in Q1 2025


def test_a_valid_value_next_to_a_malicious_one_keeps_only_the_valid_one(story_db, page_app):
    at = run_frame(page_app, {**Q1_URL, "channel": ["web", "x' or 1=1 --"]})
    assert at.session_state["filters"].channels == ("web",)
    assert leads_shown(at) == "3"


def test_the_frame_writes_the_view_back_to_the_url(story_db, page_app):
    at = run_frame(page_app, {**Q1_URL, "channel": ["web", "bogus"], "region": "EMEA"})
    params = at.query_params
    assert params["start"] == "2025-01-01" and params["end"] == "2025-03-31"
    assert params["channel"] == "web" and params["region"] == "EMEA"
    assert params["preset"] == "custom"


# ---- The sidebar widgets (run without the frame: AppTest reruns a navigation app's page alone)


def sidebar_app():
    import streamlit as st

    from ui import filters

    chosen = filters.render()
    st.text(f"{chosen.start}|{chosen.end}|{','.join(chosen.channels)}|{st.session_state['view']}")


def test_changing_a_widget_changes_the_filters_and_the_url(story_db):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(sidebar_app, default_timeout=60).run()
    assert at.text[0].value == "2025-01-01|2025-03-31||cohort"
    assert at.query_params["preset"] == "auto"
    at.sidebar.selectbox(key="f_preset").set_value("ytd").run()
    assert at.text[0].value == "2025-01-01|2025-12-31||cohort"
    assert at.query_params["preset"] == "ytd"
    at.sidebar.multiselect(key="f_channel").set_value(["web"]).run()
    at.sidebar.radio(key="f_view").set_value("flow").run()
    assert at.text[0].value == "2025-01-01|2025-12-31|web|flow"
    assert at.query_params["channel"] == "web" and at.query_params["view"] == "flow"
    # Custom starts from the range on screen, so switching to it changes nothing yet.
    at.sidebar.selectbox(key="f_preset").set_value("custom").run()
    assert at.text[0].value == "2025-01-01|2025-12-31|web|flow"
    at.sidebar.date_input(key="f_range").set_value((dt.date(2025, 1, 1), dt.date(2025, 3, 31))).run()
    assert at.text[0].value == "2025-01-01|2025-03-31|web|flow"


# ---- Presets and URL parsing as plain functions ---------------------------------------------


@pytest.mark.parametrize(
    ("preset", "latest", "expected"),
    [
        ("last_quarter", "2026-10-31", ("2026-07-01", "2026-09-30")),
        ("last_quarter", "2026-09-30", ("2026-07-01", "2026-09-30")),  # the latest day ends Q3
        ("last_quarter", "2026-01-15", ("2025-10-01", "2025-12-31")),  # across a year boundary
        ("last_30", "2026-03-01", ("2026-01-31", "2026-03-01")),
        ("last_90", "2026-03-31", ("2026-01-01", "2026-03-31")),
        ("ytd", "2026-10-31", ("2026-01-01", "2026-10-31")),
        ("last_month", "2026-10-31", ("2026-10-01", "2026-10-31")),  # the latest day ends October
        ("last_month", "2026-03-15", ("2026-02-01", "2026-02-28")),
        ("last_month", "2026-01-10", ("2025-12-01", "2025-12-31")),
    ],
)
def test_presets(preset, latest, expected):
    got = ui_filters.preset_range(preset, dt.date.fromisoformat(latest))
    assert got == tuple(dt.date.fromisoformat(d) for d in expected)


def test_url_dates_that_match_the_preset_keep_the_preset():
    latest, bounds = dt.date(2026, 10, 31), (dt.date(2024, 1, 1), dt.date(2026, 10, 31))
    params = {"preset": ["last_quarter"], "start": ["2026-07-01"], "end": ["2026-09-30"]}
    assert ui_filters.state_from_url(params, {}, latest, bounds) == {"f_preset": "last_quarter"}
    # Newer data since the link was made: the link's own dates win.
    params = {"preset": ["last_quarter"], "start": ["2026-04-01"], "end": ["2026-06-30"]}
    state = ui_filters.state_from_url(params, {}, latest, bounds)
    assert state == {"f_preset": "custom", "f_range": (dt.date(2026, 4, 1), dt.date(2026, 6, 30))}


# ---- Counting rules: window, skip policy and as-of in the sidebar and the URL -----------------------


def test_counting_rules_from_the_url_reach_the_numbers(story_db, page_app):
    at = run_frame(page_app, {**Q1_URL, "window": "none", "skip": "strict", "asof": "2025-06-30"})
    f = at.session_state["filters"]
    assert (f.window_days, f.skip_policy) == (0, "strict")
    assert f.as_of.date() == dt.date(2025, 6, 30)
    # Written back, so the link can be shared as it is.
    assert at.query_params["window"] == "none" and at.query_params["skip"] == "strict"
    assert at.query_params["asof"] == "2025-06-30"
    caption = " ".join(c.value for c in at.caption)
    assert "no conversion window (all time)" in caption and "skip policy strict" in caption
    assert "As of 30 Jun 2025 (end of day" in caption


@pytest.mark.parametrize(
    "bad",
    [{"window": "-5"}, {"window": "seventeen"}, {"window": "99"}, {"skip": "loose"}, {"asof": "2999-01-01"}],
)
def test_bad_counting_rules_in_the_url_are_ignored(story_db, page_app, bad):
    at = run_frame(page_app, {**Q1_URL, **bad})
    f = at.session_state["filters"]
    assert (f.window_days, f.skip_policy, f.as_of) == (None, None, None)  # the contract's, latest


def test_the_sidebar_sets_the_counting_rules_and_the_url(story_db):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(sidebar_app, default_timeout=60).run()
    at.sidebar.selectbox(key="f_window").set_value(90).run()
    assert at.session_state["filters"].window_days == 90 and at.query_params["window"] == "90"
    at.sidebar.radio(key="f_skip").set_value("strict").run()
    assert at.query_params["skip"] == "strict"
    # Choosing the contract's own values again takes them off the link.
    at.sidebar.selectbox(key="f_window").set_value(None).run()
    at.sidebar.radio(key="f_skip").set_value("implied").run()
    assert "window" not in at.query_params and "skip" not in at.query_params

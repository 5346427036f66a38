"""The Funnel health page against a hand-computed story (and a sample store for the rest).

Story: five leads start in Q1 2025 (the range), two in the 90 days before (the previous
period of equal length, 2 Oct – 31 Dec 2024). A lead Z starting in December 2025 makes the
latest event (the as-of date) 31 Dec 2025, so both cohorts' 180-day windows are over: every
number is final and the cohort is mature.

    range (Q1 2025)                          previous period
    C1 web    EMEA  lead → … → won 1,000     P1 web  lead → … → won 500
    C2 web    EMEA  lead, mql, rejected      P2 web  lead only
    C3 events NA    lead → … → won 3,000
    C4 events NA    lead, disqualified
    C5 web    NA    lead, mql

By hand, all leads: leads 5 vs 2 (+150.0%), MQLs 4 vs 1 (+300.0%), won 2 vs 1 (+100.0%),
revenue 4,000 vs 500 (+700.0%), overall conversion 2/5 = 40.0% vs 1/2 = 50.0% (-10.0 pts).
Channel web only: leads 3 vs 2 (+50.0%), MQLs 3 vs 1, won 1 vs 1, revenue 1,000 vs 500,
overall 1/3 = 33.3% vs 50.0% (-16.7 pts).
"""

from __future__ import annotations

import base64
import datetime as dt

import numpy as np
import plotly.graph_objects
import plotly.io
import pytest

from queries.filters import Filters
from tests import stories

FULL = ["lead", "mql", "sal", "sql", "opportunity", "won"]


def path(lead_days: list[str], amount: float | None = None) -> list[tuple]:
    """Events for consecutive stages on the given days; the last one carries `amount` if won."""
    events: list[tuple] = [(stage, day) for stage, day in zip(FULL, lead_days, strict=False)]
    if amount is not None:
        stage, day = events[-1]
        events[-1] = (stage, day, None, amount)
    return events


STORY = {
    "C1": {
        "channel": "web",
        "region": "EMEA",
        "events": path(
            ["2025-01-10", "2025-01-12", "2025-01-13", "2025-01-20", "2025-02-01", "2025-02-20"], 1000
        ),
    },
    "C2": {
        "channel": "web",
        "region": "EMEA",
        "events": [("lead", "2025-01-15"), ("mql", "2025-01-16"), ("rejected", "2025-01-17", "not_a_fit")],
    },
    "C3": {
        "channel": "events",
        "region": "North America",
        "events": path(
            ["2025-02-01", "2025-02-03", "2025-02-04", "2025-02-10", "2025-02-20", "2025-03-10"], 3000
        ),
    },
    "C4": {
        "channel": "events",
        "region": "North America",
        "events": [("lead", "2025-02-10"), ("disqualified", "2025-02-11", "no_budget")],
    },
    "C5": {
        "channel": "web",
        "region": "North America",
        "events": [("lead", "2025-03-01"), ("mql", "2025-03-02")],
    },
    "P1": {
        "channel": "web",
        "region": "EMEA",
        "events": path(
            ["2024-11-01", "2024-11-02", "2024-11-03", "2024-11-10", "2024-11-15", "2024-12-01"], 500
        ),
    },
    "P2": {"channel": "web", "region": "EMEA", "events": [("lead", "2024-11-05")]},
    # The store's first data (15 Sep 2024), before both periods: the previous period of Q1 2025
    # (3 Oct - 31 Dec 2024) lies within the data, so it is compared; Q4 2024's is not.
    "P0": {"channel": "referral", "region": "APAC", "events": [("lead", "2024-09-15")]},
    # Sets the as-of date (latest event) to 31 Dec 2025; starts outside both periods.
    "Z": {"channel": "referral", "region": "APAC", "events": [("lead", "2025-12-01"), ("mql", "2025-12-31")]},
}
Q1 = Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31))


@pytest.fixture(scope="module")
def story_store(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("health") / "story.duckdb", STORY)


@pytest.fixture
def story_db(story_store, use_store):
    return use_store(story_store)


def run_health(page_app, filters: Filters | None = None, view: str | None = None):
    at = page_app("pages/health.py")
    if filters is not None:
        at.session_state["filters"] = filters
    if view is not None:
        at.session_state["view"] = view
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at) -> dict[str, tuple[str, str | None]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def chart_spec(at, index: int = 0) -> plotly.graph_objects.Figure:
    """The figure a plotly_chart element carries."""
    return plotly.io.from_json(at.get("plotly_chart")[index].proto.spec)


def numbers(values) -> list:
    """Plotly sends numeric arrays as {"dtype", "bdata" (base64)}: decode to a list."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_headline_figures_match_the_hand_computation(story_db, page_app):
    at = run_health(page_app, Q1)
    # Labels are the contract's stage labels. No win rate: the story records no lost deal.
    # Time to win: C1 Jan 10 -> Feb 20 = 41 days, C3 Feb 1 -> Mar 10 = 37 days; median 39.
    assert metrics(at) == {
        "Leads": ("5", "+150.0%"),
        "Marketing qualified": ("4", "+300.0%"),
        "Closed won": ("2", "+100.0%"),
        "Revenue": ("4,000", "+700.0%"),
        "Lead (inquiry) → Marketing qualified": ("80.0%", "+30.0 pts"),  # 4/5 vs P1 of P1, P2
        "Lead (inquiry) → Closed won": ("40.0%", "-10.0 pts"),
        "Marketing qualified → Closed won": ("50.0%", "-50.0 pts"),  # 2/4 vs 1/1
        "Median days to Closed won": ("39.0 days", ""),
    }
    captions = [c.value for c in at.caption]
    # 5 vs 2 leads: z = 3/sqrt(7) = 1.13, p = 0.26 -> inside the noise; groups under 30 leads.
    assert "vs 2 in 03 Oct – 31 Dec 2024 · within the noise · small n (<30)" in captions
    # Both cohorts are mature (31 Mar + 180 days is before 31 Dec 2025): no immature warning.
    assert not [w for w in at.warning if "Immature" in w.value]


def test_a_channel_filter_in_session_state_changes_the_numbers(story_db, page_app):
    at = run_health(page_app, Filters(start=Q1.start, end=Q1.end, channels=("web",)))
    assert metrics(at) == {
        "Leads": ("3", "+50.0%"),
        "Marketing qualified": ("3", "+200.0%"),
        "Closed won": ("1", "+0.0%"),
        "Revenue": ("1,000", "+100.0%"),
        "Lead (inquiry) → Marketing qualified": ("100.0%", "+50.0 pts"),
        "Lead (inquiry) → Closed won": ("33.3%", "-16.7 pts"),
        "Marketing qualified → Closed won": ("33.3%", "-66.7 pts"),
        "Median days to Closed won": ("41.0 days", ""),
    }


def test_funnel_chart_draws_the_reached_counts_with_intervals_on_hover(story_db, page_app):
    at = run_health(page_app, Q1)
    spec = chart_spec(at, 0)
    trace = spec.data[0]
    assert trace.type == "funnel"
    # Reached by stage: 5 leads; C1, C2, C3, C5 MQL; C1 and C3 the rest of the way.
    assert numbers(trace.x) == [5, 4, 2, 2, 2, 2]
    assert trace.y[0] == "Lead (inquiry)" and trace.y[-1] == "Closed won"
    # Marketing qualified: 4/5 = 80.0%, Wilson 95% for 4 of 5 is 37.6%–96.4%.
    assert "Step rate: 80.0% (95% CI 37.6%–96.4%)" in trace.hovertext[1]
    assert "immature" not in spec.layout.title.text


def test_breakdown_by_channel_is_one_row_per_channel(story_db, page_app):
    at = run_health(page_app, Q1)
    table = at.dataframe[-1].value
    rows = {r["group"]: r for r in table.to_dict("records")}
    assert set(rows) == {"Web", "Events"}  # channel values read as labels
    assert rows["Web"]["Lead (inquiry)"] == 3 and rows["Web"]["Closed won"] == 1
    assert rows["Events"]["Lead (inquiry)"] == 2 and rows["Events"]["Closed won"] == 1
    assert rows["Events"]["Overall Lead (inquiry) → Closed won"] == "50.0%"  # one percent format
    assert rows["Events"]["Small n (<30 leads)"] == "small n (<30)"
    assert at.get("download_button"), "every table has a download"


def test_breakdown_by_owner_shows_names_not_ids(story_db, page_app):
    at = page_app("pages/health.py")
    at.session_state["filters"] = Q1
    at.run()
    at.selectbox(key="health_breakdown_by").set_value("owner").run()
    assert not at.exception
    groups = set(at.dataframe[-1].value["group"])
    assert groups == {"Priya Nair"}  # every story lead is owned by S1 (tests/stories.py)


def test_flow_view_counts_entries_in_the_range_and_says_so(story_db, page_app):
    at = run_health(page_app, Q1, view="flow")
    # Entries in Q1 2025: 5 leads, 4 MQLs, 2 won; before: 2 leads (P1, P2), 1 MQL, 1 won.
    assert metrics(at) == {
        "Lead (inquiry) entries": ("5", "+150.0%"),
        "Marketing qualified entries": ("4", "+300.0%"),
        "Closed won entries": ("2", "+100.0%"),
        "Revenue won in the range": ("4,000", "+700.0%"),
    }
    assert any("whoever the leads are" in i.value for i in at.info)
    spec = chart_spec(at, 0)
    assert numbers(spec.data[0].x) == [5, 4, 2, 2, 2, 2]
    assert "flow" in spec.layout.title.text


def test_an_immature_cohort_is_marked(story_db, page_app):
    """October–December 2025: window open until June 2026, as of 31 Dec 2025."""
    at = run_health(page_app, Filters(start=dt.date(2025, 10, 1), end=dt.date(2025, 12, 31)))
    assert any("Immature" in w.value for w in at.warning)
    assert "immature" in chart_spec(at, 0).layout.title.text


def test_a_previous_period_before_the_first_data_gets_no_comparison(story_db, page_app):
    # Q4 2024's previous 92 days begin 1 Jul 2024, before the first data (15 Sep 2024): a part
    # of a cohort, so no change and no noise verdict, and the caption says why.
    at = run_health(page_app, Filters(start=dt.date(2024, 10, 1), end=dt.date(2024, 12, 31)))
    # Marked in the metric itself, with no change against it.
    assert metrics(at)[":material/block: Leads"] == ("2", "")
    assert "no comparison: the previous 92 days begin before the store's first data (15 Sep 2024)" in [
        c.value for c in at.caption
    ]


def test_no_leads_in_range_shows_a_message_not_an_error(story_db, page_app):
    at = run_health(page_app, Filters(start=dt.date(2023, 1, 1), end=dt.date(2023, 1, 31)))
    assert any("No leads match" in i.value for i in at.info)


def test_page_runs_on_the_sample_with_default_filters(sample_db, page_app):
    """Opened on its own (no frame): default filters, every section drawn, no exception."""
    at = run_health(page_app)
    assert len(at.get("plotly_chart")) == 3  # funnel, trend, time between stages
    assert [s.value for s in at.subheader] == [
        "Funnel",
        "Monthly cohorts",
        "Conversion trend",
        "Time between stages",
        "Bridge: from leads to opportunities",
        "Breakdown",
        "The leads behind a number",
    ]
    assert all(m.help for m in at.metric), "every figure names its definition"


@pytest.mark.parametrize("by", ["channel", "campaign", "region", "segment", "owner", "team"])
def test_every_breakdown_attribute_renders(sample_db, page_app, by):
    at = page_app("pages/health.py").run()
    at.selectbox(key="health_breakdown_by").set_value(by).run()
    assert not at.exception
    assert len(at.dataframe[-1].value) >= 1


@pytest.mark.parametrize("view", ["cohort", "flow"])
def test_an_empty_store_shows_messages_not_errors(tmp_path, use_store, page_app, view):
    """Schema only, no lead yet (a fresh import target): zeros and explanations."""
    use_store(stories.build(tmp_path / "empty.duckdb", {}))
    at = run_health(page_app, Q1, view=view)
    assert all(m.value in ("0", "—") for m in at.metric)
    assert any("No leads match" in i.value for i in at.info)


# ---- Drill from every count, small-n flags ---------------------------------------------------


def drill_list(at) -> list[str]:
    """The record ids of the drill-down list (the last table on the page)."""
    return sorted(at.dataframe[-1].value["Record id"])


def test_clicking_a_count_lists_exactly_its_leads(story_db, page_app):
    # The funnel table's "Dropped here" at Marketing qualified is 2: C2 (rejected) and
    # C5 (its window ran out by the as-of). Clicking it lists those two, with names and dates,
    # and puts the drill-down in the URL.
    at = page_app("pages/health.py")
    at.session_state["filters"] = Q1
    at.run()
    funnel_table = at.dataframe[0].value
    assert funnel_table["Stage"].tolist()[1] == "Marketing qualified"
    assert int(funnel_table["Dropped here"].iloc[1]) == 2
    at.session_state["health_funnel_table"] = {
        "selection": {"rows": [], "columns": [], "cells": [[1, "Dropped here"]]}
    }
    at.run()
    assert not at.exception
    assert drill_list(at) == ["C2", "C5"]
    assert "**2** leads stopped here, dropped at Marketing qualified" in [c.value for c in at.caption]
    shown = at.dataframe[-1].value.set_index("Record id")
    assert shown.loc["C2", "Name"] == "Contact C2" and shown.loc["C2", "Company"] == "Company C2"
    assert shown.loc["C2", "Exit"] == "Rejected by Sales" and shown.loc["C5", "Exit"] == "—"
    assert at.query_params["drill"] == ["stage:mql", "status:dropped"]


def test_a_breakdown_cell_opens_its_group(story_db, page_app):
    # The breakdown by channel: web reached Marketing qualified 3 times (C1, C2, C5).
    at = page_app("pages/health.py")
    at.session_state["filters"] = Q1
    at.run()
    breakdown = at.dataframe[-1].value
    row = breakdown["group"].tolist().index("Web")
    assert int(breakdown["Marketing qualified"].iloc[row]) == 3
    at.session_state["health_breakdown_channel"] = {
        "selection": {"rows": [], "columns": [], "cells": [[row, "Marketing qualified"]]}
    }
    at.run()
    assert drill_list(at) == ["C1", "C2", "C5"]
    assert at.query_params["drill"] == ["stage:mql", "status:reached", "by:channel", "group:web"]


def test_a_link_opens_the_drill_down_and_a_bad_one_is_ignored(story_db, page_app):
    at = page_app("pages/health.py")
    at.session_state["filters"] = Q1
    at.query_params["drill"] = ["stage:won", "status:reached"]
    at.run()
    assert drill_list(at) == ["C1", "C3"]
    bad = page_app("pages/health.py")
    bad.session_state["filters"] = Q1
    bad.query_params["drill"] = ["stage:won'; drop table leads; --", "status:everything"]
    bad.run()
    assert not bad.exception
    assert "Click a count in a table above, or choose a stage, to list its leads." in [
        c.value for c in bad.caption
    ]


def test_a_small_group_is_flagged_in_the_table_and_in_its_export(story_db, page_app):
    # Five leads: every rate of the funnel rests on fewer than 30, and says so on screen and in
    # the CSV the download button writes.
    from queries import funnel
    from ui import tables

    at = run_health(page_app, Q1)
    flags = at.dataframe[0].value["Small n (<30)"].tolist()
    assert flags == ["small n (<30)"] * 6
    csv = tables.safe_csv(tables.funnel_table(funnel.cohort_funnel(Q1), for_csv=True)).decode("utf-8-sig")
    header, first = csv.splitlines()[:2]
    assert "Small n (<30)" in header and first.split(",")[0] == "lead" and "small n (<30)" in first


def test_an_immature_figure_is_marked_and_gets_no_verdict(story_db, page_app):
    # July–September 2025 is immature on the as-of date (31 Dec 2025 00:00, the latest event):
    # its age-dependent figures carry the mark in their label and no noise verdict, and both
    # periods are counted within its age, 91 whole days since 1 October.
    at = run_health(page_app, Filters(start=dt.date(2025, 7, 1), end=dt.date(2025, 9, 30)))
    labels = list(metrics(at))
    assert ":material/hourglass_top: Marketing qualified" in labels
    assert "Leads" in labels  # the count of starts is final once the period has ended
    captions = [c.value for c in at.caption]
    assert any("both at 91 days since start" in c and "immature: no noise verdict" in c for c in captions)

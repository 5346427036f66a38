"""Funnel health's view (reports/health_view.py) without Streamlit, against a hand-computed story.

Story: four leads start in Q1 2025 (the range, 90 days), two in the 90 days before (3 Oct –
31 Dec 2024). The store's first data is 15 Sep 2024, before both periods; a lead Z makes the
latest event 31 Dec 2025, so every 180-day window is over: every number is final.

    range (Q1 2025)                                 previous period
    A1 web     lead 10 Jan → … → won 20 Feb, 2,000  P1 web  lead 1 Nov → … → won 1 Dec, 500
    A2 web     lead 15 Jan → … → opportunity, lost  P2 web  lead 5 Nov only
    A3 events  lead 1 Feb, mql 3 Feb
    A4 events  lead 10 Feb only
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from queries import contracts
from queries.filters import Filters
from reports import health_view as hv
from reports import summary
from tests import stories

FULL = ["lead", "mql", "sal", "sql", "opportunity"]


def path(days: list[str]) -> list[tuple]:
    return [(stage, day) for stage, day in zip(FULL, days, strict=False)]


STORY = {
    "A1": {
        "channel": "web",
        "events": [
            *path(["2025-01-10", "2025-01-12", "2025-01-13", "2025-01-20", "2025-02-01"]),
            ("won", "2025-02-20", None, 2000),
        ],
    },
    "A2": {
        "channel": "web",
        "events": [
            *path(["2025-01-15", "2025-01-16", "2025-01-17", "2025-01-20", "2025-01-25"]),
            ("lost", "2025-02-10", "price"),
        ],
    },
    "A3": {"channel": "events", "events": [("lead", "2025-02-01"), ("mql", "2025-02-03")]},
    "A4": {"channel": "events", "events": [("lead", "2025-02-10")]},
    "P1": {
        "channel": "web",
        "events": [
            *path(["2024-11-01", "2024-11-02", "2024-11-03", "2024-11-10", "2024-11-15"]),
            ("won", "2024-12-01", None, 500),
        ],
    },
    "P2": {"channel": "web", "events": [("lead", "2024-11-05")]},
    "P0": {"channel": "referral", "events": [("lead", "2024-09-15")]},
    "Z": {"channel": "referral", "events": [("lead", "2025-12-01"), ("mql", "2025-12-31")]},
}
Q1 = Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31))


@pytest.fixture(scope="module")
def story_store(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("health_view") / "story.duckdb", STORY)


@pytest.fixture
def page(story_store, use_store):
    use_store(story_store)
    return hv.view(Q1, contracts.current())


def test_the_view_module_needs_no_streamlit():
    code = "import sys, reports.health_view; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_context_names_the_range_and_the_rates(page):
    ctx = page.context
    assert ctx.range_text == "01 Jan 2025 – 31 Mar 2025"
    assert ctx.scope.startswith("As of 31 Dec 2025 00:00 UTC (latest event in the store) · cohort: leads")
    assert "a 180-day conversion window" in ctx.scope
    assert ctx.default_rate == ("overall", "won")
    assert ctx.rate_choices[("step", "mql")] == "Lead (inquiry) → Marketing qualified (step)"
    assert ctx.spanned == "" and ctx.untracked == ""


def test_headline_figures_and_captions_match_the_hand_computation(page):
    figures = {f.label: (f.value, f.delta) for f in page.headline.figures}
    # Leads 4 vs 2 (+100%), MQLs A1 A2 A3 vs P1 (3 vs 1, +200%), won 1 vs 1, revenue 2,000 vs 500
    # (+300%), win rate won / (won + lost) = 1/2 = 50% vs P1's 1/1 = 100% (-50 pts), time to win
    # A1's 10 Jan -> 20 Feb = 41 days; overall 1/4 = 25% vs 1/2 = 50%; MQL 3/4 = 75% vs 1/2 = 50%;
    # MQL -> won 1/3 = 33.3% vs 1/1 = 100%.
    assert figures == {
        "Leads": ("4", "+100.0%"),
        "Marketing qualified": ("3", "+200.0%"),
        "Closed won": ("1", "+0.0%"),
        "Revenue": ("2,000", "+300.0%"),
        "Win rate": ("50.0%", "-50.0 pts"),
        "Median days to Closed won": ("41.0 days", None),
        "Lead (inquiry) → Marketing qualified": ("75.0%", "+25.0 pts"),
        "Marketing qualified → Closed won": ("33.3%", "-66.7 pts"),
        "Lead (inquiry) → Closed won": ("25.0%", "-25.0 pts"),
    }
    by_key = {f.key: f for f in page.headline.figures}
    # 4 vs 2 leads: z = 2/sqrt(6) = 0.82, p = 0.41: within the noise, on fewer than 30 leads.
    assert by_key["leads"].caption == "vs 2 in 03 Oct – 31 Dec 2024 · within the noise · small n (<30)"
    assert not by_key["leads"].coloured and by_key["leads"].mark == ""
    assert by_key["time_to_win"].caption == "p75 41.0 days · p90 41.0 days · 1 records · small n (<30)"
    # Wilson 95% for 1 of 2: 0.5 ± 1.96·sqrt(0.125 + 0.96/4)/(1 + 1.92) = 9.5%–90.5%; A3 and A4
    # have no outcome: still open. The previous period (from 3 Oct 2024) spans the contract's
    # change of 1 Nov 2024, and the caption says so first.
    assert page.headline.captions == [
        ":material/change_circle: The comparison spans a definition change: 2024-11-01, First shared "
        "contract\\: six stages\\, 180\\-day conversion window\\, 48\\-hour handoff SLA.",
        "Outcomes of this cohort: **1 won**, **1 lost** (win rate 50.0%, 95% CI 9.5%–90.5%, "
        "small n (<30)), 2 still open.",
    ]
    assert page.headline.outcomes.revenue == {"": 2000.0}


def test_trend_times_and_breakdown(page):
    trend = page.trend.table.set_index("Period start")
    # January: A1 and A2 started, A1 won (1/2); February: A3 and A4, none won (0/2).
    jan, feb = trend.loc[dt.date(2025, 1, 1)], trend.loc[dt.date(2025, 2, 1)]
    assert (jan["Leads in the base"], jan["Reached"]) == (2, 1)
    assert (feb["Leads in the base"], feb["Reached"]) == (2, 0)
    assert page.trend.rate_name == "Lead (inquiry) → Closed won (overall)"
    assert page.times.caption == (
        "Median days from Lead (inquiry) to Closed won: **41.0 days** (p75 41.0 days, p90 41.0 days; "
        "1 leads) · small n (<30)"
    )
    split = page.breakdown
    assert split.group_label == "Channel" and split.names == {"web": "Web", "events": "Events"}
    first = split.frame[split.frame["stage"] == "lead"]
    assert dict(zip(first["group_value"], first["n_reached"], strict=True)) == {"web": 2, "events": 2}


def test_the_records_behind_a_count(page):
    won = hv.records(Q1, page.context, "won", "reached", None, "", 500)
    assert list(won.records["lead_id"]) == ["A1"]
    assert won.caption == "**1** leads reached at Closed won"
    web = hv.records(Q1, page.context, "mql", "reached", "channel", "web", 1)
    # A1 and A2 reached Marketing qualified on the web; one listed (the group's text escaped, as
    # CRM text is in our Markdown).
    assert web.caption == (
        "**2** leads reached at Marketing qualified · Channel\\: web; the first 1 are listed, the CSV has "
        "them all"
    )


def test_flow_view(story_store, use_store):
    use_store(story_store)
    flow = hv.view(Q1, contracts.current(), view="flow").flow
    # Entries in Q1: 4 leads, 3 MQLs, 1 won (A1), 2,000 won; before: 2 leads, 1 MQL, 1 won, 500.
    assert [(f.label, f.value, f.delta) for f in flow.figures] == [
        ("Lead (inquiry) entries", "4", "+100.0%"),
        ("Marketing qualified entries", "3", "+200.0%"),
        ("Closed won entries", "1", "+0.0%"),
        ("Revenue won in the range", "2,000", "+300.0%"),
    ]
    assert flow.figures[0].caption == "vs 2 in the previous 90 days · within the noise · small n (<30)"


def test_the_summary_reads_the_same_outcomes(page, story_store):
    out = summary.summary(story_store, Q1)
    row = page.headline.outcomes.row
    assert (out["outcomes"]["won"], out["outcomes"]["lost"]) == (row["n_won"], row["n_lost"]) == (1, 1)
    assert out["outcomes"]["revenue"] == page.headline.outcomes.revenue
    assert out["time_to_win_days"]["median"] == 41.0


def test_the_page_counts_the_stage_times_once(story_store, use_store, monkeypatch):
    """The time to win is read from the stage times the page draws, not counted a second time:
    with each distinct call made once (as the page's cache does), stage_times.sql runs once,
    over the journeys or over the rows kept of them."""
    from queries import executor, funnel

    use_store(story_store)
    ran = []

    def spying(real):
        def spy(name, *args, **kwargs):
            ran.append(name)
            return real(name, *args, **kwargs)

        return spy

    # Over the journeys (run) or over their rows kept whole (run_on_rows, queries/cube.py ROWS).
    monkeypatch.setattr(executor, "run", spying(executor.run))
    monkeypatch.setattr(executor, "run_on_rows", spying(executor.run_on_rows))
    seen = {}

    def once(fn, *args, **kwargs):
        key = (fn.__module__, fn.__name__, repr(args), repr(sorted(kwargs.items())))
        if key not in seen:
            seen[key] = fn(*args, **kwargs)
        return seen[key]

    got = hv.view(Q1, contracts.current(), run=once)
    assert ran.count("stage_times") == 1
    # The same figures as funnel.time_to_win, which counts them itself: A1 won 41 days after
    # its start.
    assert (
        got.headline.outcomes.time_to_win
        == funnel.time_to_win(Q1)
        == {
            "median": 41.0,
            "p75": 41.0,
            "p90": 41.0,
            "n": 1,
        }
    )

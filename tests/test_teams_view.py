"""The Teams page's view (reports/teams_view.py) without Streamlit, against the hand-computed
story of tests/test_teams.py: the labelled values the page lays out, worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from queries.filters import Filters
from reports import teams_view as tv
from tests import stories
from tests.test_teams import JANUARY, LATE, STORY


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("teams-view") / "teams.duckdb", STORY)


@pytest.fixture(scope="module")
def view(db):
    return tv.view(Filters(**JANUARY, as_of=LATE), db=db)


def test_the_cohort_line_and_the_split(view):
    # 15 drops (T9 won). Charged to Marketing: T1, T2, T12, T13 = 4, 4 / 15 = 26.7%; to Sales
    # the other 11, 11 / 15 = 73.3%. Every window is over by June 30: mature.
    c = view.cohort
    assert c.caption == (
        "Cohort: leads that started 01 Jan 2025 – 31 Jan 2025 · as of 30 Jun 2025 23:59 UTC · "
        "a 30-day conversion window · skip policy implied"
    )
    assert c.headline == "Charged to Marketing: 4 (26.7%) · charged to Sales: 11 (73.3%)"
    assert c.drops_caption.startswith("All 15 drops of this view")
    assert c.is_mature and c.as_of == LATE


def test_the_drop_metrics_as_shown(view):
    m = {x.label: x for x in view.drops.metrics}
    # Quality after: T2, T13 = 2, 2 / 15 = 13.3%. Follow-through: T3, T4, T5, T7, T8, T10, T14,
    # T15, T16 = 9, 9 / 15 = 60.0%. Other: T1, T12, T6, T11 = 4, 4 / 15 = 26.7%. Late: T8.
    assert [x.label for x in view.drops.metrics] == [
        "Quality after handoff",
        "Quality before handoff",
        "Follow-through",
        "Other drops",
        "All drops",
        "Rejected after the SLA",
    ]
    assert [x.value for x in view.drops.metrics] == ["2", "0", "9", "4", "15", "1"]
    assert "13.3% of all drops; always charged to Marketing." in m["Quality after handoff"].help
    assert "60.0% of all drops; always charged to Sales." in m["Follow-through"].help
    assert "no action within the 48-hour SLA" in m["Follow-through"].help
    assert "26.7% of all drops; charged to either team." in m["Other drops"].help
    assert (
        'Here they are charged to Sales and counted in its follow-through losses (sla_rule = "breach")'
        in (m["Rejected after the SLA"].help)
    )


def test_tables_keep_codes_and_show_labels(view):
    by_team = view.drops.by_team
    shown = view.drops.by_team_shown
    # The CSV and the clicks keep the keys; the screen reads the teams' names.
    assert by_team["charged_team"].tolist() == ["marketing"] * 3 + ["sales"] * 2
    assert shown["charged_team"].tolist() == ["Marketing"] * 3 + ["Sales"] * 2
    assert shown["n_dropped"].tolist() == [2, 0, 2, 9, 2]
    # The mql -> sal transition: T2 quality (Marketing), T8 late, T4, T10, T15 no action: 1, 1, 3
    # of 5, shares 0.2, 0.2, 0.6; every transition has fewer than 30 drops.
    leak = view.drops.leak_shown
    mql = leak[leak["Transition"] == "Marketing qualified → Sales accepted"]
    assert mql[["Charged to", "Loss kind", "Dropped leads"]].values.tolist() == [
        ["Marketing", "Lead quality", 1],
        ["Sales", "Rejected after the SLA", 1],
        ["Sales", "No action within the SLA", 3],
    ]
    assert mql["Share of the transition's drops"].tolist() == pytest.approx([0.2, 0.2, 0.6])
    assert set(leak["Small n (<30)"]) == {"small n (<30)"}


def test_losses_by_channel(view):
    # Web: 13 handoffs (all but T14, outbound); rejected for quality after the handoff T2, T13
    # and T8 (late) = 3, 3 / 13 = 0.230769. Outbound: T14's one Sales exit.
    g = view.groups
    assert g.grouped["group_value"].tolist() == ["web", "outbound"]
    assert g.shown["group_value"].tolist()[0] == "Web"
    web = g.shown.iloc[0]
    assert (web["n_handoffs"], web["n_rejected_for_quality"], web["n_dropped"]) == (13, 3, 14)
    assert web["quality_after_per_handoff"] == pytest.approx(3 / 13)


def test_handoff_metrics_in_the_unit_people_read(view):
    h = view.handoff
    m = {x.label: x for x in h.metrics}
    assert h.header == "Handoff health: Marketing qualified → Sales"
    # 13 handoffs; median response 24 h; p75 42 h; p90 50.40025 h >= 48 h, so in days:
    # 50.40025 / 24 = 2.1 days. Within: 8 / 13 = 61.5%; accepted 8 / 13 = 61.5%; rejected
    # 2 / 13 = 15.4%.
    assert m["Handed over"].value == "13"
    assert m["Median response"].value == "24.0 h"
    assert m["Median response"].help == "p75 42.0 h · p90 2.1 days · 10 leads with an action"
    assert m["Within the 48 h SLA"].value == "61.5%"
    assert m["Within the 48 h SLA"].help.startswith(
        "8 within, 5 breached (3 with no action at all), 0 pending."
    )
    assert (m["Accepted"].value, m["Rejected"].value) == ("61.5%", "15.4%")
    assert h.percentiles == "p75 42.0 h · p90 2.1 days"
    # Dana Reyes (S2): median of 6, 24, 48.000278, 72 = 36.000139 h -> "36.0 h"; Priya Nair 24 h.
    shown = h.by_owner_shown.set_index("owner_name")
    assert shown.loc["Dana Reyes", ["n_breached", "median_hours"]].tolist() == [4, "36.0 h"]
    assert shown.loc["Priya Nair", ["n_breached", "median_hours"]].tolist() == [1, "24.0 h"]
    assert h.owners == {tv.ALL: "All", "S2": "Dana Reyes", "S1": "Priya Nair"}


def test_owners_and_recycled(view):
    o = view.owners
    # A caption is Markdown: the contract's labels in it are escaped ("Lead (inquiry)" reads as
    # itself, whatever a CRM named the stage).
    assert o.caption == (
        r"Conversion over the moves each team owns: Marketing Lead \(inquiry\) → Marketing qualified, "
        "Sales Marketing qualified → Closed won."
    )
    # Priya Nair (S1) won 1 of 7: Wilson 95% 0.025680 .. 0.513124 (tests/test_teams.py).
    s1 = o.shown.set_index("owner_name").loc["Priya Nair"]
    assert (s1["team"], s1["conversion_ci"], s1["median_response_hours"]) == ("Sales", "2.6%–51.3%", "24.0 h")
    assert o.names["S2"] == "Dana Reyes" and o.teams["S2"] == "sales"
    # Recycled: T11, T12 not_ready, T3 no_follow_up; the total row last.
    total = view.recycled.shown.iloc[-1]
    assert (total["reason_label"], total["n_recycled"], total["n_came_back"]) == ("All recycled leads", 3, 1)


def test_lead_lists_say_how_many_match(db, view):
    assert view.stalled.caption == "0 stalled leads"  # every window is over by June 30
    assert (view.drill.n_total, view.drill.caption, view.drill.message) == (
        15,
        "**15** dropped leads match",
        "",
    )
    # As of Jan 31 noon: stalled T1, T4, T5, T6, T10 = 5; two listed, most overdue first: T4
    # 25.5 days at mql, expected 2 -> 23.5 over; T5 23.5 at sal, expected 14 -> 9.5 over.
    early = tv.view(
        Filters(**JANUARY, as_of=dt.datetime(2025, 1, 31, 12)),
        limit=2,
        selection=tv.Selection(team="sales", category="follow_through"),
        db=db,
    )
    assert early.stalled.caption == "5 stalled leads; the 2 most overdue are listed, the CSV has them all"
    assert early.stalled.shown[["lead_id", "stage"]].values.tolist() == [
        ["T4", "Marketing qualified"],
        ["T5", "Sales accepted"],
    ]
    assert early.stalled.shown["days_over"].tolist() == pytest.approx([23.5, 9.5])
    # Sales' follow-through drops at LATE: the 9 above; listed 2 of them.
    late = tv.view(
        Filters(**JANUARY, as_of=LATE),
        limit=2,
        selection=tv.Selection(team="sales", category="follow_through"),
        db=db,
    )
    assert late.drill.caption == "**9** dropped leads match; the first 2 are listed, the CSV has them all"


def test_an_impossible_selection_says_why(db):
    v = tv.view(Filters(**JANUARY, as_of=LATE), selection=tv.Selection(team="sales", kind="quality"), db=db)
    assert v.drill.blocked and v.drill.n_total == 0
    assert "Lead quality losses are always charged to Marketing" in v.drill.message
    labels = v.drill_choices.labels
    assert labels["team"] == {tv.ALL: "Both", "marketing": "Marketing", "sales": "Sales"}
    assert labels["owner"]["S2"] == "Dana Reyes (Sales)"
    assert labels["stage"]["mql"] == "Marketing qualified → Sales accepted"


def test_the_stalled_list_is_one_whatever_the_range(db):
    # The stalled leads ignore the date range (only the attribute filters and the window
    # apply): two views of other ranges at one as-of ask for the same list, so the page's cache
    # computes it once. As of Jan 31 noon: 5 stalled (test_lead_lists_say_how_many_match).
    asked = []

    def call(fn, *args, **kwargs):
        if fn.__name__ == "stalled_leads":
            asked.append((args, tuple(sorted(kwargs.items()))))
        return fn(*args, db=db, **kwargs)

    noon = dt.datetime(2025, 1, 31, 12)
    views = [
        tv.view(
            Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31), window_days=30, as_of=noon),
            call=call,
            db=db,
        ),
        tv.view(
            Filters(start=dt.date(2024, 12, 1), end=dt.date(2025, 1, 15), window_days=30, as_of=noon),
            call=call,
            db=db,
        ),
    ]
    assert [v.stalled.caption for v in views] == ["5 stalled leads"] * 2
    assert len(asked) == 2 and asked[0] == asked[1]

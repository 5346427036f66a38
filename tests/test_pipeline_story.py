"""Opportunity stage history, the pipeline at a date and its movement between two dates, and the
team that sourced each opportunity, against stories computed by hand (docs/pipeline.md).

Stories (contract below: Lead → MQL for people, then an opportunity's Discovery → Proposal →
Negotiation → Won, and a lost exit):
- HISTORY: O_A moves back, is lost, re-opens and wins; O_B skips Negotiation and has a repeated
  Proposal row (only its amount changed).
- MOVES: between T1 = 7 Mar and T2 = 14 Mar 2025, one opportunity per bucket, each named for the
  bucket it must land in, plus one closed before T1 and one created after T2 (in no bucket).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from queries import cube, funnel, pipeline
from queries.filters import Filters
from tests.stories import build_events

CONTRACT = """
name = "Story"
conversion_window_days = 365
skip_policy = "implied"

[[stages]]
key = "lead"
label = "Lead"
definition = "A person Marketing knows."
owner = "marketing"

[[stages]]
key = "mql"
label = "MQL"
definition = "Marketing qualified."
owner = "marketing"

[[stages]]
key = "discovery"
label = "Discovery"
definition = "An opportunity Sales is discovering."
owner = "sales"
grain = "opportunity"

[[stages]]
key = "proposal"
label = "Proposal"
definition = "A proposal was sent."
owner = "sales"
grain = "opportunity"

[[stages]]
key = "negotiation"
label = "Negotiation"
definition = "Terms are negotiated."
owner = "sales"
grain = "opportunity"

[[stages]]
key = "won"
label = "Won"
definition = "Signed."
grain = "opportunity"

[[exits]]
key = "lost"
label = "Lost"
definition = "The deal was lost."
kind = "lost"
"""

Q1 = Filters(dt.date(2025, 1, 1), dt.date(2025, 3, 31))


@pytest.fixture(autouse=True, params=["events", "kept states"])
def states_from(request, monkeypatch):
    """Every test twice: the opportunities' states and stage events read from their events for
    the view, and from the states kept per pair of moments (queries/cube.py STATES) and the
    stage events kept whole (ROWS): the same hand-computed numbers either way."""
    cube.clear()
    if request.param == "events":
        monkeypatch.setattr(cube, "answers", lambda *args: False)
    else:
        monkeypatch.setattr(cube, "WAIT", True)
    yield request.param
    answered = sum(cube.ANSWERED.values())
    cube.clear()
    if request.param == "events":
        assert not answered


def ev(deal, kind, at, **more) -> dict:
    return {"deal": deal, "type": kind, "at": at, **more}


# --- stage history: an opportunity that moves back and re-opens ------------------------------


@pytest.fixture(scope="module")
def history_db(tmp_path_factory):
    events = [
        # O_A: Discovery 10 days, Proposal 5 days, back to Discovery 4 days, Proposal 10 days,
        # Negotiation 10 days, lost; re-opened into Proposal 10 days after, won 10 days later.
        ev("O_A", "discovery", "2025-01-01"),
        ev("O_A", "proposal", "2025-01-11"),
        ev("O_A", "discovery", "2025-01-16"),
        ev("O_A", "proposal", "2025-01-20"),
        ev("O_A", "negotiation", "2025-01-30"),
        ev("O_A", "lost", "2025-02-09"),
        ev("O_A", "proposal", "2025-02-19"),
        ev("O_A", "won", "2025-03-01"),
        # O_B: Discovery 6 days, Proposal 20 days (a second Proposal row on 18 Jan changes only
        # its amount: the same visit), then won without Negotiation.
        ev("O_B", "discovery", "2025-01-02"),
        ev("O_B", "proposal", "2025-01-08", amount=1000),
        ev("O_B", "proposal", "2025-01-18", amount=1200),
        ev("O_B", "won", "2025-01-28", amount=1200),
        ev("O_L", "discovery", "2025-03-31"),  # the as-of moment, in the cohort too, still there
    ]
    path = tmp_path_factory.mktemp("history") / "store.duckdb"
    return build_events(path, events, CONTRACT, opportunities={"O_A": {"name": "=HYPERLINK(evil)"}})


def visits_by_stage(db, filters=Q1) -> dict:
    df = pipeline.stage_visits(filters, db=db)
    return {r.stage: r for r in df.itertuples()}


def test_visits_follow_the_real_path(history_db):
    v = visits_by_stage(history_db)
    # Discovery: O_A twice, O_B and O_L once; every ended visit moved on to Proposal.
    d = v["discovery"]
    assert (d.n_opportunities, d.n_visits, d.n_forward, d.n_back, d.n_lost, d.n_current) == (3, 4, 3, 0, 0, 1)
    assert d.n_opportunities_forward == 2 and d.forward_rate == pytest.approx(2 / 3)
    # Proposal: O_A three times (one ended going back), O_B once (its repeated row is the same visit).
    p = v["proposal"]
    assert (p.n_opportunities, p.n_visits, p.n_forward, p.n_back, p.n_lost) == (2, 4, 3, 1, 0)
    assert p.pct_of_previous == pytest.approx(2 / 3) and p.pct_of_first == pytest.approx(2 / 3)
    # Negotiation: only O_A really visited it (O_B skipped it: not filled in), and lost from it.
    n = v["negotiation"]
    assert (n.n_opportunities, n.n_visits, n.n_forward, n.n_lost, n.n_opportunities_forward) == (
        1,
        1,
        0,
        1,
        0,
    )
    assert n.pct_of_previous == pytest.approx(1 / 2) and n.pct_of_first == pytest.approx(1 / 3)
    # Won: both; more than the stage before, because O_B skipped Negotiation.
    w = v["won"]
    assert (
        w.n_opportunities == 2
        and w.pct_of_previous == pytest.approx(2.0)
        and w.pct_of_first == pytest.approx(2 / 3)
    )


def test_time_in_each_stage_is_per_visit_that_ended(history_db):
    v = visits_by_stage(history_db)
    # Discovery: 10, 4 and 6 days (O_L's visit is still going on): median 6, p75 8, p90 9.2.
    assert (v["discovery"].median_days, v["discovery"].p75_days) == (6.0, 8.0)
    assert v["discovery"].p90_days == pytest.approx(9.2)
    # Proposal: 5, 10, 10 and 20 days: median 10, p75 12.5, p90 17.
    assert (v["proposal"].median_days, v["proposal"].p75_days, v["proposal"].p90_days) == (10.0, 12.5, 17.0)
    assert v["negotiation"].median_days == 10.0
    assert pd.isna(v["won"].median_days)  # nothing leaves the last stage here


def test_backward_moves_and_reopens_are_listed_and_counted_alike(history_db):
    moves = pipeline.stage_moves(Q1, db=history_db)
    rows = [
        (
            r.opportunity_id,
            r.occurred_at.date().isoformat(),
            r.from_stage,
            r.came_back_from,
            r.to_stage,
            r.is_backward,
            r.is_reopened,
        )
        for r in moves.itertuples()
    ]
    assert [(*r[:2], r[2], None if pd.isna(r[3]) else r[3], *r[4:]) for r in rows] == [
        # Re-opened from lost into Proposal, which is also back from Negotiation, its previous stage.
        ("O_A", "2025-02-19", "negotiation", "lost", "proposal", True, True),
        ("O_A", "2025-01-16", "proposal", None, "discovery", True, False),
    ]
    assert moves["to_label"].tolist() == ["Proposal", "Discovery"]
    assert moves["came_back_label"].iloc[0] == "Lost"
    # The CRM's name comes back as text, for plain-text display only.
    assert moves["name"].iloc[0] == "=HYPERLINK(evil)"
    # The summary's counts are these rows counted (funnel.stage_history, stage_history.sql).
    counts = funnel.stage_history(pipeline.history_filters(Q1), db=history_db)
    assert counts["backward_moves"] == int(moves["is_backward"].sum()) == 2
    assert counts["reopened"] == moves.loc[moves["is_reopened"], "opportunity_id"].nunique() == 1
    assert counts["moved_back"] == 1


def test_a_past_as_of_knows_only_what_had_happened(history_db):
    before = pipeline.history_filters(Filters(Q1.start, Q1.end, as_of=dt.date(2025, 2, 15)))
    moves = pipeline.stage_moves(before, db=history_db)
    assert moves["occurred_at"].dt.date.astype(str).tolist() == ["2025-01-16"]  # not re-opened yet
    v = {r.stage: r for r in pipeline.stage_visits(before, db=history_db).itertuples()}
    assert v["negotiation"].n_lost == 1 and v["won"].n_opportunities == 1  # O_B only


# --- the pipeline at a date and the movement between two dates -----------------------------------

T1, T2 = dt.date(2025, 3, 7), dt.date(2025, 3, 14)
# Opportunity -> the bucket it must land in between T1 and T2 (None: in none).
EXPECTED = {
    "O_NEW": "new",
    "O_REOPENED": "reopened",
    "O_WON": "won",
    "O_LOST": "lost",
    "O_FORWARD": "moved_forward",
    "O_BACK": "moved_back",
    "O_PUSHED": "pushed_out",
    "O_PULLED": "pulled_in",
    "O_UP": "amount_up",
    "O_DOWN": "amount_down",
    "O_SAME": "unchanged",
    "O_OLD": None,
    "O_LATER": None,
}


@pytest.fixture(scope="module")
def moves_db(tmp_path_factory):
    e = []

    def add(deal, kind, at, amount=None, close=None, **more):
        e.append(ev(deal, kind, at, amount=amount, currency="EUR" if amount else None, close=close, **more))

    add("O_NEW", "discovery", "2025-03-10", 1000, "2025-04-30")  # created between T1 and T2
    add("O_REOPENED", "discovery", "2025-02-01", 2000)
    add("O_REOPENED", "lost", "2025-03-01")
    add("O_REOPENED", "proposal", "2025-03-12", 2000)  # lost at T1, open at T2
    add("O_WON", "discovery", "2025-02-03", 3000, owner="M2")  # first stage event by Marketing
    add("O_WON", "negotiation", "2025-02-20", 3000)
    add("O_WON", "won", "2025-03-10", 3000)
    add("O_LOST", "discovery", "2025-02-04", 4000)
    add("O_LOST", "lost", "2025-03-11")
    # Moved forward, and its amount grew too: the earlier bucket applies.
    add("O_FORWARD", "discovery", "2025-02-05", 5000, lead="L2")
    add("O_FORWARD", "proposal", "2025-03-12", 5500, lead="L2")
    add("O_BACK", "proposal", "2025-02-06", 6000)
    add("O_BACK", "discovery", "2025-03-13", 6000)
    add("O_PUSHED", "discovery", "2025-02-07", 7000, "2025-03-31")
    add("O_PUSHED", "discovery", "2025-03-12", 7000, "2025-04-30")  # a repeated row: new close date
    # Pulled in, and its amount grew: the earlier bucket applies.
    add("O_PULLED", "discovery", "2025-02-08", 8000, "2025-05-31")
    add("O_PULLED", "discovery", "2025-03-12", 9000, "2025-04-15")
    add("O_UP", "discovery", "2025-02-09", 9000, "2025-04-30")
    add("O_UP", "amount", "2025-03-12", 9500)
    add("O_DOWN", "discovery", "2025-02-10", 10000)
    add("O_DOWN", "amount", "2025-03-12", 8000)
    add("O_SAME", "discovery", "2025-02-11", 11000)
    add("O_SAME", "amount", "2025-03-12", 11000)  # the same amount again: unchanged
    add("O_OLD", "discovery", "2025-01-05", 500)
    add("O_OLD", "won", "2025-02-01", 500)  # closed at both dates
    add("O_LATER", "discovery", "2025-03-20", 700)  # after T2
    # People: L1 (a contact of O_NEW) was an MQL by Marketing before O_NEW existed; L2 (O_FORWARD's
    # own lead) too; L3 (a contact of O_LOST) met Marketing only after O_LOST was created.
    e += [
        {"lead": "L1", "type": "lead", "at": "2025-03-01", "owner": "M1"},
        {"lead": "L2", "type": "mql", "at": "2025-01-20", "owner": "M1"},
        {"lead": "L3", "type": "lead", "at": "2025-02-20", "owner": "M1"},
    ]
    leads = {k: {"created": "2025-01-01"} for k in ("L1", "L2", "L3")}
    contacts = [("O_NEW", "L1", "Champion"), ("O_LOST", "L3", "User")]
    opportunities = {k: {"name": f"{k.title()} deal", "currency": "EUR"} for k in EXPECTED}
    path = tmp_path_factory.mktemp("moves") / "store.duckdb"
    return build_events(path, e, CONTRACT, leads=leads, contacts=contacts, opportunities=opportunities)


def test_each_opportunity_lands_in_its_bucket(moves_db):
    found = {}
    for bar in pipeline.BUCKETS:
        for deal in pipeline.opportunities(Q1, bar, T1, T2, db=moves_db)["opportunity_id"]:
            assert deal not in found, f"{deal} is in {found.get(deal)} and {bar}"
            found[deal] = bar
    assert found == {k: v for k, v in EXPECTED.items() if v}


def test_the_pipeline_at_a_date_by_stage(moves_db):
    df = pipeline.by_stage(Q1, T1, db=moves_db)
    per_stage = df.groupby("stage")[["n_opportunities", "amount"]].sum()
    # Open at T1: O_WON in Negotiation; O_BACK in Proposal; O_LOST, O_FORWARD, O_PUSHED, O_PULLED,
    # O_UP, O_DOWN and O_SAME in Discovery (O_REOPENED was lost on 1 Mar).
    assert per_stage.to_dict("index") == {
        "discovery": {"n_opportunities": 7, "amount": 4000 + 5000 + 7000 + 8000 + 9000 + 10000 + 11000},
        "proposal": {"n_opportunities": 1, "amount": 6000},
        "negotiation": {"n_opportunities": 1, "amount": 3000},
    }
    assert set(df["currency"]) == {"EUR"}


def test_the_movement_adds_up_from_one_pipeline_to_the_other(moves_db):
    v = pipeline.view(Q1, T1, T2, db=moves_db)
    b = v.buckets.set_index("bucket")
    assert b["n_opportunities"].to_dict() == {k: 1 for k in pipeline.BUCKETS}
    # What each bucket did to the open amount (EUR).
    assert b["change:EUR"].to_dict() == {
        "new": 1000,
        "reopened": 2000,
        "won": -3000,
        "lost": -4000,
        "moved_forward": 500,
        "moved_back": 0,
        "pushed_out": 0,
        "pulled_in": 1000,
        "amount_up": 500,
        "amount_down": -2000,
        "unchanged": 0,
    }
    assert v.start == {"n": 9, "amounts": {"EUR": 63000.0}, "converted": None}
    assert v.end == {"n": 9, "amounts": {"EUR": 59000.0}, "converted": None}
    assert v.start["amounts"]["EUR"] + b["change:EUR"].sum() == v.end["amounts"]["EUR"]
    w = pipeline.waterfall(v, "EUR")
    assert w["bar"].tolist() == ["start", *pipeline.BUCKETS, "end"]
    assert w["value"].iloc[0] + w["value"].iloc[1:-1].sum() == w["value"].iloc[-1] == 59000
    counts = pipeline.waterfall(v, "count")
    assert counts["value"].iloc[1:-1].tolist() == [1, 1, -1, -1, 0, 0, 0, 0, 0, 0, 0]
    # At T2: O_NEW, O_BACK, O_PUSHED, O_PULLED, O_UP, O_DOWN and O_SAME in Discovery; O_REOPENED and
    # O_FORWARD in Proposal.
    stages = v.stages.set_index("stage")
    assert stages["n_opportunities"].to_dict() == {"discovery": 7, "proposal": 2, "negotiation": 0}
    assert stages["amount:EUR"].to_dict() == {"discovery": 51500, "proposal": 7500, "negotiation": 0}


def test_sourced_by_marketing_or_sales(moves_db):
    states = pipeline.opportunities(Q1, "start", T1, T2, db=moves_db)
    states = pd.concat([states, pipeline.opportunities(Q1, "new", T1, T2, db=moves_db)])
    sourced = dict(zip(states["opportunity_id"], states["sourced_by"], strict=True))
    # O_NEW: its contact L1 met Marketing before it was created; O_FORWARD: its own lead L2 did;
    # O_WON: its first stage event's owner is in Marketing. O_LOST's contact met Marketing only
    # after it was created: Sales, like every other one.
    assert {k for k, s in sourced.items() if s == "marketing"} == {"O_NEW", "O_FORWARD", "O_WON"}
    assert sourced["O_LOST"] == "sales"
    v = pipeline.view(Q1, T1, T2, db=moves_db)
    b = v.buckets.set_index("bucket")
    assert b.loc["new", "n_marketing"] == 1 and b.loc["lost", "n_sales"] == 1
    assert int(v.stages["n_marketing"].sum()) == 2 and int(v.stages["n_sales"].sum()) == 7
    # One team only: its own pipelines and buckets.
    m = pipeline.view(Q1, T1, T2, sourced="marketing", db=moves_db)
    assert (m.start["n"], m.end["n"]) == (2, 2)  # O_WON and O_FORWARD at T1; O_NEW and O_FORWARD at T2
    assert m.start["amounts"]["EUR"] + sum(m.buckets["change:EUR"]) == m.end["amounts"]["EUR"] == 6500


def test_an_opportunity_created_and_closed_between_the_dates_is_new(moves_db, tmp_path):
    e = [ev("X", "discovery", "2025-03-08", amount=100, currency="EUR"), ev("X", "lost", "2025-03-09")]
    db = build_events(tmp_path / "x.duckdb", e + [ev("Y", "discovery", "2025-03-20")], CONTRACT)
    v = pipeline.view(Q1, T1, T2, db=db)
    new = v.buckets.set_index("bucket").loc["new"]
    assert (new["n_opportunities"], new["n_open_t2"], new["n_change"]) == (1, 0, 0)
    # Nothing is open at T2 (Y comes after it): no currency has an open amount to show.
    assert v.currencies == [] and v.end == {"n": 0, "amounts": {}, "converted": None}


def test_dates_and_choices_are_checked(moves_db):
    with pytest.raises(pipeline.PipelineError, match="before"):
        pipeline.view(Q1, T2, T1, db=moves_db)
    with pytest.raises(pipeline.PipelineError, match="bar"):
        pipeline.opportunities(Q1, "'; drop table events; --", T1, T2, db=moves_db)
    with pytest.raises(pipeline.PipelineError, match="sourced"):
        pipeline.view(Q1, T1, T2, sourced="partners", db=moves_db)
    with pytest.raises(ValueError, match="three-letter"):
        pipeline.view(Q1, T1, T2, base="eur'", db=moves_db)
    with pytest.raises(pipeline.PipelineError, match="base currency"):
        pipeline.waterfall(pipeline.view(Q1, T1, T2, db=moves_db), "base")


def test_defaults_are_a_week_to_the_as_of_day(moves_db):
    # The latest event is O_LATER's, on 20 Mar.
    assert pipeline.default_dates(Q1, db=moves_db) == (dt.date(2025, 3, 13), dt.date(2025, 3, 20))
    v = pipeline.view(Q1, db=moves_db)
    assert (v.t1, v.t2) == (dt.date(2025, 3, 13), dt.date(2025, 3, 20))
    # A view as of a past day never looks past it, whatever T2 says.
    early = Filters(Q1.start, Q1.end, as_of=dt.date(2025, 3, 10))
    assert (
        pipeline.view(early, T1, T2, db=moves_db).end["n"]
        == pipeline.view(Q1, T1, dt.date(2025, 3, 10), db=moves_db).end["n"]
    )

"""The rollups (queries/cube.py) give the cohort queries' numbers exactly: the same frames as
the queries over the journeys, row for row, for every view they answer; the views they do not
answer (an owner filter, a past as-of date, another window, another breakdown) read the
journeys; a view never waits for a rollup unless asked to; a new store version gets new ones.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import os
import random
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from queries import attribution, bridge, content, cube, executor, funnel, pipeline, teams, weekly
from queries.filters import Filters


def _frames(f: Filters, db) -> dict[str, pd.DataFrame]:
    """Every frame the rollups can give, for one view."""
    return {
        "funnel": funnel.cohort_funnel(f, db=db),
        "outcomes": funnel.outcomes(f, db=db),
        "outcomes by segment": funnel.outcomes(f, by="segment", db=db),
        "revenue": funnel.revenue(f, db=db),
        "revenue by region": funnel.revenue(f, by="region", db=db),
        "stage times": funnel.stage_times(f, db=db),
        "stage times by channel": funnel.stage_times(f, by="channel", db=db),
        "stage times by month": funnel.stage_times(f, by="month", db=db),
        "trend by week": funnel.trend(f, "week", db=db),
        "trend by month": funnel.trend(f, "month", db=db),
        "by channel": funnel.breakdown(f, "channel", db=db),
        "by region": funnel.breakdown(f, "region", db=db),
        "by month": funnel.breakdown(f, "month", db=db),
        "flow": funnel.flow_funnel(f, db=db),
        "flow by channel": funnel.breakdown(f, "channel", view="flow", db=db),
        "flow by segment": funnel.breakdown(f, "segment", view="flow", db=db),
        "leakage": teams.leakage_by_owner(f, db=db),
        "leakage by channel": teams.leakage_by_owner(f, by="channel", db=db),
        "leakage by segment": teams.leakage_by_owner(f, by="segment", db=db),
        "owners": teams.owner_conversion(f, db=db),
        **_lead_frames(f, db),
    }


def _lead_frames(f: Filters, db) -> dict[str, pd.DataFrame]:
    """The frames given from kept lead-level rows (cube.ROWS)."""
    health = teams.handoff_health(f, db=db)
    as_of = funnel.resolve_as_of(f, db)
    stalled = teams.stalled_filters(f, as_of)
    return {
        "stalled": teams.stalled_leads(as_of, stalled, limit=50, db=db),
        "stalled of Sales": teams.stalled_leads(as_of, stalled, team="sales", limit=20, db=db),
        "handoff": health.summary,
        "handoff by owner": health.by_owner,
        "handoff reasons": health.reasons,
        "handoff leads": teams.handoff_leads(f, limit=50, db=db),
        "handoff leads breached": teams.handoff_leads(f, status="breached", limit=20, db=db),
        "drop leads": teams.drop_leads(f, limit=50, db=db),
        "drop leads at MQL": teams.drop_leads(f, stage="mql", limit=20, db=db),
        "drop leads of Sales, by channel": teams.drop_leads(f, team="sales", by="channel", limit=20, db=db),
        "recycled": teams.recycled(f, db=db),
        "MQLs to opportunities": bridge.mqls_to_opportunities(f, db=db),
        "opportunities created": bridge.opportunities(f, db=db),
        "buying-group roles": bridge.roles(f, db=db),
    }


def _over_journeys(monkeypatch, f: Filters, db) -> dict[str, pd.DataFrame]:
    with monkeypatch.context() as m:
        m.setattr(cube, "answers", lambda *args: False)
        return _frames(f, db)


def _assert_same(a: dict, b: dict, view) -> None:
    for name in a:
        try:
            pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"{name} differs for {view}: {exc}") from None


@pytest.fixture
def waiting(monkeypatch):
    cube.clear()
    monkeypatch.setattr(cube, "WAIT", True)
    yield
    cube.clear()


def _values(db, column: str) -> list[str]:
    rows = executor.run_sql(f"select distinct {column} from journey_stages where {column} is not null", db=db)
    return sorted(rows[column])


def test_rollups_give_the_same_frames_over_random_views(sample_store, waiting, monkeypatch):
    db = sample_store
    last = funnel.latest_event_at(db).date()
    channels, regions, segments = (_values(db, c) for c in ("channel", "region", "segment"))
    rng = random.Random(20)
    views = [
        Filters(start=last - dt.timedelta(days=89), end=last),
        Filters(start=last - dt.timedelta(days=2000), end=last, skip_policy="strict"),
        Filters(start=last - dt.timedelta(days=89), end=last, grain="opportunity"),
    ]
    for _ in range(12):
        start = last - dt.timedelta(days=rng.randrange(1, 800))
        end = min(last, start + dt.timedelta(days=rng.randrange(0, 400)))
        views.append(
            Filters(
                start=start,
                end=end,
                channels=tuple(rng.sample(channels, rng.randrange(0, 3))),
                regions=tuple(rng.sample(regions, rng.randrange(0, 2))),
                segments=tuple(rng.sample(segments, rng.randrange(0, 2))),
                skip_policy=rng.choice(["implied", "strict"]),
                grain=rng.choice(["lead", "lead", "opportunity"]),
            )
        )
    for view in views:
        summed = _frames(view, db)
        _assert_same(summed, _over_journeys(monkeypatch, view, db), view)
    # Every view above was answered by the rollups: each query, once per frame that runs it.
    n = len(views)
    answered = {
        "cohort_funnel": 4 * n,
        "cohort_outcomes": 2 * n,
        "cohort_revenue": 2 * n,
        "stage_times": 3 * n,
        "trend": 2 * n,
        "flow_funnel": 3 * n,
        "teams_leakage": 3 * n,
        "teams_owners": n,
        "teams_handoff": n,
        "teams_handoff_leads": 2 * n,
        "teams_drop_leads": 3 * n,
        "teams_stalled": 2 * n,
        "teams_recycled": n,
        "bridge_mqls": n,
        "bridge_opportunities": n,
        "bridge_roles": n,
    }
    assert dict(cube.ANSWERED) == answered
    # Built once per grain, skip policy and kind, whatever the ranges and filters.
    kinds = {build for build, _ in cube.BUILT}
    assert kinds == {
        "cube_reach_age_rows",
        "cube_funnel_rows",
        "cube_outcome_age_rows",
        "cube_outcome_rows",
        "cube_flow_rows",
        "cube_leakage_rows",
        "cube_owner_rows",
        "teams_handoffs",
        "teams_drops",
        "teams_stalled_rows",
        "teams_recycled_rows",
        "bridge_mql_rows",
        "bridge_opportunity_rows",
        "stage_time_rows",
    }
    # Cohort rollups per grain and skip policy, each summed from its at-age one (cube.DERIVED),
    # and the stage times' rows likewise;
    # the flow's per grain (no skip policy in it); the Teams page's leakage, owners, handoff and
    # drop and recycled rows per skip policy (it counts leads, whatever the grain); the stalled
    # leads once (no skip policy, no range: one as-of date); the bridge's MQLs and opportunities
    # once each (whatever the grain and skip policy).
    assert len(cube.BUILT) == 2 * 2 * 2 * 2 + 2 * 2 + 2 + 5 * 2 + 1 + 2


def test_a_view_of_every_channel_region_and_segment_reads_the_collapsed_rollups(
    sample_store, waiting, monkeypatch
):
    """A view that filters and breaks down by no attribute the rollups keep apart reads their
    rows summed over those attributes (cube.COLLAPSIBLE): the same frames as over the
    journeys, from tables a fraction of the size; a view that picks a channel reads the whole
    rollup."""
    db = sample_store
    last = funnel.latest_event_at(db).date()
    rng = random.Random(31)
    views = []
    for _ in range(6):
        start = last - dt.timedelta(days=rng.randrange(1, 800))
        end = min(last, start + dt.timedelta(days=rng.randrange(0, 400)))
        views.append(
            Filters(
                start=start,
                end=end,
                skip_policy=rng.choice(["implied", "strict"]),
                grain=rng.choice(["lead", "lead", "opportunity"]),
            )
        )

    def frames(view: Filters) -> dict[str, pd.DataFrame]:
        return {
            "funnel": funnel.cohort_funnel(view, db=db),
            "outcomes": funnel.outcomes(view, db=db),
            "revenue": funnel.revenue(view, db=db),
            "trend by week": funnel.trend(view, "week", db=db),
            "by month": funnel.breakdown(view, "month", db=db),
            "flow": funnel.flow_funnel(view, db=db),
            "compare": funnel.compare_periods(view, db=db),
        }

    for view in views:
        summed = frames(view)
        with monkeypatch.context() as m:
            m.setattr(cube, "answers", lambda *args: False)
            journeys = frames(view)
        _assert_same(summed, journeys, view)
        assert summed["compare"].attrs == journeys["compare"].attrs, view
    n = len(views)
    assert cube.COLLAPSED_READS["cohort_funnel"] == 2 * n  # the funnel, and by month
    assert cube.COLLAPSED_READS["cohort_revenue"] == n  # the comparison's currencies: its funnel's
    assert cube.COLLAPSED_READS["trend"] == cube.COLLAPSED_READS["flow_funnel"] == n
    assert cube.COLLAPSED_READS["cohort_funnel_at_age"] == n
    for key, collapsed in cube._COLLAPSED.items():
        whole = cube._ROLLUPS[key]
        assert collapsed.schema == whole.schema
        assert collapsed.num_rows < whole.num_rows, key[0]  # at 1M leads: about a hundredth
    # A channel picked: the whole rollup, and the same frame as over the journeys.
    picked = dataclasses.replace(views[0], channels=(_values(db, "channel")[0],))
    reads = sum(cube.COLLAPSED_READS.values())
    frame = funnel.cohort_funnel(picked, db=db)
    assert sum(cube.COLLAPSED_READS.values()) == reads
    with monkeypatch.context() as m:
        m.setattr(cube, "answers", lambda *args: False)
        pd.testing.assert_frame_equal(frame, funnel.cohort_funnel(picked, db=db), check_exact=True)


def test_the_comparison_at_equal_age_is_the_same_from_the_rollups(sample_store, waiting, monkeypatch):
    """compare_periods() takes both periods at the comparison's age from the at-age rollups
    (cube.AGED): the same frame as from the journeys at a window of that age, for any range,
    filters, skip policy, grain and window of the view's own."""
    db = sample_store
    last = funnel.latest_event_at(db).date()
    channels, segments = _values(db, "channel"), _values(db, "segment")
    rng = random.Random(4)
    views = []
    for _ in range(10):
        end = last - dt.timedelta(days=rng.randrange(1, 170))
        views.append(
            Filters(
                start=end - dt.timedelta(days=rng.randrange(6, 120)),
                end=end,
                channels=tuple(rng.sample(channels, rng.randrange(0, 3))),
                segments=tuple(rng.sample(segments, rng.randrange(0, 2))),
                skip_policy=rng.choice(["implied", "strict"]),
                grain=rng.choice(["lead", "lead", "opportunity"]),
                window_days=rng.choice([None, None, 90]),
            )
        )
    ages = set()
    for view in views:
        summed = funnel.compare_periods(view, db=db)
        with monkeypatch.context() as m:
            m.setattr(cube, "answers", lambda *args: False)
            journeys = funnel.compare_periods(view, db=db)
        pd.testing.assert_frame_equal(summed, journeys, check_exact=True, obj=str(view))
        assert summed.attrs == journeys.attrs, view  # the currencies among them
        ages.add(summed.attrs["age_days"])
    assert len(ages) > 5  # many ages, each summed from the same rollups
    # Every period of a view in one query for the funnel and one for the outcomes.
    assert cube.ANSWERED["cohort_funnel_at_age"] == cube.ANSWERED["cohort_outcomes_at_age"] == len(views)
    built = collections.Counter(build for build, _ in cube.BUILT)
    assert built["cube_reach_age_rows"] == built["cube_outcome_age_rows"] <= 4  # per grain and policy


def test_the_weekly_decisions_and_entries_are_the_days_of_one_rollup(sample_store, waiting, monkeypatch):
    """Any weeks' decisions and entries (weekly.conversion_rows, weekly.entries_trend: the Weekly
    page's trends, the alerts' two weeks) summed from the decisions and entries counted per day
    once per store version (cube.HISTORY): the same frames as the queries over the journeys and
    the events, and one rollup each for them all."""
    db = sample_store
    last = weekly.default_week(funnel.latest_event_at(db))
    rng = random.Random(9)
    picks = [(last, 13), (last, 2), (last - dt.timedelta(weeks=60), 1)]
    picks += [(last - dt.timedelta(weeks=rng.randrange(0, 90)), rng.randrange(1, 30)) for _ in range(6)]

    def frames(monday, n_weeks):
        trend, raw = weekly.entries_trend(monday, n_weeks=n_weeks, db=db)
        return {
            "decisions": weekly.conversion_rows(monday, n_weeks=n_weeks, db=db),
            "entries": trend,
            "entries by team": raw,
        }

    for monday, n_weeks in picks:
        summed = frames(monday, n_weeks)
        with monkeypatch.context() as m:
            m.setattr(cube, "answers", lambda *args: False)
            journeys = frames(monday, n_weeks)
        _assert_same(summed, journeys, f"{monday} x {n_weeks}")
        assert summed["decisions"]["n_decided"].sum() > 0 and summed["entries"]["n_entries"].sum() > 0
    assert dict(cube.ANSWERED) == {"weekly_decisions": len(picks), "weekly_entries": len(picks)}
    assert sorted(build for build, _ in cube.BUILT) == ["cube_decision_rows", "cube_entry_rows"]


def test_the_content_pages_deals_from_kept_rows_are_the_layouts(sample_store, waiting, monkeypatch):
    """The Content page's deal queries (cube.DEALS) over the deal rows kept at the latest date,
    and its reach over the touch rows kept likewise (cube.ROWS): the same frames as over the
    layouts for random ranges, filters (an owner too), bases and groupings. Credits are sums of fractional credit in floating point, whose order of addition
    DuckDB does not fix (two runs over the layouts differ in the last digits too): equal to
    1e-12 of their size; everything else exactly."""
    db = sample_store
    last = funnel.latest_event_at(db).date()
    channels, segments, owners = (_values(db, c) for c in ("channel", "segment", "owner_id"))
    rng = random.Random(31)
    views = [Filters(start=last - dt.timedelta(days=89), end=last)]
    for _ in range(5):
        start = last - dt.timedelta(days=rng.randrange(30, 700))
        views.append(
            Filters(
                start=start,
                end=min(last, start + dt.timedelta(days=rng.randrange(20, 300))),
                channels=tuple(rng.sample(channels, rng.randrange(0, 3))),
                segments=tuple(rng.sample(segments, rng.randrange(0, 2))),
                owners=tuple(rng.sample(owners, rng.randrange(0, 2))),
            )
        )

    def frames(f: Filters) -> dict[str, pd.DataFrame]:
        return {
            "sales use": content.sales_content_use(f, db=db),
            "sales use by segment": content.sales_content_use(f, by="segment", db=db),
            "sourcing": attribution.sourcing(f, basis="pipeline", db=db),
            "credits": attribution.credits(f, db=db),
            "credits, pipeline, by channel": attribution.credits(f, by="channel", basis="pipeline", db=db),
            "credits of Sales-sourced deals": attribution.credits(f, sourced_by="sales", db=db),
            "reach": content.content_reach(f, db=db),
        }

    n_opportunities = 0
    for view in views:
        kept = frames(view)
        with monkeypatch.context() as m:
            m.setattr(cube, "answers", lambda *args: False)
            layouts = frames(view)
        for name, frame in kept.items():
            exact = not name.startswith("credits")
            pd.testing.assert_frame_equal(
                frame, layouts[name], check_exact=exact, rtol=1e-12, obj=f"{name} for {view}"
            )
        n_opportunities += int(kept["sales use"]["n_opportunities"].sum())
    assert n_opportunities > 0
    assert cube.ANSWERED["attribution_credits"] == 3 * len(views)
    assert cube.ANSWERED["attribution_deal_outcomes"] == 3 * len(views)
    # The touches on content answer the views without an owner filter (cube.ROWS).
    assert 0 < cube.ANSWERED["content_reach"] == sum(not v.owners for v in views) < len(views)
    builds = sorted(build for build, _ in cube.BUILT)
    assert builds == ["attribution_deal_rows", "content_touch_rows"]  # once for them all


def test_the_pipeline_from_kept_states_is_the_events(sample_store, waiting, monkeypatch):
    """The Pipeline page's queries over the opportunities' states kept per pair of moments
    (cube.STATES) and its stage history over the stage events kept whole (ROWS): the same
    frames and views as over the opportunities' events, for random moments (a past as-of too),
    list filters (an owner too), teams, bars and bases; one build per pair of moments, whatever
    the filters; and at most STATES_KEEP kept at a time, the funnel's rollups kept beside
    them."""
    db = sample_store
    last = funnel.latest_event_at(db).date()
    channels, segments, owners = (_values(db, c) for c in ("channel", "segment", "owner_id"))
    rng = random.Random(41)
    views = [(Filters(start=last - dt.timedelta(days=89), end=last), None, None)]
    for _ in range(7):
        t2 = last - dt.timedelta(days=rng.choice([0, 0, 3, 40]))
        as_of = dt.datetime.combine(last - dt.timedelta(days=20), dt.time.min) if rng.random() < 0.2 else None
        f = Filters(
            start=last - dt.timedelta(days=365),
            end=last,
            as_of=as_of,
            channels=tuple(rng.sample(channels, rng.randrange(0, 3))),
            segments=tuple(rng.sample(segments, rng.randrange(0, 2))),
            owners=tuple(rng.sample(owners, rng.randrange(0, 2))),
        )
        views.append((f, t2 - dt.timedelta(days=rng.choice([1, 7, 30])), t2))

    def frames(f: Filters, t1, t2, base, sourced, bar) -> dict:
        v = pipeline.view(f, t1, t2, sourced=sourced, base=base, db=db)
        return {
            "stages": v.stages,
            "buckets": v.buckets,
            "ends": pd.DataFrame([v.start, v.end]),
            "by stage": pipeline.by_stage(f, t2, base, db=db),
            "movement": pipeline.movement(f, t1, t2, base, db=db),
            "bar": pipeline.opportunities(f, bar, t1, t2, sourced=sourced, base=base, db=db),
            "stage visits": pipeline.stage_visits(f, db=db),
            "backward moves and re-opens": pipeline.stage_moves(f, limit=40, db=db),
        }

    keep = cube.STATES_KEEP
    monkeypatch.setattr(cube, "STATES_KEEP", 100)  # none dropped, so each is built once
    n_moved = 0
    moments = set()  # (T1, T2, base) of each pair of moments asked for
    for f, t1, t2 in views:
        base, sourced = rng.choice([None, "USD", "EUR"]), rng.choice([None, "marketing", "sales"])
        d1, d2 = pipeline.default_dates(f, db)
        as_of = funnel.resolve_as_of(f, db)
        at = [min(pipeline.day_end(day), as_of) for day in (t1 or d1, t2 or d2)]
        moments |= {(at[0], at[1], base), (at[1], at[1], base)}  # the movement's, the pipeline's
        bar = rng.choice(list(pipeline.BARS))
        kept = frames(f, t1, t2, base, sourced, bar)
        with monkeypatch.context() as m:
            m.setattr(cube, "answers", lambda *args: False)
            events = frames(f, t1, t2, base, sourced, bar)
        for name, frame in kept.items():
            pd.testing.assert_frame_equal(
                frame, events[name], check_exact=False, rtol=1e-12, obj=f"{name} for {f}, {t1}..{t2}"
            )
        n_moved += int(kept["buckets"]["n_opportunities"].sum())
    assert n_moved > 0
    assert cube.ANSWERED["pipeline_movement"] == 2 * len(views)
    # The stage history from the kept stage events (ROWS) at the latest date without an owner
    # filter; the others read the events.
    latest = [f for f, _, _ in views if f.as_of is None and not f.owners]
    assert 0 < len(latest) < len(views)
    assert cube.ANSWERED["stage_visits"] == cube.ANSWERED["stage_moves"] == len(latest)
    # One build per pair of moments and base, whatever the filters, team or bar; the stage
    # events once.
    builds = [build for build, _ in cube.BUILT]
    assert builds.count("pipeline_states") == len(moments)
    assert builds.count("cohort_status_events") == 1 and len(builds) == len(moments) + 1
    monkeypatch.setattr(cube, "STATES_KEEP", keep)
    funnel.cohort_funnel(views[0][0], db=db)  # a funnel rollup beside the kept states
    for days in range(cube.STATES_KEEP + 2):
        pipeline.by_stage(views[0][0], last - dt.timedelta(days=days), db=db)
    kept_keys = [key for key in cube._ROLLUPS if key[0] == cube.STATES]
    assert len(kept_keys) == cube.STATES_KEEP
    assert any(key[0] == "cube_funnel_rows" for key in cube._ROLLUPS)


def test_views_the_rollups_do_not_answer_read_the_journeys(sample_store, waiting, monkeypatch):
    db = sample_store
    last = funnel.latest_event_at(db).date()
    base = Filters(start=last - dt.timedelta(days=89), end=last)
    owner = _values(db, "owner_id")[0]
    others = [
        dataclasses.replace(base, owners=(owner,)),  # no owner in the rollups
        dataclasses.replace(base, as_of=dt.datetime.combine(last - dt.timedelta(days=30), dt.time.min)),
        dataclasses.replace(base, window_days=30),  # another window than the contract's
        dataclasses.replace(base, window_days=0),  # no window
    ]
    for view in others:
        _assert_same(_frames(view, db), _over_journeys(monkeypatch, view, db), view)
    # One group's dropped leads: the kept drops have no breakdown.
    channel = _values(db, "channel")[0]
    rows = teams.drop_leads(base, by="channel", group=channel, db=db)
    with monkeypatch.context() as m:
        m.setattr(cube, "answers", lambda *args: False)
        pd.testing.assert_frame_equal(rows, teams.drop_leads(base, by="channel", group=channel, db=db))
    assert len(rows)
    funnel.breakdown(base, "campaign", db=db)
    funnel.breakdown(base, "owner", db=db)
    # The bridge's opportunities take no window: the two views of another window read them kept
    # (the same frames, above); nothing else is answered or built.
    assert cube.ANSWERED == {"bridge_opportunities": 2, "bridge_roles": 2}
    assert [build for build, _ in cube.BUILT] == ["bridge_opportunity_rows"]


def test_the_leakage_counts_the_kept_drops(sample_store, waiting):
    """The Teams page's leakage rollup is summed from the drops kept whole for its lists
    (cube.DERIVED), so the drops are computed once for both: a leakage view builds the kept
    drops first, and a list of dropped leads after it builds nothing more."""
    db = sample_store
    last = funnel.latest_event_at(db).date()
    view = Filters(start=last - dt.timedelta(days=89), end=last)
    leakage = teams.leakage_by_owner(view, db=db)
    assert [build for build, _ in cube.BUILT] == ["teams_drops", "cube_leakage_rows"]
    teams.drop_leads(view, limit=20, db=db)
    assert len(cube.BUILT) == 2
    assert cube.ANSWERED == {"teams_leakage": 1, "teams_drop_leads": 1}
    assert int(leakage["n_dropped"].sum()) > 0


def test_a_view_does_not_wait_for_a_rollup(sample_store, monkeypatch):
    """Without WAIT the first view reads the journeys and a thread builds the rollup; the views
    after it are answered from the rollup, with the same numbers."""
    cube.clear()
    db = sample_store
    last = funnel.latest_event_at(db).date()
    view = Filters(start=last - dt.timedelta(days=89), end=last)
    first = funnel.cohort_funnel(view, db=db)
    assert not cube.ANSWERED
    deadline = time.monotonic() + 60
    while len(cube.BUILT) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    # The funnel's rollup is its at-age one summed over the ages (cube.DERIVED): both built.
    assert [build for build, _ in cube.BUILT] == ["cube_reach_age_rows", "cube_funnel_rows"]
    later = funnel.cohort_funnel(view, db=db)
    assert cube.ANSWERED == {"cohort_funnel": 1}
    pd.testing.assert_frame_equal(first, later, check_exact=True)
    cube.clear()


def test_a_new_store_version_gets_new_rollups(sample_store, waiting, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(sample_store, db)
    last = funnel.latest_event_at(db).date()
    view = Filters(start=last - dt.timedelta(days=89), end=last)
    funnel.cohort_funnel(view, db=db)
    funnel.cohort_funnel(dataclasses.replace(view, channels=("web",)), db=db)
    built = ["cube_reach_age_rows", "cube_funnel_rows"]  # the funnel's, from its at-age one
    assert [build for build, _ in cube.BUILT] == built
    stat = os.stat(db)
    os.utime(db, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # another version
    funnel.cohort_funnel(view, db=db)
    assert [build for build, _ in cube.BUILT] == built * 2
    assert cube.BUILT[1][1] != cube.BUILT[3][1]


def test_a_process_that_ends_while_a_rollup_is_built_waits_for_it(sample_store):
    """A rollup is built on a daemon thread; a process ending while one is inside DuckDB would
    abort in the interpreter's shutdown (exit code 134). It waits for the build and exits 0."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        f"""
        import datetime as dt
        from pathlib import Path
        from queries import cube, funnel
        from queries.filters import Filters

        db = Path({str(sample_store)!r})
        last = funnel.latest_event_at(db).date()
        funnel.cohort_funnel(Filters(start=last - dt.timedelta(days=90), end=last), db=db)
        assert cube._BUILDING, "the view should have started a rollup in the background"
        print("ending while building")
        """
    )
    root = Path(__file__).resolve().parents[1]
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "ending while building" in done.stdout

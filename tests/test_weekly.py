"""The weekly meeting's numbers against a hand-computed story around a year boundary.

The chosen week is 2025-W01: Monday 2024-12-30 to Sunday 2025-01-05 (it starts in 2024).
Weeks before it: 2024-W52 (12-23), W51 (12-16), W50 (12-09), W49 (12-02).
Expected days (funnel.toml): lead 21, mql 2, sal 14, sql 21, opportunity 45; SLA 48 h;
window 180 days. Owners: M1 Maya Patel, M2 Jonas Berg (marketing), S1 Priya Nair, S2 Dana
Reyes (sales).
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib

import pytest

from data import contract as contract_mod
from data import edits
from queries import cube, teams, weekly
from queries.filters import Filters
from tests import stories

W01 = dt.date(2024, 12, 30)
W52 = dt.date(2024, 12, 23)

STORY = {
    # --- this week (2025-W01): three new leads, all become MQLs
    # A1: MQL Monday noon, Dana never acts: SLA deadline Wed 01-01 12:00 passes; still waiting
    # at the end of the week (01-06 00:00), 108 h late. Also stalled at MQL (listed once).
    "A1": {"owner": "S2", "events": [("lead", "2024-12-30 10:00"), ("mql", "2024-12-30 12:00")]},
    # A2: MQL Tue 09:00, accepted Fri 09:00 = 72 h later: acted 24 h after the deadline.
    "A2": {
        "owner": "S2",
        "events": [("lead", "2024-12-31 08:00"), ("mql", "2024-12-31 09:00"), ("sal", "2025-01-03 09:00")],
    },
    # A3: MQL on Sunday noon: its deadline (Tue 01-07) is next week: no breach this week.
    "A3": {"events": [("lead", "2025-01-05 10:00"), ("mql", "2025-01-05 12:00")]},
    # A4: enters on the next Monday at 00:00 exactly: not in W01 (weeks end before Monday 00:00).
    "A4": {"events": [("lead", "2025-01-06 00:00")]},
    # --- last week (2024-W52)
    # B1: MQL Fri 12-27, accepted 24 h later: in time, and its deadline was last week anyway.
    "B1": {
        "events": [("lead", "2024-12-23 09:00"), ("mql", "2024-12-27 10:00"), ("sal", "2024-12-28 10:00")]
    },
    # B2: MQL Sun 12-29 12:00 (deadline Tue 12-31 12:00, in W01); rejected Mon 08:00, in time.
    "B2": {
        "events": [
            ("lead", "2024-12-29 08:00"),
            ("mql", "2024-12-29 12:00"),
            ("rejected", "2024-12-30 08:00", "not_a_fit"),
        ]
    },
    # B3: lead in W51, MQL Sat 12-28 06:00; deadline Mon 12-30 06:00 falls in W01; Priya never
    # acts: waiting, 162 h late at the end of W01 (6 days 18 hours).
    "B3": {"owner": "S1", "events": [("lead", "2024-12-20 09:00"), ("mql", "2024-12-28 06:00")]},
    # --- earlier weeks
    # C1: W51 lead, MQL, SAL; recycled (not_ready) Thu 01-02 and back as an MQL Sat 01-04 10:00:
    # a recycled lead coming back (a re-entry), not a new MQL; its new deadline is next week.
    "C1": {
        "events": [
            ("lead", "2024-12-16 09:00"),
            ("mql", "2024-12-17 09:00"),
            ("sal", "2024-12-18 09:00"),
            ("recycled", "2025-01-02 09:00", "not_ready"),
            ("mql", "2025-01-04 10:00"),
        ]
    },
    # D1: W49 lead still at 'lead' after 34.6 days: stalled (crossed 21 days on 12-23, before W01).
    "D1": {"owner": "M1", "events": [("lead", "2024-12-02 09:00")]},
    # E1: W50 lead: crosses 21 days on Thu 01-02 12:00, inside W01: newly stalled.
    "E1": {"owner": "M2", "events": [("lead", "2024-12-12 12:00")]},
    # F1: Sales-sourced straight to SQL on 11-20: 46.6 days at SQL (> 21): stalled.
    "F1": {"owner": "S2", "events": [("sql", "2024-11-20 09:00")]},
    # H1: an opportunity since 10-15: 82.6 days (> 45), window (from 10-01) still open: stalled.
    "H1": {"owner": "S2", "events": [("sql", "2024-10-01 09:00"), ("opportunity", "2024-10-15 09:00")]},
    # G1: a lead from May: outside its 180-day window by W01, so dropped, not stalled.
    "G1": {"owner": "M1", "events": [("lead", "2024-05-01 09:00")]},
}


@pytest.fixture(scope="module")
def story_db(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("weekly") / "story.duckdb", STORY)


@pytest.fixture(scope="module")
def report(story_db):
    return weekly.week_report(W01, db=story_db)


# --- ISO weeks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "monday", "label"),
    [
        ("2025-W01", dt.date(2024, 12, 30), "2025-W01"),  # the ISO year starts in December 2024
        ("2026-W43", dt.date(2026, 10, 19), "2026-W43"),
        ("2026W53", dt.date(2026, 12, 28), "2026-W53"),  # 2026 starts on a Thursday: 53 weeks
        ("2021-W01", dt.date(2021, 1, 4), "2021-W01"),  # 2021-01-01 is a Friday, in 2020-W53
    ],
)
def test_parse_week_and_label_round_trip(text, monday, label):
    assert weekly.parse_week(text) == monday
    assert weekly.week_label(monday) == label


@pytest.mark.parametrize("text", ["2025-W53", "2025-W00", "2025-13", "W01", "<script>"])
def test_parse_week_refuses_with_the_expected_format(text):
    with pytest.raises(weekly.WeekError, match="2026-W43|has no week"):
        weekly.parse_week(text)


def test_week_start_and_default_week():
    # Sunday 2025-01-05 belongs to the week of Monday 2024-12-30.
    assert weekly.week_start(dt.date(2025, 1, 5)) == W01
    # Latest event Mon 2025-01-06 00:00: W01 ended exactly then, so it is the last complete week.
    assert weekly.default_week(dt.datetime(2025, 1, 6, 0, 0)) == W01
    # Latest event Sunday night: W01 is not over, the last complete week is W52.
    assert weekly.default_week(dt.datetime(2025, 1, 5, 23, 59)) == W52


def test_week_choices_run_from_the_first_event_to_the_last_complete_week(story_db):
    choices = weekly.week_choices(story_db)
    # Latest event: A4 at Mon 2025-01-06 00:00, so W01 is the newest; G1 (2024-05-01, a
    # Wednesday) puts the oldest at Monday 2024-04-29.
    assert choices[0] == W01
    assert choices[-1] == dt.date(2024, 4, 29)
    assert len(choices) == (W01 - dt.date(2024, 4, 29)).days // 7 + 1


# --- headline: entries this week vs last week vs the 4-week average -------------------------


def test_headline_entries_week_over_week_across_the_year_boundary(report):
    h = report.headline.set_index("stage")
    # lead: W01 = A1, A2, A3 (A4 is next Monday 00:00) = 3; W52 = B1, B2 = 2;
    # 4-week average over W49..W52 = (D1 + E1 + C1,B3 + B1,B2) / 4 = (1 + 1 + 2 + 2) / 4 = 1.5
    assert (h.at["lead", "this_week"], h.at["lead", "last_week"], h.at["lead", "avg_4w"]) == (3, 2, 1.5)
    assert h.at["lead", "change_vs_last"] == 1
    assert h.at["lead", "change_vs_last_pct"] == pytest.approx(0.5)
    assert h.at["lead", "change_vs_avg_pct"] == pytest.approx(1.0)
    # mql: W01 = A1, A2, A3 (C1's return is a re-entry, not counted) = 3; W52 = B1, B2, B3 = 3;
    # average = (0 + 0 + 1 (C1) + 3) / 4 = 1.0
    assert (h.at["mql", "this_week"], h.at["mql", "last_week"], h.at["mql", "avg_4w"]) == (3, 3, 1.0)
    assert h.at["mql", "change_vs_last"] == 0
    # sal: W01 = A2; W52 = B1; average = (C1 in W51 + B1) / 4 = 0.5
    assert (h.at["sal", "this_week"], h.at["sal", "last_week"], h.at["sal", "avg_4w"]) == (1, 1, 0.5)
    # Nothing entered the later stages in these weeks: zeros, and no % change from zero.
    assert h.at["won", "this_week"] == 0
    assert math.isnan(h.at["won", "change_vs_last_pct"])


def test_entries_trend_has_every_week_and_stage_with_zeros(report):
    t = report.entries_trend
    assert len(t) == weekly.TREND_WEEKS * 6
    assert t["week_start"].max() == W01
    assert t[(t["week_start"] == W01) & (t["stage"] == "lead")]["week"].item() == "2025-W01"
    # H1 entered opportunity on 2024-10-15, a Tuesday of 2024-W42 (Monday 10-14).
    opp = t[(t["stage"] == "opportunity") & (t["n_entries"] > 0)]
    assert opp[["week_start", "n_entries"]].values.tolist() == [[dt.date(2024, 10, 14), 1]]


def test_the_weeks_entries_and_decisions_from_the_rollups_are_the_hand_computed_ones(story_db, monkeypatch):
    # The same week summed from the rollups of every day's entries and decisions (queries/cube.py
    # HISTORY) and counted over the journeys and events: the same frames, the hand-computed ones.
    cube.clear()
    monkeypatch.setattr(cube, "WAIT", True)
    summed = weekly.week_report(W01, db=story_db)
    assert (cube.ANSWERED["weekly_entries"], cube.ANSWERED["weekly_decisions"]) == (1, 1)
    with monkeypatch.context() as m:
        m.setattr(cube, "answers", lambda *args: False)
        counted = weekly.week_report(W01, db=story_db)
    for name in ("headline", "entries_trend", "conversions", "movements"):
        assert getattr(summed, name).equals(getattr(counted, name)), name
    h = summed.headline.set_index("stage")
    assert (h.at["lead", "this_week"], h.at["lead", "last_week"], h.at["lead", "avg_4w"]) == (3, 2, 1.5)
    c = summed.conversions.set_index("stage")
    assert (c.at["mql", "n_decided"], c.at["mql", "n_moved"], c.at["sal", "n_decided"]) == (2, 1, 1)
    cube.clear()


# --- conversion: decided leads that moved on --------------------------------------------------


def test_decided_and_moved_on_per_stage(report):
    c = report.conversions.set_index("stage")
    # lead: W01 decided A1, A2, A3 (all reached MQL in the week): 3 of 3; W52: B1, B2, B3: 3 of 3.
    assert (c.at["lead", "n_decided"], c.at["lead", "n_moved"]) == (3, 3)
    assert (c.at["lead", "prev_decided"], c.at["lead", "prev_moved"]) == (3, 3)
    # mql: W01 A2 accepted (moved), B2 rejected (ended at MQL): 1 of 2 = 50%; W52: B1 1 of 1.
    assert (c.at["mql", "n_decided"], c.at["mql", "n_moved"]) == (2, 1)
    assert c.at["mql", "rate"] == pytest.approx(0.5)
    assert c.at["mql", "prev_rate"] == pytest.approx(1.0)
    assert c.at["mql", "change"] == pytest.approx(-0.5)
    # 2 and 1 leads: far too few to call anything, and flagged as small.
    assert not c.at["mql", "is_change_real"]
    assert c.at["mql", "is_small"]
    # sal: C1 was recycled at SAL on Thu 01-02: dropped at SAL in W01, as the meeting saw it,
    # although it came back as an MQL on 01-04 (a return does not undo the week's decision).
    assert (c.at["sal", "n_decided"], c.at["sal", "n_moved"]) == (1, 0)
    assert c.at["sal", "note"] == "no decisions to compare"  # nobody decided at SAL in W52
    assert "won" not in c.index  # the last stage has no next stage


WINDOW_STORY = {
    # The window is 180 days from the start; all three start at SQL (Sales-sourced).
    # S1: SQL Wed 2024-07-03 09:00, nothing since: the window ends Mon 12-30 09:00, in W01:
    # dropped at SQL in W01 because the window ran out.
    "S1": {"events": [("sql", "2024-07-03 09:00")]},
    # S2: same start, an opportunity on 12-31, a day after its window ended: not in time, so
    # also dropped in W01 at the window's end (the cohort funnel does not count it as reached).
    "S2": {"events": [("sql", "2024-07-03 09:00"), ("opportunity", "2024-12-31 09:00")]},
    # S3: SQL 07-10 (window ends 2025-01-06 09:00), opportunity Thu 01-02: moved on in W01.
    "S3": {"events": [("sql", "2024-07-10 09:00"), ("opportunity", "2025-01-02 09:00")]},
    # S4: SQL in October: its window is open and it has not moved: in progress, not decided.
    "S4": {"events": [("sql", "2024-10-01 09:00")]},
}


def test_a_lead_whose_window_ran_out_is_dropped_in_the_week_the_window_ends(tmp_path):
    db = stories.build(tmp_path / "window.duckdb", WINDOW_STORY)
    c = weekly.week_report(W01, db=db).conversions.set_index("stage")
    # SQL -> Opportunity in W01: S1, S2 dropped (window ran out), S3 moved: 1 of 3 = 33.3%,
    # the cohort funnel's definition (reached in time). Counting only moves and exits would
    # give S2, S3 moved, 2 of 2 = 100%.
    assert (c.at["sql", "n_decided"], c.at["sql", "n_moved"], c.at["sql", "n_window_ended"]) == (3, 1, 2)
    assert c.at["sql", "rate"] == pytest.approx(1 / 3)


def _truncate(story: dict, before: str) -> dict:
    """The story as a store built at `before` would have held it: only earlier events."""
    cut = stories.ts(before)
    out = {}
    for lead, spec in story.items():
        events = [e for e in spec["events"] if stories.ts(e[1]) < cut]
        if events:
            out[lead] = {**spec, "events": events}
    return out


RETURN_STORY = {
    # R1: MQL 12-17, recycled Tue 12-31 (W01), back as an MQL 01-08, rejected 01-14 (later
    # weeks): W01 must still show it dropped at MQL, as the meeting on 01-06 saw it.
    "R1": {
        "events": [
            ("lead", "2024-12-16 09:00"),
            ("mql", "2024-12-17 09:00"),
            ("recycled", "2024-12-31 09:00", "not_ready"),
            ("mql", "2025-01-08 09:00"),
            ("rejected", "2025-01-14 09:00", "not_a_fit"),
        ]
    },
    # R2: an inquiry entered by Marketing (Maya) on Thu 01-02; Sales (Dana) owns the lead now
    # and qualified it later: the W01 entry is Marketing's.
    "R2": {
        "owner": "S2",
        "events": [
            ("lead", "2025-01-02 09:00", None, None, "M1"),
            ("mql", "2025-01-09 09:00", None, None, "M1"),
        ],
    },
    # R3: MQL Mon 12-30 10:00, accepted by Sales 01-10 (after the week): waiting at W01's end.
    "R3": {
        "events": [("lead", "2024-12-30 09:00"), ("mql", "2024-12-30 10:00"), ("sal", "2025-01-10 09:00")]
    },
}


def test_a_past_week_depends_only_on_events_up_to_its_end(tmp_path):
    full = stories.build(tmp_path / "full.duckdb", RETURN_STORY)
    then = stories.build(tmp_path / "then.duckdb", _truncate(RETURN_STORY, "2025-01-06 00:00"))
    now, seen = weekly.week_report(W01, db=full), weekly.week_report(W01, db=then)
    # The numbers of W01 from today's store equal those of the store as it stood on 01-06.
    for name in ("headline", "conversions", "movements", "exits"):
        got, want = getattr(now, name), getattr(seen, name)
        assert got.reset_index(drop=True).equals(want.reset_index(drop=True)), name
    assert now.actions[["kind", "lead_id"]].equals(seen.actions[["kind", "lead_id"]])
    # R2's inquiry is Marketing's (Maya entered it), though Sales (Dana) owns the lead now.
    m = now.movements.set_index(["stage", "team"])
    assert m.at[("lead", "marketing"), "n_entries"] == 1
    assert ("lead", "sales") in m.index and m.at[("lead", "sales"), "n_entries"] == 1  # R3
    c = now.conversions.set_index("stage")
    # R1 dropped at MQL in W01 (its final exit, 01-14, would have moved it to W03).
    assert (c.at["mql", "n_decided"], c.at["mql", "n_moved"]) == (1, 0)


def _decisions_story(moved_now: int, moved_before: int, n: int = 100) -> dict:
    """n MQLs decided in each of W52 and W01; `moved_*` of them accepted, the rest rejected."""
    story = {}
    for week, moved, tag in ((W52, moved_before, "P"), (W01, moved_now, "N")):
        for i in range(n):
            day = dt.datetime.combine(week, dt.time(9)) + dt.timedelta(minutes=i)
            outcome = ("sal",) if i < moved else ("rejected", None, "not_a_fit")
            when = (day + dt.timedelta(hours=5)).isoformat(sep=" ")
            story[f"{tag}{i:03d}"] = {
                "events": [
                    ("lead", (day - dt.timedelta(days=3)).isoformat(sep=" ")),
                    ("mql", day.isoformat(sep=" ")),
                    (outcome[0], when, *outcome[2:]),
                ]
            }
    return story


@pytest.mark.parametrize(
    ("moved_now", "moved_before", "is_real"),
    [
        # 30/100 against 60/100: pooled 0.45, se = sqrt(0.45 * 0.55 * 2/100) = 0.0704,
        # z = 0.30 / 0.0704 = 4.26, p = 0.00002: outside the noise, called out.
        (30, 60, True),
        # 45/100 against 50/100: pooled 0.475, se = 0.0706, z = 0.71, p = 0.48: noise, not called.
        (45, 50, False),
    ],
)
def test_noise_flag_on_and_off(tmp_path, moved_now, moved_before, is_real):
    db = stories.build(tmp_path / "noise.duckdb", _decisions_story(moved_now, moved_before))
    c = weekly.week_report(W01, db=db).conversions.set_index("stage")
    assert (c.at["mql", "n_decided"], c.at["mql", "n_moved"]) == (100, moved_now)
    assert (c.at["mql", "prev_decided"], c.at["mql", "prev_moved"]) == (100, moved_before)
    assert bool(c.at["mql", "is_change_real"]) is is_real
    assert not c.at["mql", "is_small"]
    assert c.at["mql", "note"].startswith("change outside the noise" if is_real else "within the noise")
    if is_real:
        assert c.at["mql", "p_value"] == pytest.approx(2.0e-5, abs=1e-5)
    else:
        assert c.at["mql", "p_value"] == pytest.approx(0.479, abs=0.002)


# --- movements --------------------------------------------------------------------------------


def test_movements_entries_and_recycled_leads_by_team(report):
    m = report.movements.set_index(["stage", "team"])
    # Every W01 event is by a Sales owner (A1, A2 by Dana; A3 by the default owner Priya).
    assert m.at[("lead", "sales"), "n_entries"] == 3
    assert m.at[("mql", "sales"), "n_entries"] == 3
    # C1 came back as an MQL on 01-04: one recycled lead back at MQL.
    assert m.at[("mql", "sales"), "n_reentries"] == 1
    assert m.at[("mql", "sales"), "n_reentry_leads"] == 1
    assert m["n_reentries"].sum() == 1


def test_exits_with_reasons_and_who_they_are_charged_to(report):
    e = report.exits.set_index(["exit_type", "reason_code"])
    # B2 rejected as not_a_fit (Marketing's lead quality); C1 recycled as not_ready (Marketing).
    assert sorted(e.index) == [("recycled", "not_ready"), ("rejected", "not_a_fit")]
    assert e.at[("rejected", "not_a_fit"), "charged_to"] == "marketing"
    assert e.at[("rejected", "not_a_fit"), "team"] == "sales"  # Sales recorded the rejection
    assert e.at[("rejected", "not_a_fit"), "exit_label"] == "Rejected by Sales"
    assert e["n_exits"].tolist() == [1, 1]


# --- action list ------------------------------------------------------------------------------


def test_sla_breaches_of_the_week(story_db):
    contract = contract_mod.load()
    breaches, _ = weekly._sla_breaches(W01, story_db, contract)
    got = {
        r.lead_id: (r.owner_name, bool(r.is_waiting), round(r.hours_late, 3)) for r in breaches.itertuples()
    }
    assert got == {
        "A1": ("Dana Reyes", True, 108.0),  # deadline 01-01 12:00 -> end of week 01-06 00:00
        "A2": ("Dana Reyes", False, 24.0),  # accepted 01-03 09:00, deadline 01-02 09:00
        "B3": ("Priya Nair", True, 162.0),  # deadline 12-30 06:00 -> 01-06 00:00: 6 days 18 h
    }
    # B1 (acted in 24 h), B2 (rejected in 20 h), A3 and C1's return (deadlines next week): none.


HANDOFF_STORY = {
    # P1: MQL 12-02, accepted by Sales 3 h later; recycled, then back as an MQL Mon 12-30 and
    # untouched. Teams times only the first handoff (in time): a re-entry starts no new clock.
    "P1": {
        "events": [
            ("lead", "2024-12-01 09:00"),
            ("mql", "2024-12-02 09:00"),
            ("sal", "2024-12-02 12:00"),
            ("recycled", "2024-12-20 09:00", "not_ready"),
            ("mql", "2024-12-30 09:00"),
        ]
    },
    # P2: Marketing (Maya) hands over Mon 12-30 10:00 and recycles it herself 2 h later; Sales
    # never acts. Only a Sales event is an action: breached, waiting, 110 h past the deadline
    # (01-01 10:00 to 01-06 00:00). No Sales event and a Marketing owner: no owner.
    "P2": {
        "owner": "M1",
        "events": [
            ("lead", "2024-12-28 09:00"),
            ("mql", "2024-12-30 10:00"),
            ("recycled", "2024-12-30 12:00", "not_ready"),
        ],
    },
    # P3: owned by Jonas (Marketing) today; Dana accepted it 72 h after the handoff: late by
    # 24 h, and charged to Dana, the owner on Sales' first event, not to the lead's owner.
    "P3": {
        "owner": "M2",
        "events": [
            ("lead", "2024-12-29 09:00"),
            ("mql", "2024-12-30 11:00"),
            ("sal", "2025-01-02 11:00", None, None, "S2"),
        ],
    },
    # P4: rejected by Sales after 24 h: within the SLA, no breach.
    "P4": {
        "events": [
            ("lead", "2024-12-30 08:00"),
            ("mql", "2024-12-31 09:00"),
            ("rejected", "2025-01-01 09:00", "not_a_fit"),
        ]
    },
}


def test_sla_breaches_follow_the_teams_handoff_rules(tmp_path):
    db = stories.build(tmp_path / "handoff.duckdb", HANDOFF_STORY)
    contract = contract_mod.load()
    breaches, _ = weekly._sla_breaches(W01, db, contract)
    got = {
        r.lead_id: (r.owner_name, bool(r.is_waiting), round(r.hours_late, 3)) for r in breaches.itertuples()
    }
    assert got == {"P2": ("No owner", True, 110.0), "P3": ("Dana Reyes", False, 24.0)}

    # The Teams page, as of W01's last day, over every cohort start: its breached leads whose
    # deadline (first handoff + 48 h) fell in W01 are exactly the weekly list, same owners.
    filters = Filters(start=dt.date(2024, 6, 1), end=dt.date(2025, 1, 5), as_of=dt.date(2025, 1, 5))
    t = teams.handoff_leads(filters, status="breached", db=db, contract=contract)
    deadline = t["handoff_at"] + dt.timedelta(hours=contract.handoff_sla_hours)
    t = t[(deadline >= dt.datetime(2024, 12, 30)) & (deadline < dt.datetime(2025, 1, 6))]
    assert sorted(zip(t["lead_id"], t["owner_id"].fillna(""), strict=True)) == sorted(
        zip(breaches["lead_id"], breaches["owner_id"], strict=True)
    )
    assert sorted(t["lead_id"]) == ["P2", "P3"]


def test_stalled_leads_at_the_end_of_the_week(story_db):
    contract = contract_mod.load()
    stalled, _ = weekly._stalled_leads(W01, story_db, contract)
    got = {r.lead_id: (r.stage_order, r.days_in_stage, bool(r.is_new)) for r in stalled.itertuples()}
    # (stage order, days in stage at 2025-01-06 00:00, crossed its expected days during W01)
    expected = {
        "A1": (2, 6.5, True),  # MQL since 12-30 12:00; 2 days passed on 01-01 12:00
        "B3": (2, 8.75, True),  # MQL since 12-28 06:00; 2 days passed on 12-30 06:00
        "D1": (1, 34.625, False),  # lead since 12-02 09:00; 21 days passed on 12-23
        "E1": (1, 24.5, True),  # lead since 12-12 12:00; 21 days passed on 01-02 12:00
        "F1": (4, 46.625, False),  # SQL since 11-20 09:00
        "H1": (5, 82.625, False),  # opportunity since 10-15 09:00
    }
    assert got.keys() == expected.keys()
    for lead, (order, days, is_new) in expected.items():
        assert got[lead][0] == order, lead
        assert got[lead][1] == pytest.approx(days), lead
        assert got[lead][2] is is_new, lead
    # G1 is past its window (dropped), A2/B1 within SAL's 14 days, C1 back at MQL for 1.6 days.


def test_action_list_grouped_by_owner_with_next_steps(report):
    a = report.actions
    # A1 and B3 are both SLA breaches and stalled at MQL: listed once, as breaches.
    # SLA breaches of every owner come first, then stalled leads, so a long stalled list never
    # buries a breach. Owners by what became due this week (Dana 2, then Jonas and Priya 1
    # each, by name, then Maya 0); per owner: waiting breaches, late breaches; stalled leads
    # most overdue first (H1 is 37.6 days past its 45, F1 25.6 past its 21).
    assert a["lead_id"].tolist() == ["A1", "A2", "B3", "H1", "F1", "E1", "D1"]
    assert a["owner_name"].tolist() == [
        "Dana Reyes",
        "Dana Reyes",
        "Priya Nair",
        "Dana Reyes",
        "Dana Reyes",
        "Jonas Berg",
        "Maya Patel",
    ]
    todo = dict(zip(a["lead_id"], a["next_action"], strict=True))
    assert todo["A1"].startswith("Accept or reject this MQL now")
    assert todo["A2"].startswith("Done late (Sales accepted)")
    assert todo["F1"] == "Move to Opportunity or close it (exit with a reason code)"
    assert todo["H1"] == "Move the deal to Closed won or close it as lost with a reason code"
    assert todo["D1"] == "Move to Marketing qualified or close it (exit with a reason code)"
    kinds = dict(zip(a["lead_id"], a["kind"], strict=True))
    assert kinds == {
        "A1": "sla_waiting",
        "A2": "sla_late",
        "B3": "sla_waiting",
        "D1": "stalled",
        "E1": "stalled",
        "F1": "stalled",
        "H1": "stalled",
    }
    # The label is for people only; code branches on the kind code.
    assert a.set_index("lead_id").at["A2", "kind_label"] == "SLA breach, acted late"
    # Due this week: the three breaches and E1, which stalled during the week.
    assert sorted(a.loc[weekly.is_due(a), "lead_id"]) == ["A1", "A2", "B3", "E1"]
    by_owner = report.actions_by_owner.set_index("owner_name")
    assert by_owner.loc["Dana Reyes", ["n_sla_waiting", "n_sla_late", "n_stalled", "n_actions"]].tolist() == [
        1,
        1,
        2,
        4,
    ]
    assert by_owner.at["Jonas Berg", "n_stalled_new"] == 1
    assert report.actions_by_owner["owner_name"].tolist() == [
        "Dana Reyes",
        "Jonas Berg",
        "Priya Nair",
        "Maya Patel",
    ]
    assert report.actions_by_owner["n_due"].tolist() == [2, 1, 1, 0]


# --- definition changes -----------------------------------------------------------------------


def _contract_with_change(day: dt.date, text: str):
    raw = tomllib.loads(contract_mod.DEFAULT_PATH.read_text(encoding="utf-8"))
    raw["changelog"].append({"date": day, "change": text})
    return contract_mod.parse(raw)


def test_a_definition_change_dated_inside_the_week_shows(story_db):
    contract = _contract_with_change(dt.date(2025, 1, 2), "SAL now needs a logged first call.")
    r = weekly.week_report(W01, db=story_db, contract=contract)
    ch = r.changes.set_index("date")
    assert ch.at[dt.date(2025, 1, 2), "change"] == "SAL now needs a logged first call."
    assert bool(ch.at[dt.date(2025, 1, 2), "is_in_week"])
    # Later changes (2025-06-02, 2026-03-02) are listed as "since"; 2024-11-01 is before the week.
    assert [bool(x) for x in r.changes["is_in_week"]] == [True, False, False]
    assert dt.date(2024, 11, 1) not in ch.index


def test_no_change_in_a_week_after_the_last_one(story_db):
    r = weekly.week_report(dt.date(2026, 3, 9), db=story_db)
    assert r.changes.empty


# --- an empty week ----------------------------------------------------------------------------


def test_an_empty_week_is_all_zeros_and_says_so(story_db):
    # 2024-W10: before the first event (G1, 2024-05-01).
    r = weekly.week_report(weekly.parse_week("2024-W10"), db=story_db)
    assert r.is_empty
    assert r.headline[["this_week", "last_week"]].to_numpy().sum() == 0
    assert (r.headline["avg_4w"] == 0).all()
    assert r.conversions["n_decided"].sum() == 0
    assert r.conversions["rate"].isna().all()
    assert r.exits.empty and r.actions.empty and r.actions_by_owner.empty
    assert r.pace.iloc[0]["status"] == "no target"  # the story sets no targets


def test_pace_against_the_shared_target(tmp_path):
    # One won deal of 30,000 on 2025-01-02 and a shared January target of 310,000: at the end of
    # W01 (2025-01-06 00:00) 5 of 31 days have passed, so a steady pace would be 50,000.
    story = {
        "W1": {
            "events": [
                ("sql", "2024-12-01 09:00"),
                ("opportunity", "2024-12-05"),
                ("won", "2025-01-02 10:00", None, 30000),
            ]
        }
    }
    db = stories.build(tmp_path / "pace.duckdb", story)
    with edits.write(db, (edits.TARGETS,)) as con:  # targets are the team's edits (data/edits.py)
        con.execute(
            "insert into targets values (date '2025-01-01', 'shared', 'revenue', 310000, "
            "timestamp '2024-12-01', 'test')"
        )
    p = weekly.week_report(W01, db=db).pace.iloc[0]
    assert p["month_start"] == dt.date(2025, 1, 1)  # the month of the week's last day, Sunday 01-05
    assert (p["target"], p["won_revenue"], p["n_won"]) == (310000, 30000, 1)
    assert p["share"] == pytest.approx(5 / 31)
    assert p["expected"] == pytest.approx(50000)
    assert p["status"] == "behind"  # 30,000 < 95% of 50,000


def test_frames_have_the_documented_columns(report):
    assert list(report.headline.columns) == [
        "stage_order",
        "stage",
        "label",
        "this_week",
        "last_week",
        "avg_4w",
        "change_vs_last",
        "change_vs_last_pct",
        "change_vs_avg_pct",
    ]
    assert list(report.actions.columns) == weekly.ACTION_COLUMNS

"""The weekly alignment meeting: what changed this ISO week, who acts, and where we stand.

Weeks are ISO weeks (Monday 00:00 to the next Monday 00:00, UTC); a week is named "2026-W43".
Everything for one week is computed as of the end of that week, so a past week reads the way
the meeting saw it. `week_report(monday)` runs every query once and returns a `WeeklyReport`
(plain DataFrames), which the page, the HTML/Markdown export and the CLI all draw from, so
they show the same numbers.

Definitions (the page shows them next to the numbers):
- Entries: a lead's first event for a stage (journey_stages.entered_at) during the week.
  Compared with the week before and with the average of the four weeks before it.
- Decided at a stage: a lead that had entered stage k in its window is decided at the first
  of: an exit before it moved on (dropped), its move to a later stage by start + window
  (moved on), or the end of its conversion window (dropped: docs/design.md "In progress vs
  dropped"). It counts in the week of that first event, so a week's numbers depend only on
  events up to its end. The share that moved on is compared with the week before by a
  two-proportion test; the change is called out only when p < 0.05, and a base under 30
  leads is flagged as small.
- SLA breach: the Teams page's rule (queries.teams.handoff_health): a lead whose first
  handoff-stage entry + handoff_sla_hours fell in the week and whose first action by Sales
  came later than that, or not by the end of the week. Re-entries start no new clock.
- Stalled: a lead whose current stage was entered more than its expected_days ago by the end
  of the week, with no exit since, not at the last stage and inside its conversion window.

Pace against the shared target comes from the Targets queries (queries.targets, queries.plan)
and stalled leads from the Teams queries (queries.teams.stalled_leads). SLA breaches of one
week, lead by lead, are this module's own query (the Teams queries report handoff health over
a cohort of starts, not the breaches whose deadline fell in a week) with the Teams rules
line for line, and a test that both name the same breaches. `_sla_breaches`, `_stalled_leads` and `_pace`
are the adapters between those modules and the report.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from data import targets as targets_mod
from data.contract import Contract
from queries import contracts, cube, executor, plan, stats, targets, teams
from queries.filters import NO_WINDOW_DAYS

WEEK_PATTERN = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
TREND_WEEKS = 26  # weeks drawn on the trend charts, ending with the chosen week
AVERAGE_WEEKS = 4  # "vs the 4-week average": the four weeks before the chosen one
ALPHA = 0.05
PACE_METRIC = "revenue"  # the shared target the meeting paces against


class WeekError(ValueError):
    """A week could not be read; the message says which format is expected."""


# --- ISO weeks ------------------------------------------------------------------------------


def week_start(day: dt.date | dt.datetime) -> dt.date:
    """Monday of the ISO week that contains `day`."""
    if isinstance(day, dt.datetime):
        day = day.date()
    return day - dt.timedelta(days=day.weekday())


def week_label(monday: dt.date) -> str:
    """ "2026-W43" for the ISO week starting on `monday` (the ISO year, not the calendar year:
    2024-12-30 is 2025-W01)."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str) -> dt.date:
    """The Monday of an ISO week written "2026-W43" (also "2026W43")."""
    match = WEEK_PATTERN.match(str(text))
    if not match:
        raise WeekError(f"week {text!r}: expected an ISO week such as 2026-W43")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        return dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise WeekError(f"week {text!r}: ISO year {year} has no week {week}") from None


def week_bounds(monday: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[Monday 00:00, next Monday 00:00) of the week, as naive UTC timestamps."""
    start = dt.datetime.combine(week_start(monday), dt.time.min)
    return start, start + dt.timedelta(days=7)


def default_week(latest_event_at: dt.datetime) -> dt.date:
    """The last complete ISO week before the latest event: the week before the one it falls in
    (a week is complete once its next Monday 00:00 is on or before the latest event)."""
    return week_start(latest_event_at) - dt.timedelta(days=7)


def store_span(db: Path | None = None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(first event, latest event) in the store; (None, None) when it has no events."""
    row = executor.run("weekly_span", db=db).iloc[0]
    first, latest = row["first_event_at"], row["latest_event_at"]
    if pd.isna(first):
        return None, None
    return pd.Timestamp(first).to_pydatetime(), pd.Timestamp(latest).to_pydatetime()


def week_choices(db: Path | None = None) -> list[dt.date]:
    """Mondays the picker offers, newest first: from the first event's week to the default week
    (the last complete one). One week (the current) when the store holds less than a week."""
    first, latest = store_span(db)
    if latest is None:
        return [week_start(dt.datetime.now(dt.UTC).replace(tzinfo=None))]
    newest = default_week(latest)
    oldest = week_start(first)
    if newest < oldest:
        return [oldest]
    n = (newest - oldest).days // 7
    return [newest - dt.timedelta(days=7 * i) for i in range(n + 1)]


# --- the report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyReport:
    """Everything one week's meeting looks at. Each frame's grain is in its comment."""

    week_start: dt.date
    label: str
    as_of: dt.datetime  # the end of the week: every number is as of this moment
    latest_event_at: dt.datetime | None
    # one row per stage: stage_order, stage, label, this_week, last_week, avg_4w,
    # change_vs_last (count), change_vs_last_pct, change_vs_avg_pct
    headline: pd.DataFrame
    # one row per stage but the last: stage, label, next_label, n_decided, n_moved,
    # n_window_ended (dropped because the window ran out), rate,
    # low, high, prev_decided, prev_moved, prev_rate, change (rate points), p_value,
    # is_change_real (p < 0.05), is_small (a base under 30), note
    conversions: pd.DataFrame
    # one row: month_start, target, won_revenue, n_won, share, expected, projected, status,
    # gap_to_pace, source
    pace: pd.DataFrame
    # one row per (week, stage) over TREND_WEEKS weeks: week_start, week, stage_order, stage,
    # label, n_entries
    entries_trend: pd.DataFrame
    # one row per (week, stage but the last): week_start, week, stage, label, n_decided,
    # n_moved, n_window_ended, rate
    conversion_trend: pd.DataFrame
    # one row per (stage, team on the event): stage_order, stage, label, team, n_entries,
    # n_reentries (recycled leads coming back), n_reentry_leads
    movements: pd.DataFrame
    # one row per (exit, reason, team that recorded it): exit_type, exit_label, reason_code,
    # reason_label, charged_to, team, n_exits, n_leads
    exits: pd.DataFrame
    # one row per action: kind (code: sla_waiting, sla_late, stalled), kind_label, owner_name,
    # owner_team, lead_id, lead_name, company, stage, since, overdue, is_new, next_action;
    # SLA breaches of all owners first, then stalled leads, owners in actions_by_owner's order
    actions: pd.DataFrame
    # one row per owner with an action: owner_name, owner_team, n_sla_waiting, n_sla_late,
    # n_stalled, n_stalled_new, n_actions, n_due (breaches + stalled this week); most due first
    actions_by_owner: pd.DataFrame
    # one row per changelog entry dated in or since the week: date, change, is_in_week
    changes: pd.DataFrame
    # one row per changelog entry (for the chart markers): date, change
    all_changes: pd.DataFrame
    sources: dict = field(default_factory=dict)  # section -> which module computed it
    n_stalled_unlisted: int = 0  # stalled leads beyond the Teams list's row limit (least overdue)
    teams: tuple[str, ...] = ()  # funnel.toml's teams, in order (chart colours)

    @property
    def is_empty(self) -> bool:
        """No stage entries, decisions, exits or actions at all in the week."""
        return (
            int(self.headline["this_week"].sum()) == 0
            and int(self.conversions["n_decided"].sum()) == 0
            and self.exits.empty
            and self.actions.empty
        )


def _stage_frame(contract: Contract) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stage_order": [s.order for s in contract.stages],
            "stage": contract.stage_keys,
            "label": [s.label for s in contract.stages],
        }
    )


def _weeks(monday: dt.date, n: int) -> list[dt.date]:
    """The n Mondays ending with `monday`, oldest first."""
    return [monday - dt.timedelta(days=7 * i) for i in range(n - 1, -1, -1)]


def entries_trend(
    monday: dt.date, n_weeks: int = TREND_WEEKS, db: Path | None = None, contract: Contract | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage entries per week: (one row per week × stage with zeros filled, and the raw rows
    per week × stage × team on the entry event from the query)."""
    contract = contract or contracts.current(db).effective()
    monday = week_start(monday)
    weeks = _weeks(monday, n_weeks)
    params = {
        "from_at": week_bounds(weeks[0])[0],
        "to_before": week_bounds(monday)[1],
        "stage_keys": contract.stage_keys,
    }
    # An entry never changes with a later event: any weeks sum the days of one rollup per
    # store version (queries/cube.py HISTORY), read here once it is built.
    raw = cube.history("weekly_entries", params, db=db)
    if raw is None:
        raw = executor.run("weekly_entries", params, db=db)
    raw["week_start"] = pd.to_datetime(raw["week_start"]).dt.date
    totals = raw.groupby(["week_start", "stage_order"], as_index=False)["n_entries"].sum()
    grid = pd.DataFrame({"week_start": weeks}).merge(_stage_frame(contract), how="cross")
    df = grid.merge(totals, on=["week_start", "stage_order"], how="left")
    df["n_entries"] = df["n_entries"].fillna(0).astype("int64")
    df.insert(1, "week", df["week_start"].map(week_label))
    return df, raw


def headline(trend: pd.DataFrame, monday: dt.date) -> pd.DataFrame:
    """One row per stage: entries this week, last week and the average of the four weeks
    before this one, with the changes (pct is nan when the base is zero)."""
    monday = week_start(monday)
    last = monday - dt.timedelta(days=7)
    window = _weeks(last, AVERAGE_WEEKS)
    pivot = trend.pivot_table(index="stage_order", columns="week_start", values="n_entries", aggfunc="sum")
    base = trend.drop_duplicates("stage_order")[["stage_order", "stage", "label"]].set_index("stage_order")

    def col(week: dt.date) -> pd.Series:
        return pivot[week] if week in pivot.columns else pd.Series(0, index=pivot.index)

    df = base.copy()
    df["this_week"] = col(monday).astype("int64")
    df["last_week"] = col(last).astype("int64")
    df["avg_4w"] = sum(col(w) for w in window) / AVERAGE_WEEKS
    df["change_vs_last"] = df["this_week"] - df["last_week"]
    df["change_vs_last_pct"] = [
        (t - p) / p if p else math.nan for t, p in zip(df["this_week"], df["last_week"], strict=True)
    ]
    df["change_vs_avg_pct"] = [
        (t - a) / a if a else math.nan for t, a in zip(df["this_week"], df["avg_4w"], strict=True)
    ]
    return df.reset_index()


def conversion_rows(
    monday: dt.date, n_weeks: int = TREND_WEEKS, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Decisions per week: one row per (week, stage but the last) with zeros filled: week_start,
    week, stage_order, stage, label, n_decided, n_moved, n_window_ended (dropped because the
    conversion window ran out), rate (n_moved / n_decided). See weekly_decisions.sql."""
    contract = contract or contracts.current(db).effective()
    monday = week_start(monday)
    weeks = _weeks(monday, n_weeks)
    params = {
        "from_at": week_bounds(weeks[0])[0],
        "to_before": week_bounds(monday)[1],
        "n_stages": len(contract.stages),
        "window": dt.timedelta(days=contract.conversion_window_days or NO_WINDOW_DAYS),
        "exit_keys": contract.exit_keys,
    }
    # A decision depends on nothing after it: any weeks sum the days of one rollup per store
    # version (queries/cube.py HISTORY), read here once it is built.
    raw = cube.history("weekly_decisions", params, db=db)
    if raw is None:
        raw = executor.run("weekly_decisions", params, db=db)
    raw["week_start"] = pd.to_datetime(raw["week_start"]).dt.date
    stages = _stage_frame(contract).iloc[:-1]
    grid = pd.DataFrame({"week_start": weeks}).merge(stages, how="cross")
    df = grid.merge(raw, on=["week_start", "stage_order"], how="left")
    for c in ("n_decided", "n_moved", "n_window_ended"):
        df[c] = df[c].fillna(0).astype("int64")
    df["rate"] = [stats.rate(m, d) for m, d in zip(df["n_moved"], df["n_decided"], strict=True)]
    df.insert(1, "week", df["week_start"].map(week_label))
    return df


def compare_conversions(rows: pd.DataFrame, monday: dt.date, contract: Contract) -> pd.DataFrame:
    """This week's decided-to-moved-on rate per stage against last week's, with the noise test."""
    monday = week_start(monday)
    last = monday - dt.timedelta(days=7)
    now = rows[rows["week_start"] == monday].set_index("stage_order")
    before = rows[rows["week_start"] == last].set_index("stage_order")
    out = []
    for stage in contract.stages[:-1]:
        k = stage.order
        n, x = (int(now.at[k, "n_decided"]), int(now.at[k, "n_moved"])) if k in now.index else (0, 0)
        expired = int(now.at[k, "n_window_ended"]) if k in now.index else 0
        pn, px = (
            (int(before.at[k, "n_decided"]), int(before.at[k, "n_moved"])) if k in before.index else (0, 0)
        )
        rate, prev = stats.rate(x, n), stats.rate(px, pn)
        low, high = stats.wilson(x, n)
        p = stats.two_proportion_p(x, n, px, pn)
        real = stats.is_significant(x, n, px, pn, ALPHA)
        small = min(n, pn) < stats.SMALL_GROUP
        if n == 0 or pn == 0:
            note = "no decisions to compare"
        elif real:
            note = "change outside the noise (p < 0.05)"
        else:
            note = "within the noise"
        if small and n and pn:
            note += f"; small group (under {stats.SMALL_GROUP} leads)"
        out.append(
            {
                "stage_order": k,
                "stage": stage.key,
                "label": stage.label,
                "next_label": contract.stages[k].label,
                "n_decided": n,
                "n_moved": x,
                "n_window_ended": expired,
                "rate": rate,
                "low": low,
                "high": high,
                "prev_decided": pn,
                "prev_moved": px,
                "prev_rate": prev,
                "change": rate - prev if n and pn else math.nan,
                "p_value": p,
                "is_change_real": bool(real),
                "is_small": bool(small),
                "note": note,
            }
        )
    return pd.DataFrame(out)


def movements(
    monday: dt.date, raw_entries: pd.DataFrame, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Entries and recycled leads coming back, one row per (stage, team) with any. The team is
    the one on the event itself (who entered the lead into the stage), not the lead's current
    owner's, so a past week does not change when a lead changes hands."""
    contract = contract or contracts.current(db).effective()
    monday = week_start(monday)
    start, end = week_bounds(monday)
    entries = raw_entries[raw_entries["week_start"] == monday][["stage_order", "team", "n_entries"]]
    back = executor.run(
        "weekly_reentries", {"start_at": start, "end_before": end, "stage_keys": contract.stage_keys}, db=db
    ).rename(columns={"n_leads": "n_reentry_leads"})
    df = entries.merge(back, on=["stage_order", "team"], how="outer")
    for c in ("n_entries", "n_reentries", "n_reentry_leads"):
        df[c] = df[c].fillna(0).astype("int64") if c in df else 0
    df = _stage_frame(contract).merge(df, on="stage_order", how="inner")
    return df.sort_values(["stage_order", "team"]).reset_index(drop=True)


def reason_label(contract: Contract, code: str) -> str:
    """A reason code as people read it: its label in funnel.toml; a code the contract does not
    know is shown as such, never passed off as a label."""
    reasons = {r.key: r.label for r in contract.reason_codes}
    if code in reasons:
        return reasons[code]
    return "no reason code" if not code else f"unknown code: {code}"


def exits(monday: dt.date, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Exits during the week with reasons, one row per (exit, reason, recording team): exit_type,
    exit_label, reason_code, reason_label (see reason_label), charged_to (the team funnel.toml
    charges the reason to; '' when the code is not in it), team, n_exits, n_leads."""
    contract = contract or contracts.current(db).effective()
    start, end = week_bounds(monday)
    df = executor.run(
        "weekly_exits", {"start_at": start, "end_before": end, "exit_keys": contract.exit_keys}, db=db
    )
    labels = {e.key: e.label for e in contract.exits}
    df.insert(1, "exit_label", df["exit_type"].map(labels))
    reasons = {r.key: r for r in contract.reason_codes}
    df.insert(3, "reason_label", [reason_label(contract, r) for r in df["reason_code"]])
    df.insert(4, "charged_to", [reasons[r].charged_to if r in reasons else "" for r in df["reason_code"]])
    return df


# --- action list: SLA breaches and stalled leads ---------------------------------------------


def window_days(contract: Contract | None = None) -> int | None:
    """The conversion window of the store's contract the weekly decisions use, in days (None:
    no window)."""
    return (contract or contracts.current().effective()).conversion_window_days


def next_action(contract: Contract, stage_order: int) -> str:
    """What the owner of a lead stalled at this stage should do next, from the contract."""
    stage = contract.stages[stage_order - 1]
    nxt = contract.stages[stage_order]
    if stage.key == contract.handoff_stage:
        return f"Accept (move to {nxt.label}) or reject the MQL with a reason code"
    if stage_order == len(contract.stages) - 1:
        return f"Move the deal to {nxt.label} or close it as lost with a reason code"
    return f"Move to {nxt.label} or close it (exit with a reason code)"


def _sla_breaches(
    monday: dt.date, db: Path | None, contract: Contract, names: bool = True
) -> tuple[pd.DataFrame, str]:
    """SLA breaches of the week, by the Teams page's handoff rules (queries.teams: first action
    by Sales after the first handoff entry, re-entries start no new clock, owner = the Sales
    owner on Sales' first event, else the lead's owner when in Sales); see
    weekly_sla_breach_rows.sql. Teams reports a cohort; this lists the leads whose deadline fell
    in the week, as of the week's last instant.

    One row per breached MQL: lead_id, lead_name, company, owner_id, owner_name, owner_team,
    handoff_at, deadline_at, acted_at, action_type, is_waiting, hours_late (without `names`:
    no lead_name and company, in no order).
    """
    start, end = week_bounds(monday)
    available = teams.contract_params(contract)
    available.update(
        window=dt.timedelta(days=contract.conversion_window_days or NO_WINDOW_DAYS),
        is_strict=contract.skip_policy == "strict",
        deadline_from=start,
        deadline_before=end,
        # The week's last instant: what Filters(as_of=<Sunday>) means on the Teams page.
        as_of=end - dt.timedelta(microseconds=1),
    )
    # Without `names`, the breaches alone (weekly_sla_breach_rows.sql), in no order: what a
    # count needs, without looking up every lead's name and company.
    name = "weekly_sla_breaches" if names else "weekly_sla_breach_rows"
    df = executor.run(name, executor.bind(name, available), db=db)
    return df, "queries/sql/weekly_sla_breaches.sql (queries.teams' handoff rules)"


def _stalled_leads(monday: dt.date, db: Path | None, contract: Contract) -> tuple[pd.DataFrame, str]:
    """Stalled leads at the end of the week, from the Teams queries (teams.stalled_leads: the
    stage of the latest stage event, longer than its expected days, no exit since, inside the
    conversion window; owner = the owner on the transition team's first event for the lead).

    One row per lead: lead_id, lead_name, company, owner_id, owner_name, owner_team,
    stage_order, stage_at, expected_days, days_in_stage, is_new (crossed its expected days
    during the week). attrs["n_total"]: all stalled leads (at most teams.MAX_ROWS are listed,
    most overdue first).
    """
    start, end = week_bounds(monday)
    raw = teams.stalled_leads(end, limit=teams.MAX_ROWS, db=db, contract=contract)
    order = {s.key: s.order for s in contract.stages}
    df = raw  # the Teams list carries each lead's name and company
    crossed = pd.to_datetime(df["stage_since"]) + pd.to_timedelta(df["expected_days"].astype(float), unit="D")
    out = pd.DataFrame(
        {
            "lead_id": df["lead_id"],
            "lead_name": df["lead_name"],
            "company": df["company"],
            "owner_id": df["owner_id"].fillna(""),
            "owner_name": df["owner_name"].fillna("No owner"),
            "owner_team": df["team"],  # the team that owns the lead's next move
            "stage_order": df["stage"].map(order).astype("int64"),
            "stage_at": df["stage_since"],
            "expected_days": df["expected_days"].astype(float),
            "days_in_stage": df["days_in_stage"].astype(float),
            "is_new": (crossed >= start).astype(bool),
        }
    )
    out.attrs["n_total"] = int(raw.attrs.get("n_total", len(raw)))
    return out, "queries.teams.stalled_leads"


# Action kinds: code -> label. Code branches on the code; only the page and exports show labels.
SLA_WAITING, SLA_LATE, STALLED = "sla_waiting", "sla_late", "stalled"
KIND_LABELS = {
    SLA_WAITING: "SLA breach, waiting",
    SLA_LATE: "SLA breach, acted late",
    STALLED: "Stalled",
}
SLA_KINDS = (SLA_WAITING, SLA_LATE)

ACTION_COLUMNS = [
    "kind",
    "kind_label",
    "owner_name",
    "owner_team",
    "lead_id",
    "lead_name",
    "company",
    "stage",
    "since",
    "overdue",
    "is_new",
    "next_action",
]


def action_list(breaches: pd.DataFrame, stalled: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """One row per action, grouped by owner (owners by name, then SLA breaches waiting, late
    breaches, stalled leads longest overdue first)."""
    handoff_label = contract.handoff.label if contract.handoff else ""
    # An MQL still waiting past the SLA is also stalled at the handoff stage: list it once.
    waiting = set(breaches.loc[breaches["is_waiting"].astype(bool), "lead_id"])
    stalled = stalled[~stalled["lead_id"].isin(waiting)]
    # Built column-wise: a big store can have thousands of stalled leads.
    labels = {s.order: s.label for s in contract.stages}
    done = {s.key: s.label for s in contract.stages} | {e.key: e.label for e in contract.exits}
    waiting_mask = breaches["is_waiting"].astype(bool)
    sla = pd.DataFrame(
        {
            "kind": waiting_mask.map({True: SLA_WAITING, False: SLA_LATE}),
            "owner_name": breaches["owner_name"],
            "owner_team": breaches["owner_team"],
            "lead_id": breaches["lead_id"],
            "lead_name": breaches["lead_name"],
            "company": breaches["company"],
            "stage": handoff_label,
            "since": pd.to_datetime(breaches["handoff_at"]),
            "overdue": [
                f"{h:.0f} h past the {contract.handoff_sla_hours:g} h SLA" for h in breaches["hours_late"]
            ],
            "is_new": True,
            "next_action": [
                "Accept or reject this MQL now: the handoff SLA has passed"
                if w
                else f"Done late ({done.get(t, t)}): review follow-up speed with the owner"
                for w, t in zip(waiting_mask, breaches["action_type"], strict=True)
            ],
            "_order": (~waiting_mask).astype("int64"),
            "_late": breaches["hours_late"].astype(float) / 24,
        }
    )
    todo = {k: next_action(contract, k) for k in range(1, len(contract.stages))}
    stuck = pd.DataFrame(
        {
            "kind": STALLED,
            "owner_name": stalled["owner_name"],
            "owner_team": stalled["owner_team"],
            "lead_id": stalled["lead_id"],
            "lead_name": stalled["lead_name"],
            "company": stalled["company"],
            "stage": stalled["stage_order"].map(labels),
            "since": pd.to_datetime(stalled["stage_at"]),
            "overdue": [
                f"{d:.0f} days in stage (expected {e:g})"
                for d, e in zip(stalled["days_in_stage"], stalled["expected_days"], strict=True)
            ],
            "is_new": stalled["is_new"].astype(bool),
            "next_action": stalled["stage_order"].map(todo),
            "_order": 2,
            "_late": (stalled["days_in_stage"] - stalled["expected_days"]).astype(float),
        }
    )
    parts = [p for p in (sla, stuck) if not p.empty]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ACTION_COLUMNS})
    df = pd.concat(parts, ignore_index=True).sort_values(
        ["owner_name", "_order", "_late", "lead_id"], ascending=[True, True, False, True]
    )
    df["kind_label"] = df["kind"].map(KIND_LABELS)
    return df[ACTION_COLUMNS].reset_index(drop=True)


def order_actions(actions: pd.DataFrame, owners: pd.DataFrame) -> pd.DataFrame:
    """SLA breaches of every owner first, then stalled leads: within each, owners in the owner
    table's order (most due this week first), and action_list's order within an owner. The
    breaches are the week's news; hundreds of old stalled leads must not bury them."""
    rank = {o: i for i, o in enumerate(owners["owner_name"])}
    keys = pd.DataFrame({"section": ~is_sla(actions), "rank": actions["owner_name"].map(rank)})
    order = keys.sort_values(["section", "rank"], kind="stable").index
    return actions.loc[order].reset_index(drop=True)


def is_sla(actions: pd.DataFrame) -> pd.Series:
    """True for the SLA breaches of an action list (by kind code)."""
    return actions["kind"].isin(SLA_KINDS)


def is_due(actions: pd.DataFrame) -> pd.Series:
    """True for what became due this week: SLA breaches and leads that stalled during it."""
    return is_sla(actions) | (actions["kind"].eq(STALLED) & actions["is_new"].astype(bool))


def actions_by_owner(actions: pd.DataFrame) -> pd.DataFrame:
    """One row per owner with at least one action, most due this week first (SLA breaches and
    leads that stalled during the week), then most actions."""
    cols = ["owner_name", "owner_team", "n_sla_waiting", "n_sla_late", "n_stalled", "n_stalled_new"]
    if actions.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in [*cols, "n_actions", "n_due"]})
    a = actions.assign(
        n_sla_waiting=actions["kind"].eq(SLA_WAITING),
        n_sla_late=actions["kind"].eq(SLA_LATE),
        n_stalled=actions["kind"].eq(STALLED),
        n_stalled_new=actions["kind"].eq(STALLED) & actions["is_new"].astype(bool),
    )
    df = a.groupby(["owner_name", "owner_team"], as_index=False)[cols[2:]].sum()
    df[cols[2:]] = df[cols[2:]].astype("int64")
    df["n_actions"] = df[cols[2:5]].sum(axis=1)
    # Due this week: the breaches and the leads that stalled during the week.
    df["n_due"] = df["n_sla_waiting"] + df["n_sla_late"] + df["n_stalled_new"]
    return df.sort_values(["n_due", "n_actions", "owner_name"], ascending=[False, False, True]).reset_index(
        drop=True
    )


# --- pace against the shared target ----------------------------------------------------------


def _pace(monday: dt.date, db: Path | None, contract: Contract) -> tuple[pd.DataFrame, str]:
    """Won revenue against the shared revenue target in the month that contains the week's last
    day, as of the end of the week: the Targets page's actuals (queries.targets) and pacing
    rule (queries.plan: expected = target x elapsed share of the month, on pace within 5%)."""
    _, end = week_bounds(monday)
    month_start, month_end = plan.month_bounds((end - dt.timedelta(days=1)).date())
    actual = targets.actuals(month_start, end, db=db, contract=contract)
    by_metric = dict(zip(actual["metric"], actual["actual"], strict=True))
    target = targets.target_value(targets.targets_for(month_start, db=db), targets_mod.SHARED, PACE_METRIC)
    won = float(by_metric.get(PACE_METRIC, 0.0))
    share = plan.elapsed_share(month_start, month_end, end)
    p = plan.pace(target, won, share)
    row = {
        "month_start": month_start,
        "target": target,
        "won_revenue": won,
        "n_won": int(by_metric.get("deals_won", 0)),
        "share": share,
        "expected": p.expected,
        "projected": p.projected,
        "status": p.status,
        "gap_to_pace": p.gap_to_pace,
    }
    return pd.DataFrame([row]), "queries.targets + queries.plan"


# --- definition changes ----------------------------------------------------------------------


def definition_changes(monday: dt.date, contract: Contract) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(changelog entries dated in or since the week, with is_in_week; every entry)."""
    monday = week_start(monday)
    sunday = monday + dt.timedelta(days=6)
    every = pd.DataFrame(
        {"date": [c.date for c in contract.changelog], "change": [c.change for c in contract.changelog]},
        columns=["date", "change"],
    )
    since = every[every["date"] >= monday].copy()
    since["is_in_week"] = since["date"] <= sunday
    return since.reset_index(drop=True), every


# --- meeting notes ---------------------------------------------------------------------------


@executor.reads_edits("notes")
def meeting_notes(monday: dt.date, db: Path | None = None) -> pd.DataFrame:
    """Notes of the chosen week and every earlier week, newest week first: note_id, week_start,
    week, author, note, created_at. author and note are free text: plain text only."""
    df = executor.run("weekly_notes", {"week_start": week_start(monday)}, db=db)
    df["week_start"] = pd.to_datetime(df["week_start"]).dt.date
    df.insert(2, "week", df["week_start"].map(week_label))
    return df


# --- everything for one week -----------------------------------------------------------------


# The pace against the month's shared revenue target is part of the report.
@executor.reads_edits("targets")
def week_report(monday: dt.date, db: Path | None = None, contract: Contract | None = None) -> WeeklyReport:
    """Every number of one week's meeting, as of the end of that week."""
    contract = contract or contracts.current(db).effective()
    monday = week_start(monday)
    _, end = week_bounds(monday)
    trend, raw_entries = entries_trend(monday, db=db, contract=contract)
    decisions = conversion_rows(monday, db=db, contract=contract)
    breaches, breach_source = _sla_breaches(monday, db, contract)
    stalled, stalled_source = _stalled_leads(monday, db, contract)
    actions = action_list(breaches, stalled, contract)
    owners = actions_by_owner(actions)
    actions = order_actions(actions, owners)
    pace, pace_source = _pace(monday, db, contract)
    changes, every = definition_changes(monday, contract)
    _, latest = store_span(db)
    return WeeklyReport(
        week_start=monday,
        label=week_label(monday),
        as_of=end,
        latest_event_at=latest,
        headline=headline(trend, monday),
        conversions=compare_conversions(decisions, monday, contract),
        pace=pace,
        entries_trend=trend,
        conversion_trend=decisions,
        movements=movements(monday, raw_entries, db=db, contract=contract),
        exits=exits(monday, db=db, contract=contract),
        actions=actions,
        actions_by_owner=owners,
        changes=changes,
        all_changes=every,
        sources={"sla_breaches": breach_source, "stalled": stalled_source, "pace": pace_source},
        teams=tuple(contract.teams),
        n_stalled_unlisted=max(int(stalled.attrs.get("n_total", len(stalled))) - len(stalled), 0),
    )

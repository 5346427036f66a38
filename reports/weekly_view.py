"""What the Weekly meeting page shows, as plain data: every number, label, caption and table for
one week and the page's choices (the owner, stalled this week only), worked out here so
pages/weekly.py only lays it out. No Streamlit: a test builds the parts from a hand-computed
story and reads their values (tests/test_weekly_view.py).

The parts follow the page's sections: headline(), conversion(), actions(), owner_names(),
breaches(), stalled() and meeting() (the notes). page() gathers them all on the page's default
choices (the last complete week, every owner, stalled this week only), the defaults the page
opens on (the cache warm-up, ui/warm.py, runs it). The tables are reports/tables.py's, the same
the HTML and Markdown exports print, so the page, the exports and the CSVs agree.

Every part that runs a query takes `call`, how a query is run: the page passes
queries.cache.call; by default the query runs directly on `db`. Texts are Markdown of our own words; the contract's
change log is quoted as written. CRM text (lead, company and owner names) and notes stay in
table cells or plain text, except an owner's name in a caption, which is escaped
(reports.format.md). Computation: queries/weekly.py; definitions: docs/weekly.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from data.contract import Contract
from queries import options, weekly
from reports import alerts as report_alerts
from reports import format as f
from reports import tables

ALL_OWNERS = "All owners"  # the owner box's first choice, the one it opens on
DEFAULT_WEEK = 0  # the week box opens on weekly.week_choices()[0], the last complete week
NEW_ONLY = True  # the stalled list opens on the leads that stalled this week only
WEEK_HELP = (
    "Weeks start on Monday (ISO 8601). The newest choice is the last complete week before "
    "the latest event in the store."
)
BAD_LINK = (
    "The link names a week that is not an ISO week of this store (write it like 2026-W43); "
    "showing the last complete week instead."
)
AS_OF_HELP = (
    "Each number uses only the events up to the end of the week, as that meeting saw them. "
    "What can still change later: definitions (the contract in force today is applied to every week), "
    "names of leads and owners, the owner of an SLA breach with no Sales owner on an event by then "
    "(the lead's current owner), and the month's target. See docs/weekly.md."
)
PACE_HELP = (
    "Against the month's shared revenue target. Expected by now = the target × the share of "
    "the month gone; on pace within ±5% (the Targets page's rule)."
)
MOVEMENTS_HEADING = "**Entries and recycled leads coming back, by the team that recorded them**"
EXITS_HEADING = "**Exits with reasons** (charged to the team the contract names for the reason)"
STALLED_HEADING = "**Stalled leads**"  # over the "stalled this week" box, then the list
ACTIONS_CAPTION = (
    "SLA breach (the Teams page's rule): a lead whose first MQL entry + the SLA fell in the week "
    "and whose first action by Sales came later or not at all by the end of the week; a recycled "
    "lead's return starts no new clock. Stalled: in its current stage longer than the stage's "
    "expected days at the end of the week, no exit, inside its conversion window. Breaches of "
    "every owner come first, then stalled leads."
)

Call = Callable[..., object]


def direct(db: Path | None = None) -> Call:
    """Run a query straight on `db` (the default `call`: tests, scripts)."""
    return lambda fn, *args, **kwargs: fn(*args, db=db, **kwargs)


def _report(week: dt.date, call: Call | None) -> weekly.WeeklyReport:
    return (call or direct())(weekly.week_report, week)


@dataclasses.dataclass(frozen=True)
class Metric:
    """One headline figure (st.metric): label, value as shown, delta, help, and whether the
    delta is coloured (only a change outside the noise is; the others are grey)."""

    label: str
    value: str
    delta: str | None
    help: str
    coloured: bool = True


def week_option(monday: dt.date) -> str:
    """The week box: "2025-W01: 30 Dec 2024 – 05 Jan 2025"."""
    return f"{weekly.week_label(monday)}: {monday:%d %b %Y} – {monday + dt.timedelta(days=6):%d %b %Y}"


# ---- the headline ----------------------------------------------------------------------------


@dataclasses.dataclass
class Headline:
    """The week's headline.

    caption     "2025-W01 (Mon 2024-12-30 to Sun 2025-01-05) · numbers as of the end of the week
                (…) · the whole funnel", with AS_OF_HELP as its help
    changes     the definition changes in or since the week, each a warning shown first
    empty       what to do about a week with no activity ("" when there was some)
    metrics     one per stage: this week's first entries, the change against last week
    pace        won revenue this month against the shared target's pace
    pace_line   the pace in one sentence (the exports' line)
    table       the headline table (reports.tables.headline_table)
    """

    caption: str
    changes: list[str]
    empty: str
    metrics: list[Metric]
    pace: Metric
    pace_line: str
    table: pd.DataFrame


def _stage_metric(row, p_value: float, real: bool, label: str) -> Metric:
    noise = (
        f"The change is {'outside' if real else 'within'} the noise (p = {p_value:.3f}, "
        "two counts over equal weeks)."
        if not math.isnan(p_value)
        else "No entries in either week."
    )
    return Metric(
        row.label,
        f.count(row.this_week),
        f"{f.signed(row.change_vs_last)} vs last week" + (", outside noise" if real else ""),
        f"First entries into the stage in {label}. Last week {f.count(row.last_week)}; "
        f"4-week average {f.count(row.avg_4w)} ({f.signed_pct(row.change_vs_avg_pct)}). " + noise,
        coloured=real,
    )


def headline(week: dt.date, call: Call | None = None) -> Headline:
    call = call or direct()
    report = _report(week, call)
    label = report.label
    changes = [
        f"**Definition changed on {c.date:%Y-%m-%d}** "
        f"({'in this week' if c.is_in_week else 'since this week'}): {c.change}"
        for c in report.changes.itertuples(index=False)
    ]
    noise = tables.entries_noise(report)
    pace = report.pace.iloc[0]
    gap = pace["gap_to_pace"]
    currencies = call(options.currencies)
    one = f" ({currencies[0]})" if len(currencies) == 1 and currencies[0] else ""
    return Headline(
        caption=f"{tables.week_title(report)} · numbers as of the end of the week "
        f"({f.when(report.as_of)} UTC) · the whole funnel",
        changes=changes,
        empty=(
            f"No activity in {label}: no stage entries, decisions, exits or actions. Pick another week."
            if report.is_empty
            else ""
        ),
        metrics=[
            _stage_metric(row, p, real, label)
            for row, (p, real) in zip(report.headline.itertuples(index=False), noise, strict=False)
        ],
        pace=Metric(
            "Won revenue this month" + one,
            f.money(pace["won_revenue"]),
            None if gap is None or pd.isna(gap) else f"{f.money(gap)} vs pace ({pace['status']})",
            PACE_HELP,
        ),
        pace_line=tables.pace_line(report),
        table=tables.headline_table(report),
    )


# ---- conversion --------------------------------------------------------------------------------


@dataclasses.dataclass
class Conversion:
    """Conversion of the leads decided in the week, with the noise check.

    heading, help   the subheader and its help (the window in days)
    caption         what "decided" means and how the noise is checked
    findings        one line per step whose change against last week is outside the noise
    table           the conversions table (reports.tables.conversions_table)
    """

    heading: str
    help: str
    caption: str
    findings: list[str]
    table: pd.DataFrame


def conversion(week: dt.date, call: Call | None = None, contract: Contract | None = None) -> Conversion:
    report = _report(week, call)
    window = weekly.window_days(contract)
    days = f"{window} days" if window else "no limit: the contract has no window"
    return Conversion(
        heading="Conversion: did more decided leads move on?",
        help="The weekly rate looks at leads decided in the week; the Funnel health cohort looks at "
        "leads that started in a range. Both call a lead dropped when it exits or its conversion "
        f"window ({days} from its start) runs out, so the rates agree in definition but are "
        "over different leads.",
        caption="Decided at a stage: a lead that entered it counts in the week of the first of: its move "
        f"to a later stage within the window of its start ({days}; moved on); an exit before moving on "
        "(dropped); the end of its conversion window with neither (dropped: the "
        "'Window ran out' column). Each week counts only what had happened by its end, so a past week "
        "does not change when a lead comes back later. Rate = moved on / decided, with a 95% Wilson "
        "interval. A change against last week is called out only when a two-proportion test gives "
        "p < 0.05; a base under 30 leads is flagged as small.",
        findings=[
            f"{c.label} → {c.next_label}: {f.pct(c.rate)} this week against {f.pct(c.prev_rate)} "
            f"last week ({f.points(c.change)}), outside the noise (p = {c.p_value:.3f})."
            for c in report.conversions.itertuples(index=False)
            if c.is_change_real
        ],
        table=tables.conversions_table(report),
    )


# ---- who acts ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Actions:
    """Who acts: the rule, the stalled leads left out of the list, the count per owner.

    caption    ACTIONS_CAPTION
    warning    how many stalled leads are not listed ("" when every one is)
    owners     the per-owner table (reports.tables.owners_table)
    """

    caption: str
    warning: str
    owners: pd.DataFrame


def actions(week: dt.date, call: Call | None = None) -> Actions:
    report = _report(week, call)
    n = report.n_stalled_unlisted
    return Actions(
        caption=ACTIONS_CAPTION,
        warning=(
            f"{n:,} more stalled leads (the least overdue) are not listed: the list stops at the most "
            "overdue ones. Work through these first, or filter by owner on the Teams page."
            if n
            else ""
        ),
        owners=tables.owners_table(report),
    )


def owner_names(week: dt.date, call: Call | None = None) -> list[str]:
    """The owners with an action this week, by name (the owner box after ALL_OWNERS)."""
    return sorted(_report(week, call).actions["owner_name"].dropna().unique())


def owner_actions(week: dt.date, owner: str, call: Call | None = None) -> pd.DataFrame:
    """The week's action list, one owner's or everyone's: one row per lead to act on."""
    rows = _report(week, call).actions
    return rows if owner == ALL_OWNERS else rows[rows["owner_name"] == owner]


@dataclasses.dataclass
class Listed:
    """A list of leads to act on.

    heading   its heading ("" for the stalled leads: STALLED_HEADING comes before their box)
    rows      every lead of the list (report.actions' rows), for the CSV
    table     what the screen lists (reports.tables.actions_table), empty when `message` is set
    message   what an empty list means ("" when it is not empty)
    note      that some leads are in the CSV only ("" when every one is listed)
    """

    heading: str
    rows: pd.DataFrame
    table: pd.DataFrame
    message: str
    note: str = ""


def breaches(week: dt.date, owner: str, call: Call | None = None) -> Listed:
    """This week's SLA breaches, every owner's first: they are this week's news and few."""
    rows = owner_actions(week, owner, call)
    rows = rows[weekly.is_sla(rows)]
    who = "" if owner == ALL_OWNERS else f" for {f.md(owner)}"  # a CRM name in a caption
    return Listed(
        heading=f"**SLA breaches of {weekly.week_label(week)}** ({len(rows):,})",
        rows=rows,
        table=tables.actions_table(rows),
        message=f"No SLA breach this week{who}." if rows.empty else "",
    )


def stalled(week: dt.date, owner: str, new_only: bool, call: Call | None = None) -> Listed:
    """Stalled leads, the most overdue PAGE_PER_OWNER per owner on screen; `rows` has them all."""
    rows = owner_actions(week, owner, call)
    rows = rows[~weekly.is_sla(rows)]
    if new_only:
        rows = rows[weekly.is_due(rows)]
    shown, hidden = tables.cap_per_owner(rows, tables.PAGE_PER_OWNER)
    return Listed(
        heading="",
        rows=rows,
        table=tables.actions_table(shown),
        message=("No stalled leads" + (" that stalled this week." if new_only else "."))
        if rows.empty
        else "",
        note=(
            f"Showing the {tables.PAGE_PER_OWNER} most overdue per owner: {hidden:,} more stalled "
            "leads are in the CSV download (it has all of them)."
            if hidden
            else ""
        ),
    )


# ---- the meeting's notes and the export ----------------------------------------------------------


@dataclasses.dataclass
class Meeting:
    """The week's notes and the earlier ones.

    notes      this week's notes, each "author · written UTC\\nnote" (plain text: st.text)
    empty      what no note yet means ("" when there are some)
    past       the earlier weeks' notes (meeting_notes' rows), for the CSV
    past_table the same as a table (reports.tables.notes_table)
    past_title the expander's title, with how many there are
    export     the caption of the report downloads
    """

    notes: list[str]
    empty: str
    past: pd.DataFrame
    past_table: pd.DataFrame
    past_title: str
    export: str


def meeting(week: dt.date, notes: pd.DataFrame) -> Meeting:
    label = weekly.week_label(week)
    this_week = notes[notes["week_start"] == week]
    past = notes[notes["week_start"] < week]
    return Meeting(
        notes=[
            f"{n.author} · {f.when(n.created_at)} UTC\n{n.note}" for n in this_week.itertuples(index=False)
        ],
        empty=f"No notes for {label} yet." if this_week.empty else "",
        past=past,
        past_table=tables.notes_table(past),
        past_title=f"Notes from past weeks ({len(past)})",
        export="One HTML file that opens offline with interactive charts (plotly.js inside, no network), "
        "or Markdown for a chat or wiki. The same report comes from "
        f"`python -m reports.weekly --week {label} --out DIR` for a scheduled job.",
    )


# ---- the whole page on its default choices ---------------------------------------------------------


@dataclasses.dataclass
class Page:
    """What the page shows when it opens: the last complete week, every owner, the leads that
    stalled this week; `alerts` is the contract's rules on the week (None: it has none)."""

    week: dt.date
    alerts: pd.DataFrame | None
    headline: Headline
    conversion: Conversion
    actions: Actions
    owner_names: list[str]
    breaches: Listed
    stalled: Listed
    meeting: Meeting


def page(contract: Contract, call: Call | None = None) -> Page:
    """The page on its default choices; `contract` the effective one (its alert rules)."""
    call = call or direct()
    week = call(weekly.week_choices)[DEFAULT_WEEK]
    return Page(
        week=week,
        alerts=report_alerts.checked(contract, week, call),
        headline=headline(week, call),
        conversion=conversion(week, call),
        actions=actions(week, call),
        owner_names=owner_names(week, call),
        breaches=breaches(week, ALL_OWNERS, call),
        stalled=stalled(week, ALL_OWNERS, NEW_ONLY, call),
        meeting=meeting(week, call(weekly.meeting_notes, week)),
    )

"""Weekly meeting: what changed in one ISO week, who acts, and a one-page report to share.

Pick a week (default: the last complete one); every number is as of the end of that week and
covers the whole funnel (the sidebar's filters do not apply here: the meeting needs one shared
set of numbers). The same WeeklyReport feeds the page and both exports.
"""

import datetime as dt
import math

import duckdb
import pandas as pd
import streamlit as st

from data import notes as notes_mod
from data import store
from queries import cache, contracts, executor, options, weekly
from reports import charts, tables
from reports import format as f
from reports import html as report_html
from reports import markdown as report_md
from reports import weekly as report_cli
from ui import alerts
from ui import tables as ui_tables
from ui.sections import section
from ui.state import run_in_frame

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

st.title("Weekly alignment meeting")


def show(table: pd.DataFrame, screen: str | None = None) -> None:
    """A report table with its columns sized (key columns first and wide enough to read); with
    `screen`, only the columns reports.tables.SCREEN_COLUMNS names for it (the exports and the
    CSV have every column)."""
    order = tables.SCREEN_COLUMNS.get(screen) if screen else None
    ui_tables.show(
        table, column_config=tables.column_config(table), column_order=order, fit=order is not None
    )


try:
    choices = cache.call(weekly.week_choices)
except (executor.StoreMissingError, executor.StoreBusyError) as exc:
    st.error(f"{exc}")
    st.stop()

# A link can name the week (?week=2026-W43), so the meeting invite points at the right one.
index = 0
linked = st.query_params.get("week")
if linked:
    try:
        index = choices.index(weekly.parse_week(linked))
    except (weekly.WeekError, ValueError):
        st.warning(
            "The link names a week that is not an ISO week of this store (write it like 2026-W43); "
            "showing the last complete week instead."
        )
week = st.selectbox(
    "ISO week (Monday to Sunday, UTC)",
    choices,
    index=index,
    format_func=lambda d: f"{weekly.week_label(d)}: {d:%d %b %Y} – {d + dt.timedelta(days=6):%d %b %Y}",
    help="Weeks start on Monday (ISO 8601). The newest choice is the last complete week before "
    "the latest event in the store.",
    key="weekly_week",
)
st.query_params["week"] = weekly.week_label(week)
# The contract's alert rules on this week against the week before (reports.alerts: the same
# words the webhook receives).
alerts.show(contracts.current().effective(), week)
# Every section below is drawn once per (week, store version, targets' version: the headline
# holds the pace against the shared target) and replayed for everyone else (ui/sections.py):
# the meeting opens the same week at the same minute. A saved note changes none of them.
version = executor.store_version(edits=("targets",))
notes = cache.call(weekly.meeting_notes, week)
label = weekly.week_label(week)
pinned = executor.current_path()


def full_report() -> weekly.WeeklyReport:
    """The week's whole report (13 MB pickled at a million leads): loaded only inside a section
    being drawn or when a download is clicked, never on a replayed run; from the store version
    this run read, so an export matches the page."""
    with executor.reading(pinned):
        return cache.call(weekly.week_report, week)


@section
def headline(week, version) -> None:
    """Definition changes, the headline metrics against last week and the pace, and their table."""
    report = cache.call(weekly.week_report, week)
    label = report.label
    st.caption(
        f"{tables.week_title(report)} · numbers as of the end of the week ({f.when(report.as_of)} UTC) · "
        "the whole funnel",
        help="Each number uses only the events up to the end of the week, as that meeting saw them. "
        "What can still change later: definitions (the contract in force today is applied to every week), "
        "names of leads and owners, the owner of an SLA breach with no Sales owner on an event by then "
        "(the lead's current owner), and the month's target. See docs/weekly.md.",
    )

    # ---- Definition changes: first, so nobody reads a break in a series as a real change --------
    for c in report.changes.itertuples(index=False):
        when = "in this week" if c.is_in_week else "since this week"
        st.warning(f"**Definition changed on {c.date:%Y-%m-%d}** ({when}): {c.change}", icon="⚠️")

    if report.is_empty:
        st.info(f"No activity in {label}: no stage entries, decisions, exits or actions. Pick another week.")

    # ---- Headline strip ------------------------------------------------------------------------
    st.subheader("Headline")
    h = report.headline
    noise = tables.entries_noise(report)
    # Three metrics per row: six stage labels and their deltas in one row were cut off at 1400 px.
    PER_ROW = 3
    cells = [c for _ in range(math.ceil(len(h) / PER_ROW)) for c in st.columns(PER_ROW)]
    for column, row, (p_value, real) in zip(cells, h.itertuples(index=False), noise, strict=False):
        with column:
            # Coloured only when the change is outside the noise; grey otherwise.
            st.metric(
                row.label,
                f.count(row.this_week),
                delta=f"{f.signed(row.change_vs_last)} vs last week" + (", outside noise" if real else ""),
                delta_color="normal" if real else "off",
                help=f"First entries into the stage in {label}. Last week {f.count(row.last_week)}; "
                f"4-week average {f.count(row.avg_4w)} ({f.signed_pct(row.change_vs_avg_pct)}). "
                + (
                    f"The change is {'outside' if real else 'within'} the noise (p = {p_value:.3f}, "
                    "two counts over equal weeks)."
                    if not math.isnan(p_value)
                    else "No entries in either week."
                ),
            )
    pace = report.pace.iloc[0]
    gap = pace["gap_to_pace"]
    currencies = cache.call(options.currencies)
    st.metric(
        "Won revenue this month" + (f" ({currencies[0]})" if len(currencies) == 1 and currencies[0] else ""),
        f.money(pace["won_revenue"]),
        delta=None if gap is None or pd.isna(gap) else f"{f.money(gap)} vs pace ({pace['status']})",
        help="Against the month's shared revenue target. Expected by now = the target × the share of "
        "the month gone; on pace within ±5% (the Targets page's rule).",
    )
    st.caption(tables.pace_line(report))
    show(tables.headline_table(report), "headline")


headline(week, version)
ui_tables.download(lambda: full_report().headline, f"weekly-headline-{label}.csv")


@section
def conversion(week, version) -> None:
    """The week's funnel and entries charts, then conversion of decided leads with the noise check."""
    report = cache.call(weekly.week_report, week)
    st.plotly_chart(charts.week_funnel_figure(report), key="weekly-funnel")
    st.plotly_chart(charts.entries_trend_figure(report), key="weekly-entries-trend")

    # ---- Conversion with the noise check -------------------------------------------------------
    window = weekly.window_days()
    days = f"{window} days" if window else "no limit: the contract has no window"
    st.subheader(
        "Conversion: did more decided leads move on?",
        help="The weekly rate looks at leads decided in the week; the Funnel health cohort looks at "
        "leads that started in a range. Both call a lead dropped when it exits or its conversion "
        f"window ({days} from its start) runs out, so the rates agree in definition but are "
        "over different leads.",
    )
    st.caption(
        "Decided at a stage: a lead that entered it counts in the week of the first of: its move to "
        f"a later stage within the window of its start ({days}; moved on); an exit before moving on "
        "(dropped); the end of its conversion window with neither (dropped: the "
        "'Window ran out' column). Each week counts only what had happened by its end, so a past week "
        "does not change when a lead comes back later. Rate = moved on / decided, with a 95% Wilson "
        "interval. A change against last week is called out only when a two-proportion test gives "
        "p < 0.05; a base under 30 leads is flagged as small."
    )
    for c in report.conversions.itertuples(index=False):
        if c.is_change_real:
            st.info(
                f"{c.label} → {c.next_label}: {f.pct(c.rate)} this week against {f.pct(c.prev_rate)} "
                f"last week ({f.points(c.change)}), outside the noise (p = {c.p_value:.3f})."
            )
    show(tables.conversions_table(report), "conversions")


conversion(week, version)
ui_tables.download(lambda: full_report().conversions, f"weekly-conversion-{label}.csv")


@section
def movements(week, version) -> None:
    """The conversion trend, then entries and comebacks by team."""
    report = cache.call(weekly.week_report, week)
    st.plotly_chart(charts.conversion_trend_figure(report), key="weekly-conversion-trend")

    # ---- Movements ---------------------------------------------------------------------------
    st.subheader("Movements")
    # One under the other: side by side, each table had half the width and hid "Charged to".
    st.markdown("**Entries and recycled leads coming back, by the team that recorded them**")
    show(tables.movements_table(report))


movements(week, version)
ui_tables.download(lambda: full_report().movements, f"weekly-movements-{label}.csv")


@section
def exits(week, version) -> None:
    """Exits with reasons and the team charged."""
    report = cache.call(weekly.week_report, week)
    st.markdown("**Exits with reasons** (charged to the team the contract names for the reason)")
    show(tables.exits_table(report))


exits(week, version)
ui_tables.download(lambda: full_report().exits, f"weekly-exits-{label}.csv")


@section
def action_owners(week, version) -> None:
    """The exits chart, then who acts: breaches and stalled leads per owner."""
    report = cache.call(weekly.week_report, week)
    st.plotly_chart(charts.exits_figure(report), key="weekly-exits")

    # ---- Action list ---------------------------------------------------------------------------
    st.subheader("Action list: who acts")
    st.caption(
        "SLA breach (the Teams page's rule): a lead whose first MQL entry + the SLA fell in the week "
        "and whose first action by Sales came later or not at all by the end of the week; a recycled "
        "lead's return starts no new clock. Stalled: in its current stage longer than the stage's "
        "expected days at the end of the week, no exit, inside its conversion window. Breaches of "
        "every owner come first, then stalled leads."
    )
    if report.n_stalled_unlisted:
        st.warning(
            f"{report.n_stalled_unlisted:,} more stalled leads (the least overdue) are not listed: "
            "the list stops at the most overdue ones. Work through these first, or filter by owner "
            "on the Teams page."
        )
    show(tables.owners_table(report))


action_owners(week, version)
ui_tables.download(lambda: full_report().actions_by_owner, f"weekly-actions-by-owner-{label}.csv")


@section
def actions_chart(week, version) -> list[str]:
    """Actions per owner, as a chart; returns the owners' names for the box below."""
    actions = cache.call(weekly.week_report, week).actions
    st.plotly_chart(charts.actions_figure(cache.call(weekly.week_report, week)), key="weekly-actions")
    return sorted(actions["owner_name"].dropna().unique())


owners = ["All owners", *actions_chart(week, version)]
owner = st.selectbox("Owner", owners, key="weekly_owner")


def owner_actions(week, owner) -> pd.DataFrame:
    """The week's action list, one owner's or everyone's: one row per lead to act on."""
    actions = cache.call(weekly.week_report, week).actions
    return actions if owner == "All owners" else actions[actions["owner_name"] == owner]


@section
def breaches_list(week, owner, version) -> pd.DataFrame:
    """This week's SLA breaches (every owner's first); returns them for the download."""
    label = weekly.week_label(week)
    actions = owner_actions(week, owner)
    # SLA breaches first, every owner's: they are this week's news and few.
    breaches = actions[weekly.is_sla(actions)]
    st.markdown(f"**SLA breaches of {label}** ({len(breaches):,})")
    if breaches.empty:
        st.caption("No SLA breach this week" + ("" if owner == "All owners" else f" for {owner}") + ".")
    else:
        show(tables.actions_table(breaches))
    return breaches


breaches = breaches_list(week, owner, version)
if not breaches.empty:
    ui_tables.download(breaches, f"weekly-sla-breaches-{label}.csv", label="Download SLA breaches (CSV)")

# Then stalled leads, a few per owner on screen (the CSV has all of them).
st.markdown("**Stalled leads**")
new_only = st.checkbox("Only leads that stalled this week", value=True, key="weekly_stalled_new")


@section
def stalled_actions(week, owner, new_only, version) -> pd.DataFrame:
    """Stalled leads, the most overdue few per owner on screen; returns all of them."""
    actions = owner_actions(week, owner)
    stalled = actions[~weekly.is_sla(actions)]
    if new_only:
        stalled = stalled[weekly.is_due(stalled)]
    shown, hidden = tables.cap_per_owner(stalled, tables.PAGE_PER_OWNER)
    if stalled.empty:
        st.caption("No stalled leads" + (" that stalled this week." if new_only else "."))
    else:
        show(tables.actions_table(shown))
        if hidden:
            st.caption(
                f"Showing the {tables.PAGE_PER_OWNER} most overdue per owner: {hidden:,} more stalled "
                "leads are in the CSV download (it has all of them)."
            )
    return stalled


stalled = stalled_actions(week, owner, new_only, version)
if not stalled.empty:
    ui_tables.download(stalled, f"weekly-stalled-{label}.csv", label="Download all these stalled leads (CSV)")

# ---- Meeting notes -----------------------------------------------------------------------
st.subheader("Decisions (meeting notes)")
this_week = notes[notes["week_start"] == week]
if this_week.empty:
    st.caption(f"No notes for {label} yet.")
for n in this_week.itertuples(index=False):
    st.text(f"{n.author} · {f.when(n.created_at)} UTC\n{n.note}")


def save_note(week: dt.date, week_label: str) -> None:
    """Form callback: store the note, then clear the form; on failure keep what was typed."""
    state = st.session_state
    try:
        notes_mod.add_note(week, state.get("weekly_note_author", ""), state.get("weekly_note_text", ""))
    except notes_mod.NoteError as exc:
        state["weekly_note_status"] = ("error", f"Note not saved: {exc}")
    except store.StoreLockedError:
        # Notes are saved beside the store (data/edits.py): only another save can hold them up.
        state["weekly_note_status"] = (
            "error",
            "Note not saved: another note or target is being saved right now. Your text is kept: "
            "try again in a moment.",
        )
    except (store.StoreDamagedError, duckdb.Error):
        state["weekly_note_status"] = (
            "error",
            "Note not saved: the file that keeps the team's notes and targets cannot be written. "
            "Your text is kept: ask whoever runs the dashboard to check it (docs/deploy.md).",
        )
    else:
        state["weekly_note_author"] = state["weekly_note_text"] = ""
        state["weekly_note_status"] = ("success", f"Saved to {week_label}.")


with st.form("weekly-note"):
    st.text_input("Your name", max_chars=notes_mod.MAX_AUTHOR, key="weekly_note_author")
    st.text_area("Decision or note", max_chars=notes_mod.MAX_NOTE, key="weekly_note_text")
    st.form_submit_button("Save note", on_click=save_note, args=(week, label))
status = st.session_state.pop("weekly_note_status", None)
if status:
    (st.error if status[0] == "error" else st.success)(status[1])
past = notes[notes["week_start"] < week]
with st.expander(f"Notes from past weeks ({len(past)})"):
    show(tables.notes_table(past))
    ui_tables.download(past, f"weekly-notes-before-{label}.csv")

# ---- Export --------------------------------------------------------------------------------
st.subheader("Share this week")
st.caption(
    "One HTML file that opens offline with interactive charts (plotly.js inside, no network), "
    "or Markdown for a chat or wiki. The same report comes from "
    f"`python -m reports.weekly --week {label} --out DIR` for a scheduled job."
)
stem = report_cli.file_stem(label)
html_col, md_col = st.columns(2)
with html_col:
    # Built when clicked: the file carries plotly.js (about 5 MB), so not on every rerun.
    st.download_button(
        "Download report (HTML)",
        lambda: report_html.render(full_report(), notes),
        file_name=f"{stem}.html",
        mime="text/html",
        key="weekly-html",
        on_click="ignore",
    )
with md_col:
    st.download_button(
        "Download report (Markdown)",
        lambda: report_md.render(full_report(), notes),  # built when clicked, like the HTML
        file_name=f"{stem}.md",
        mime="text/markdown",
        key="weekly-md",
        on_click="ignore",
    )

"""Weekly meeting: what changed in one ISO week, who acts, and a one-page report to share.

Pick a week (default: the last complete one); every number is as of the end of that week and
covers the whole funnel (the sidebar's filters do not apply here: the meeting needs one shared
set of numbers). The same WeeklyReport feeds the page and both exports. Layout only: what is
shown comes from reports/weekly_view.py (computation in queries/weekly.py, tables in
reports/tables.py), figures from reports/charts.py (shared with the HTML export).
"""

import datetime as dt
import math

import duckdb
import pandas as pd
import streamlit as st

from data import notes as notes_mod
from data import store
from queries import cache, contracts, executor, weekly
from reports import charts, tables
from reports import html as report_html
from reports import markdown as report_md
from reports import weekly as report_cli
from reports import weekly_view as wv
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


def metric(m: wv.Metric) -> None:
    st.metric(m.label, m.value, delta=m.delta, delta_color="normal" if m.coloured else "off", help=m.help)


try:
    choices = cache.call(weekly.week_choices)
except (executor.StoreMissingError, executor.StoreBusyError) as exc:
    st.error(f"{exc}")
    st.stop()

# A link can name the week (?week=2026-W43), so the meeting invite points at the right one.
index = wv.DEFAULT_WEEK
linked = st.query_params.get("week")
if linked:
    try:
        index = choices.index(weekly.parse_week(linked))
    except (weekly.WeekError, ValueError):
        st.warning(wv.BAD_LINK)
week = st.selectbox(
    "ISO week (Monday to Sunday, UTC)",
    choices,
    index=index,
    format_func=wv.week_option,
    help=wv.WEEK_HELP,
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
    h = wv.headline(week, call=cache.call)
    st.caption(h.caption, help=wv.AS_OF_HELP)
    # Definition changes first, so nobody reads a break in a series as a real change.
    for change in h.changes:
        st.warning(change, icon="⚠️")
    if h.empty:
        st.info(h.empty)

    st.subheader("Headline")
    # Three metrics per row: six stage labels and their deltas in one row were cut off at 1400 px.
    PER_ROW = 3
    cells = [c for _ in range(math.ceil(len(h.metrics) / PER_ROW)) for c in st.columns(PER_ROW)]
    for column, m in zip(cells, h.metrics, strict=False):
        with column:
            metric(m)  # coloured only when the change is outside the noise; grey otherwise
    metric(h.pace)
    st.caption(h.pace_line)
    show(h.table, "headline")


headline(week, version)
ui_tables.download(lambda: full_report().headline, f"weekly-headline-{label}.csv")


@section
def conversion(week, version) -> None:
    """The week's funnel and entries charts, then conversion of decided leads with the noise check."""
    report = cache.call(weekly.week_report, week)
    st.plotly_chart(charts.week_funnel_figure(report), key="weekly-funnel")
    st.plotly_chart(charts.entries_trend_figure(report), key="weekly-entries-trend")

    c = wv.conversion(week, call=cache.call)
    st.subheader(c.heading, help=c.help)
    st.caption(c.caption)
    for finding in c.findings:
        st.info(finding)
    show(c.table, "conversions")


conversion(week, version)
ui_tables.download(lambda: full_report().conversions, f"weekly-conversion-{label}.csv")


@section
def movements(week, version) -> None:
    """The conversion trend, then entries and comebacks by team."""
    report = cache.call(weekly.week_report, week)
    st.plotly_chart(charts.conversion_trend_figure(report), key="weekly-conversion-trend")
    st.subheader("Movements")
    # One under the other: side by side, each table had half the width and hid "Charged to".
    st.markdown(wv.MOVEMENTS_HEADING)
    show(tables.movements_table(report))


movements(week, version)
ui_tables.download(lambda: full_report().movements, f"weekly-movements-{label}.csv")


@section
def exits(week, version) -> None:
    """Exits with reasons and the team charged."""
    report = cache.call(weekly.week_report, week)
    st.markdown(wv.EXITS_HEADING)
    show(tables.exits_table(report))


exits(week, version)
ui_tables.download(lambda: full_report().exits, f"weekly-exits-{label}.csv")


@section
def action_owners(week, version) -> None:
    """The exits chart, then who acts: breaches and stalled leads per owner."""
    st.plotly_chart(charts.exits_figure(cache.call(weekly.week_report, week)), key="weekly-exits")
    a = wv.actions(week, call=cache.call)
    st.subheader("Action list: who acts")
    st.caption(a.caption)
    if a.warning:
        st.warning(a.warning)
    show(a.owners)


action_owners(week, version)
ui_tables.download(lambda: full_report().actions_by_owner, f"weekly-actions-by-owner-{label}.csv")


@section
def actions_chart(week, version) -> list[str]:
    """Actions per owner, as a chart; returns the owners' names for the box below."""
    st.plotly_chart(charts.actions_figure(cache.call(weekly.week_report, week)), key="weekly-actions")
    return wv.owner_names(week, call=cache.call)


owners = [wv.ALL_OWNERS, *actions_chart(week, version)]
owner = st.selectbox("Owner", owners, key="weekly_owner")


def listed(leads: wv.Listed) -> pd.DataFrame:
    """A list of leads: its heading, then the table or what its emptiness means; returns its rows."""
    if leads.heading:
        st.markdown(leads.heading)
    if leads.message:
        st.caption(leads.message)
    else:
        show(leads.table)
        if leads.note:
            st.caption(leads.note)
    return leads.rows


@section
def breaches_list(week, owner, version) -> pd.DataFrame:
    """This week's SLA breaches (every owner's first); returns them for the download."""
    return listed(wv.breaches(week, owner, call=cache.call))


breaches = breaches_list(week, owner, version)
if not breaches.empty:
    ui_tables.download(breaches, f"weekly-sla-breaches-{label}.csv", label="Download SLA breaches (CSV)")

# Then stalled leads, a few per owner on screen (the CSV has all of them).
st.markdown(wv.STALLED_HEADING)
new_only = st.checkbox("Only leads that stalled this week", value=wv.NEW_ONLY, key="weekly_stalled_new")


@section
def stalled_actions(week, owner, new_only, version) -> pd.DataFrame:
    """Stalled leads, the most overdue few per owner on screen; returns all of them."""
    return listed(wv.stalled(week, owner, new_only, call=cache.call))


stalled = stalled_actions(week, owner, new_only, version)
if not stalled.empty:
    ui_tables.download(stalled, f"weekly-stalled-{label}.csv", label="Download all these stalled leads (CSV)")

# ---- Meeting notes -----------------------------------------------------------------------
meeting = wv.meeting(week, notes)
st.subheader("Decisions (meeting notes)")
if meeting.empty:
    st.caption(meeting.empty)
for note in meeting.notes:
    st.text(note)  # free text: plain text only


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
with st.expander(meeting.past_title):
    show(meeting.past_table)
    ui_tables.download(meeting.past, f"weekly-notes-before-{label}.csv")

# ---- Export --------------------------------------------------------------------------------
st.subheader("Share this week")
st.caption(meeting.export)
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

"""Teams and handoff: which team's stage lost each lead and why (quality or follow-through),
how Sales handles the handoff, each owner's numbers, the stalled leads, and the leads behind
every number. Layout only: what is shown comes from reports/teams_view.py (computation in
queries/teams.py, definitions in docs/teams.md), figures from ui/charts.py, tables from
ui/teams_tables.py.
"""

import dataclasses

import streamlit as st

from queries import cache, contracts, executor, funnel, teams
from reports import format as fmt
from reports import teams_view as tv
from ui import charts, tables
from ui import filters as ui_filters
from ui import teams_tables as tt
from ui.sections import section
from ui.state import current_filters, run_in_frame

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

ALL = tv.ALL
GROUP_CHOICES = tv.GROUP_CHOICES

st.title("Teams and handoff")
contract = contracts.current().effective()
words = tv.words(contract)

try:
    filters = current_filters()
    # Each section below is drawn once per (filters, widget values, store version) and replayed
    # for everyone else (ui/sections.py); the version key retires drawings after an import.
    version = executor.store_version()
    cache.call(funnel.latest_event_at)  # a missing or busy store fails here, with its message
    # One leakage query serves the totals and the by-attribute table below: it is grouped by the
    # attribute chosen there (read from its widget's state), and the totals are its sums.
    by = st.session_state.get("teams_group_by", "channel")
    by = by if by in GROUP_CHOICES else "channel"
except (executor.StoreMissingError, executor.StoreBusyError) as exc:
    st.error(f"{exc}")
    st.stop()


def metrics(columns, shown) -> None:
    for column, m in zip(columns, shown, strict=False):
        column.metric(m.label, m.value, help=m.help)


# ---- The leads behind a number: the drill-down's state ---------------------------------------
# Clicking a count in a table below sets these; so does a link (?drill=stage:mql&drill=team:sales
# &drill=kind:late_rejection&drill=category:follow_through&drill=by:channel&drill=group:webinar),
# checked like every URL parameter (ui/filters.parse_drill); the boxes at the bottom show them.
DRILL = {
    "stage": "teams_drill_stage",
    "team": "teams_drill_team",
    "kind": "teams_drill_kind",
    "owner": "teams_drill_owner",
    "category": "teams_drill_category",
    "by": "teams_drill_by",
    "group": "teams_drill_group",
}
for part, value in (ui_filters.read_drill("teams", tv.link_checks(contract)) or {}).items():
    st.session_state[DRILL[part]] = value


def open_drops(stage=ALL, team=ALL, kind=ALL, category=ALL, by=ALL, group=ALL) -> None:
    """Point the drill-down at one count (a clicked cell); the owner box is cleared."""
    picked = tv.Selection(stage, team, kind, ALL, category, by, group if by else ALL)
    for part, key in DRILL.items():
        st.session_state[key] = getattr(picked, part)


@section
def cohort_caption(filters, by, version) -> tv.Cohort:
    """The cohort line, the split by charged team and the immaturity warning."""
    head = tv.cohort(filters, by, call=cache.call, contract=contract)
    st.caption(head.caption)
    st.markdown(f"#### {head.headline}")
    st.caption(head.drops_caption)
    if not head.is_mature:
        st.warning(words.immature, icon=":material/hourglass_top:")
    return head


as_of = cohort_caption(filters, by, version).as_of


# ---- 1. Leakage by team ---------------------------------------------------------------------
@section
def drops_by_team(filters, by, version) -> tv.Drops:
    """Header, the four loss kinds and all drops as metrics; returns the part for the tables."""
    d = tv.drops(filters, by, call=cache.call, contract=contract)
    st.header("Where leads drop, and whose they are")
    st.caption(words.drop_definition)
    with st.expander("The loss kinds, one by one"):
        tt.show(d.loss_kinds)
        st.markdown("The full text is in docs/teams.md.")
    metrics([*st.columns(3), *st.columns(3)], d.metrics)
    st.caption("Click a number in a table to list the leads behind it (at the bottom of the page).")
    return d


d = drops_by_team(filters, by, version)
cell = tables.clickable(d.by_team_shown, key="teams_by_team_table", fit=True, column_config=tt.BY_TEAM)
if cell is not None:
    r = d.by_team.iloc[cell[0]]
    open_drops(team=r["charged_team"], category=r["category"])
tables.download(d.by_team, "teams-by-team.csv", key="dl-teams-by-team")


@section
def leakage_chart(filters, by, version):
    """The drops by transition and kind of loss as a chart."""
    leak = tv.leakage(filters, by, call=cache.call)
    if leak.empty:
        st.info("No dropped leads in this cohort yet. Widen the date range or move the as-of date.")
    else:
        st.plotly_chart(charts.leakage_figure(leak, teams.CATEGORIES), key="teams-leakage")


leakage_chart(filters, by, version)
if not d.leak.empty:
    cell = tables.clickable(d.leak_shown, key="teams_leakage_table")
    if cell is not None:
        r = d.leak.iloc[cell[0]]
        open_drops(stage=r["from_stage"], team=r["charged_team"], kind=r["loss_kind"])
    tables.download(d.leak, "teams-leakage.csv", key="dl-teams-leakage")

    by = st.selectbox(
        "Losses by lead attribute",
        list(GROUP_CHOICES),
        format_func=GROUP_CHOICES.get,
        key="teams_group_by",
        help="Which channels (or campaigns, regions, segments) the quality and follow-through "
        "losses come from.",
    )
    g = tv.groups(filters, by, call=cache.call, contract=contract)
    cell = tables.clickable(g.shown, key=f"teams_group_table_{by}", column_config=tt.group_columns(by, words))
    if cell is not None and cell[1] in tv.GROUP_CELLS:
        open_drops(by=by, group=g.grouped["group_value"].iloc[cell[0]], **tv.GROUP_CELLS[cell[1]])
    tables.download(g.grouped, f"teams-losses-by-{by}.csv", key="dl-teams-by-group")


# ---- 2. Handoff health ----------------------------------------------------------------------
@section
def handoff_health(filters, version):
    """Response times, SLA and acceptance as metrics, breaches per owner; returns the per-owner
    frame and the owner box's choices."""
    h = tv.handoff(filters, call=cache.call, contract=contract)
    st.header(h.header)
    st.caption(h.caption)
    metrics(st.columns(5), h.metrics)
    st.caption(h.percentiles)
    if not h.by_owner.empty:
        st.plotly_chart(
            charts.breaches_figure(h.by_owner, words.sla_hours, words.follow_label), key="teams-breaches"
        )
        tt.show(h.by_owner_shown, tt.HANDOFF_BY_OWNER)
    return h.by_owner, h.owners


@section
def handoff_list(filters, owner_id, status, version):
    """The handed-over leads matching the two boxes, slowest first."""
    listed = tv.handoff_list(
        filters, owner_id, status, tables.SCREEN_ROWS, call=cache.call, contract=contract
    )
    st.caption(listed.caption)
    with st.container(key="list-teams-handoffs"):  # a lead list: it may scroll sideways
        tt.show(listed.shown, column_order=tt.HANDOFF_LEADS_ORDER)


if words.sla_measured:
    by_owner, sales_owners = handoff_health(filters, version)
    if not by_owner.empty:
        tables.download(by_owner, "teams-handoff-by-owner.csv", key="dl-teams-handoff-owner")

    st.subheader("The handoffs behind these numbers")
    h1, h2 = st.columns(2)
    h_owner = h1.selectbox(
        f"{words.follow_label} owner",
        list(sales_owners),
        format_func=sales_owners.get,
        key="teams_handoff_owner",
    )
    statuses = tv.STATUS_CHOICES
    h_status = h2.selectbox(
        "SLA status", list(statuses), format_func=statuses.get, key="teams_handoff_status"
    )
    handoff_list(filters, h_owner or None, h_status or None, version)
    tables.download_all(
        teams.handoff_leads,
        filters,
        owner_id=h_owner or None,
        status=h_status or None,
        filename="teams-handoffs.csv",
        key="dl-teams-handoffs",
    )
else:
    st.header("Handoff health")
    st.info(words.sla_not_measured, icon=":material/visibility_off:")


@section
def rejection_reasons(filters, version):
    """Why Sales rejected handed-over leads; returns the reasons frame."""
    reasons = tv.reasons(filters, call=cache.call, contract=contract)
    st.subheader("Rejection reasons")
    if reasons.rows.empty:
        st.info("No rejections in this cohort.")
    else:
        tt.show(reasons.shown, tt.REASONS)
    return reasons.rows


@section
def recycled(filters, version):
    """Leads sent back to nurture and what became of them; returns the frame."""
    st.subheader("Recycled leads")
    rec = tv.recycled(filters, call=cache.call, contract=contract)
    st.caption(words.recycled_caption)
    tt.show(rec.shown, tt.RECYCLED)
    return rec.rows


# One above the other: side by side, each table was cut at 1280 and 1440 px wide.
if words.sla_measured:
    reasons = rejection_reasons(filters, version)
    if not reasons.empty:
        tables.download(reasons, "teams-rejection-reasons.csv", key="dl-teams-reasons")
tables.download(recycled(filters, version), "teams-recycled.csv", key="dl-teams-recycled")

# ---- 3. Per owner ---------------------------------------------------------------------------
st.header("Per owner")
st.caption(words.owners_caption)
sort_by = st.selectbox(
    "Sort by",
    list(teams.OWNER_SORTS),
    format_func=lambda k: teams.OWNER_SORTS[k][0],
    key="teams_owner_sort",
)


@section
def owners(filters, by, sort_by, version) -> tv.Owners:
    """Each owner's conversion, drops charged and handoff figures, sorted; returns the part."""
    o = tv.owners(filters, by, sort_by, call=cache.call, contract=contract)
    st.caption(o.caption)
    tt.show(o.shown, tt.OWNERS, column_order=tt.OWNERS_ORDER)
    return o


per_owner = owners(filters, by, sort_by, version)
tables.download(per_owner.rows, "teams-owners.csv", key="dl-teams-owners")

# ---- 4. Stalled right now -------------------------------------------------------------------
st.header("Stalled right now")
st.caption(tv.stalled_caption(as_of))
team_labels = tv.team_choices(contract)
team_choice = (
    st.selectbox(
        "Team owning the next move", list(team_labels), format_func=team_labels.get, key="teams_stalled_team"
    )
    or None
)


@section
def stalled_list(as_of, filters, team, version):
    """Leads stalled past their stage's expected days, most overdue first."""
    stalled = tv.stalled(as_of, filters, tables.SCREEN_ROWS, team=team, call=cache.call, contract=contract)
    st.caption(stalled.caption)
    with st.container(key="list-teams-stalled"):  # a lead list: it may scroll sideways
        tt.show(stalled.shown, column_order=tt.STALLED_ORDER)


stalled_by = teams.stalled_filters(filters, as_of)  # the range does not apply: one list per as-of
stalled_list(as_of, stalled_by, team_choice, version)
tables.download_all(
    teams.stalled_leads,
    as_of,
    stalled_by,
    team=team_choice,
    filename="teams-stalled.csv",
    key="dl-teams-stalled",
)


@section
def owner_stalled(as_of, filters, owner, version):
    """One owner's stalled leads."""
    mine = tv.stalled(as_of, filters, tables.SCREEN_ROWS, owner_id=owner, call=cache.call, contract=contract)
    with st.container(key="list-teams-owner-stalled"):
        tt.show(mine.shown, column_order=tt.STALLED_ORDER)


# ---- 5. Drill-down --------------------------------------------------------------------------
st.header("The leads behind a number")
choices = tv.drill_choices(contract, per_owner.names, per_owner.teams)
for part, allowed in choices.options.items():  # a value from a link or a click not offered: All
    if st.session_state.get(DRILL[part], ALL) not in allowed:
        st.session_state[DRILL[part]] = ALL
chosen = {
    part: box.selectbox(label, choices.options[part], format_func=choices.labels[part].get, key=DRILL[part])
    for (part, label), box in zip(tv.DRILL_BOXES.items(), st.columns([3, 2, 2, 2, 2]), strict=True)
}
drill_by, drill_group = tv.group_of(st.session_state.get(DRILL["by"]), st.session_state.get(DRILL["group"]))
if (
    drill_by
    and drill_group
    and st.button(tv.group_button(contract, drill_by, drill_group), key="teams_drill_all")
):
    st.session_state[DRILL["by"]] = st.session_state[DRILL["group"]] = ALL
    st.rerun()
selection = tv.Selection(**chosen, by=drill_by, group=drill_group)
ui_filters.write_drill({part: getattr(selection, part) for part in DRILL})


@section
def drop_list(filters, selection: tuple, owner_team, version):
    """The dropped leads behind the boxes' selection (tv.Selection's fields, in order)."""
    sel = tv.Selection(*selection)
    leads = tv.drill(filters, sel, owner_team, tables.SCREEN_ROWS, call=cache.call, contract=contract)
    if leads.blocked:
        st.info(leads.message, icon=":material/block:")
    elif leads.message:
        st.info(leads.message)
    else:
        st.caption(leads.caption)
    with st.container(key="list-teams-drops"):  # a lead list: it may scroll sideways
        tt.show(leads.shown, column_order=tt.DROPS_ORDER)


drop_list(filters, dataclasses.astuple(selection), per_owner.teams.get(selection.owner), version)
tables.download_all(
    teams.drop_leads, filters, **selection.query(), filename="teams-dropped-leads.csv", key="dl-teams-drill"
)
if selection.owner:
    st.subheader(f"Stalled right now: {fmt.md(per_owner.names[selection.owner])}")  # a CRM name
    owner_stalled(as_of, stalled_by, selection.owner, version)
    tables.download_all(
        teams.stalled_leads,
        as_of,
        stalled_by,
        owner_id=selection.owner,
        filename="teams-stalled-owner.csv",
        key="dl-teams-stalled-owner",
    )

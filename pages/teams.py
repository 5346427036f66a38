"""Teams and handoff: which team's stage lost each lead and why (quality or follow-through),
how Sales handles the handoff, each owner's numbers, the stalled leads, and the leads behind
every number. Computation lives in queries/teams.py; definitions in docs/teams.md.
"""

import html
import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from queries import cache, contracts, executor, funnel, teams
from queries.filters import MAX_TEXT
from reports import format as fmt
from ui import filters as ui_filters
from ui import glossary, tables
from ui.sections import section
from ui.state import (
    current_filters,
    run_in_frame,
)

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

CATEGORY_COLOURS = {
    "quality_after": "#E8A33D",
    "quality_before": "#F3D29B",
    "follow_through": "#4C8BF5",
    "other": "#8C96A3",
}
ALL = ""  # the "All" choice of a selectbox (None would read as "nothing selected")
GROUP_CHOICES = {"channel": "Channel", "campaign": "Campaign", "region": "Region", "segment": "Segment"}


def pct(x) -> str:
    return fmt.pct(x)


# Column headings shared by every table of lead rows (a table may add or override its own).
COLUMNS = {
    "lead_id": "Lead id",
    "lead_name": st.column_config.TextColumn("Name", width="medium"),
    "company": st.column_config.TextColumn("Company", width="medium"),
    "channel": "Channel",
    "owner_id": None,  # ids are for the CSV; people read the name
    "owner_name": "Owner",
    "stage": "Stage",
    "stage_label": None,
    "from_stage": "From stage",
    "to_stage": "To stage",
    "team": "Team",
    "transition_team": "Owner of the move",
    "charged_team": "Charged to",
    "charged_to": "Charged to",
    "loss_kind": "Loss kind",
    "category": "Category",
    "start_at": "Started",
    "stage_reached_at": "Reached the stage",
    "first_action_at": "Sales' first action",
    "first_action_type": "First action",
    "first_action_reason": "Its reason",
    "exit_at": "Exit",
    "exit_type": "Exit",
    "exit_reason": "Exit reason",
    "handoff_at": "Handed over",
    "action_kind": "Kind of action",
    "sla_status": "SLA",
    "stage_since": "In the stage since",
    "expected_days": st.column_config.NumberColumn("Expected days", format="%d"),
    "days_in_stage": st.column_config.NumberColumn("Days in stage", format="%.1f"),
    "days_over": st.column_config.NumberColumn("Days over expected", format="%.1f"),
    "response_hours": st.column_config.NumberColumn("Response (h)", format="%.1f"),
    "sla_within_rate": st.column_config.NumberColumn("Within SLA", format="percent"),
    "is_small": "Under 30 leads",
    "hours_open": st.column_config.NumberColumn("Hours since handoff", format="%.1f"),
}


# Lead lists: who, their company and owner, and what is overdue first; ids last.
STALLED_ORDER = [
    "lead_name",
    "company",
    "owner_name",
    "stage",
    "days_over",
    "days_in_stage",
    "expected_days",
    "stage_since",
    "team",
    "channel",
    "start_at",
    "lead_id",
]

# Durations in hours, shown in the unit people read (hours under two days, days from there on).
HOURS_COLUMNS = {
    "response_hours": "Response time",
    "hours_open": "Waiting since handoff",
    "median_hours": "Median response",
    "p75_hours": "p75 response",
    "p90_hours": "p90 response",
    "median_response_hours": "Median response",
}


def table(df, column_config: dict | None = None, key: str | None = None, **kwargs):
    """A Teams frame as people read it: codes as the contract's labels (teams.with_labels),
    channel values by their labels, long durations in days, headings from COLUMNS, missing
    values as "—", one percent format (ui/tables.show)."""
    if not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(df)
    plain = teams.with_labels(df, contract)
    if "channel" in plain.columns:
        plain["channel"] = [fmt.channel(contract, v) if v else v for v in plain["channel"]]
    config = {k: v for k, v in COLUMNS.items() if k in plain.columns}
    config.update(column_config or {})
    for col, label in HOURS_COLUMNS.items():
        if col in plain.columns:
            plain[col] = [fmt.duration_hours(v) for v in df[col]]
            config[col] = st.column_config.TextColumn(label)
    return tables.show(plain, column_config=config, key=key, **kwargs)


def esc(value) -> str:
    """Text for a plotly figure: plotly renders tick, legend and hover text as HTML (<b>, <a
    href>...), so every CRM- or file-derived string is escaped before it goes in."""
    return html.escape("" if value is None else str(value))


def team_name(key) -> str:
    return teams.team_label(key)


def hours(x) -> str:
    """A response time: hours under two days, days from there on (reports.format)."""
    return fmt.duration_hours(x)


st.title("Teams and handoff")
contract = contracts.current().effective()
roles = teams.teams(contract)
handoff = contract.handoff
sla = contract.handoff_sla_hours
handoff_label = handoff.label if handoff else "the handoff"
# The blame rule in words, generated from the contract (its sla_rule, handoff, SLA and teams):
# the same rule teams_drops.sql applies, so the sentence cannot disagree with the numbers.
BLAME_RULE = teams.blame_rule(contract)
if contract.sla_measured:
    SLA_NOT_MEASURED = ""
else:
    SLA_NOT_MEASURED = (
        f"The handoff SLA is not measured: the data does not record {team_name(roles.follow)}' first "
        f"action after {handoff_label} (the stage after it is not recorded), so no drop is charged "
        "for the SLA and no response times are shown."
        if handoff
        else "This funnel has no stage where Marketing hands leads to Sales, so there is no handoff "
        "SLA to measure; every drop is charged by the owner of its move and its reason code."
    )

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
linked = ui_filters.read_drill(
    "teams",
    {
        "stage": [s.key for s in contract.stages[:-1]],
        "team": list(contract.teams),
        "kind": list(teams.LOSS_KINDS),
        "category": list(teams.CATEGORIES),
        "owner": lambda v: 0 < len(v) <= MAX_TEXT,
        "by": list(GROUP_CHOICES),
        "group": lambda v: 0 < len(v) <= MAX_TEXT,
    },
)
for part, value in (linked or {}).items():
    st.session_state[DRILL[part]] = value


def open_drops(stage=ALL, team=ALL, kind=ALL, category=ALL, by=ALL, group=ALL) -> None:
    """Point the drill-down at one count (a clicked cell); the owner box is cleared."""
    for part, value in (
        ("stage", stage),
        ("team", team),
        ("kind", kind),
        ("owner", ALL),
        ("category", category),
        ("by", by),
        ("group", group if by else ALL),
    ):
        st.session_state[DRILL[part]] = value


def leakage_of(filters, by):
    """The cohort's drops, one row per (transition, charged team, loss kind)."""
    return teams.summarise(teams.ungroup(cache.call(teams.leakage_by_owner, filters, by=by)))


@section
def cohort_caption(filters, by, version) -> dict:
    """The cohort line and the immaturity warning; returns the leakage frame's attrs."""
    leak = leakage_of(filters, by)
    st.caption(
        f"Cohort: leads that started {filters.start:%d %b %Y} – {filters.end:%d %b %Y} · as of "
        f"{leak.attrs['as_of']:%d %b %Y %H:%M} UTC · {glossary.window_phrase(leak.attrs['window_days'])} · skip "
        f"policy {leak.attrs['skip_policy']}"
    )
    # The line the page leads with: every drop of this view, by the team it is charged to.
    line = fmt.charged_line(teams.charged_split(leak, contract))
    st.markdown(f"#### {line[:1].upper() + line[1:]}")
    st.caption(
        f"All {fmt.whole(leak['n_dropped'].sum())} drops of this view, each charged to one team by the "
        "contract's blame rule (below)."
    )
    if not leak.attrs["is_mature"]:
        st.warning(
            "Immature cohort: some windows are still open on the as-of date, so leads still in "
            "progress are not counted as drops yet. These numbers can still change.",
            icon=":material/hourglass_top:",
        )
    return dict(leak.attrs)


as_of = cohort_caption(filters, by, version)["as_of"]

# ---- 1. Leakage by team ---------------------------------------------------------------------
DROP_DEFINITION = (
    "**Drop-off and who owns it.** A lead that last reached stage *k* in time and then exited, or "
    f"outlived its window, dropped at *k → k+1*. {fmt.md(BLAME_RULE)} Leads still in progress are "
    "never drops."
)
CATEGORY_HELP = {
    "quality_after": f"Rejected or disqualified at {handoff_label} or later for a reason charged to "
    f"{team_name(roles.quality)} (such as not_a_fit): the leads {team_name(roles.follow)} "
    "turned down.",
    "quality_before": f"Rejected or disqualified before {handoff_label} for a reason charged to "
    f"{team_name(roles.quality)}: {team_name(roles.quality)} filtering its own leads.",
    "follow_through": f"Charged to {team_name(roles.follow)}: "
    + (f"no action within the {sla:g}-hour SLA, " if contract.sla_measured else "")
    + "stalled past the stage's expected days, or an exit for a reason charged to "
    f"{team_name(roles.follow)}.",
    "other": "Any other drop, on either team: mostly leads that never qualified and outlived their "
    "window, nurture recycles and window edges.",
}

# Short labels (five long ones were cut off), two rows; the team is in each help text.
METRIC_LABELS = {
    "quality_after": "Quality after handoff",
    "quality_before": "Quality before handoff",
    "follow_through": "Follow-through",
    "other": "Other drops",
}


@section
def drops_by_team(filters, by, version):
    """Header, the four loss kinds and all drops as metrics, and the by-team table; returns it."""
    leak = leakage_of(filters, by)
    st.header("Where leads drop, and whose they are")
    st.caption(DROP_DEFINITION)
    with st.expander("The loss kinds, one by one"):
        table(
            [{"Loss kind": label, "Definition": text} for label, text in teams.LOSS_KINDS.values()],
        )
        st.markdown("The full text is in docs/teams.md.")

    summary = teams.by_team(leak, contract)
    totals = summary.groupby("category")["n_dropped"].sum()
    all_drops = int(summary["n_dropped"].sum())
    c1, c2, c3 = st.columns(3)
    c4, c5, c6 = st.columns(3)
    for column, cat, team in (
        (c1, "quality_after", roles.quality),
        (c2, "quality_before", roles.quality),
        (c3, "follow_through", roles.follow),
        (c4, "other", None),
    ):
        n = int(totals.get(cat, 0))
        column.metric(
            METRIC_LABELS[cat],
            f"{n:,}",
            help=f"{CATEGORY_HELP[cat]} {pct(n / all_drops if all_drops else math.nan)} of all drops"
            + (f"; always charged to {team.capitalize()}." if team else "; charged to either team."),
        )
    c5.metric(
        "All drops",
        f"{all_drops:,}",
        help="Cohort leads that exited, or outlived their window, before reaching the last stage. "
        "Equals the funnel's dropped count for the same filters.",
    )
    if contract.sla_measured:
        late = leak[leak["loss_kind"] == "late_rejection"]
        n_late = int(late["n_dropped"].sum())
        charged_to = roles.follow if contract.sla_rule == "breach" else roles.quality
        c6.metric(
            "Rejected after the SLA",
            f"{n_late:,}",
            help=f"{teams.LOSS_KINDS['late_rejection'][1]} Here they are charged to "
            f"{team_name(charged_to)} and counted in its "
            + ("follow-through" if charged_to == roles.follow else "quality after handoff")
            + f' losses (sla_rule = "{contract.sla_rule}"); they are a quality signal either way and '
            "count in the quality per lead handed over below.",
        )
    st.caption("Click a number in a table to list the leads behind it (at the bottom of the page).")
    return summary


summary = drops_by_team(filters, by, version)
summary["Small n (<30)"] = [
    fmt.small_flag(n) for n in summary.groupby("charged_team")["n_dropped"].transform("sum")
]
cell = tables.clickable(
    teams.with_labels(summary, contract),
    key="teams_by_team_table",
    fit=True,
    column_config={
        "charged_team": "Charged to",
        "category": None,
        "category_label": "Category",
        "n_dropped": "Dropped leads",
        "share_of_team": st.column_config.NumberColumn("Share of the team's drops", format="percent"),
        "share_of_all": st.column_config.NumberColumn("Share of all drops", format="percent"),
    },
)
if cell is not None:
    r = summary.iloc[cell[0]]
    open_drops(team=r["charged_team"], category=r["category"])
tables.download(summary, "teams-by-team.csv", key="dl-teams-by-team")


@section
def leakage_chart(filters, by, version):
    """The drops by transition and kind of loss, as a chart and a table; returns the frame."""
    leak = leakage_of(filters, by)
    if leak.empty:
        st.info("No dropped leads in this cohort yet. Widen the date range or move the as-of date.")
    else:
        fig = go.Figure()
        order = list(dict.fromkeys(leak["transition"]))  # funnel.toml labels: escaped below too
        for cat, label in teams.CATEGORIES.items():
            part = leak[leak["category"] == cat]
            if part.empty:
                continue
            sums = part.groupby("transition", sort=False)["n_dropped"].sum().reindex(order, fill_value=0)
            detail = {
                t: "<br>".join(
                    f"{esc(r.loss_label)}, charged to {esc(team_name(r.charged_team))}: {r.n_dropped:,}"
                    for r in part[part["transition"] == t].itertuples()
                )
                for t in order
            }
            fig.add_trace(
                go.Bar(
                    y=[esc(t) for t in order],
                    x=sums.values,
                    orientation="h",
                    name=esc(label),
                    marker={"color": CATEGORY_COLOURS[cat]},
                    hovertext=[
                        f"<b>{esc(t)}</b><br>{esc(label)}: {n:,}<br>{detail[t]}" for t, n in sums.items()
                    ],
                    hoverinfo="text",
                )
            )
        fig.update_layout(
            barmode="stack",
            title={"text": "Dropped leads by stage transition and kind of loss"},
            # Horizontal bars: transition labels ("Marketing qualified → Sales accepted") are long
            # and are read in funnel order from the top.
            yaxis={"title": {"text": "Transition"}, "autorange": "reversed", "automargin": True},
            xaxis={"title": {"text": "Dropped leads (count)"}},
            legend={"orientation": "h", "y": -0.25},
            height=140 + 60 * len(order),
            margin={"l": 10, "r": 10, "t": 60, "b": 10},
        )
        st.plotly_chart(fig, key="teams-leakage")
    return leak


def leakage_table(leak):
    """The drops by transition, charged team and loss kind, as people read them (what, whose,
    how many, what share; the category is the chart's colour and in the CSV)."""
    per_transition = leak.groupby("stage_order")["n_dropped"].transform("sum")
    return pd.DataFrame(
        {
            "Transition": leak["transition"],
            "Charged to": [team_name(t) for t in leak["charged_team"]],
            "Loss kind": leak["loss_label"],
            "Dropped leads": leak["n_dropped"],
            "Share of the transition's drops": leak["share_of_transition"],
            "Small n (<30)": [fmt.small_flag(n) for n in per_transition],
        }
    )


def losses_by_group(filters, by):
    """Quality and follow-through losses per channel (or other attribute), the comparable number
    first; returns the frame (group values as they are stored, for the drill-down)."""
    drops_grouped = cache.call(teams.leakage_by_owner, filters, by=by)
    return teams.quality_per_handoff(
        teams.categories_by_group(teams.summarise(drops_grouped)),
        cache.call(funnel.breakdown, filters, by),
        contract,
    )


GROUP_COLUMNS = {
    "group_value": None,  # set per attribute below
    "n_handoffs": None,
    "quality_after_per_handoff": None,
    "n_rejected_for_quality": None,
    "n_quality_after": "Quality losses after handoff",
    "n_late_rejection": "Rejected after the SLA",
    "n_follow_through": "Follow-through losses",
    "n_quality_before": "Quality losses before handoff",
    "n_other": "Other drops",
    "n_dropped": "All drops",
    "is_small": "Small n (<30 handed over)",
    "quality_after_share": None,
    "follow_through_share": None,
}
# A clicked count of the losses-by-attribute table: which drops it counts.
GROUP_CELLS = {
    "n_quality_after": {"category": "quality_after"},
    "n_quality_before": {"category": "quality_before"},
    "n_follow_through": {"category": "follow_through"},
    "n_other": {"category": "other"},
    "n_late_rejection": {"kind": "late_rejection"},
    "n_dropped": {},
}


leak = leakage_chart(filters, by, version)
if not leak.empty:
    cell = tables.clickable(leakage_table(leak), key="teams_leakage_table")
    if cell is not None:
        r = leak.iloc[cell[0]]
        open_drops(stage=r["from_stage"], team=r["charged_team"], kind=r["loss_kind"])
    tables.download(leak, "teams-leakage.csv", key="dl-teams-leakage")

    by = st.selectbox(
        "Losses by lead attribute",
        list(GROUP_CHOICES),
        format_func=GROUP_CHOICES.get,
        key="teams_group_by",
        help="Which channels (or campaigns, regions, segments) the quality and follow-through "
        "losses come from.",
    )
    grouped = losses_by_group(filters, by)
    shown = grouped.assign(
        group_value=[fmt.channel(contract, g) if by == "channel" else g for g in grouped["group_value"]]
    )
    # Whole at 1280 px: the comparable rate and the counts people argue about; the rest in the CSV.
    order = [
        c
        for c in (
            "group_value",
            "n_handoffs",
            "quality_after_per_handoff",
            "n_rejected_for_quality",
            "n_late_rejection",
            "n_follow_through",
            "n_dropped",
            "is_small",
        )
        if c in shown.columns
    ]
    cell = tables.clickable(
        shown[order],
        key=f"teams_group_table_{by}",
        column_config={
            **{k: v for k, v in GROUP_COLUMNS.items() if v},
            "group_value": GROUP_CHOICES[by],
            "n_handoffs": f"Reached {handoff_label}",
            "n_rejected_for_quality": "Rejected for quality after handoff",
            "quality_after_per_handoff": st.column_config.NumberColumn(
                "Rejected for quality per lead handed over",
                help=f"Leads rejected or disqualified for a reason charged to {team_name(roles.quality)} "
                f"at {handoff_label} or later, in time or after the SLA (whichever team the blame rule "
                f"charged), ÷ leads that reached {handoff_label}",
                format="percent",
            ),
            "quality_after_share": st.column_config.NumberColumn(
                "Quality (after) share of drops", format="percent"
            ),
            "follow_through_share": st.column_config.NumberColumn(
                "Follow-through share of drops", format="percent"
            ),
        },
    )
    if cell is not None and cell[1] in GROUP_CELLS:
        open_drops(by=by, group=grouped["group_value"].iloc[cell[0]], **GROUP_CELLS[cell[1]])
    tables.download(grouped, f"teams-losses-by-{by}.csv", key="dl-teams-by-group")


# ---- 2. Handoff health ----------------------------------------------------------------------


@section
def handoff_health(filters, version):
    """Response times, SLA and acceptance as metrics, breaches per owner; returns the per-owner frame."""
    health = cache.call(teams.handoff_health, filters)
    st.header(f"Handoff health: {handoff.label} → {team_name(roles.follow)}")
    st.caption(
        f"Response time = from a lead's first {handoff.label} entry to {team_name(roles.follow)}' first "
        f"action (accept, reject or any stage move: the next event of any kind by "
        f"{team_name(roles.follow)}). SLA "
        f"{sla:g} hours: a first action at exactly {sla:g} h is within it; no action after "
        f"{sla:g} h is a breach; no action yet and under {sla:g} h is pending. Percentiles are over "
        "leads with an action."
    )
    s = health.summary.iloc[0]
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.metric(
        "Handed over", f"{int(s['n_handoffs']):,}", help=f"Cohort leads that entered {handoff.label} in time."
    )
    c2.metric(
        "Median response",
        hours(s["median_hours"]),
        help=f"p75 {hours(s['p75_hours'])} · p90 {hours(s['p90_hours'])} · {int(s['n_acted']):,} leads with an action",
    )
    c3.metric(
        f"Within the {sla:g} h SLA",
        pct(s["sla_within_rate"]),
        help=f"{int(s['n_within']):,} within, {int(s['n_breached']):,} breached "
        f"({int(s['n_breached_no_action']):,} with no action at all), {int(s['n_pending']):,} pending. "
        f"95% CI {pct(s['sla_low'])}–{pct(s['sla_high'])}.",
    )
    c4.metric(
        "Accepted", pct(s["acceptance_rate"]), help=f"{int(s['n_accepted']):,} of the handed-over leads."
    )
    c5.metric(
        "Rejected", pct(s["rejection_rate"]), help=f"{int(s['n_rejected']):,} of the handed-over leads."
    )
    st.caption(f"p75 {hours(s['p75_hours'])} · p90 {hours(s['p90_hours'])}")

    by_owner = health.by_owner
    if not by_owner.empty:
        fig = go.Figure(
            go.Bar(
                x=[esc(n) for n in by_owner["owner_name"]],
                y=by_owner["n_breached"],
                marker={"color": CATEGORY_COLOURS["follow_through"]},
                hovertext=[
                    f"<b>{esc(r.owner_name)}</b><br>SLA breaches: {r.n_breached:,} of {r.n_handoffs:,}"
                    f" ({r.n_breached_no_action:,} never acted on)<br>Within SLA: {pct(r.sla_within_rate)}"
                    f"<br>Median response: {hours(r.median_hours)}"
                    + ("<br>Small group (under 30 leads)" if r.is_small else "")
                    for r in by_owner.itertuples()
                ],
                hoverinfo="text",
                name="SLA breaches",
            )
        )
        fig.update_layout(
            title={"text": f"{sla:g}-hour SLA breaches by {team_name(roles.follow)} owner"},
            xaxis={"title": {"text": f"{team_name(roles.follow)} owner"}},
            yaxis={"title": {"text": "Breached handoffs (count)"}},
            height=380,
            margin={"l": 10, "r": 10, "t": 60, "b": 10},
        )
        st.plotly_chart(fig, key="teams-breaches")
        table(
            # Whole at 1280 px, the breaches and the SLA rate first; p75 and p90 are in the CSV.
            by_owner[
                ["owner_name", "n_breached", "sla_within_rate", "n_handoffs", "median_hours"]
                + ["n_breached_no_action", "acceptance_rate", "rejection_rate", "is_small"]
            ],
            column_config={
                "n_handoffs": "Handed over",
                "median_hours": st.column_config.NumberColumn("Median response (h)", format="%.1f"),
                "p75_hours": st.column_config.NumberColumn("p75 (h)", format="%.1f"),
                "p90_hours": st.column_config.NumberColumn("p90 (h)", format="%.1f"),
                "n_breached": "SLA breaches",
                "n_breached_no_action": "Never acted on",
                "acceptance_rate": st.column_config.NumberColumn("Accepted", format="percent"),
                "rejection_rate": st.column_config.NumberColumn("Rejected", format="percent"),
            },
        )
    return by_owner


@section
def handoff_list(filters, owner_id, status, version):
    """The handed-over leads matching the two boxes, slowest first; returns them."""
    handoffs = cache.call(
        teams.handoff_leads, filters, owner_id=owner_id, status=status, limit=tables.SCREEN_ROWS
    )
    st.caption(
        f"{handoffs.attrs['n_total']:,} handoffs match, slowest first (never acted on at the top)"
        + (
            f"; the first {len(handoffs):,} are listed, the CSV has them all"
            if handoffs.attrs["n_total"] > len(handoffs)
            else ""
        )
    )
    with st.container(key="list-teams-handoffs"):  # a lead list: it may scroll sideways
        table(
            handoffs,
            column_order=[
                "lead_name",
                "company",
                "owner_name",
                "sla_status",
                "response_hours",
                "handoff_at",
                "first_action_at",
                "first_action_type",
                "first_action_reason",
                "hours_open",
                "action_kind",
                "channel",
                "lead_id",
            ],
        )
    return handoffs


if contract.sla_measured:
    by_owner = handoff_health(filters, version)
    if not by_owner.empty:
        tables.download(by_owner, "teams-handoff-by-owner.csv", key="dl-teams-handoff-owner")

    st.subheader("The handoffs behind these numbers")
    sales_owners = dict(
        by_owner.dropna(subset=["owner_id"])[["owner_id", "owner_name"]].itertuples(index=False)
    )
    h1, h2 = st.columns(2)
    h_owner = h1.selectbox(
        f"{team_name(roles.follow)} owner",
        [ALL, *sales_owners],
        format_func=lambda o: sales_owners.get(o, "All"),
        key="teams_handoff_owner",
    )
    h_status = h2.selectbox(
        "SLA status",
        [ALL, *teams.SLA_STATUSES],
        format_func=lambda x: x.capitalize() if x else "All",
        key="teams_handoff_status",
    )
    handoffs = handoff_list(filters, h_owner or None, h_status or None, version)
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
    st.info(SLA_NOT_MEASURED, icon=":material/visibility_off:")


@section
def rejection_reasons(filters, version):
    """Why Sales rejected handed-over leads; returns the reasons frame."""
    reasons = cache.call(teams.handoff_health, filters).reasons
    st.subheader("Rejection reasons")
    if reasons.empty:
        st.info("No rejections in this cohort.")
    else:
        table(
            reasons,
            column_config={
                "rejection_reason": None,
                "reason_label": "Reason",
                "charged_to": "Charged to",
                "n_rejected": "Rejected",
                "share": st.column_config.NumberColumn("Share", format="percent"),
            },
        )
    return reasons


@section
def recycled(filters, version):
    """Leads sent back to nurture and what became of them; returns the frame."""
    st.subheader("Recycled leads")
    rec = cache.call(teams.recycled, filters)
    st.caption(
        "Sent back to nurture by the as-of date. Came back: a stage event after the recycle. "
        "Converted: then went beyond the furthest stage it had reached before."
    )
    table(
        rec.drop(columns=["reason_code", "is_total"]),
        column_config={
            "reason_label": "Recycle reason",
            "n_recycled": "Recycled",
            "n_came_back": "Came back",
            "n_converted": "Converted",
            "n_won": "Won",
            "came_back_rate": st.column_config.NumberColumn("Came back", format="percent"),
            "converted_rate": st.column_config.NumberColumn("Converted", format="percent"),
        },
    )
    return rec


left, right = st.columns(2) if contract.sla_measured else (None, st.container())
if left is not None:
    with left:
        reasons = rejection_reasons(filters, version)
        if not reasons.empty:
            tables.download(reasons, "teams-rejection-reasons.csv", key="dl-teams-reasons")
with right:
    rec = recycled(filters, version)
    tables.download(rec, "teams-recycled.csv", key="dl-teams-recycled")

# ---- 3. Per owner ---------------------------------------------------------------------------
st.header("Per owner")
st.caption(
    "Each owner's cohort leads for the span of moves their team owns. A lead's owner for a team "
    "is the owner on that team's first event for it (else its current owner on that team). "
    "Conversion carries its 95% Wilson interval; fewer than 30 leads is flagged. Click a "
    "column header to sort."
)
sort_by = st.selectbox(
    "Sort by",
    list(teams.OWNER_SORTS),
    format_func=lambda k: teams.OWNER_SORTS[k][0],
    key="teams_owner_sort",
)


@section
def owners(filters, by, sort_by, version):
    """Each owner's conversion, drops charged and handoff figures, sorted; returns the table."""
    drops_by_owner = teams.ungroup(cache.call(teams.leakage_by_owner, filters, by=by))
    health = cache.call(teams.handoff_health, filters)
    per_owner = teams.owner_view(
        cache.call(teams.owner_conversion, filters), drops_by_owner, health.by_owner, contract
    )
    per_owner = teams.sort_owners(per_owner, sort_by)
    spans = ", ".join(
        f"{team_name(t)} {contract.stage(a).label} → {contract.stage(b).label}"
        for t, a, b in per_owner[["team", "from_stage", "to_stage"]].drop_duplicates().itertuples(index=False)
    )
    st.caption(f"Conversion over the moves each team owns: {spans}.")
    shown = per_owner.assign(
        conversion_ci=[
            tables.interval(lo, hi)
            for lo, hi in zip(per_owner["conversion_low"], per_owner["conversion_high"], strict=True)
        ]
    )
    # Whole at 1280 px: who, how many, how well, what is charged to them; the rest in the CSV.
    table(
        shown,
        column_order=[
            "owner_name",
            "team",
            "n_handled",
            "conversion_rate",
            "conversion_ci",
            "n_dropped_charged",
            "n_follow_through",
            "n_quality_after",
            "n_sla_breaches",
            "median_response_hours",
            "is_small",
        ],
        column_config={
            "conversion_ci": "95% CI",
            "is_small": "Small n (<30)",
            "team": "Team",
            "from_stage": "From",
            "to_stage": "To",
            "n_handled": "Leads handled",
            "n_converted": "Converted",
            "conversion_rate": st.column_config.NumberColumn("Conversion", format="percent"),
            "conversion_low": st.column_config.NumberColumn("95% CI low", format="percent"),
            "conversion_high": st.column_config.NumberColumn("95% CI high", format="percent"),
            "n_dropped_charged": "Drops charged",
            "n_quality_after": "Quality losses after handoff",
            "n_quality_before": "Quality losses before handoff",
            "n_follow_through": "Follow-through losses",
            "median_response_hours": st.column_config.NumberColumn("Median response (h)", format="%.1f"),
            "n_sla_breaches": st.column_config.NumberColumn("SLA breaches", format="%d"),
        },
    )
    return per_owner


per_owner = owners(filters, by, sort_by, version)
tables.download(per_owner, "teams-owners.csv", key="dl-teams-owners")

# ---- 4. Stalled right now -------------------------------------------------------------------
st.header("Stalled right now")
st.caption(
    f"As of {as_of:%d %b %Y}: leads in a stage longer than its expected days (the contract) with "
    "no exit, still inside their window, most overdue first. The sidebar's channel, region, "
    "segment and owner filters apply; its date range does not."
)
team_choice = (
    st.selectbox(
        "Team owning the next move",
        [ALL, *contract.teams],
        format_func=lambda t: team_name(t) if t else "Both",
        key="teams_stalled_team",
    )
    or None
)


@section
def stalled_list(as_of, filters, team, version):
    """Leads stalled past their stage's expected days, most overdue first; returns them."""
    stalled = cache.call(teams.stalled_leads, as_of, filters, team=team, limit=tables.SCREEN_ROWS)
    n_total = stalled.attrs["n_total"]
    st.caption(
        f"{n_total:,} stalled leads"
        + (
            f"; the {len(stalled):,} most overdue are listed, the CSV has them all"
            if n_total > len(stalled)
            else ""
        )
    )
    with st.container(key="list-teams-stalled"):  # a lead list: it may scroll sideways
        table(stalled, column_order=STALLED_ORDER)
    return stalled


stalled = stalled_list(as_of, filters, team_choice, version)
tables.download_all(
    teams.stalled_leads,
    as_of,
    filters,
    team=team_choice,
    filename="teams-stalled.csv",
    key="dl-teams-stalled",
)


@section
def owner_stalled(as_of, filters, owner, version):
    """One owner's stalled leads; returns them."""
    mine = cache.call(teams.stalled_leads, as_of, filters, owner_id=owner, limit=tables.SCREEN_ROWS)
    with st.container(key="list-teams-owner-stalled"):
        table(mine, column_order=STALLED_ORDER)
    return mine


# ---- 5. Drill-down --------------------------------------------------------------------------
st.header("The leads behind a number")
transitions = {s.key: f"{s.label} → {contract.stages[s.order].label}" for s in contract.stages[:-1]}
known_owners = per_owner.dropna(subset=["owner_id"]).drop_duplicates("owner_id")
owner_names = dict(known_owners[["owner_id", "owner_name"]].itertuples(index=False))
owner_teams = dict(known_owners[["owner_id", "team"]].itertuples(index=False))
choices = {
    "stage": [ALL, *transitions],
    "team": [ALL, *contract.teams],
    "kind": [ALL, *teams.LOSS_KINDS],
    "owner": [ALL, *owner_names],
    "category": [ALL, *teams.CATEGORIES],
}
for part, allowed in choices.items():  # a value from a link or a click that is not offered: All
    if st.session_state.get(DRILL[part], ALL) not in allowed:
        st.session_state[DRILL[part]] = ALL
d1, d2, d3, d4, d5 = st.columns([3, 2, 2, 2, 2])
stage = d1.selectbox(
    "Transition",
    choices["stage"],
    format_func=lambda k: transitions.get(k, "All"),
    key=DRILL["stage"],
)
team = d2.selectbox(
    "Charged to",
    choices["team"],
    format_func=lambda t: team_name(t) if t else "Both",
    key=DRILL["team"],
)
category_key = d3.selectbox(
    "Category",
    choices["category"],
    format_func=lambda c: teams.CATEGORIES[c] if c else "All",
    key=DRILL["category"],
)
kind = d4.selectbox(
    "Loss kind",
    choices["kind"],
    format_func=lambda k: teams.LOSS_KINDS[k][0] if k else "All",
    key=DRILL["kind"],
)
owner = d5.selectbox(
    "Owner",
    choices["owner"],
    format_func=lambda o: f"{owner_names[o]} ({team_name(owner_teams[o])})" if o else "All",
    key=DRILL["owner"],
)
drill_by = st.session_state.get(DRILL["by"]) or ALL
drill_by = drill_by if drill_by in GROUP_CHOICES else ALL
drill_group = st.session_state.get(DRILL["group"]) or ALL if drill_by else ALL
if drill_by and drill_group:
    shown_group = fmt.channel(contract, drill_group) if drill_by == "channel" else drill_group
    if st.button(
        f"Only {GROUP_CHOICES[drill_by].lower()} {shown_group} · show every lead", key="teams_drill_all"
    ):
        st.session_state[DRILL["by"]] = st.session_state[DRILL["group"]] = ALL
        st.rerun()
ui_filters.write_drill(
    {
        "stage": stage,
        "team": team,
        "kind": kind,
        "owner": owner,
        "category": category_key,
        "by": drill_by if drill_group else ALL,
        "group": drill_group,
    }
)


@section
def drop_list(filters, stage, team, kind, owner, owner_team, category_key, by, group, version):
    """The dropped leads behind the boxes' selection; returns them."""
    leads = cache.call(
        teams.drop_leads,
        filters,
        stage=stage or None,
        team=team or None,
        loss_kind=kind or None,
        owner_id=owner or None,
        limit=tables.SCREEN_ROWS,
        category_key=category_key or None,
        by=by or None,
        group=group or None,
    )
    n_total = leads.attrs["n_total"]
    impossible = teams.why_no_match(
        contract,
        stage=stage or None,
        team=team or None,
        loss_kind=kind or None,
        owner_team=owner_team,
    )
    if impossible:
        st.info(f"No lead can match this selection. {impossible}", icon=":material/block:")
    elif n_total == 0:
        st.info(
            "No dropped leads in this cohort match this selection. Choose “All” in one of the boxes, "
            "or widen the date range in the sidebar."
        )
    else:
        st.caption(
            f"**{n_total:,}** dropped leads match"
            + (f"; the first {len(leads):,} are listed, the CSV has them all" if n_total > len(leads) else "")
        )
    with st.container(key="list-teams-drops"):  # a lead list: it may scroll sideways
        table(
            leads,
            column_order=[
                "lead_name",
                "company",
                "owner_name",
                "charged_team",
                "loss_kind",
                "from_stage",
                "stage_reached_at",
                "first_action_at",
                "exit_at",
                "exit_type",
                "exit_reason",
                "days_in_stage",
                "channel",
                "start_at",
                "category",
                "lead_id",
            ],
        )
    return leads


leads = drop_list(
    filters, stage, team, kind, owner, owner_teams.get(owner), category_key, drill_by, drill_group, version
)
tables.download_all(
    teams.drop_leads,
    filters,
    stage=stage or None,
    team=team or None,
    loss_kind=kind or None,
    owner_id=owner or None,
    category_key=category_key or None,
    by=drill_by or None,
    group=drill_group or None,
    filename="teams-dropped-leads.csv",
    key="dl-teams-drill",
)
if owner:
    st.subheader(f"Stalled right now: {owner_names[owner]}")
    mine = owner_stalled(as_of, filters, owner, version)
    tables.download_all(
        teams.stalled_leads,
        as_of,
        filters,
        owner_id=owner,
        filename="teams-stalled-owner.csv",
        key="dl-teams-stalled-owner",
    )

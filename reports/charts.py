"""Plotly figures of a WeeklyReport, drawn the same on the page and in the HTML export.

Every figure has a title, axis titles with units and hover text. Text that came from the CRM
(owner names, reason codes) is HTML-escaped before it reaches plotly, which reads a subset of
HTML in labels and hover text.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from queries.weekly import WeeklyReport
from reports import format as f
from reports.format import esc

HEIGHT = 360
CHANGE_COLOUR = "#b45309"


TEAM_COLOURS = ("#2563eb", "#dc2626", "#059669", "#7c3aed", "#d97706")
NO_TEAM_COLOUR = "#9ca3af"


def team_colour(report: WeeklyReport, team: str) -> str:
    """The same colour for a team on every chart: by its place in funnel.toml's teams."""
    if team not in report.teams:
        return NO_TEAM_COLOUR
    return TEAM_COLOURS[report.teams.index(team) % len(TEAM_COLOURS)]


# Looked up once: naming the template on every figure made plotly rebuild it each time
# (about 16 ms a figure, a third of a cached Weekly page run).
_TEMPLATE = pio.templates["plotly_white"]


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, **extra) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        xaxis_title=x_title,
        yaxis_title=y_title,
        height=HEIGHT,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"orientation": "h", "y": -0.25},
        hovermode="closest",
        template=_TEMPLATE,
        **extra,
    )
    return fig


CHANGE_TRACE = "Definition change (the contract's change log)"


def change_markers(fig: go.Figure, changes, first: dt.date, last: dt.date, y: float = 0) -> list:
    """A dashed vertical line at each of the contract's dated changes inside [first, last], with
    the change's text on hover (a marker at the foot of the line carries it), so that a break in
    a series is explained where it happens. `changes`: (date, text) pairs, or a frame with date
    and change columns; `y`: where the hover markers sit on the y axis. Returns the changes
    drawn. Every chart with a time axis calls this (the pages' and the weekly report's)."""
    if isinstance(changes, pd.DataFrame):
        changes = list(zip(changes["date"], changes["change"], strict=True))
    inside = [(d, text) for d, text in changes if first <= d <= last]
    for d, _ in inside:
        fig.add_shape(
            type="line",
            x0=d,
            x1=d,
            xref="x",
            y0=0,
            y1=1,
            yref="paper",
            line={"color": CHANGE_COLOUR, "dash": "dash", "width": 1.5},
        )
        fig.add_annotation(
            x=d,
            y=1,
            yref="paper",
            text="definition change",
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
            font={"color": CHANGE_COLOUR, "size": 11},
        )
    if inside:
        fig.add_trace(
            go.Scatter(
                x=[d for d, _ in inside],
                y=[y] * len(inside),
                mode="markers",
                marker={"symbol": "triangle-up", "size": 11, "color": CHANGE_COLOUR},
                name=CHANGE_TRACE,
                hovertext=[f"Definition changed on {d:%Y-%m-%d}: {esc(text)}" for d, text in inside],
                hoverinfo="text",
            )
        )
    return inside


def _change_markers(fig: go.Figure, report: WeeklyReport, first: dt.date, last: dt.date) -> None:
    change_markers(fig, report.all_changes, first, last)


def entries_trend_figure(report: WeeklyReport) -> go.Figure:
    """Weekly first entries per stage, one line per stage, chosen week highlighted."""
    df = report.entries_trend
    fig = go.Figure()
    for label, g in df.groupby("label", sort=False):
        fig.add_trace(
            go.Scatter(
                x=g["week_start"],
                y=g["n_entries"],
                mode="lines+markers",
                name=esc(label),
                customdata=g["week"],
                hovertemplate="%{customdata} (week of %{x|%Y-%m-%d})<br>"
                + esc(label)
                + ": %{y:,} leads entered<extra></extra>",
            )
        )
    first, last = df["week_start"].min(), df["week_start"].max()
    fig.add_vrect(x0=last, x1=last + dt.timedelta(days=7), fillcolor="#93c5fd", opacity=0.25, line_width=0)
    _change_markers(fig, report, first, last + dt.timedelta(days=6))
    return _layout(
        fig,
        f"Stage entries per week, {len(df['week_start'].unique())} weeks to {report.label}",
        "ISO week (Monday, UTC)",
        "Leads entering the stage (first entries)",
    )


def conversion_trend_figure(report: WeeklyReport) -> go.Figure:
    """Weekly share of decided leads that moved on, one line per stage."""
    df = report.conversion_trend
    fig = go.Figure()
    for label, g in df.groupby("label", sort=False):
        fig.add_trace(
            go.Scatter(
                x=g["week_start"],
                y=g["rate"],
                mode="lines+markers",
                name=esc(label),
                customdata=list(zip(g["week"], g["n_moved"], g["n_decided"], strict=True)),
                hovertemplate="%{customdata[0]}<br>"
                + esc(label)
                + ": %{y:.1%} moved on (%{customdata[1]:,} of %{customdata[2]:,} decided)<extra></extra>",
            )
        )
    first, last = df["week_start"].min(), df["week_start"].max()
    fig.add_vrect(x0=last, x1=last + dt.timedelta(days=7), fillcolor="#93c5fd", opacity=0.25, line_width=0)
    _change_markers(fig, report, first, last + dt.timedelta(days=6))
    fig = _layout(
        fig,
        "Share of decided leads that moved on, per stage and week",
        "ISO week (Monday, UTC)",
        "Moved on / decided (%)",
    )
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    return fig


def week_funnel_figure(report: WeeklyReport) -> go.Figure:
    """Entries per stage: this week, last week and the 4-week average, in funnel order."""
    h = report.headline
    labels = [esc(x) for x in h["label"]]
    fig = go.Figure()
    for col, name in (("this_week", report.label), ("last_week", "Last week"), ("avg_4w", "4-week average")):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=h[col],
                name=name,
                hovertemplate="%{x}<br>" + name + ": %{y:,.1f} entries<extra></extra>",
            )
        )
    return _layout(
        fig,
        f"Funnel entries in {report.label} against last week and the 4-week average",
        "Stage (funnel order)",
        "Leads entering the stage",
        barmode="group",
    )


def actions_figure(report: WeeklyReport) -> go.Figure:
    """What became due this week per owner, stacked by kind: SLA breaches (waiting, acted late)
    and leads that stalled during the week. The total stalled, older ones included, is in the
    hover: older stalled leads would otherwise dwarf the week's news."""
    df = report.actions_by_owner
    fig = go.Figure()
    if not df.empty:
        # In the owner table's order (most due this week first).
        owners = [esc(x) for x in df["owner_name"]]
        for col, name in (
            ("n_sla_waiting", "SLA breach, waiting"),
            ("n_sla_late", "SLA breach, acted late"),
            ("n_stalled_new", "Stalled this week"),
        ):
            fig.add_trace(
                go.Bar(
                    y=owners,
                    x=df[col],
                    name=name,
                    orientation="h",
                    customdata=df["n_stalled"],
                    hovertemplate="%{y}<br>"
                    + name
                    + ": %{x:,} leads<br>stalled in all: %{customdata:,}<extra></extra>",
                )
            )
        fig.update_yaxes(autorange="reversed")
    return _layout(
        fig,
        f"Who acts: SLA breaches and leads that stalled in {report.label}, per owner",
        "Leads needing action (became due this week)",
        "Owner",
        barmode="stack",
    )


def exits_figure(report: WeeklyReport) -> go.Figure:
    """Exits of the week by reason, coloured by the team the reason is charged to."""
    df = report.exits
    fig = go.Figure()
    if not df.empty:
        by = df.groupby(["reason_label", "charged_to"], as_index=False)["n_exits"].sum()
        by = by.sort_values("n_exits", ascending=True)
        for team, g in by.groupby("charged_to", sort=True):
            name = f"charged to {f.team(team)}" if team else "reason not in funnel.toml"
            fig.add_trace(
                go.Bar(
                    marker_color=team_colour(report, team),
                    y=[esc(x) for x in g["reason_label"]],
                    x=g["n_exits"],
                    name=esc(name),
                    orientation="h",
                    hovertemplate="%{y}: %{x:,} exits<br>" + esc(name) + "<extra></extra>",
                )
            )
    return _layout(fig, f"Exits in {report.label} by reason", "Exits (events)", "Reason code")


def all_figures(report: WeeklyReport) -> list[tuple[str, go.Figure]]:
    """The report's charts in page order: (section key, figure)."""
    return [
        ("funnel", week_funnel_figure(report)),
        ("entries_trend", entries_trend_figure(report)),
        ("conversion_trend", conversion_trend_figure(report)),
        ("exits", exits_figure(report)),
        ("actions", actions_figure(report)),
    ]

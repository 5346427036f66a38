"""Plotly figures for the pages: pure functions from query results to figures (no Streamlit).

Colours are mid-tones that read on both the light and the dark theme; backgrounds, fonts and
grid come from Streamlit's theme (st.plotly_chart's default), so nothing here fixes black or
white. Hover text is plain: labels come from funnel.toml, numbers from the queries.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from data.contract import Contract
from reports import format as fmt
from reports.charts import change_markers
from reports.format import esc

BLUE = "#4C8BF5"
BLUE_FAINT = "rgba(76, 139, 245, 0.45)"
GREY = "#8C96A3"
AMBER = "#E8A33D"
RANGE = "rgba(140, 150, 163, 0.45)"


def _pct(x: float) -> str:
    return fmt.pct(x)


def _across(changes, first, last) -> str:
    """Hover text for a period whose records started on both sides of a definition change."""
    inside = [(d, t) for d, t in changes if first <= d <= last]
    return "".join(
        f"<br>Across a definition change ({d:%Y-%m-%d}): its records started under two definitions"
        for d, _ in inside
    )


def funnel_figure(df: pd.DataFrame, title: str, is_mature: bool) -> go.Figure:
    """The cohort funnel: one bar per stage with count, step rate and overall rate; the 95%
    Wilson intervals, skips, in-progress and dropped counts on hover. An immature cohort is
    drawn faint and says so in its title."""
    text = [
        f"{n:,}" if k == 0 else f"{n:,} · step {_pct(s)} · overall {_pct(o)}"
        for k, (n, s, o) in enumerate(zip(df["n_reached"], df["step_rate"], df["overall_rate"], strict=True))
    ]
    reached = [int(n) for n in df["n_reached"]]
    step_base = [reached[0], *reached[:-1]] if reached else []
    first = reached[0] if reached else 0

    def small(n: int) -> str:
        return f" · {fmt.SMALL_TEXT}" if fmt.is_small(n) else ""

    hover = [
        f"<b>{esc(r.label)}</b><br>Reached: {r.n_reached:,}"
        f"<br>Step rate: {_pct(r.step_rate)} (95% CI {_pct(r.step_low)}–{_pct(r.step_high)}){small(step_base[k])}"
        f"<br>Overall rate: {_pct(r.overall_rate)} (95% CI {_pct(r.overall_low)}–{_pct(r.overall_high)}){small(first)}"
        f"<br>Skipped into this stage: {r.n_skipped:,}"
        f"<br>Stopped here, in progress: {r.n_in_progress:,} · dropped: {r.n_dropped:,}"
        for k, r in enumerate(df.itertuples())
    ]
    fig = go.Figure(
        go.Funnel(
            y=[esc(x) for x in df["label"]],
            x=df["n_reached"],
            text=text,
            textinfo="text",
            textposition="outside",
            cliponaxis=False,
            hovertext=hover,
            hoverinfo="text",
            marker={"color": BLUE if is_mature else BLUE_FAINT},
            connector={"line": {"color": GREY, "width": 1}},
            name="Leads reached",
        )
    )
    if not is_mature:
        title += " · immature: window still open, can still rise"
    fig.update_layout(
        title={"text": title},
        yaxis={"title": {"text": "Stage"}},
        xaxis={"title": {"text": "Leads (count)"}},
        margin={"l": 10, "r": 80, "t": 60, "b": 10},
        height=380,
    )
    return fig


def flow_figure(df: pd.DataFrame, title: str) -> go.Figure:
    """Flow view: entries into each stage during the range; ratios compare different leads."""
    text = [
        f"{n:,}" if k == 0 or math.isnan(r) else f"{n:,} · ×{r:.2f} of the stage before"
        for k, (n, r) in enumerate(zip(df["n_entries"], df["ratio_to_previous"], strict=True))
    ]
    hover = [
        f"<b>{esc(r.label)}</b><br>First entries in the range: {r.n_entries:,}"
        f"<br>Re-entries (recycled leads back): {r.n_reentries:,}"
        + ("" if k == 0 else f"<br>Ratio to the stage before: {r.ratio_to_previous:.2f} (different leads)")
        for k, r in enumerate(df.itertuples())
    ]
    fig = go.Figure(
        go.Funnel(
            y=[esc(x) for x in df["label"]],
            x=df["n_entries"],
            text=text,
            textinfo="text",
            textposition="outside",
            cliponaxis=False,
            hovertext=hover,
            hoverinfo="text",
            marker={"color": AMBER},
            connector={"line": {"color": GREY, "width": 1}},
            name="Entries",
        )
    )
    fig.update_layout(
        title={"text": title + " · flow: ratios compare different leads"},
        yaxis={"title": {"text": "Stage"}},
        xaxis={"title": {"text": "Entries (count)"}},
        margin={"l": 10, "r": 80, "t": 60, "b": 10},
        height=380,
    )
    return fig


def trend_figure(
    df: pd.DataFrame, rate_col: str, rate_name: str, grain: str, title: str, changes=()
) -> go.Figure:
    """Conversion per period of start for one stage (rows of funnel.trend for that stage).

    Mature periods: solid line. Immature periods (window still open): dotted, hollow markers,
    on a shaded band labelled as such. Whiskers: 95% Wilson interval. A point over fewer than
    30 records is drawn as a square and says "small n" on hover. `changes`: the contract's
    dated changes ((date, text) pairs): a dashed line at each, its text on hover, and a period
    that spans one says so.
    """
    low, high = rate_col.replace("_rate", "_low"), rate_col.replace("_rate", "_high")
    base = "n_base"
    fig = go.Figure()
    for mature, name, dash, symbol in (
        (True, "Final (window closed)", "solid", "circle"),
        (False, "Immature (window still open)", "dot", "circle-open"),
    ):
        part = df[df["is_mature"] == mature]
        if part.empty:
            continue
        hover = [
            f"<b>{grain.capitalize()} of {r.period_start:%d %b %Y}</b><br>{rate_name}: {_pct(getattr(r, rate_col))}"
            f" (95% CI {_pct(getattr(r, low))}–{_pct(getattr(r, high))})"
            f"<br>Leads in the base: {int(getattr(r, base)):,}"
            + (
                f"<br>{fmt.SMALL_TEXT}: few records, a wide interval"
                if fmt.is_small(getattr(r, base))
                else ""
            )
            + ("" if mature else "<br>Immature: leads still in progress may convert")
            + _across(changes, r.period_start, r.period_end)
            for r in part.itertuples()
        ]
        fig.add_trace(
            go.Scatter(
                x=part["period_start"],
                y=part[rate_col],
                mode="lines+markers",
                name=name,
                line={"color": BLUE, "dash": dash},
                marker={
                    "symbol": [
                        ("square" if mature else "square-open") if fmt.is_small(n) else symbol
                        for n in part[base]
                    ],
                    "size": 9,
                    "color": BLUE,
                },
                error_y={
                    "type": "data",
                    "array": part[high] - part[rate_col],
                    "arrayminus": part[rate_col] - part[low],
                    "color": GREY,
                    "thickness": 1,
                },
                hovertext=hover,
                hoverinfo="text",
            )
        )
    immature = df[~df["is_mature"]]
    if not immature.empty:
        fig.add_vrect(
            x0=immature["period_start"].min(),
            x1=immature["period_end"].max(),
            fillcolor=GREY,
            opacity=0.15,
            line_width=0,
            annotation_text="window still open",
            annotation_position="top left",
        )
    if not df.empty:
        change_markers(fig, changes, df["period_start"].min(), df["period_end"].max())
    # One tick per month for a monthly trend (plotly's automatic ticks fall on weeks when the
    # year has only a few months of data).
    month_ticks = {"dtick": "M1", "tickformat": "%b %Y"} if grain == "month" else {}
    fig.update_layout(
        title={"text": title},
        xaxis={"title": {"text": f"{grain.capitalize()} the leads started"}, **month_ticks},
        yaxis={"title": {"text": f"{rate_name} (%)"}, "tickformat": ".0%", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.25},
        margin={"l": 10, "r": 80, "t": 60, "b": 10},
        height=380,
    )
    return fig


def _days_band(fig: go.Figure, df: pd.DataFrame, counts: list[str]) -> None:
    """One row per df["label"] (escaped: stage names come from the data): the p75–p90 range as
    a band and the median as a dot, its hover ending with that row's `counts` line."""
    labels = [esc(x) for x in df["label"]]
    fig.add_trace(
        go.Bar(
            y=labels,
            x=df["p90_days"] - df["p75_days"],
            base=df["p75_days"],
            orientation="h",
            marker={"color": RANGE},
            name="p75–p90 (slow quarter to slowest tenth)",
            hovertext=[
                f"<b>{label}</b><br>p75: {r.p75_days:.1f} days · p90: {r.p90_days:.1f} days"
                for label, r in zip(labels, df.itertuples(), strict=True)
            ],
            hoverinfo="text",
        )
    )
    fig.add_trace(
        go.Scatter(
            y=labels,
            x=df["median_days"],
            mode="markers",
            marker={"color": BLUE, "size": 11},
            name="Median",
            hovertext=[
                f"<b>{label}</b><br>Median: {r.median_days:.1f} days<br>{count}"
                for label, r, count in zip(labels, df.itertuples(), counts, strict=True)
            ],
            hoverinfo="text",
        )
    )


def times_figure(df: pd.DataFrame, contract: Contract, title: str) -> go.Figure:
    """Time between stages: the p75–p90 range as a band, the median as a dot and the contract's
    expected days as a diamond, one row per transition and one for the total."""
    df = df.iloc[::-1]  # first transition on top
    expected = {s.key: s.expected_days for s in contract.stages}
    exp = [math.nan if r.is_total else (expected.get(r.from_stage) or math.nan) for r in df.itertuples()]
    fig = go.Figure()
    _days_band(
        fig,
        df,
        [
            f"Leads that moved: {r.n_leads:,}" + (f" · {fmt.SMALL_TEXT}" if fmt.is_small(r.n_leads) else "")
            for r in df.itertuples()
        ],
    )
    if any(not math.isnan(e) for e in exp):  # no diamond (and no legend entry) without any
        fig.add_trace(
            go.Scatter(
                y=[esc(x) for x in df["label"]],
                x=exp,
                mode="markers",
                marker={"color": AMBER, "size": 10, "symbol": "diamond"},
                name="Expected (the contract)",
                hovertext=[f"Expected in the contract: {e:g} days" for e in exp],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title={"text": title},
        xaxis={"title": {"text": "Days"}, "rangemode": "tozero"},
        yaxis={"title": {"text": ""}, "automargin": True},
        legend={"orientation": "h", "y": -0.3},
        barmode="overlay",
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        height=360,
    )
    return fig


def _signed(value: float, unit: str) -> str:
    if unit == "count":
        return f"{value:+,.0f}"
    return f"{'+' if value > 0 else '−' if value < 0 else '±'}{abs(value):,.0f}"


def waterfall_figure(df: pd.DataFrame, title: str, unit: str) -> go.Figure:
    """The pipeline at T1, each movement bucket's change to it, the pipeline at T2
    (queries.pipeline.waterfall). `unit`: "count" (opportunities) or a currency code. Every bar
    says how many opportunities it holds, including the buckets that change nothing in this
    measure (a stage move leaves the amount as it was); bucket labels are ours, not CRM text."""
    measures = ["absolute" if k == "absolute" else "relative" for k in df["kind"]]
    text, hover = [], []
    for r in df.itertuples():
        n = f"{r.n_opportunities:,} opp."
        if r.kind == "absolute":
            shown = f"{r.value:,.0f}" if unit == "count" else f"{unit} {r.value:,.0f}"
            text.append(shown if unit == "count" else f"{shown} · {n}")
            hover.append(f"<b>{r.label}</b><br>{shown}<br>Open opportunities: {r.n_opportunities:,}")
        else:
            change = _signed(r.value, unit)
            text.append(f"{n} · {change}" if r.n_opportunities else "")
            hover.append(
                f"<b>{r.label}</b><br>Opportunities: {r.n_opportunities:,}"
                f"<br>Change to the open pipeline: {change}" + ("" if unit == "count" else f" {unit}")
            )
    fig = go.Figure(
        go.Waterfall(
            x=df["label"],
            y=df["value"],
            measure=measures,
            text=text,
            textposition="outside",
            textfont={"size": 12},
            cliponaxis=False,
            hovertext=hover,
            hoverinfo="text",
            customdata=df["bar"],
            increasing={"marker": {"color": BLUE}},
            decreasing={"marker": {"color": AMBER}},
            totals={"marker": {"color": GREY}},
            connector={"line": {"color": GREY, "width": 1}},
            name="Pipeline",
        )
    )
    fig.update_layout(
        title={"text": title},
        yaxis={"title": {"text": "Opportunities" if unit == "count" else f"Amount ({unit})"}},
        xaxis={"title": {"text": ""}, "tickangle": -30},
        showlegend=False,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        height=440,
    )
    return fig


def stage_days_figure(df: pd.DataFrame, title: str) -> go.Figure:
    """Days in each stage per ended visit (queries.pipeline.stage_visits): the p75–p90 range as
    a band and the median as a dot, one row per stage that has ended visits."""
    df = df[df["median_days"].notna()].iloc[::-1]  # first stage on top
    fig = go.Figure()
    _days_band(fig, df, [f"Visits ended: {r.n_visits - r.n_current:,}" for r in df.itertuples()])
    fig.update_layout(
        title={"text": title},
        xaxis={"title": {"text": "Days in the stage"}, "rangemode": "tozero"},
        yaxis={"title": {"text": ""}, "automargin": True},
        legend={"orientation": "h", "y": -0.3},
        barmode="overlay",
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        height=320,
    )
    return fig


# Teams and handoff: one colour per category of drop (queries.teams.CATEGORIES).
CATEGORY_COLOURS = {
    "quality_after": AMBER,
    "quality_before": "#F3D29B",
    "follow_through": BLUE,
    "other": GREY,
}


def leakage_figure(leak: pd.DataFrame, categories: dict[str, str]) -> go.Figure:
    """Dropped leads by transition, stacked by category (queries.teams.summarise's rows;
    `categories`: category key -> label). Hover lists each loss kind and the team it is charged
    to. Transition, loss and team labels come from the contract: escaped."""
    fig = go.Figure()
    order = list(dict.fromkeys(leak["transition"]))
    for cat, label in categories.items():
        part = leak[leak["category"] == cat]
        if part.empty:
            continue
        sums = part.groupby("transition", sort=False)["n_dropped"].sum().reindex(order, fill_value=0)
        detail = {
            t: "<br>".join(
                f"{esc(r.loss_label)}, charged to {esc(fmt.team(r.charged_team))}: {r.n_dropped:,}"
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
                hovertext=[f"<b>{esc(t)}</b><br>{esc(label)}: {n:,}<br>{detail[t]}" for t, n in sums.items()],
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
    return fig


def breaches_figure(by_owner: pd.DataFrame, sla_hours: float, team: str) -> go.Figure:
    """SLA breaches per owner of the team `team` (its label) that follows the handoff
    (HandoffHealth.by_owner); owner names come from the CRM: escaped."""
    fig = go.Figure(
        go.Bar(
            x=[esc(n) for n in by_owner["owner_name"]],
            y=by_owner["n_breached"],
            marker={"color": CATEGORY_COLOURS["follow_through"]},
            hovertext=[
                f"<b>{esc(r.owner_name)}</b><br>SLA breaches: {r.n_breached:,} of {r.n_handoffs:,}"
                f" ({r.n_breached_no_action:,} never acted on)<br>Within SLA: {_pct(r.sla_within_rate)}"
                f"<br>Median response: {fmt.duration_hours(r.median_hours)}"
                + ("<br>Small group (under 30 leads)" if r.is_small else "")
                for r in by_owner.itertuples()
            ],
            hoverinfo="text",
            name="SLA breaches",
        )
    )
    fig.update_layout(
        title={"text": f"{sla_hours:g}-hour SLA breaches by {esc(team)} owner"},
        xaxis={"title": {"text": f"{esc(team)} owner"}},
        yaxis={"title": {"text": "Breached handoffs (count)"}},
        height=380,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    return fig


# --- the Targets page ---------------------------------------------------------------------------

QUOTA_BLUE = "#4c78a8"  # entries needed, in the reverse waterfall's small charts
QUOTA_ORANGE = "#f58518"  # the quota beside them


def wrapped(label: str, width: int = 12) -> str:
    """A label broken onto lines for a narrow chart title (plotly wraps nothing itself), each
    line escaped (stage names come from the contract)."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(esc(line) for line in lines)


def attainment_figure(df: pd.DataFrame, share: float, title: str) -> go.Figure:
    """Each target's attainment beside the share of the month passed (where a steady pace would
    be today), one pair of bars per row of `df`: name (team · metric), attainment (0..1),
    actual, target, status."""
    names = [esc(x) for x in df["name"]]
    fig = go.Figure()
    fig.add_bar(
        y=names,
        x=100 * df["attainment"],
        orientation="h",
        name="Actual, % of target",
        customdata=df[["actual", "target", "status"]].to_numpy(),
        hovertemplate="%{y}<br>actual %{customdata[0]:,.0f} of %{customdata[1]:,.0f}"
        "<br>%{x:.0f}% of target (%{customdata[2]})<extra></extra>",
    )
    fig.add_bar(
        y=names,
        x=[100 * share] * len(df),
        orientation="h",
        name="Expected by today, %",
        hovertemplate="%{y}<br>expected by today: %{x:.0f}% of target<extra></extra>",
    )
    fig.update_layout(
        title=title,
        xaxis_title="% of the month's target",
        yaxis={"autorange": "reversed"},
        barmode="group",
        height=120 + 40 * len(df),
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def entries_figure(df: pd.DataFrame, title: str) -> go.Figure:
    """The reverse waterfall against the quotas: one small chart per stage (a row of `df`:
    label, n_entries_needed, n_needed, enter_from, enter_by, quota, quota_name), each on its
    own linear axis from zero: a shared axis would make the won deals (tens) invisible next to
    the leads (thousands), and a log axis hides the size of a gap."""
    fig = make_subplots(
        rows=1, cols=len(df), subplot_titles=[wrapped(x) for x in df["label"]], horizontal_spacing=0.05
    )
    for i, r in enumerate(df.itertuples(), start=1):
        label = esc(r.label)
        fig.add_bar(
            x=["Needed"],
            y=[r.n_entries_needed],
            name="Entries needed",
            legendgroup="needed",
            showlegend=i == 1,
            marker_color=QUOTA_BLUE,
            hovertemplate=f"{label}<br>entries needed %{{y:,.0f}} (volume incl. skips {r.n_needed:,.0f})"
            f"<br>must enter {r.enter_from:%d %b %Y} – {r.enter_by:%d %b %Y}<extra></extra>",
            row=1,
            col=i,
        )
        fig.add_bar(
            x=["Quota"],
            y=[r.quota],
            name="Quota of the month the stage is due",
            legendgroup="quota",
            showlegend=i == 1,
            marker_color=QUOTA_ORANGE,
            hovertemplate=f"{label}<br>{esc(r.quota_name)}: %{{y:,.0f}}<extra></extra>",
            row=1,
            col=i,
        )
    fig.update_yaxes(rangemode="tozero", tickformat=",.0f")
    fig.update_yaxes(title_text="Entries (leads or deals)", row=1, col=1)
    fig.update_layout(title=title, legend={"orientation": "h", "y": -0.15}, height=400, margin={"t": 110})
    fig.update_annotations(font_size=12)  # the stage names above the small charts
    return fig


# --- the Content page ---------------------------------------------------------------------------

MODEL_COLOURS = ("#4C8BF5", "#8C96A3", "#2BB39B", "#E8A33D", "#B06AD9", "#E5605A")  # MODELS' order


def content_sales_figure(groups: pd.DataFrame, span: str, is_mature: bool, axis_title: str) -> go.Figure:
    """Win rates with and without Marketing content shared by Sales, one bar pair per group
    (queries.content.sales_content_use's rows), with their 95% intervals; `span`: the range
    the opportunities were opened in. Group values can be CRM text: escaped."""
    fig = go.Figure()
    for side, name, colour in (("shared", "With Marketing content", BLUE), ("not_shared", "Without", GREY)):
        rate = groups[f"win_rate_{side}"]
        fig.add_bar(
            x=[esc(g) for g in groups["group_value"]],
            y=rate,
            name=name,
            marker_color=colour,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": groups[f"win_high_{side}"] - rate,
                "arrayminus": rate - groups[f"win_low_{side}"],
            },
            hovertext=[
                f"{esc(g.group_value)} · {name}<br>Win rate {_pct(getattr(g, f'win_rate_{side}'))} "
                f"(95% CI {_pct(getattr(g, f'win_low_{side}'))}–{_pct(getattr(g, f'win_high_{side}'))})"
                f"<br>{getattr(g, f'n_won_{side}'):,} won of {getattr(g, f'n_closed_{side}'):,} closed"
                for g in groups.itertuples()
            ],
            hoverinfo="text",
        )
    fig.update_layout(
        title={
            "text": "Win rate with and without Marketing content shared by Sales"
            f"<br><sup>Opportunities opened {span}"
            + (" · won ÷ closed" if is_mature else " · immature: deals still open, not final")
            + "</sup>"
        },
        barmode="group",
        yaxis={"title": {"text": "Win rate (won ÷ closed, %)"}, "tickformat": ".0%", "rangemode": "tozero"},
        xaxis={"title": {"text": axis_title}},
        legend={"orientation": "h", "y": -0.25},
        height=380,
        margin={"t": 60},
    )
    return fig


def content_reach_figure(top: pd.DataFrame) -> go.Figure:
    """Touches by Marketing and by Sales per piece of content (queries.content.content_reach's
    rows, in the order drawn bottom-up), stacked. Titles and kinds are CRM text: escaped."""
    fig = go.Figure()
    for col, name, colour in (
        ("n_touches_marketing", "Touches by Marketing", BLUE),
        ("n_touches_sales", "Touches by Sales", AMBER),
    ):
        fig.add_bar(
            y=[esc(t) for t in top["title"]],
            x=top[col],
            orientation="h",
            name=name,
            marker_color=colour,
            hovertext=[
                f"{esc(r.title)} ({esc(r.kind)}, made by {fmt.team(r.made_by)})<br>{name}: {getattr(r, col):,}"
                f"<br>Leads reached: {r.n_leads:,}"
                for r in top.itertuples()
            ],
            hoverinfo="text",
        )
    fig.update_layout(
        title={"text": "Who uses each piece of content: touches in the range (top 20 by leads reached)"},
        barmode="stack",
        xaxis={"title": {"text": "Touches (count)"}},
        yaxis={"title": {"text": "Content"}},
        legend={"orientation": "h", "y": -0.2},
        height=max(320, 26 * len(top) + 140),
        margin={"t": 60},
    )
    return fig


def content_advance_figure(part: pd.DataFrame, transition: str, is_mature: bool) -> go.Figure:
    """Touched vs comparable leads' advance rate per piece of content for one stage
    (queries.content.content_advance's rows of that stage), with 95% intervals; `transition`:
    "Lead → Marketing qualified" (contract labels: escaped, like the titles)."""
    fig = go.Figure()
    for prefix, name, colour in (("advance", "Touched", BLUE), ("baseline", "Comparable, not touched", GREY)):
        rate = part[f"{prefix}_rate"]
        fig.add_scatter(
            y=[esc(t) for t in part["title"]],
            x=rate,
            mode="markers",
            name=name,
            marker={"color": colour, "size": 10},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": part[f"{prefix}_high"] - rate,
                "arrayminus": rate - part[f"{prefix}_low"],
            },
            hovertext=[
                f"{esc(r.title)} · {name}<br>Advanced: {_pct(getattr(r, f'{prefix}_rate'))} "
                f"(95% CI {_pct(getattr(r, f'{prefix}_low'))}–{_pct(getattr(r, f'{prefix}_high'))})"
                f"<br>Touched leads compared: {r.n_matched:,}; comparable leads: {r.n_comparison:,}"
                f"<br>Difference {fmt.points(r.difference)}, p = {r.p_value:.2g}"
                + (" · small group (<30)" if r.is_small else "")
                for r in part.itertuples()
            ],
            hoverinfo="text",
        )
    fig.update_layout(
        title={
            "text": f"{esc(transition)}: share of leads that advanced"
            + ("" if is_mature else "<br><sup>Immature: window still open, not final</sup>")
        },
        xaxis={"title": {"text": "Advanced to the next stage (%)"}, "tickformat": ".0%"},
        yaxis={"title": {"text": "Content"}},
        legend={"orientation": "h", "y": -0.2},
        height=max(320, 30 * len(part) + 160),
        margin={"t": 60},
    )
    return fig


def content_credits_figure(top: pd.DataFrame, models, total: float, title: str, axis_title: str) -> go.Figure:
    """Each model's credit per group (queries.attribution.credits' rows), one bar per model
    (`models`: (key, label) pairs, in order); `total`: the deals' amount, for the shares on
    hover. Group labels (content titles, campaigns) are CRM text: escaped."""
    fig = go.Figure()
    for (model, model_label), colour in zip(models, MODEL_COLOURS, strict=True):
        col = f"credit_{model}"
        fig.add_bar(
            x=[esc(v) for v in top["label"]],
            y=top[col],
            name=model_label,
            marker_color=colour,
            hovertext=[
                f"{esc(r.label)} · {model_label}<br>Credit: {fmt.amount(getattr(r, col))}"
                + (f" ({_pct(getattr(r, col) / total)} of the total)" if total else "")
                + f"<br>Deals touched: {r.n_deals:,}"
                for r in top.itertuples()
            ],
            hoverinfo="text",
        )
    fig.update_layout(
        title={"text": title},
        barmode="group",
        yaxis={"title": {"text": "Credited amount (deal currency)"}},
        xaxis={"title": {"text": axis_title}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        height=480,
        margin={"t": 110},
    )
    return fig

"""Content, for marketing ops: does Sales use Marketing's content, which content is associated
with leads moving on, and how revenue is credited across touches under the usual models.

Every comparison here is an association, not proof of cause, and says so. Filters come from
the frame, or defaults when the page is opened on its own. Content titles are text from the
store: tables show them as plain text, and charts get them HTML-escaped.
"""

import plotly.graph_objects as go
import streamlit as st

from queries import attribution, cache, content, contracts, executor, funnel
from queries.attribution import MODELS
from reports import format as fmt
from ui import tables
from ui.sections import section
from ui.state import (
    current_filters,
    run_in_frame,
)

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

BLUE = "#4C8BF5"
GREY = "#8C96A3"
AMBER = "#E8A33D"
MODEL_COLOURS = ("#4C8BF5", "#8C96A3", "#2BB39B", "#E8A33D", "#B06AD9", "#E5605A")
SALES_BREAKDOWNS = {"segment": "Segment", "region": "Region", "channel": "Channel"}
ATTRIBUTION_BY = ("content", "content_kind", "touch_team", "campaign", "channel")
TOP_GROUPS = 12


# Table specs: {column: label}, in the order shown, key columns first so they are on screen
# without scrolling; columns left out are hidden (the CSV download keeps them all). A label
# ending in " %" shows a 0-1 rate as a percent with one decimal (as the metrics above do), " pts"
# a difference of rates in points, " ¤" an amount (the CRM's own currency) in whole units.
SALES_USE_SPEC = {
    "group_value": "Group",
    "n_opportunities": "Opportunities",
    "share_rate": "Share with it %",
    "win_rate_shared": "Win rate with %",
    "win_rate_not_shared": "Win rate without %",
    "difference": "Difference pts",
    "p_value": "p-value",
    "is_significant": "Outside the noise",
    "is_small": "Small (<30 closed)",
    "n_shared": "Opportunities with it",
    "n_won_shared": "Won, with",
    "n_closed_shared": "Closed, with",
    "n_open_shared": "Still open, with",
    "n_won_not_shared": "Won, without",
    "n_closed_not_shared": "Closed, without",
    "n_open_not_shared": "Still open, without",
    "win_low_shared": "With: 95% CI low %",
    "win_high_shared": "With: 95% CI high %",
    "win_low_not_shared": "Without: 95% CI low %",
    "win_high_not_shared": "Without: 95% CI high %",
    "share_low": "Share: 95% CI low %",
    "share_high": "Share: 95% CI high %",
}
REACH_SPEC = {
    "title": "Content",
    "made_by": "Made by",
    "n_leads": "Leads reached",
    "n_touches_marketing": "Touches by Marketing",
    "n_touches_sales": "Touches by Sales",
    "n_leads_by_sales": "Leads reached by Sales",
    "kind": "Kind",
    "published_at": "Published",
    "content_id": "Id",
}
ADVANCE_SPEC = {
    "title": "Content",
    "advance_rate": "Touched: advanced %",
    "baseline_rate": "Baseline: advanced %",
    "difference": "Difference pts",
    "p_value": "p-value",
    "is_small": "Small (<30)",
    "n_matched": "Touched, compared",
    "n_comparison": "Comparable, not touched",
    "made_by": "Made by",
    "label": "Stage",
    "n_touched": "Touched leads",
    "n_matched_advanced": "Touched, advanced",
    "advance_low": "Touched: 95% CI low %",
    "advance_high": "Touched: 95% CI high %",
    "baseline_low": "Baseline: 95% CI low %",
    "baseline_high": "Baseline: 95% CI high %",
}
CREDIT_SPEC = {
    "label": "Credited to",
    # Short model names so that all six fit beside the label (the weights are in the caption).
    **{f"credit_{k}": f"{label.split(' (')[0]} ¤" for k, label in MODELS},
    "n_deals": "Deals",
    "n_touches": "Touches",
    "group_key": "Key",
}
SOURCING_SPEC = {
    "sourced_by": "Sourced by",
    "n_deals": "Deals",
    "amount": "Amount ¤",
    "influenced_share": "Share influenced %",
    "n_influenced": "Influenced by Marketing",
    "influenced_amount": "Influenced amount ¤",
}
TEAM_COLUMNS = ("made_by", "sourced_by")
TEXT_COLUMNS = ("group_value", "title", "label", "sourced_by")


def team_name(key) -> str:
    """A team key as people write it: "marketing" -> "Marketing"."""
    return str(key).replace("_", " ").capitalize()


def span(f) -> str:
    """A filters' date range as the page writes it: "01 Jul 2026 – 30 Sep 2026"."""
    return f"{f.start:%d %b %Y} – {f.end:%d %b %Y}"


def show_table(df, spec: dict) -> None:
    """`df` on screen as `spec` says: columns in its order (others hidden), rates as percents
    with one decimal, differences in points, whole amounts, team names capitalised. Only the
    shown copy is changed; downloads keep the query's values."""
    shown = df.copy()
    config = {}
    for col, label in spec.items():
        # Text columns get room; numbers size to their header and values.
        width = "medium" if col in TEXT_COLUMNS else None
        if label.endswith(" %"):
            shown[col] = shown[col] * 100
            config[col] = st.column_config.NumberColumn(
                label.removesuffix(" %"), format="%.1f%%", width=width
            )
        elif label.endswith(" pts"):
            shown[col] = shown[col] * 100
            config[col] = st.column_config.NumberColumn(label, format="%+.1f", width=width)
        elif label.endswith(" ¤"):
            shown[col] = shown[col].round(0)
            config[col] = st.column_config.NumberColumn(
                label.removesuffix(" ¤"),
                format="localized",
                width="small" if col.startswith("credit_") else width,
            )
        elif col == "published_at":
            config[col] = st.column_config.DatetimeColumn(label, format="YYYY-MM-DD", width=width)
        elif col == "p_value":
            config[col] = st.column_config.NumberColumn(label, format="%.2g", width=width)
        else:
            config[col] = st.column_config.Column(label, width=width)
        if col in TEAM_COLUMNS:
            shown[col] = shown[col].map(team_name)
    tables.show(shown, hide_index=True, column_order=list(spec), column_config=config, fit=True)


contract = contracts.current().effective()
filters = current_filters()
# Each section below is drawn once per (filters, choices, store version) and replayed for
# everyone else (ui/sections.py); widgets and download buttons stay outside them.
version = executor.store_version()
range_text = span(filters)


@section
def intro(filters, version):
    """Title, the as-of line and the first question; returns the win rates' default range
    (12 months of opportunities whose conversion window has closed)."""
    as_of = filters.as_of or cache.call(funnel.latest_event_at)
    st.title("Content")
    st.caption(
        f"As of {as_of:%d %b %Y %H:%M} UTC · {span(filters)} · sidebar filters apply to the leads. "
        "Every comparison on this page is an association between a touch and an outcome, not proof "
        "that the content caused it: Sales may share content on the deals it already expects to win."
    )

    # ---- 1. Does Sales use Marketing's content? --------------------------------------------
    st.header("Does Sales use Marketing's content?")
    # Win rates need deals that had time to close: by default, opportunities opened in the 12
    # months ending one conversion window before the as-of date (mature); the sidebar's range
    # on request, marked immature while its window is still open.
    return content.mature_range(filters, contract, as_of)


lookback = intro(filters, version)
lookback_text = span(lookback)
sales_range = st.radio(
    "Opportunities opened",
    ["lookback", "sidebar"],
    format_func=lambda k: (
        f"12 months with the window closed ({lookback_text})"
        if k == "lookback"
        else f"The sidebar's range ({range_text})"
    ),
    horizontal=True,
    key="content-sales-range",
    help=f"Deals take weeks to close. The default looks at opportunities opened at least "
    f"{filters.window(contract)} days (the conversion window) before the as-of date, so nearly "
    "all of them are won or lost; recent opportunities are mostly still open.",
)
sales_filters = lookback if sales_range == "lookback" else filters


@section
def sales_use(sales_filters, version) -> bool:
    """Share of opportunities using Marketing content and the win rates with and without it;
    returns whether any opportunity was opened in the range (False: a note says so)."""
    # The look-back keeps every filter but the dates: the sidebar's window applies to both.
    window = sales_filters.horizon(contract)  # the window, or a year where the contract has none
    sales_text = span(sales_filters)
    use = cache.call(content.sales_content_use, sales_filters)
    if use.empty or int(use["n_opportunities"].iloc[0]) == 0:
        st.info(
            f"No opportunity was opened between {sales_text}. Widen the date range in the sidebar "
            "(and choose it above) to see how Sales uses Marketing's content."
        )
        return False
    row = use.iloc[0]
    is_mature = bool(use.attrs.get("is_mature", False))
    n_open = int(row["n_open_shared"] + row["n_open_not_shared"])
    if not is_mature:
        st.warning(
            f"Immature: opportunities opened between {sales_text} have not all had their "
            f"{window}-day window to close, and {n_open:,} of "
            f"{row['n_opportunities']:,} are still open. The win rates below count closed deals "
            "only and can still change: they are not final.",
            icon=":material/hourglass_top:",
        )
    flag = "" if is_mature else " (immature)"
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "Opportunities using Marketing content",
        fmt.pct(row["share_rate"]),
        help="Share of the opportunities opened in the range with a touch made by Sales on content "
        "Marketing made, between the opportunity entry and its close (or now, if still open). "
        "95% Wilson interval below.",
        border=True,
    )
    c1.caption(
        f"{row['n_shared']:,} of {row['n_opportunities']:,} opened {sales_text} · 95% CI "
        f"{fmt.pct(row['share_low'])}–{fmt.pct(row['share_high'])}"
    )
    c2.metric(
        "Win rate with it",
        fmt.pct(row["win_rate_shared"]),
        delta=None if row["difference"] != row["difference"] else fmt.points(row["difference"]),
        delta_color="normal" if row["is_significant"] and not row["is_small"] else "off",
        help="Won ÷ closed (won or lost) among those opportunities; open deals are left out. "
        "The change is grey when it is within the noise.",
        border=True,
    )
    c2.caption(
        f"{row['n_won_shared']:,} won of {row['n_closed_shared']:,} closed · "
        f"{row['n_open_shared']:,} still open · 95% CI "
        f"{fmt.pct(row['win_low_shared'])}–{fmt.pct(row['win_high_shared'])}{flag}"
    )
    c3.metric("Win rate without it", fmt.pct(row["win_rate_not_shared"]), border=True)
    c3.caption(
        f"{row['n_won_not_shared']:,} won of {row['n_closed_not_shared']:,} closed · "
        f"{row['n_open_not_shared']:,} still open · 95% CI "
        f"{fmt.pct(row['win_low_not_shared'])}–{fmt.pct(row['win_high_not_shared'])}{flag}"
    )
    if row["is_small"]:
        verdict = "Fewer than 30 closed deals on one side: too few to tell."
    elif row["is_significant"]:
        verdict = (
            f"The difference is outside the noise (two-proportion test, p = {row['p_value']:.2g}). "
            "It is an association: it does not prove the content won the deals."
        )
    else:
        verdict = f"The difference is within the noise (two-proportion test, p = {row['p_value']:.2g})."
    if is_mature and n_open:
        verdict += f" {n_open:,} deals are still open after their window and count in neither win rate."
    elif not is_mature:
        verdict += " Immature range: not final."
    st.caption(verdict)
    return True


@section
def sales_groups(sales_filters, by, version):
    """Win rates with and without Marketing content per group (one bar pair for all
    opportunities when `by` is None) and their table; returns the table for the download."""
    sales_text = span(sales_filters)
    use = cache.call(content.sales_content_use, sales_filters)
    is_mature = bool(use.attrs.get("is_mature", False))
    groups = use if by is None else cache.call(content.sales_content_use, sales_filters, by=by)
    fig = go.Figure()
    for side, name, colour in (("shared", "With Marketing content", BLUE), ("not_shared", "Without", GREY)):
        rate = groups[f"win_rate_{side}"]
        fig.add_bar(
            x=[fmt.esc(g) for g in groups["group_value"]],
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
                f"{fmt.esc(g.group_value)} · {name}<br>Win rate {fmt.pct(getattr(g, f'win_rate_{side}'))} "
                f"(95% CI {fmt.pct(getattr(g, f'win_low_{side}'))}–{fmt.pct(getattr(g, f'win_high_{side}'))})"
                f"<br>{getattr(g, f'n_won_{side}'):,} won of {getattr(g, f'n_closed_{side}'):,} closed"
                for g in groups.itertuples()
            ],
            hoverinfo="text",
        )
    fig.update_layout(
        title={
            "text": "Win rate with and without Marketing content shared by Sales"
            f"<br><sup>Opportunities opened {sales_text}"
            + (" · won ÷ closed" if is_mature else " · immature: deals still open, not final")
            + "</sup>"
        },
        barmode="group",
        yaxis={"title": {"text": "Win rate (won ÷ closed, %)"}, "tickformat": ".0%", "rangemode": "tozero"},
        xaxis={"title": {"text": "" if by is None else SALES_BREAKDOWNS[by]}},
        legend={"orientation": "h", "y": -0.25},
        height=380,
        margin={"t": 60},
    )
    st.plotly_chart(fig, key="content-sales-chart")
    show_table(groups, SALES_USE_SPEC)
    return groups


if sales_use(sales_filters, version):
    sales_by = st.selectbox(
        "Compare within",
        [None, *SALES_BREAKDOWNS],
        format_func=lambda k: "All opportunities" if k is None else SALES_BREAKDOWNS[k],
        key="content-sales-by",
        help="Deal size and win rates differ by segment: comparing within a group rules that out.",
    )
    groups = sales_groups(sales_filters, sales_by, version)
    tables.download(groups, "sales_use_of_marketing_content.csv", key="dl-content-sales")


@section
def reach_section(filters, version):
    """Who uses each piece of content (top 20 by leads reached) and the table of every piece;
    returns the table for the download."""
    # ---- 2. Which content reaches leads, and which moves them? -----------------------------
    st.header("Which content reaches leads, and which moves them?")
    reach = cache.call(content.content_reach, filters)
    used = reach[(reach["n_touches_marketing"] + reach["n_touches_sales"]) > 0]
    if used.empty:
        st.info(f"No content was used on a lead between {span(filters)}.")
    else:
        top = used.head(20).iloc[::-1]  # largest at the top of a horizontal bar chart
        fig = go.Figure()
        for col, name, colour in (
            ("n_touches_marketing", "Touches by Marketing", BLUE),
            ("n_touches_sales", "Touches by Sales", AMBER),
        ):
            fig.add_bar(
                y=[fmt.esc(t) for t in top["title"]],
                x=top[col],
                orientation="h",
                name=name,
                marker_color=colour,
                hovertext=[
                    f"{fmt.esc(r.title)} ({fmt.esc(r.kind)}, made by {team_name(r.made_by)})<br>{name}: {getattr(r, col):,}"
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
        st.plotly_chart(fig, key="content-reach-chart")
    unused = reach[(reach["n_touches_marketing"] + reach["n_touches_sales"]) == 0]
    if len(unused):
        st.caption(f"{len(unused)} published piece(s) were not used on any lead in the range (in the table).")
    show_table(reach, REACH_SPEC)
    return reach


reach = reach_section(filters, version)
tables.download(reach, "content_reach.csv", key="dl-content-reach")


@section
def advance_intro(filters, version) -> list:
    """How touched leads are compared with comparable ones; returns the stages with touched
    content, in order (empty: a note says so)."""
    st.subheader("Leads touched by a piece of content vs comparable leads")
    st.caption(
        "For each stage: leads still in the stage a fixed time after entering it (the stage's "
        "expected days in the contract, the landmark). Touched = saw the content between entering "
        "and the landmark. Advanced = reached the next stage later, within the "
        f"{filters.window(contract)}-day window. The baseline is what leads of the same stage, "
        "channel and month of entry did without that content. Fixing the comparison at the landmark "
        "keeps fast leads (no time to be touched) and touches made after a lead moved on from "
        "flattering or damning the content. With many pieces, a few will pass p < 0.05 by chance."
    )
    advance = cache.call(content.content_advance, filters)
    if advance.empty:
        st.info(
            f"No lead entered a stage between {span(filters)} and was touched by content before its "
            "landmark. Widen the date range in the sidebar."
        )
    return list(dict.fromkeys(advance["stage"]))


@section
def advance_stage(filters, stage, version):
    """Touched vs comparable leads' advance rate per piece of content for one stage, and its
    table; returns every stage's rows for the download."""
    labels = {s.key: s.label for s in contract.stages}
    next_label = {s.key: contract.stages[s.order].label for s in contract.stages[:-1]}
    advance = cache.call(content.content_advance, filters)
    if not advance.attrs.get("is_mature", False):
        st.warning(
            f"Immature: leads that entered a stage between {span(filters)} still have part of their "
            f"{filters.window(contract)}-day window to advance, so these rates (touched and "
            "baseline alike) can still rise and are not final. Choose an earlier range in the "
            "sidebar for final numbers.",
            icon=":material/hourglass_top:",
        )
    part = advance[advance["stage"] == stage].sort_values("difference").reset_index(drop=True)
    fig = go.Figure()
    for prefix, name, colour in (("advance", "Touched", BLUE), ("baseline", "Comparable, not touched", GREY)):
        rate = part[f"{prefix}_rate"]
        fig.add_scatter(
            y=[fmt.esc(t) for t in part["title"]],
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
                f"{fmt.esc(r.title)} · {name}<br>Advanced: {fmt.pct(getattr(r, f'{prefix}_rate'))} "
                f"(95% CI {fmt.pct(getattr(r, f'{prefix}_low'))}–{fmt.pct(getattr(r, f'{prefix}_high'))})"
                f"<br>Touched leads compared: {r.n_matched:,}; comparable leads: {r.n_comparison:,}"
                f"<br>Difference {fmt.points(r.difference)}, p = {r.p_value:.2g}"
                + (" · small group (<30)" if r.is_small else "")
                for r in part.itertuples()
            ],
            hoverinfo="text",
        )
    fig.update_layout(
        title={
            "text": f"{labels[stage]} → {next_label[stage]}: share of leads that advanced"
            + (
                ""
                if advance.attrs.get("is_mature", False)
                else "<br><sup>Immature: window still open, not final</sup>"
            )
        },
        xaxis={"title": {"text": "Advanced to the next stage (%)"}, "tickformat": ".0%"},
        yaxis={"title": {"text": "Content"}},
        legend={"orientation": "h", "y": -0.2},
        height=max(320, 30 * len(part) + 160),
        margin={"t": 60},
    )
    st.plotly_chart(fig, key="content-advance-chart")
    n_small = int(part["is_small"].sum())
    if n_small:
        st.caption(f"{n_small} piece(s) have fewer than 30 touched leads to compare: read them as noise.")
    show_table(part, ADVANCE_SPEC)
    return advance


stage_options = advance_intro(filters, version)
if stage_options:
    stage_labels = {s.key: s.label for s in contract.stages}
    next_stage_label = {s.key: contract.stages[s.order].label for s in contract.stages[:-1]}
    stage = st.selectbox(
        "Stage",
        stage_options,
        index=len(stage_options) - 1,
        format_func=lambda k: f"{stage_labels[k]} → {next_stage_label[k]}",
        key="content-advance-stage",
    )
    advance = advance_stage(filters, stage, version)
    tables.download(advance, "content_advance_all_stages.csv", key="dl-content-advance")

# ---- 3. Revenue attribution --------------------------------------------------------------
# One constant line between two rows of widgets: drawn directly (replaying it costs more).
st.header("Revenue attribution across touches")
c1, c2, c3, c4 = st.columns(4)
basis = c1.radio(
    "Deals",
    list(attribution.BASES),
    format_func=attribution.BASES.get,
    key="content-attr-basis",
)
by = c2.selectbox(
    "Credit to",
    ATTRIBUTION_BY,
    format_func=attribution.DIMENSIONS.get,
    key="content-attr-by",
    help="Touches carry no channel of their own: a touch counts for its lead's channel, so "
    "per channel every model gives the same answer. Content, campaign and team show the "
    "differences between models.",
)
half_life = c3.number_input(
    "Time-decay half-life (days)",
    min_value=0.5,
    max_value=attribution.MAX_HALF_LIFE_DAYS,
    value=attribution.DEFAULT_HALF_LIFE_DAYS,
    step=1.0,
    key="content-attr-half-life",
    help="Under time decay a touch this many days before the deal's latest touch weighs half as much.",
)
sourced_by = c4.selectbox(
    "Deals sourced by",
    [None, *contract.teams],
    format_func=lambda t: "Every team" if t is None else team_name(t),
    key="content-attr-sourced",
    help="The team on the lead's first stage event (see below).",
)


@section
def credits_section(filters, by, basis, half_life, sourced_by, version):
    """How the models split a deal, the check that credits add up, the chart of each model's
    credit and its table; returns the table for the download (None when there is no deal)."""
    st.caption(
        "A deal's touches are its lead's touches up to the deal's close (touches after it never "
        "count; for open deals, up to now). First and last touch give the whole amount to one "
        "touch; linear splits it evenly; U-shaped gives 40% to the first and last touch and 20% to "
        "the rest; W-shaped gives 30% each to the first touch, the lead-creation touch (last touch "
        "before the lead started) and the opportunity-creation touch (last touch before the "
        "opportunity opened), adding up when two fall on one touch, and 10% to the rest; time decay halves a touch's weight every "
        "half-life before the latest touch. Deals without a touch are credited to “(no touch)”. "
        "Definitions in docs/content.md."
    )
    credits = cache.call(
        attribution.credits, filters, by=by, basis=basis, half_life_days=half_life, sourced_by=sourced_by
    )
    sourcing = cache.call(attribution.sourcing, filters, basis=basis)
    # The deals being attributed, counted independently of the credits: the reconciliation check.
    scope = sourcing if sourced_by is None else sourcing[sourcing["sourced_by"] == sourced_by]
    total = float(scope["amount"].sum()) if len(scope) else 0.0
    n_deals = int(scope["n_deals"].sum()) if len(scope) else 0
    if n_deals == 0:
        st.info(
            f"No deal for “{attribution.BASES[basis]}” between {span(filters)}"
            + ("" if sourced_by is None else f" sourced by {team_name(sourced_by)}")
            + ". Widen the date range or choose every team."
        )
        return None
    sums = [float(credits[col].sum()) for col in attribution.CREDIT_COLUMNS]
    if all(abs(s - total) <= max(0.01, 1e-9 * abs(total)) for s in sums):
        st.caption(
            f":material/check_circle: Every model's credits add up to {fmt.amount(total)}, the amount "
            f"of the {n_deals:,} deals."
        )
    else:
        st.error(
            "The attribution credits do not add up to the deals' amount: the numbers below are "
            "wrong. Rebuild the store (`python -m data.store rebuild`) and report this if it stays."
        )
    dimension = attribution.DIMENSIONS[by].lower()
    if by == "channel":
        st.info(
            "Per channel every model gives the same answer, by construction: touches carry no "
            "channel of their own, so each touch counts for its lead's channel and all of a "
            "deal's credit lands in that one channel, however a model splits it between touches. "
            "This shows which channels the deals' leads came from, not which touches earned "
            "them. To compare the models, credit content, campaign or team.",
            icon=":material/info:",
        )
    elif len(credits) > 1 and attribution.models_agree(credits):
        st.info(
            f"Every model gives each {dimension} the same credit here: each deal's touches all "
            f"fall in one {dimension} (a touch without a campaign of its own counts for its "
            "lead's), so the models cannot differ. To compare them, credit content or team.",
            icon=":material/info:",
        )
    if by == "touch_team":
        # Team keys as people write them; "(no touch)" and unknown keys stay as they are.
        credits = credits.assign(label=[team_name(k) if k in contract.teams else k for k in credits["label"]])
    top = credits.head(TOP_GROUPS)
    fig = go.Figure()
    for (model, model_label), colour in zip(MODELS, MODEL_COLOURS, strict=True):
        col = f"credit_{model}"
        fig.add_bar(
            x=[fmt.esc(v) for v in top["label"]],
            y=top[col],
            name=model_label,
            marker_color=colour,
            hovertext=[
                f"{fmt.esc(r.label)} · {model_label}<br>Credit: {fmt.amount(getattr(r, col))}"
                + (f" ({fmt.pct(getattr(r, col) / total)} of the total)" if total else "")
                + f"<br>Deals touched: {r.n_deals:,}"
                for r in top.itertuples()
            ],
            hoverinfo="text",
        )
    shown = "" if len(credits) <= TOP_GROUPS else f" (top {TOP_GROUPS} of {len(credits)} by linear credit)"
    fig.update_layout(
        title={"text": f"Credit by {dimension} under each model{shown}"},
        barmode="group",
        yaxis={"title": {"text": "Credited amount (deal currency)"}},
        xaxis={"title": {"text": attribution.DIMENSIONS[by]}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        height=480,
        margin={"t": 110},
    )
    st.plotly_chart(fig, key="content-attr-chart")
    # Whole amounts on screen; the download keeps every decimal so that columns still add up.
    show_table(credits, CREDIT_SPEC)
    return credits


credits = credits_section(filters, by, basis, float(half_life), sourced_by, version)
if credits is not None:
    suffix = "" if sourced_by is None else f"_{sourced_by}_sourced"
    tables.download(credits, f"attribution_by_{by}_{basis}{suffix}.csv", key="dl-content-attr")


@section
def sourcing_section(filters, basis, version):
    """Deals per sourcing team and the share Marketing influenced; returns the deals for the
    download (None when there is none)."""
    sourcing = cache.call(attribution.sourcing, filters, basis=basis)
    if not len(sourcing):
        return None
    st.subheader("Sourced and influenced")
    st.caption(
        "Sourced by the team on the lead's first stage event: an inquiry Marketing captured, "
        "or a lead Marketing imported straight at MQL, is Marketing-sourced; one Sales created "
        "(outbound, straight at SQL) is Sales-sourced; a first event naming no team counts as "
        "Marketing. Influenced: the deal had a touch made by Marketing, or on "
        "content Marketing made, before it closed."
    )
    summary = attribution.sourcing_summary(sourcing)
    show_table(summary, SOURCING_SPEC)
    return sourcing


sourcing = sourcing_section(filters, basis, version)
if sourcing is not None:
    tables.download(sourcing, f"sourced_influenced_{basis}.csv", key="dl-content-sourcing")

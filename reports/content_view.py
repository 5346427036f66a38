"""What the Content page shows, as plain data: every number, label, caption and table for one
set of filters and choices, worked out here so pages/content.py only lays it out. No
Streamlit: tests/test_content_view.py builds a view from a hand-computed story and reads it.

view() gathers the whole page. The page asks for each part inside the section that draws it
(ui/sections.py), through the same functions: intro(), sales_use(), sales_groups(), reach(),
advance_intro(), advance_stage(), credits(), sourcing().

Every part takes `call`, how a query is run: the page passes queries.cache.call, and so does
the cache warm-up (ui/warm.py runs `view()` on the page's defaults); by default the query runs
directly on `db`.
A part's `rows` frame is the query's result (the CSV download); its `table` is the same for the
screen (see Table). Captions, messages and helps are Markdown of our own words: no CRM text
(content titles, campaign names, owner names) is placed in them. Figures: ui/charts.py (the
Content page's part); table formats: ui/content_tables.py. Definitions: docs/content.md;
computation: queries/content.py and queries/attribution.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from data.contract import Contract
from queries import attribution, content, contracts, funnel
from queries.attribution import MODELS
from queries.filters import Filters
from reports import format as fmt

SALES_BREAKDOWNS = {"segment": "Segment", "region": "Region", "channel": "Channel"}
ATTRIBUTION_BY = ("content", "content_kind", "touch_team", "campaign", "channel")
TOP_GROUPS = 12  # groups in the credits chart (the table has them all)
TOP_REACH = 20  # pieces of content in the reach chart

# Table specs: {column: heading}, in the order shown, key columns first so they are on screen
# without scrolling; columns left out are hidden (the CSV download keeps them all). A heading
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
TEAM_COLUMNS = ("made_by", "sourced_by")  # team keys, shown by their names

# The widgets' choices and helps (the page draws the widgets).
RANGE_LABEL = "Opportunities opened"
SALES_BY_CHOICES = {None: "All opportunities", **SALES_BREAKDOWNS}
SALES_BY_HELP = "Deal size and win rates differ by segment: comparing within a group rules that out."
BASIS_CHOICES = attribution.BASES
BY_CHOICES = {k: attribution.DIMENSIONS[k] for k in ATTRIBUTION_BY}
BY_HELP = (
    "Touches carry no channel of their own: a touch counts for its lead's channel, so "
    "per channel every model gives the same answer. Content, campaign and team show the "
    "differences between models."
)
HALF_LIFE_HELP = "Under time decay a touch this many days before the deal's latest touch weighs half as much."
SOURCED_HELP = "The team on the lead's first stage event (see below)."

MODELS_CAPTION = (
    "A deal's touches are its lead's touches up to the deal's close (touches after it never "
    "count; for open deals, up to now). First and last touch give the whole amount to one "
    "touch; linear splits it evenly; U-shaped gives 40% to the first and last touch and 20% to "
    "the rest; W-shaped gives 30% each to the first touch, the lead-creation touch (last touch "
    "before the lead started) and the opportunity-creation touch (last touch before the "
    "opportunity opened), adding up when two fall on one touch, and 10% to the rest; time decay halves a touch's weight every "
    "half-life before the latest touch. Deals without a touch are credited to “(no touch)”. "
    "Definitions in docs/content.md."
)
CREDITS_WRONG = (
    "The attribution credits do not add up to the deals' amount: the numbers below are "
    "wrong. Rebuild the store (`python -m data.store rebuild`) and report this if it stays."
)
CHANNEL_NOTE = (
    "Per channel every model gives the same answer, by construction: touches carry no "
    "channel of their own, so each touch counts for its lead's channel and all of a "
    "deal's credit lands in that one channel, however a model splits it between touches. "
    "This shows which channels the deals' leads came from, not which touches earned "
    "them. To compare the models, credit content, campaign or team."
)
SOURCING_CAPTION = (
    "Sourced by the team on the lead's first stage event: an inquiry Marketing captured, "
    "or a lead Marketing imported straight at MQL, is Marketing-sourced; one Sales created "
    "(outbound, straight at SQL) is Sales-sourced; a first event naming no team counts as "
    "Marketing. Influenced: the deal had a touch made by Marketing, or on "
    "content Marketing made, before it closed."
)

Call = Callable[..., object]


def direct(db: Path | None = None) -> Call:
    """Run a query straight on `db` (the default `call`: tests, scripts)."""
    return lambda fn, *args, **kwargs: fn(*args, db=db, **kwargs)


def _contract(contract: Contract | None, db: Path | None = None) -> Contract:
    return contract or contracts.current(db).effective()


def span(f: Filters) -> str:
    """A filters' date range as the page writes it: "01 Jul 2026 – 30 Sep 2026"."""
    return f"{f.start:%d %b %Y} – {f.end:%d %b %Y}"


@dataclasses.dataclass
class Table:
    """A frame for the screen.

    shown   every column of the query's frame; those of `spec` as shown: rates (a heading ending
            " %") and differences in points (" pts") x 100, amounts (" ¤") rounded to whole
            units, team keys (TEAM_COLUMNS) by their names ("Marketing")
    spec    column -> heading, in the order shown; the other columns are hidden (in the CSV)
    """

    shown: pd.DataFrame
    spec: dict[str, str]


def table(df: pd.DataFrame, spec: dict[str, str]) -> Table:
    """`df` as the screen shows it (see Table); `df` itself is left as it is, for the CSV."""
    shown = df.copy()
    for col, label in spec.items():
        if label.endswith((" %", " pts")):
            shown[col] = shown[col] * 100
        elif label.endswith(" ¤"):
            shown[col] = shown[col].round(0)
        if col in TEAM_COLUMNS:
            shown[col] = shown[col].map(fmt.team)
    return Table(shown=shown, spec=spec)


@dataclasses.dataclass(frozen=True)
class Metric:
    """One headline figure (st.metric) and the caption under it.

    label, value   as shown ("Win rate with it", "50.0%")
    caption        the counts and the 95% interval behind it
    help           its help text (None: none)
    delta          the change shown under it ("+10.0 pts"; None: none)
    delta_color    "normal", or "off" (grey) when the change is within the noise or too small
    """

    label: str
    value: str
    caption: str
    help: str | None = None
    delta: str | None = None
    delta_color: str = "normal"


# ---- the page's head ------------------------------------------------------------------------------


@dataclasses.dataclass
class Intro:
    """as_of          the as-of moment the numbers are for
    caption         the as-of line, the range and the association-not-cause warning
    lookback        the win rates' default range: 12 months of opportunities whose conversion
                    window has closed (queries.content.mature_range)
    range_choices   the "Opportunities opened" choice: "lookback" / "sidebar" -> its label
    range_help      why the default looks back
    """

    as_of: dt.datetime
    caption: str
    lookback: Filters
    range_choices: dict[str, str]
    range_help: str

    def sales_filters(self, choice: str, filters: Filters) -> Filters:
        """The win rates' range for the choice made: the look-back or the sidebar's filters."""
        return self.lookback if choice == "lookback" else filters


def intro(filters: Filters, call: Call | None = None, contract: Contract | None = None, db=None) -> Intro:
    contract, call = _contract(contract, db), call or direct(db)
    as_of = filters.as_of or call(funnel.latest_event_at)
    # Win rates need deals that had time to close: by default, opportunities opened in the 12
    # months ending one conversion window before the as-of date (mature); the sidebar's range
    # on request, marked immature while its window is still open.
    lookback = content.mature_range(filters, contract, as_of)
    return Intro(
        as_of=as_of,
        caption=(
            f"As of {as_of:%d %b %Y %H:%M} UTC · {span(filters)} · sidebar filters apply to the leads. "
            "Every comparison on this page is an association between a touch and an outcome, not proof "
            "that the content caused it: Sales may share content on the deals it already expects to win."
        ),
        lookback=lookback,
        range_choices={
            "lookback": f"12 months with the window closed ({span(lookback)})",
            "sidebar": f"The sidebar's range ({span(filters)})",
        },
        range_help=f"Deals take weeks to close. The default looks at opportunities opened at least "
        f"{filters.window(contract)} days (the conversion window) before the as-of date, so nearly "
        "all of them are won or lost; recent opportunities are mostly still open.",
    )


# ---- 1. does Sales use Marketing's content? ---------------------------------------------------------


@dataclasses.dataclass
class SalesUse:
    """opened    whether any opportunity was opened in the range (False: `message` says so, and
                the fields below are empty)
    message    what to do when none was opened
    warning    the immaturity warning (None when every window has closed)
    metrics    share using Marketing content, win rate with it, win rate without it
    verdict    whether the difference is outside the noise, and what is still open
    """

    opened: bool
    message: str = ""
    warning: str | None = None
    metrics: list[Metric] = dataclasses.field(default_factory=list)
    verdict: str = ""


def sales_use(
    sales_filters: Filters, call: Call | None = None, contract: Contract | None = None, db=None
) -> SalesUse:
    """Share of opportunities using Marketing content and the win rates with and without it."""
    contract, call = _contract(contract, db), call or direct(db)
    # The look-back keeps every filter but the dates: the sidebar's window applies to both.
    window = sales_filters.horizon(contract)  # the window, or a year where the contract has none
    sales_text = span(sales_filters)
    use = call(content.sales_content_use, sales_filters)
    if use.empty or int(use["n_opportunities"].iloc[0]) == 0:
        return SalesUse(
            opened=False,
            message=f"No opportunity was opened between {sales_text}. Widen the date range in the sidebar "
            "(and choose it above) to see how Sales uses Marketing's content.",
        )
    row = use.iloc[0]
    is_mature = bool(use.attrs.get("is_mature", False))
    n_open = int(row["n_open_shared"] + row["n_open_not_shared"])
    warning = None
    if not is_mature:
        warning = (
            f"Immature: opportunities opened between {sales_text} have not all had their "
            f"{window}-day window to close, and {n_open:,} of "
            f"{row['n_opportunities']:,} are still open. The win rates below count closed deals "
            "only and can still change: they are not final."
        )
    flag = "" if is_mature else " (immature)"
    metrics = [
        Metric(
            "Using Marketing content",
            fmt.pct(row["share_rate"]),
            caption=f"{row['n_shared']:,} of {row['n_opportunities']:,} opened {sales_text} · 95% CI "
            f"{fmt.pct(row['share_low'])}–{fmt.pct(row['share_high'])}",
            help="Share of the opportunities opened in the range with a touch made by Sales on content "
            "Marketing made, between the opportunity entry and its close (or now, if still open). "
            "95% Wilson interval below.",
        ),
        Metric(
            "Win rate with it",
            fmt.pct(row["win_rate_shared"]),
            caption=f"{row['n_won_shared']:,} won of {row['n_closed_shared']:,} closed · "
            f"{row['n_open_shared']:,} still open · 95% CI "
            f"{fmt.pct(row['win_low_shared'])}–{fmt.pct(row['win_high_shared'])}{flag}",
            help="Won ÷ closed (won or lost) among those opportunities; open deals are left out. "
            "The change is grey when it is within the noise.",
            delta=None if row["difference"] != row["difference"] else fmt.points(row["difference"]),
            delta_color="normal" if row["is_significant"] and not row["is_small"] else "off",
        ),
        Metric(
            "Win rate without it",
            fmt.pct(row["win_rate_not_shared"]),
            caption=f"{row['n_won_not_shared']:,} won of {row['n_closed_not_shared']:,} closed · "
            f"{row['n_open_not_shared']:,} still open · 95% CI "
            f"{fmt.pct(row['win_low_not_shared'])}–{fmt.pct(row['win_high_not_shared'])}{flag}",
        ),
    ]
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
    return SalesUse(opened=True, warning=warning, metrics=metrics, verdict=verdict)


@dataclasses.dataclass
class SalesGroups:
    """rows        win rates with and without Marketing content per group: one row ("All
                  opportunities") when `by` is None (queries.content.sales_content_use)
    table         the same for the screen (SALES_USE_SPEC)
    span          the range the opportunities were opened in ("01 Jul 2026 – 30 Sep 2026")
    is_mature     whether every opportunity's window has closed
    axis_title    the chart's x axis: the group ("Segment"), "" for all opportunities
    """

    rows: pd.DataFrame
    table: Table
    span: str
    is_mature: bool
    axis_title: str


def sales_groups(sales_filters: Filters, by: str | None, call: Call | None = None, db=None) -> SalesGroups:
    call = call or direct(db)
    use = call(content.sales_content_use, sales_filters)
    groups = use if by is None else call(content.sales_content_use, sales_filters, by=by)
    return SalesGroups(
        rows=groups,
        table=table(groups, SALES_USE_SPEC),
        span=span(sales_filters),
        is_mature=bool(use.attrs.get("is_mature", False)),
        axis_title="" if by is None else SALES_BREAKDOWNS[by],
    )


# ---- 2. which content reaches leads, and which moves them? ------------------------------------------


@dataclasses.dataclass
class Reach:
    """rows      one row per piece of content published by the range's end, most leads reached
                first (queries.content.content_reach)
    top        the TOP_REACH pieces used most widely, in the chart's order (largest last: at the
                top of a horizontal bar chart); empty when no content was used
    message    why there is no chart ("" when some content was used)
    unused     how many pieces were not used on any lead ("" when every piece was)
    table      rows for the screen (REACH_SPEC)
    """

    rows: pd.DataFrame
    top: pd.DataFrame
    message: str
    unused: str
    table: Table


def reach(filters: Filters, call: Call | None = None, db=None) -> Reach:
    call = call or direct(db)
    rows = call(content.content_reach, filters)
    touched = (rows["n_touches_marketing"] + rows["n_touches_sales"]) > 0
    used, n_unused = rows[touched], int((~touched).sum())
    return Reach(
        rows=rows,
        top=used.head(TOP_REACH).iloc[::-1],
        message=f"No content was used on a lead between {span(filters)}." if used.empty else "",
        unused=f"{n_unused} published piece(s) were not used on any lead in the range (in the table)."
        if n_unused
        else "",
        table=table(rows, REACH_SPEC),
    )


@dataclasses.dataclass
class AdvanceIntro:
    """caption    how touched leads are compared with comparable ones
    message     why there is nothing to compare ("" when there is)
    stages      the stages with touched content, in the contract's order (the stage box)
    stage_labels  stage key -> its transition as people read it ("Lead → Marketing qualified")
    """

    caption: str
    message: str
    stages: list[str]
    stage_labels: dict[str, str]


def transitions(contract: Contract) -> dict[str, str]:
    """Each stage but the last -> "<stage> → <next stage>", by the contract's labels."""
    stages = contract.stages
    return {s.key: f"{s.label} → {stages[s.order].label}" for s in stages[:-1]}


def advance_intro(
    filters: Filters, call: Call | None = None, contract: Contract | None = None, db=None
) -> AdvanceIntro:
    contract, call = _contract(contract, db), call or direct(db)
    advance = call(content.content_advance, filters)
    stages = list(dict.fromkeys(advance["stage"]))
    labels = transitions(contract)
    return AdvanceIntro(
        caption=(
            "For each stage: leads still in the stage a fixed time after entering it (the stage's "
            "expected days in the contract, the landmark). Touched = saw the content between entering "
            "and the landmark. Advanced = reached the next stage later, within the "
            f"{filters.window(contract)}-day window. The baseline is what leads of the same stage, "
            "channel and month of entry did without that content. Fixing the comparison at the landmark "
            "keeps fast leads (no time to be touched) and touches made after a lead moved on from "
            "flattering or damning the content. With many pieces, a few will pass p < 0.05 by chance."
        ),
        message=(
            f"No lead entered a stage between {span(filters)} and was touched by content before its "
            "landmark. Widen the date range in the sidebar."
        )
        if advance.empty
        else "",
        stages=stages,
        stage_labels={s: labels[s] for s in stages},
    )


@dataclasses.dataclass
class AdvanceStage:
    """rows        every stage's rows (queries.content.content_advance), for the CSV
    part          this stage's rows, the most negative difference first (the chart's order)
    transition    the stage's transition ("Lead → Marketing qualified"), plain text
    is_mature     whether every lead's window has closed
    warning       the immaturity warning (None when mature)
    small         how many pieces have fewer than 30 touched leads ("" when none)
    table         part for the screen (ADVANCE_SPEC)
    """

    rows: pd.DataFrame
    part: pd.DataFrame
    transition: str
    is_mature: bool
    warning: str | None
    small: str
    table: Table


def advance_stage(
    filters: Filters, stage: str, call: Call | None = None, contract: Contract | None = None, db=None
) -> AdvanceStage:
    """Touched vs comparable leads' advance rate per piece of content for one stage."""
    contract, call = _contract(contract, db), call or direct(db)
    advance = call(content.content_advance, filters)
    is_mature = bool(advance.attrs.get("is_mature", False))
    part = advance[advance["stage"] == stage].sort_values("difference").reset_index(drop=True)
    n_small = int(part["is_small"].sum())
    return AdvanceStage(
        rows=advance,
        part=part,
        transition=transitions(contract)[stage],
        is_mature=is_mature,
        warning=None
        if is_mature
        else (
            f"Immature: leads that entered a stage between {span(filters)} still have part of their "
            f"{filters.window(contract)}-day window to advance, so these rates (touched and "
            "baseline alike) can still rise and are not final. Choose an earlier range in the "
            "sidebar for final numbers."
        ),
        small=f"{n_small} piece(s) have fewer than 30 touched leads to compare: read them as noise."
        if n_small
        else "",
        table=table(part, ADVANCE_SPEC),
    )


# ---- 3. revenue attribution -------------------------------------------------------------------------


def sourced_choices(contract: Contract) -> dict[str | None, str]:
    """The "Deals sourced by" box: every team (None), then each team by its name."""
    return {None: "Every team", **{t: fmt.team(t) for t in contract.teams}}


@dataclasses.dataclass
class Credits:
    """caption      how the six models split a deal (MODELS_CAPTION)
    rows          credit per group under each model (queries.attribution.credits), team keys by
                  their names when credited to teams; None when there is no deal (`message`)
    message       why there is nothing to credit ("" when there are deals)
    total         the amount of the deals, counted independently of the credits
    n_deals       how many deals
    adds_up       whether every model's credits add up to `total` (the reconciliation check)
    check         the check's line: a caption when it adds up, else an error (CREDITS_WRONG)
    note          why the models cannot differ here ("" when they can)
    top           the TOP_GROUPS groups of `rows` in the chart
    title         the chart's title ("Credit by content under each model (top 12 of 30 ...)")
    axis_title    the chart's x axis: what is credited ("Content")
    table         rows for the screen (CREDIT_SPEC)
    """

    caption: str
    rows: pd.DataFrame | None
    message: str = ""
    total: float = 0.0
    n_deals: int = 0
    adds_up: bool = True
    check: str = ""
    note: str = ""
    top: pd.DataFrame | None = None
    title: str = ""
    axis_title: str = ""
    table: Table | None = None


def credits(
    filters: Filters,
    by: str,
    basis: str,
    half_life: float,
    sourced_by: str | None,
    call: Call | None = None,
    contract: Contract | None = None,
    db=None,
) -> Credits:
    """How the models split the deals' amount between the groups of `by`, and the check that
    the credits add up."""
    contract, call = _contract(contract, db), call or direct(db)
    rows = call(
        attribution.credits, filters, by=by, basis=basis, half_life_days=half_life, sourced_by=sourced_by
    )
    sourcing_rows = call(attribution.sourcing, filters, basis=basis)
    # The deals being attributed, counted independently of the credits: the reconciliation check.
    scope = sourcing_rows if sourced_by is None else sourcing_rows[sourcing_rows["sourced_by"] == sourced_by]
    total = float(scope["amount"].sum()) if len(scope) else 0.0
    n_deals = int(scope["n_deals"].sum()) if len(scope) else 0
    if n_deals == 0:
        return Credits(
            caption=MODELS_CAPTION,
            rows=None,
            message=f"No deal for “{attribution.BASES[basis]}” between {span(filters)}"
            + ("" if sourced_by is None else f" sourced by {fmt.team(sourced_by)}")
            + ". Widen the date range or choose every team.",
        )
    sums = [float(rows[col].sum()) for col in attribution.CREDIT_COLUMNS]
    adds_up = all(abs(s - total) <= max(0.01, 1e-9 * abs(total)) for s in sums)
    dimension = attribution.DIMENSIONS[by].lower()
    if by == "channel":
        note = CHANNEL_NOTE
    elif len(rows) > 1 and attribution.models_agree(rows):
        note = (
            f"Every model gives each {dimension} the same credit here: each deal's touches all "
            f"fall in one {dimension} (a touch without a campaign of its own counts for its "
            "lead's), so the models cannot differ. To compare them, credit content or team."
        )
    else:
        note = ""
    if by == "touch_team":
        # Team keys as people write them; "(no touch)" and unknown keys stay as they are.
        rows = rows.assign(label=[fmt.team(k) if k in contract.teams else k for k in rows["label"]])
    shown = "" if len(rows) <= TOP_GROUPS else f" (top {TOP_GROUPS} of {len(rows)} by linear credit)"
    return Credits(
        caption=MODELS_CAPTION,
        rows=rows,
        total=total,
        n_deals=n_deals,
        adds_up=adds_up,
        check=f":material/check_circle: Every model's credits add up to {fmt.amount(total)}, the amount "
        f"of the {n_deals:,} deals."
        if adds_up
        else CREDITS_WRONG,
        note=note,
        top=rows.head(TOP_GROUPS),
        title=f"Credit by {dimension} under each model{shown}",
        axis_title=attribution.DIMENSIONS[by],
        # Whole amounts on screen; the download keeps every decimal so that columns still add up.
        table=table(rows, CREDIT_SPEC),
    )


@dataclasses.dataclass
class Sourcing:
    """rows      deals per sourcing team and influence (queries.attribution.sourcing), the CSV
    caption    what sourced and influenced mean (SOURCING_CAPTION)
    table      per sourcing team, the share Marketing influenced, for the screen (SOURCING_SPEC)
    """

    rows: pd.DataFrame
    caption: str
    table: Table


def sourcing(filters: Filters, basis: str, call: Call | None = None, db=None) -> Sourcing | None:
    """Deals per sourcing team and the share Marketing influenced; None when there is no deal."""
    call = call or direct(db)
    rows = call(attribution.sourcing, filters, basis=basis)
    if not len(rows):
        return None
    return Sourcing(
        rows=rows, caption=SOURCING_CAPTION, table=table(attribution.sourcing_summary(rows), SOURCING_SPEC)
    )


# ---- the whole page ---------------------------------------------------------------------------------


@dataclasses.dataclass
class View:
    """Everything the Content page shows for one set of filters and choices (see each part's
    fields). sales_groups is None when no opportunity was opened; advance_stage is None when no
    content was touched before a landmark; sourcing is None when there is no deal."""

    intro: Intro
    sales_use: SalesUse
    sales_groups: SalesGroups | None
    reach: Reach
    advance_intro: AdvanceIntro
    advance_stage: AdvanceStage | None
    credits: Credits
    sourcing: Sourcing | None


def view(
    filters: Filters,
    sales_range: str = "lookback",
    sales_by: str | None = None,
    stage: str | None = None,
    by: str = "content",
    basis: str = "revenue",
    half_life: float = attribution.DEFAULT_HALF_LIFE_DAYS,
    sourced_by: str | None = None,
    call: Call | None = None,
    contract: Contract | None = None,
    db: Path | None = None,
) -> View:
    """The whole Content page for `filters` and the widgets' choices, as plain data; `stage`
    None is the page's default, the last stage with touched content."""
    contract, call = _contract(contract, db), call or direct(db)
    kw = {"call": call, "contract": contract}
    head = intro(filters, **kw)
    sales_filters = head.sales_filters(sales_range, filters)
    use = sales_use(sales_filters, **kw)
    adv = advance_intro(filters, **kw)
    if adv.stages and stage is None:
        stage = adv.stages[-1]
    return View(
        intro=head,
        sales_use=use,
        sales_groups=sales_groups(sales_filters, sales_by, call=call) if use.opened else None,
        reach=reach(filters, call=call),
        advance_intro=adv,
        advance_stage=advance_stage(filters, stage, **kw) if adv.stages else None,
        credits=credits(filters, by, basis, float(half_life), sourced_by, **kw),
        sourcing=sourcing(filters, basis, call=call),
    )

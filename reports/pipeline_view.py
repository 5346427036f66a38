"""What the Pipeline page shows, as plain data: every number, label, caption and table for one
set of filters and choices (T1, T2, the sourcing team, the currency, the waterfall's measure, the
bar drilled into), worked out here so pages/pipeline.py only lays it out. No Streamlit: a test
builds the parts from a hand-computed story and reads their values (tests/test_pipeline_view.py).

The parts follow the page's sections: span() (the days the date boxes offer and their
defaults), pipeline_part() (the open pipeline at T2 and the movement's table), waterfall() (one
measure's bars and the bar box's choices), bar_part() (one bar's opportunities) and history()
(the stage history of the cohort). page() gathers them all on the page's default choices, the
same defaults the page opens on (the cache warm-up, ui/warm.py, runs it).

Every part that runs a query takes `call`, how a query is run: the page passes
queries.cache.call; by default the query runs directly on `db`. Tables have the same headers on screen and in their CSV download; CRM text
(opportunity, account and owner names) stays in table cells, which are shown as plain text, and
never enters a caption or a heading. Computation: queries/pipeline.py; definitions:
docs/pipeline.md; column help: ui/pipeline_tables.py; figures: ui/charts.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from data.contract import Contract
from queries import currency, funnel, options, pipeline
from queries.filters import Filters
from reports import format as fmt

CUR_EACH = "each"  # the currency box's "each currency apart"
SOURCE_CHOICES = {"all": "All", "marketing": "Marketing-sourced", "sales": "Sales-sourced"}
DEFAULT_SOURCE = "all"  # the "Sourced by" box opens on every team
T1_HELP = (
    "The first date of the movement: the pipeline as it stood at the end of this day. "
    "Default: a week before T2."
)
T2_HELP = "The date of the pipeline by stage and the end of the movement. Default: the as-of day."
MEASURE_HELP = (
    "Count: open opportunities. A currency: only the amounts in that currency (the others are "
    "never added in). All in a base currency: every amount converted at its dated rate."
)
BAR_HELP = "The opportunities behind one bar of the waterfall: the pipeline at T1 or T2, or one bucket."
WATERFALL_CAPTION = (
    "Each bucket's bar is what its opportunities did to the open pipeline; a bucket that moves "
    "opportunities without changing the measure (a stage move leaves the amount as it was) is flat, "
    "with its count above it. Pick a bar below (or click it) to list its opportunities."
)
BAD_DATES = "T1 must be a day before T2: pick an earlier From date or a later To date."
NO_OPPORTUNITIES = (
    "This store's data records no stage of an opportunity (a deal), only the stages of leads, "
    "so there is no pipeline to show. Import an export of opportunities with their stage history "
    "(for example Salesforce Opportunity and OpportunityHistory) on the Data page."
)

Call = Callable[..., object]


def direct(db: Path | None = None) -> Call:
    """Run a query straight on `db` (the default `call`: tests, scripts, full downloads)."""
    return lambda fn, *args, **kwargs: fn(*args, db=db, **kwargs)


@dataclasses.dataclass(frozen=True)
class Metric:
    """One headline figure (st.metric): its label, value as shown, help text and delta."""

    label: str
    value: str
    help: str
    delta: str | None = None


# ---- the choices, as the boxes show them ----------------------------------------------------------


def owners(call: Call | None = None) -> dict[str, str]:
    """Owner id -> name, for the tables' Owner column (CRM text: table cells only)."""
    return options.choices((call or direct())(options.filter_options), "owner")


def currency_label(choice: str) -> str:
    """The Amounts box: "each" or a base currency code."""
    return "Each currency apart" if choice == CUR_EACH else f"All in {choice}, at dated rates"


def currency_help(rate_bases: list[str]) -> str:
    none = " The store holds no exchange rates yet: import them with python -m data.rates FILE --base EUR."
    return pipeline.DEFINITIONS["currencies"] + ("" if rate_bases else none)


def default_currency(rate_bases: list[str]) -> str:
    """The store's one base currency if it has exactly one, else each currency apart."""
    return rate_bases[0] if len(rate_bases) == 1 else CUR_EACH


def source_filter(choice: str) -> str | None:
    """The "Sourced by" box's choice as the queries take it: None for every team."""
    return None if choice == DEFAULT_SOURCE else choice


def base_currency(choice: str) -> str | None:
    """The Amounts box's choice as the queries take it: None for each currency apart."""
    return None if choice == CUR_EACH else choice


@dataclasses.dataclass(frozen=True)
class Span:
    """The days the two date boxes offer and the days they open on.

    as_of      the moment counted to (the sidebar's, else the latest event)
    first_day  the first day offered (the opportunities' first, at least a day before last_day)
    last_day   the as-of day
    t1, t2     the defaults: T2 the as-of day, T1 DEFAULT_DAYS before it, each kept in its box's
               bounds
    """

    as_of: dt.datetime
    first_day: dt.date
    last_day: dt.date
    t1: dt.date
    t2: dt.date

    @property
    def t1_bounds(self) -> tuple[dt.date, dt.date]:
        return self.first_day, self.last_day - dt.timedelta(days=1)

    @property
    def t2_bounds(self) -> tuple[dt.date, dt.date]:
        return self.first_day + dt.timedelta(days=1), self.last_day


def span(filters: Filters, call: Call | None = None) -> Span:
    call = call or direct()
    as_of = filters.as_of or call(funnel.latest_event_at)
    last_day = as_of.date()
    first_day = call(options.date_bounds, grain=pipeline.GRAIN)[0] or last_day
    first_day = min(first_day, last_day - dt.timedelta(days=1))
    t1, t2 = pipeline.dates_ending(last_day)  # the days queries.pipeline defaults to
    opened = Span(as_of, first_day, last_day, t1, t2)
    # Each default kept within its box's bounds (a store younger than the default movement).
    (t1_low, t1_high), (t2_low, t2_high) = opened.t1_bounds, opened.t2_bounds
    return dataclasses.replace(opened, t1=min(max(t1, t1_low), t1_high), t2=min(max(t2, t2_low), t2_high))


def as_of_caption(filters: Filters, as_of: dt.datetime) -> str:
    """The line under the title: what is counted, as of when, and which filters apply."""
    when = (
        f"as of {as_of:%d %b %Y} (end of day, set in the sidebar)"
        if filters.as_of
        else f"as of {as_of:%d %b %Y %H:%M} UTC (latest event in the store)"
    )
    return (
        f"Opportunities, {when}. The sidebar's channel, region, segment and owner filters apply; "
        "its date range applies to the stage history below only. Each date means the end of that day."
    )


# ---- the open pipeline at T2 and the movement --------------------------------------------------------


def money(v: pipeline.View, end: dict) -> str:
    """A pipeline's open amount as shown: one total in the base currency, else one per currency."""
    if v.converted:
        return fmt.amount(end["converted"], v.base)
    amounts = {c: a for c, a in end["amounts"].items() if a}
    return fmt.amounts(amounts) if amounts else "no amounts"


@dataclasses.dataclass
class Pipeline:
    """The open pipeline at T2 and the movement from T1 to T2 for one choice.

    view              queries.pipeline.View, the numbers
    warning           the missing exchange rates, over the page ("" when none or no base asked)
    heading           "Open pipeline on 14 Mar 2025" (+ " · marketing-sourced only")
    metrics           open opportunities (with the change since T1 as delta), the open amount at
                      T2 and at T1
    start_caption     "9 open opportunities then" (under the T1 amount)
    currency_caption  why there is no one total ("" with a base currency or one currency)
    stages            the table by stage (stages_table)
    movement_heading  "What moved from 07 Mar 2025 to 14 Mar 2025" (+ the team)
    measures          the waterfall's measures offered: "base" (converted), currencies, "count"
    buckets           the movement by bucket (buckets_table)
    converted_to      the base currency when amounts are converted, else None
    """

    view: pipeline.View
    warning: str
    heading: str
    metrics: list[Metric]
    start_caption: str
    currency_caption: str
    stages: pd.DataFrame
    movement_heading: str
    measures: list[str]
    buckets: pd.DataFrame
    converted_to: str | None

    @property
    def default_measure(self) -> str:
        """The measure the waterfall opens on: the converted total, else the first currency."""
        return self.measures[0]


def who(sourced: str | None) -> str:
    return "" if sourced is None else f" · {SOURCE_CHOICES[sourced].lower()} only"


def pipeline_part(
    moment: Filters,
    t1: dt.date,
    t2: dt.date,
    sourced: str | None,
    base: str | None,
    call: Call | None = None,
) -> Pipeline:
    v = (call or direct())(pipeline.view, moment, t1, t2, sourced, base)
    d = pipeline.DEFINITIONS
    several = not v.converted and len([c for c in v.currencies if c]) > 1
    missing = f"Amounts are shown per currency: {pipeline.missing_text(v)}"
    return Pipeline(
        view=v,
        warning=missing if base and v.missing_rates else "",
        heading=f"Open pipeline on {v.t2:%d %b %Y}{who(sourced)}",
        metrics=[
            Metric(
                "Open opportunities",
                f"{v.end['n']:,}",
                d["pipeline"] + " " + d["state"],
                delta=f"{v.end['n'] - v.start['n']:+,} since {v.t1:%d %b}",
            ),
            Metric(
                "Open amount" + (f" ({v.base})" if v.converted else " per currency"),
                money(v, v.end),
                d["currencies"],
            ),
            Metric(
                f"Open amount on {v.t1:%d %b %Y}",
                money(v, v.start),
                "The same pipeline at the end of T1: the waterfall below starts here.",
            ),
        ],
        start_caption=f"{v.start['n']:,} open opportunities then",
        currency_caption=(
            "Amounts in different currencies are never added up; choose a currency with rates above to see one total."
            if several
            else ""
        ),
        stages=stages_table(v),
        movement_heading=f"What moved from {v.t1:%d %b %Y} to {v.t2:%d %b %Y}{who(sourced)}",
        measures=(["base"] if v.converted else []) + [c for c in v.currencies if c] + ["count"],
        buckets=buckets_table(v),
        converted_to=v.base if v.converted else None,
    )


def measure_label(v: pipeline.View, measure: str) -> str:
    """The "Waterfall of" box."""
    if measure == "base":
        return f"All in {v.base}"
    return "Opportunities (count)" if measure == "count" else f"{measure} amounts only"


@dataclasses.dataclass
class Waterfall:
    """The waterfall in one measure and the bar box's choices.

    bars     queries.pipeline.waterfall's rows (bar, label, kind, value, n_opportunities)
    title    the figure's title
    unit     "count", or the currency its values are in
    counts   bar key -> opportunities in it
    default  the bar listed first: the first bucket with opportunities, else the pipeline at T2
    """

    bars: pd.DataFrame
    title: str
    unit: str
    counts: dict[str, int]
    default: str

    def bar_label(self, bar: str) -> str:
        """The "Opportunities of" box: "Won (1)"."""
        return f"{pipeline.BARS[bar]} ({self.counts.get(bar, 0):,})"


def waterfall(v: pipeline.View, measure: str) -> Waterfall:
    bars = pipeline.waterfall(v, measure)
    counts = dict(zip(bars["bar"], bars["n_opportunities"], strict=True))
    title = f"Open pipeline from {v.t1:%d %b} to {v.t2:%d %b %Y}" + (
        "" if measure in ("count", "base") else f" · {measure} amounts only"
    )
    return Waterfall(
        bars=bars,
        title=title,
        unit="count" if measure == "count" else (v.base if measure == "base" else measure),
        counts=counts,
        default=next((k for k in pipeline.BUCKETS if counts.get(k)), "end"),
    )


# ---- one bar's opportunities ---------------------------------------------------------------------


@dataclasses.dataclass
class Bar:
    """The opportunities behind one bar, the first SCREEN_ROWS of them.

    table     opportunities_table (names as CRM text, for table cells only)
    message   why nothing is listed ("" when something is)
    caption   that only the largest are listed ("" when every one is)
    """

    table: pd.DataFrame
    message: str
    caption: str


def bar_part(
    moment: Filters,
    bar: str,
    t1: dt.date,
    t2: dt.date,
    sourced: str | None,
    base: str | None,
    owner_names: dict[str, str],
    call: Call | None = None,
) -> Bar:
    call = call or direct()
    v = call(pipeline.view, moment, t1, t2, sourced, base)
    rows = call(pipeline.opportunities, moment, bar, t1, t2, sourced, base, limit=pipeline.SCREEN_ROWS)
    table = opportunities_table(rows, owner_names, base if v.converted else None)
    cut = f"The {pipeline.SCREEN_ROWS:,} largest are shown; the download holds every one."
    return Bar(
        table=table,
        message=f"No opportunity in '{pipeline.BARS[bar]}' between these dates." if table.empty else "",
        caption=cut if len(table) == pipeline.SCREEN_ROWS else "",
    )


def bar_download(
    moment: Filters,
    bar: str,
    t1: dt.date,
    t2: dt.date,
    sourced: str | None,
    base: str | None,
    owner_names: dict[str, str],
    converted_to: str | None,
    db: Path | None = None,
) -> pd.DataFrame:
    """Every opportunity of the bar (up to MAX_ROWS), for the CSV: run when it is asked for."""
    rows = pipeline.opportunities(moment, bar, t1, t2, sourced, base, limit=pipeline.MAX_ROWS, db=db)
    return opportunities_table(rows, owner_names, converted_to)


# ---- the stage history ------------------------------------------------------------------------------


@dataclasses.dataclass
class History:
    """How the cohort's opportunities really moved through their stages.

    heading          "Stage history: opportunities that started 01 Jan 2025 – 31 Mar 2025"
    empty            no opportunity in the cohort (then only `message` is shown)
    message          what to do about an empty cohort
    metrics          the cohort's size, backward moves, re-opened opportunities
    moved_back       "in 1 opportunity" under the backward moves ("" when none)
    visits           visits_table
    visit_rows       pipeline.stage_visits' rows, for the days chart
    has_days         some visit ended, so there are days in stages to draw
    days_title       the days chart's title
    moves            moves_table (the first rows; names as CRM text, for table cells only)
    moves_heading,   the moves' heading and its help
      moves_help
    no_moves         what an empty moves table means
    """

    heading: str
    empty: bool
    message: str
    metrics: list[Metric]
    moved_back: str
    visits: pd.DataFrame
    visit_rows: pd.DataFrame
    has_days: bool
    moves: pd.DataFrame
    days_title: str = "Days in each stage, per visit that ended"
    moves_heading: str = "**Backward moves and re-opens**"
    moves_help: str = pipeline.DEFINITIONS["backward"] + " " + pipeline.DEFINITIONS["reopened"]
    no_moves: str = "None: every opportunity of the cohort moved only forward and none was re-opened."


def history(history_filters: Filters, owner_names: dict[str, str], call: Call | None = None) -> History:
    call = call or direct()
    d = pipeline.DEFINITIONS
    heading = (
        f"Stage history: opportunities that started "
        f"{history_filters.start:%d %b %Y} – {history_filters.end:%d %b %Y}"
    )
    visits = call(pipeline.stage_visits, history_filters)
    counts = call(funnel.stage_history, history_filters)
    empty = not int(visits["n_opportunities"].sum())
    moves = pd.DataFrame() if empty else moves_table(call(pipeline.stage_moves, history_filters), owner_names)
    n_back = counts["moved_back"]
    return History(
        heading=heading,
        empty=empty,
        message="No opportunity started in this date range with these filters: widen the range in the sidebar.",
        metrics=[
            Metric(
                "Opportunities in the cohort",
                f"{int(visits['n_opportunities'].iloc[0]) if len(visits) else 0:,}",
                "Opportunities whose first stage event falls in the sidebar's date range (with its "
                "filters), followed to the as-of.",
            ),
            Metric(
                "Backward moves",
                f"{counts['backward_moves']:,}",
                d["backward"] + f" {n_back:,} opportunities moved back at least once.",
            ),
            Metric("Re-opened opportunities", f"{counts['reopened']:,}", d["reopened"]),
        ],
        moved_back=f"in {n_back:,} " + ("opportunity" if n_back == 1 else "opportunities") if n_back else "",
        visits=visits_table(visits),
        visit_rows=visits,
        has_days=bool(visits["median_days"].notna().any()),
        moves=moves,
    )


# ---- the whole page on its default choices ---------------------------------------------------------


@dataclasses.dataclass
class Page:
    """What the page shows when it opens, for its sidebar filters: every box on its default."""

    span: Span
    pipeline: Pipeline
    waterfall: Waterfall
    bar: Bar
    history: History


def page(filters: Filters, contract: Contract, call: Call | None = None) -> Page | None:
    """The page for `filters` on its default choices (the dates of span(), the store's one base
    currency if it has exactly one, every team, the default measure and bar); None when the
    store records no opportunity (the page says so and shows nothing else)."""
    if not pipeline.has_opportunities(contract):
        return None
    call = call or direct()
    days = span(filters, call)
    moment = pipeline.moment_filters(filters)
    names = owners(call)
    base = base_currency(default_currency(call(currency.bases)))
    sourced = source_filter(DEFAULT_SOURCE)
    part = pipeline_part(moment, days.t1, days.t2, sourced, base, call=call)
    bars = waterfall(part.view, part.default_measure)
    return Page(
        span=days,
        pipeline=part,
        waterfall=bars,
        bar=bar_part(moment, bars.default, days.t1, days.t2, sourced, base, names, call=call),
        history=history(pipeline.history_filters(filters), names, call=call),
    )


def moves_download(
    history_filters: Filters, owner_names: dict[str, str], db: Path | None = None
) -> pd.DataFrame:
    """Every backward move and re-open (up to MAX_ROWS), for the CSV."""
    return moves_table(pipeline.stage_moves(history_filters, limit=pipeline.MAX_ROWS, db=db), owner_names)


# ---- the tables, as a person reads them (the same headers in each CSV) ----------------------------


def _amount_columns(df: pd.DataFrame, prefix: str) -> list[str]:
    return [c for c in df.columns if c.startswith(prefix)]


def stages_table(v: pipeline.View) -> pd.DataFrame:
    """The open pipeline at T2, one row per stage: counts, the split by sourcing team, and the
    amounts per currency (plus the base currency's when every amount is converted)."""
    df = v.stages
    out = pd.DataFrame(
        {
            "Stage": df["label"],
            "Open opportunities": df["n_opportunities"],
            "Marketing-sourced": df["n_marketing"],
            "Sales-sourced": df["n_sales"],
            "With an amount": df["n_with_amount"],
        }
    )
    for c in _amount_columns(df, "amount:"):
        out[f"Amount {c.removeprefix('amount:') or '(no currency)'}"] = df[c]
    if v.converted:
        out[f"All in {v.base}"] = df["amount_base"]
    # What a review reads first, the count and the amounts, before the split by team.
    first = ["Stage", "Open opportunities", *[c for c in out.columns if c.startswith(("All in ", "Amount "))]]
    return out[[*first, *[c for c in out.columns if c not in first]]]


def buckets_table(v: pipeline.View) -> pd.DataFrame:
    """The movement from T1 to T2, one row per bucket in the order they apply."""
    df = v.buckets
    out = pd.DataFrame(
        {
            "Bucket": df["label"],
            "Opportunities": df["n_opportunities"],
            "Marketing-sourced": df["n_marketing"],
            "Sales-sourced": df["n_sales"],
            "Open at T1": df["n_open_t1"],
            "Open at T2": df["n_open_t2"],
        }
    )
    for c in _amount_columns(df, "change:"):
        out[f"Change {c.removeprefix('change:') or '(no currency)'}"] = df[c]
    if v.converted:
        out[f"Change in {v.base}"] = df["change_base"]
    out["Definition"] = df["definition"]
    first = ["Bucket", "Opportunities", *[c for c in out.columns if c.startswith("Change ")]]
    return out[[*first, *[c for c in out.columns if c not in first]]]


def opportunities_table(df: pd.DataFrame, owners: dict[str, str], converted_to: str | None) -> pd.DataFrame:
    """The opportunities behind one bar (pipeline.opportunities) for people: names are CRM text,
    shown as plain text (st.dataframe never renders Markdown or HTML)."""
    labels = {k: v[0] for k, v in pipeline.BUCKETS.items()}
    out = pd.DataFrame(
        {
            "Opportunity": df["name"].where(df["name"].notna(), df["opportunity_id"]),
            "Account": df["account"],
            "Owner": [owners.get(o, o) if isinstance(o, str) else None for o in df["owner_id"]],
            "Sourced by": [
                pipeline.SOURCE_LABELS.get(s, s) if isinstance(s, str) else "not recorded"
                for s in df["sourced_by"]
            ],
            "Bucket": [labels.get(b, "") if isinstance(b, str) else "" for b in df["bucket"]],
            "At T1": [_state(s, o) for s, o in zip(df["stage_t1"], df["is_open_t1"], strict=True)],
            "At T2": [_state(s, o) for s, o in zip(df["stage_t2"], df["is_open_t2"], strict=True)],
            "Amount at T1": df["amount_t1"],
            "Currency at T1": df["currency_t1"],
            "Amount at T2": df["amount_t2"],
            "Currency at T2": df["currency_t2"],
        }
    )
    if converted_to:
        out[f"In {converted_to} at T1"] = df["amount_base_t1"]
        out[f"In {converted_to} at T2"] = df["amount_base_t2"]
    out["Close date at T1"] = df["close_t1"]
    out["Close date at T2"] = df["close_t2"]
    out["Created"] = df["created_at"]
    out["Opportunity id"] = df["opportunity_id"]
    return out


def _state(label, is_open) -> str:
    if not isinstance(label, str):
        return "not created yet"
    return label if bool(is_open) else f"{label} (closed)"


def visits_table(df: pd.DataFrame) -> pd.DataFrame:
    """Stage visits (pipeline.stage_visits) for people; the last stage (won) has no moves on
    and no days in it, so those cells are empty."""
    last = len(df) - 1

    def blank_last(values) -> list:
        return [math.nan if k == last else v for k, v in enumerate(values)]

    return pd.DataFrame(
        {
            "Stage": df["label"],
            "Opportunities": df["n_opportunities"],
            "% of previous": df["pct_of_previous"],
            "% of first": df["pct_of_first"],
            "Visits": df["n_visits"],
            "Moved on": blank_last(df["n_opportunities_forward"]),
            "Moved on (share)": blank_last(df["forward_rate"]),
            "Moved back (visits)": blank_last(df["n_back"]),
            "Lost (visits)": blank_last(df["n_lost"]),
            "Other exit (visits)": blank_last(df["n_other_exit"]),
            "Still there": blank_last(df["n_current"]),
            "Median days": df["median_days"],
            "p75 days": df["p75_days"],
            "p90 days": df["p90_days"],
        }
    )


def moves_table(df: pd.DataFrame, owners: dict[str, str]) -> pd.DataFrame:
    """Backward moves and re-opens (pipeline.stage_moves) for people, newest first."""
    kinds = []
    for back, reopen in zip(df["is_backward"], df["is_reopened"], strict=True):
        kinds.append("re-opened, moved back" if back and reopen else "re-opened" if reopen else "moved back")
    return pd.DataFrame(
        {
            "When": df["occurred_at"],
            "Opportunity": df["name"].where(df["name"].notna(), df["opportunity_id"]),
            "Owner": [owners.get(o, o) if isinstance(o, str) else None for o in df["owner_id"]],
            "What": kinds,
            "From stage": df["from_label"],
            "Came back from": df["came_back_label"],
            "To stage": df["to_label"],
            "Opportunity id": df["opportunity_id"],
        }
    )

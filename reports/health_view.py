"""Funnel health's view: everything the page draws for its filters and choices, labelled and
formatted for display, as plain data (no Streamlit), so the page only lays it out.

`view()` gathers the whole page; each part has its own function (`context`, `headline`,
`cohort_funnel`, `monthly`, `trend`, `times`, `flow`, `breakdown`, `records`) so the page draws
each section from the part it shows (ui/sections.py caches each drawing on its own arguments).
Every part runs its queries through `run`: the page passes queries.cache.call, and so does the
cache warm-up (ui/warm.py runs `view()` on the page's default choices), so both key each result
alike; tests and the summary run them directly (`direct`, or `on(db)` for a given store). The summary
(reports/summary.py) takes its outcomes, revenue, undated pipeline and time to win from
`outcomes()`, the same function the page's headline reads.

Help texts (ui/glossary.py) are the UI's: the page's help dictionaries are in ui/health_tables.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from data.contract import Contract
from queries import bridge as queries_bridge
from queries import currency, drill, funnel, options
from queries.filters import Filters
from reports import alerts as report_alerts
from reports import format as fmt

Run = Callable[..., Any]  # run(query_function, *args, **kwargs) -> its result


def direct(fn: Callable, *args, **kwargs):
    """Run a query as it is (no cache): tests and scripts."""
    return fn(*args, **kwargs)


def on(db: Path | None) -> Run:
    """Run each query on the store at `db` (the summary's store)."""

    def run(fn: Callable, *args, **kwargs):
        return fn(*args, db=db, **kwargs)

    return run


MARK_ICONS = {
    "immature": ":material/hourglass_top:",
    "no earlier data": ":material/block:",
    "too young to compare": ":material/hourglass_empty:",
}
# How the breakdown's attributes read (the others: capitalised).
BY_LABELS = {"team": "Owner's team", "owner": "Owner", "size": "Account size"}
NO_GROUP_VALUE = "\x00"  # the drill-down's records without a value (kept apart from any literal value)
TREND_DAYS = 364  # the trend shows a year of context ending with the range
NO_LEADS = "No leads started in this period with these filters."


def by_label(attribute: str) -> str:
    """A breakdown attribute as people read it: "team" -> "Owner's team", "region" -> "Region"."""
    return BY_LABELS.get(attribute, attribute.capitalize())


@dataclasses.dataclass(frozen=True)
class Context:
    """What every section of the page reads, and the captions under its title.

    contract: the contract as the view's grain sees it (funnel.grain_view); view: "cohort" or
    "flow"; as_of: the moment counted to (the sidebar's, else the latest event); window: the
    view's conversion window in days (None: none); tracked: the stages the data records (every
    stage when it records none), tracked_keys and stage_labels theirs; handoff_key and
    handoff_label: the handoff stage when the data records it, else None; range_text: "01 Jan
    2025 – 31 Mar 2025"; scope: the caption under the title (as-of, cohort or flow, window,
    skip policy); spanned: the caption of the definition changes the range spans ("" when
    none); untracked: the caption of the stages never recorded ("" when none); rate_choices:
    (kind, stage key) -> the trend's rate as it reads ("Lead → Won (overall)"), default_rate the
    one it opens on (None: a single recorded stage, no rate).
    """

    contract: Contract
    view: str
    as_of: dt.datetime
    window: int | None
    tracked: list
    tracked_keys: list[str]
    stage_labels: list[str]
    handoff_key: str | None
    handoff_label: str | None
    range_text: str
    scope: str
    spanned: str
    untracked: str
    rate_choices: dict[tuple[str, str], str]
    default_rate: tuple[str, str] | None


def context(filters: Filters, view: str, contract: Contract, run: Run = direct) -> Context:
    """The page's frame of reference for `filters` and the sidebar's `view`; `contract` is the
    store's (contracts.current())."""
    contract = funnel.grain_view(filters, contract)
    as_of = filters.as_of or run(funnel.latest_event_at)
    window = filters.window(contract)
    tracked = contract.tracked_stages or contract.stages
    untracked = [s.label for s in contract.stages if not contract.is_tracked(s.key)]
    handoff = (
        contract.handoff if contract.handoff_stage and contract.is_tracked(contract.handoff_stage) else None
    )
    range_text = f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}"
    as_of_text = (
        f"As of {as_of:%d %b %Y} (end of day, set in the sidebar)"
        if filters.as_of
        else f"As of {as_of:%d %b %Y %H:%M} UTC (latest event in the store)"
    )
    scope = (
        f"{as_of_text} · "
        + (
            f"cohort: leads who started {range_text} · {fmt.window_phrase(window)} · "
            f"skip policy {filters.policy(contract)}"
            if view == "cohort"
            else f"flow: stage entries during {range_text}, whoever the leads are"
        )
        + " · counting rules in the sidebar"
    )
    spanned = funnel.changes_within(contract, filters.start, filters.end)
    rate_choices = {}
    for k, s in enumerate(tracked[1:], start=1):
        rate_choices[("overall", s.key)] = f"{tracked[0].label} → {s.label} (overall)"
        rate_choices[("step", s.key)] = f"{tracked[k - 1].label} → {s.label} (step)"
    return Context(
        contract=contract,
        view=view,
        as_of=as_of,
        window=window,
        tracked=list(tracked),
        tracked_keys=[s.key for s in tracked],
        stage_labels=[s.label for s in tracked],
        handoff_key=handoff.key if handoff else None,
        handoff_label=handoff.label if handoff else None,
        range_text=range_text,
        scope=scope,
        spanned=(
            ":material/change_circle: This range spans a definition change: "
            + "; ".join(f"{d:%Y-%m-%d}, {fmt.md(text.rstrip('.'))}." for d, text in spanned)
            + " Its leads started under two definitions; the charts mark each change."
        )
        if spanned
        else "",
        untracked=(
            ":material/visibility_off: Not recorded in this data: "
            + ", ".join(untracked)
            + ". No event records these stages, so they are never counted or filled in; rates run "
            "between the stages the data records."
        )
        if untracked
        else "",
        rate_choices=rate_choices,
        default_rate=("overall", tracked[-1].key) if rate_choices else None,
    )


# ---- The headline ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Figure:
    """One headline figure (an st.metric) and the caption under it.

    key: which figure (a compare_periods metric such as "leads" or "win_rate", or
    "revenue_by_currency", "time_to_win", "flow_entries", "flow_revenue"), for its help text;
    label, value and delta (None: no change shown) as they read; coloured: the change is outside
    the noise (drawn in colour, else grey); mark: "immature", "no earlier data", "too young to
    compare" or ""; caption: the line under it (the comparison and its verdict)."""

    key: str
    label: str
    value: str
    delta: str | None
    coloured: bool
    mark: str
    caption: str


@dataclasses.dataclass(frozen=True)
class Outcomes:
    """The cohort's outcomes, shared by the page's headline and the summary.

    row: funnel.outcomes' one row as plain values (n_cohort, n_won, n_lost, n_after_window,
    n_other_exit, n_open, n_open_past_window, n_decided, win_rate, win_low, win_high, is_small);
    is_recorded: the data records both outcomes (else no win rate); revenue: won amounts per
    currency, largest first (never summed across currencies); n_undated: open records with no
    date at all, in no cohort, and undated_by_status their count per status ('' for none);
    time_to_win: funnel.time_to_win_of ({median, p75, p90, n}; None when winning is not recorded).
    """

    row: dict
    is_recorded: bool
    revenue: dict[str, float]
    n_undated: int
    undated_by_status: dict[str, int]
    time_to_win: dict | None


def outcomes(filters: Filters, run: Run = direct) -> Outcomes:
    """The outcomes behind the win rate, the won revenue, the undated open pipeline and the time
    to win, for the cohort of `filters`."""
    outcome = run(funnel.outcomes, filters)
    money = run(funnel.revenue, filters)
    # From the stage times the page draws anyway ("Days between stages"): one query, not two.
    times = funnel.time_to_win_of(run(funnel.stage_times, filters))
    undated = run(funnel.undated_open)
    return Outcomes(
        row={k: (v.item() if hasattr(v, "item") else v) for k, v in outcome.iloc[0].items()},
        is_recorded=bool(outcome.attrs.get("is_recorded")),
        revenue=funnel.revenue_by_currency(money),
        n_undated=int(undated["n_records"].sum()),
        undated_by_status={
            (s if isinstance(s, str) else ""): int(n)
            for s, n in zip(undated["status"], undated["n_records"], strict=True)
        },
        time_to_win=times,
    )


@dataclasses.dataclass(frozen=True)
class Headline:
    """The cohort's headline: figures (three a row: the counts, then revenue, the win rate and the
    time to win, then the conversion rates), then captions (what the comparison is, the outcomes
    behind the win rate, the undated pipeline, the immaturity note), in the order they read;
    outcomes: the numbers behind them; policy: the skip policy counted."""

    figures: list[Figure]
    captions: list[str]
    outcomes: Outcomes
    policy: str


def headline(filters: Filters, ctx: Context, run: Run = direct) -> Headline:
    """The headline figures against the previous period, compared at equal age, with the noise
    verdicts, and the outcomes behind the win rate."""
    comparison = run(funnel.compare_periods, filters).set_index("metric")
    got = outcomes(filters, run)
    several = len(comparison.attrs.get("currencies", [])) > 1
    keys = [k for k in ("leads", "mqls", "won") if k in comparison.index]
    keys += ["revenue_by_currency"] if several else [k for k in ("revenue",) if k in comparison.index]
    keys += [k for k in ("win_rate",) if k in comparison.index]
    times = got.time_to_win
    if times and times["n"]:
        keys.append("time_to_win")
    keys += [k for k in ("mql_rate", "mql_to_won", "overall_rate") if k in comparison.index]
    figures = []
    for key in keys:
        if key == "revenue_by_currency":
            figures.append(
                Figure(
                    key,
                    "Revenue per currency",
                    fmt.amounts(got.revenue),
                    None,
                    True,
                    "",
                    "amounts in different currencies are never added up" + _in_one_currency(filters, run),
                )
            )
        elif key == "time_to_win":
            figures.append(
                Figure(
                    key,
                    f"Median days to {ctx.contract.stages[-1].label}",
                    fmt.days(times["median"]),
                    None,
                    True,
                    "",
                    f"p75 {fmt.days(times['p75'])} · p90 {fmt.days(times['p90'])} · "
                    f"{fmt.whole(times['n'])} records"
                    + (f" · {fmt.SMALL_TEXT}" if fmt.is_small(times["n"]) else ""),
                )
            )
        else:
            figures.append(_compared(filters, comparison, key))
    captions = _comparison_notes(comparison) + _outcome_captions(filters, ctx, got, comparison)
    return Headline(figures, captions, got, filters.policy(ctx.contract))


def _in_one_currency(filters: Filters, run: Run) -> str:
    """The cohort's revenue in the store's one base currency at dated rates (queries/currency.py),
    or what keeps it from being given; '' when the store holds no rates or several bases."""
    bases = run(currency.bases)
    if len(bases) != 1:
        return ""
    money = run(currency.revenue_in, filters, bases[0])
    if money["total"] is None:
        return f"; no total in {bases[0]}: " + currency.missing_text(bases[0], money["missing"])
    return f"; in {bases[0]} at dated rates: {fmt.amount(money['total'], bases[0])}"


def _currency(comparison: pd.DataFrame, key: str) -> str:
    currencies = comparison.attrs.get("currencies") or []
    return currencies[0] if key == "revenue" and len(currencies) == 1 else ""


def _compared(filters: Filters, comparison: pd.DataFrame, key: str) -> Figure:
    """One headline figure as it stands, marked when immature or not comparable, with its change
    against the previous period at equal age and the noise verdict (none for an immature
    figure, nor against a period before the first data)."""
    row = comparison.loc[key]
    money = _currency(comparison, key)
    label = f"{row['label']} ({money})" if money else row["label"]
    mark = row["mark"]
    if mark:
        label = f"{MARK_ICONS[mark]} {label}"
    kind = row["kind"]
    verdict_given = not (mark or row["is_immature"])
    p_value = row["p_value"] if kind == "rate" else fmt.count_change_p(row["current_at_age"], row["previous"])
    p_value = p_value if verdict_given else math.nan
    outside = kind != "amount" and not fmt.missing(p_value) and p_value < fmt.ALPHA
    value = fmt.value(row["current"], kind)
    delta = fmt.change(row["change"], row["change_pct"], kind)
    attrs = comparison.attrs
    if attrs.get("previous_before_data"):
        first = attrs.get("first_start")
        caption = f"no comparison: the previous {filters.n_days} days begin before the store's first " + (
            f"data ({first:%d %b %Y})" if first else "data"
        )
    elif mark == "too young to compare":
        caption = "no comparison yet: the period has not had a whole day since it ended"
    else:
        age = row["age_days"]
        ageless = key in funnel.AGELESS
        previous = fmt.value(row["previous"], kind, money)
        when = f"{attrs['previous_start']:%d %b} – {attrs['previous_end']:%d %b %Y}"
        at_age = "" if ageless or fmt.missing(age) else f", both at {int(age)} days since start"
        now_at_age = (
            ""
            if ageless or fmt.missing(age) or row["current_at_age"] == row["current"]
            else f" (now {fmt.value(row['current_at_age'], kind, money)} at that age)"
        )
        if verdict_given:
            verdict = fmt.noise_verdict(kind, p_value, bool(row["is_small"]))
        else:
            verdict = "immature: no noise verdict, it can still change" + (
                f" · {fmt.SMALL_TEXT}" if row["is_small"] else ""
            )
        caption = f"vs {previous} in {when}{at_age}{now_at_age} · {verdict}"
    return Figure(key, label, value, delta, bool(outside), mark, caption)


def _comparison_notes(comparison: pd.DataFrame) -> list[str]:
    """What the comparison is: its age, and any definition change it spans."""
    attrs = comparison.attrs
    if attrs.get("previous_before_data"):
        return []
    notes = []
    age = attrs.get("age_days")
    if age is not None and not attrs.get("is_mature_current"):
        notes.append(
            f":material/hourglass_top: Compared at equal age: this cohort's window is still open, so "
            f"both periods are counted within {age} days of each lead's start (the youngest lead's "
            f"age), not against the previous period's longer time to convert."
        )
    if attrs.get("changes"):
        notes.append(
            ":material/change_circle: The comparison spans a definition change: "
            + "; ".join(f"{d:%Y-%m-%d}, {fmt.md(text.rstrip('.'))}" for d, text in attrs["changes"])
            + "."
        )
    return notes


def _outcome_captions(filters: Filters, ctx: Context, got: Outcomes, comparison: pd.DataFrame) -> list[str]:
    """The outcomes behind the win rate, the undated open pipeline and the immaturity note."""
    o = got.row
    if got.is_recorded:
        lo, hi = fmt.pct(o["win_low"]), fmt.pct(o["win_high"])
        text = (
            f"Outcomes of this cohort: **{fmt.whole(o['n_won'])} won**, **{fmt.whole(o['n_lost'])} lost** "
            f"(win rate {fmt.pct(o['win_rate'])}, 95% CI {lo}–{hi}"
            + (f", {fmt.SMALL_TEXT}" if o["is_small"] else "")
            + f"), {fmt.whole(o['n_open'])} still open"
        )
    else:
        text = (
            f"Outcomes of this cohort: {fmt.whole(o['n_won'])} won, {fmt.whole(o['n_open'])} still open. "
            "No win rate: the data does not record lost deals, so won ÷ (won + lost) cannot be computed"
        )
    extras = []
    if o["n_other_exit"]:
        extras.append(f"{fmt.whole(o['n_other_exit'])} left by another exit")
    if o["n_after_window"]:
        extras.append(f"{fmt.whole(o['n_after_window'])} won or lost only after the window")
    captions = [text + (" · " + ", ".join(extras) if extras else "") + "."]
    if got.undated_by_status:
        captions.append(
            f"Besides this cohort, {fmt.whole(got.n_undated)} open records have no date at all "
            "(undated open pipeline): they belong to no range and are counted apart."
        )
    if not comparison.attrs.get("is_mature_current", True):
        if ctx.window is None:
            captions.append(
                ":material/hourglass_top: With no conversion window this cohort stays open while "
                "any of its leads is in progress: its won and revenue figures can still rise."
            )
        else:
            window_end = filters.end + dt.timedelta(days=ctx.window + 1)
            captions.append(
                f":material/hourglass_top: This cohort is immature until {window_end:%d %b %Y}: leads "
                "still in progress can convert, so its later-stage, won and revenue figures can still "
                "rise."
            )
    return captions


# ---- The funnel, monthly cohorts, trend and times ---------------------------------------------


@dataclasses.dataclass(frozen=True)
class Funnel:
    """The cohort funnel: frame (funnel.cohort_funnel, every stage), shown (its recorded stages,
    what the chart draws), is_mature (else the chart is faint and a warning says why), title."""

    frame: pd.DataFrame
    shown: pd.DataFrame
    is_mature: bool
    title: str


def cohort_funnel(filters: Filters, ctx: Context, run: Run = direct) -> Funnel:
    frame = run(funnel.cohort_funnel, filters)
    return Funnel(
        frame,
        frame[frame["tracked"]],
        bool(frame.attrs.get("is_mature", False)),
        f"Cohort funnel: leads who started {ctx.range_text}",
    )


@dataclasses.dataclass(frozen=True)
class Monthly:
    """The cohort by month of start: months (funnel.breakdown by month) and outcome
    (funnel.outcomes by month), for ui.tables.monthly_cohorts."""

    months: pd.DataFrame
    outcome: pd.DataFrame


def monthly(filters: Filters, run: Run = direct) -> Monthly:
    return Monthly(run(funnel.breakdown, filters, funnel.MONTH), run(funnel.outcomes, filters, funnel.MONTH))


@dataclasses.dataclass(frozen=True)
class Trend:
    """A year of one rate by month or week of start: series (charts.trend_series' rows, empty
    when no lead started), rate_col ("overall_rate" or "step_rate"), rate_name (as it reads),
    grain, title, changes (every dated change of the contract, for the chart's markers),
    caption (under the chart), table (the download: one row per period)."""

    series: pd.DataFrame
    rate_col: str
    rate_name: str
    grain: str
    title: str
    changes: list[tuple[dt.date, str]]
    caption: str
    table: pd.DataFrame | None


def trend_filters(filters: Filters) -> Filters:
    """A year of context ending with the range, so a short range still shows a trend."""
    return dataclasses.replace(filters, start=min(filters.start, filters.end - dt.timedelta(days=TREND_DAYS)))


def trend(
    filters: Filters, ctx: Context, choice: tuple[str, str], grain: str | None, run: Run = direct
) -> Trend:
    """The conversion trend of the chosen rate ((kind, stage key), a key of ctx.rate_choices)."""
    grain = grain or "month"
    frame = run(funnel.trend, trend_filters(filters), grain)
    kind, stage_key = choice
    series = trend_series(frame, stage_key, kind)
    rate_name = ctx.rate_choices[choice]
    contract = ctx.contract
    marks = [(c.date, c.change) for c in contract.changelog]
    title = f"{rate_name} by {grain} of start, 12 months to {filters.end:%d %b %Y}"
    if series.empty:
        return Trend(series, f"{kind}_rate", rate_name, grain, title, marks, "", None)
    changes = funnel.changes_within(contract, series["period_start"].min(), series["period_end"].max())
    caption = (
        "Dotted line, hollow markers and the shaded band: immature periods whose "
        f"window is still open on the as-of date ({fmt.window_phrase(ctx.window)}). Their "
        "rates are not final and usually rise; compare final periods with each other. "
        f"Whiskers: 95% Wilson interval; squares: {fmt.SMALL_TEXT}."
        + (
            " Dashed lines: the contract's dated changes (hover for the text); a period that "
            "spans one was computed across it."
            if changes
            else ""
        )
    )
    table = series[
        ["period_start", "period_end", "label", "n_base", "n_reached", f"{kind}_rate", "is_mature"]
    ].rename(
        columns={
            "period_start": "Period start",
            "period_end": "Period end",
            "label": "Stage",
            "n_base": "Leads in the base",
            "n_reached": "Reached",
            f"{kind}_rate": rate_name,
            "is_mature": "Final (window closed)",
        }
    )
    table["Small n (<30)"] = [fmt.small_flag(n) for n in series["n_base"]]
    table["Across a definition change"] = [
        "; ".join(f"{d:%Y-%m-%d}" for d, _ in funnel.changes_within(contract, a, b))
        for a, b in zip(series["period_start"], series["period_end"], strict=True)
    ]
    return Trend(series, f"{kind}_rate", rate_name, grain, title, marks, caption, table)


def trend_series(trend: pd.DataFrame, stage: str, kind: str) -> pd.DataFrame:
    """The rows of funnel.trend for one stage, with n_base: the leads the rate divides by
    (the period's first stage for `overall`, the stage before for `step`). One row per period."""
    if "tracked" in trend.columns:  # rates run between the stages the data records
        trend = trend[trend["tracked"].astype(bool)]
    if trend.empty:
        return trend.assign(n_base=pd.Series(dtype="int64"))
    ordered = trend.sort_values(["period_start", "stage_order"])
    first = ordered.groupby("period_start")["n_reached"].transform("first")
    previous = ordered.groupby("period_start")["n_reached"].shift(1)
    ordered = ordered.assign(n_base=first if kind == "overall" else previous)
    out = ordered[ordered["stage"] == stage].copy()
    out["n_base"] = out["n_base"].fillna(0).astype("int64")
    return out.reset_index(drop=True)


@dataclasses.dataclass(frozen=True)
class Times:
    """Days between recorded stages: frame (funnel.stage_times), moved (some lead moved between
    stages; else nothing is drawn), title (the chart's), caption (the median from the first to
    the last stage; "" when no lead went the whole way), table (shown and downloaded)."""

    frame: pd.DataFrame
    moved: bool
    title: str
    caption: str
    table: pd.DataFrame | None


TIME_COLUMNS = ("Median (days)", "p75 (days)", "p90 (days)")  # the times table's day columns


def times(filters: Filters, ctx: Context, run: Run = direct) -> Times:
    frame = run(funnel.stage_times, filters)
    title = f"Days between stages, leads who started {ctx.range_text}"
    if frame["n_leads"].sum() == 0:
        return Times(frame, False, title, "", None)
    total = frame.iloc[-1]
    caption = ""
    if total["n_leads"]:
        caption = (
            f"Median days from {ctx.stage_labels[0]} to {ctx.stage_labels[-1]}: "
            f"**{fmt.days(total['median_days'])}** "
            f"(p75 {fmt.days(total['p75_days'])}, p90 {fmt.days(total['p90_days'])}; "
            f"{fmt.whole(total['n_leads'])} leads)"
            + (f" · {fmt.SMALL_TEXT}" if fmt.is_small(total["n_leads"]) else "")
        )
    table = frame[["label", "n_leads", "median_days", "p75_days", "p90_days"]].rename(
        columns={
            "label": "Move",
            "n_leads": "Leads that moved",
            "median_days": "Median (days)",
            "p75_days": "p75 (days)",
            "p90_days": "p90 (days)",
        }
    )
    table["Small n (<30)"] = [fmt.small_flag(n) for n in frame["n_leads"]]
    return Times(frame, True, title, caption, table)


# ---- The flow view -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Flow:
    """Stage entries during the range: figures (the first, handoff and last stage's entries
    against the previous period, then the revenue won in the range), frame (funnel.flow_funnel,
    every stage), shown (its recorded stages, what the chart draws), title (the chart's)."""

    figures: list[Figure]
    frame: pd.DataFrame
    shown: pd.DataFrame
    title: str


def flow(filters: Filters, ctx: Context, run: Run = direct) -> Flow:
    now = run(funnel.flow_funnel, filters)
    before = run(funnel.flow_funnel, filters.previous())
    keys = list(
        dict.fromkeys(
            [ctx.tracked_keys[0], *([ctx.handoff_key] if ctx.handoff_key else []), ctx.tracked_keys[-1]]
        )
    )
    now_by, before_by = now.set_index("stage"), before.set_index("stage")
    figures = []
    for k in keys:
        cur, prev = int(now_by.loc[k, "n_entries"]), int(before_by.loc[k, "n_entries"])
        change_pct = (cur - prev) / prev if prev else float("nan")
        figures.append(
            Figure(
                "flow_entries",
                f"{ctx.contract.stage(k).label} entries",
                fmt.value(cur, "count"),
                fmt.change(cur - prev, change_pct, "count"),
                True,
                "",
                f"vs {prev:,} in the previous {filters.n_days} days · "
                + fmt.noise_verdict("count", fmt.count_change_p(cur, prev), min(cur, prev) < 30),
            )
        )
    revenue_now = float(now["revenue"].iloc[-1] or 0)
    revenue_before = float(before["revenue"].iloc[-1] or 0)
    figures.append(
        Figure(
            "flow_revenue",
            "Revenue won in the range",
            fmt.amount(revenue_now),
            fmt.change(
                revenue_now - revenue_before,
                (revenue_now - revenue_before) / revenue_before if revenue_before else float("nan"),
                "amount",
            ),
            True,
            "",
            f"vs {fmt.amount(revenue_before)} in the previous {filters.n_days} days · "
            + fmt.noise_verdict("amount", 0, False),
        )
    )
    return Flow(figures, now, now[now["tracked"]], f"Stage entries during {ctx.range_text}")


# ---- The breakdown and the records behind a number ---------------------------------------------


@dataclasses.dataclass(frozen=True)
class Breakdown:
    """The cohort (or flow) by one attribute: frame (funnel.breakdown), outcome (funnel.outcomes
    by the same attribute; None in the flow view), names (value -> what a person reads: owner
    names, channel labels, team names), group_label (the group column's heading)."""

    by: str
    frame: pd.DataFrame
    outcome: pd.DataFrame | None
    names: dict
    group_label: str


def breakdown(filters: Filters, ctx: Context, by: str, run: Run = direct) -> Breakdown:
    """One row per value of `by` (filters.owner_role: which owner the owner breakdown counts)."""
    frame = run(funnel.breakdown, filters, by, ctx.view)
    outcome = run(funnel.outcomes, filters, by) if ctx.view == "cohort" else None
    names = options.choices(run(options.filter_options), "owner") if by == "owner" else {}
    values = [v for v in frame.get("group_value", []) if v is not None]
    if by == "channel":
        names = {v: fmt.channel(ctx.contract, v) for v in values}
    if by == "team":
        names = {v: fmt.team(v) for v in values}
    group_label = by_label(by)
    if by == "owner" and filters.owner_role:
        group_label = f"Owner ({filters.owner_role})"
    return Breakdown(by, frame, outcome, names, group_label)


def group_text(by: str | None, group_value) -> str:
    """The drill-down's group as it reads: "All leads", "Channel: web", "Region: (no value)"."""
    if not by:
        return "All leads"
    return f"{by_label(by)}: " + ("(no value)" if group_value == NO_GROUP_VALUE else str(group_value))


@dataclasses.dataclass(frozen=True)
class Records:
    """The records behind one count: records (queries.drill.cohort_records, at most `limit`;
    attrs n_total), caption (how many, which, and whether the list is cut), args (the keyword
    arguments of the query, for the download of them all)."""

    records: pd.DataFrame
    caption: str
    args: dict


def records(
    filters: Filters,
    ctx: Context,
    stage: str,
    status: str,
    by: str | None,
    group_value,
    limit: int,
    run: Run = direct,
) -> Records:
    """The cohort's records at `stage` with `status` (queries.drill.STATUSES), in the group
    `group_value` of `by` when `by` is set (NO_GROUP_VALUE: the records without a value)."""
    grouped = bool(by)
    group = None if group_value == NO_GROUP_VALUE else group_value
    args = dict(status=status, by=by or None, group=group if grouped else None, grouped=grouped)
    found = run(drill.cohort_records, filters, stage, limit=limit, **args)
    n_total = found.attrs["n_total"]
    label = next(s.label for s in ctx.tracked if s.key == stage)
    caption = (
        f"**{fmt.whole(n_total)}** leads {drill.STATUSES[status][1]} at {fmt.md(label)}"
        + (f" · {fmt.md(group_text(by, group_value))}" if grouped else "")
        + (
            f"; the first {fmt.whole(len(found))} are listed, the CSV has them all"
            if n_total > len(found)
            else ""
        )
    )
    return Records(found, caption, args)


# ---- The whole page ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HealthView:
    """Everything Funnel health draws for one set of filters and choices (the parts above):
    headline, funnel, monthly, trend and times in the cohort view (None in the flow view), flow
    in the flow view (None in the cohort view), breakdown in both."""

    context: Context
    headline: Headline | None
    funnel: Funnel | None
    monthly: Monthly | None
    trend: Trend | None
    times: Times | None
    flow: Flow | None
    breakdown: Breakdown
    bridge: Bridge
    alerts: pd.DataFrame | None  # the contract's rules on the last complete week (None: no rules)


@dataclasses.dataclass(frozen=True)
class Bridge:
    """The bridge between the grains (queries.bridge.view) and the leads matched to accounts,
    which ui/bridge.py draws."""

    view: Any
    matched: pd.DataFrame


def bridge(filters: Filters, run: Run = direct) -> Bridge:
    return Bridge(view=run(queries_bridge.view, filters), matched=run(queries_bridge.matched_leads))


def view(
    filters: Filters,
    contract: Contract,
    view: str = "cohort",
    rate: tuple[str, str] | None = None,
    grain: str = "month",
    by: str = "channel",
    run: Run = direct,
) -> HealthView:
    """The page for `filters` in the `view` ("cohort" or "flow"), with the trend's `rate`
    (default: first to last recorded stage, overall) per `grain`, broken down `by` an
    attribute."""
    ctx = context(filters, view, contract, run)
    cohort = view == "cohort"
    rate = rate or ctx.default_rate
    return HealthView(
        context=ctx,
        headline=headline(filters, ctx, run) if cohort else None,
        funnel=cohort_funnel(filters, ctx, run) if cohort else None,
        monthly=monthly(filters, run) if cohort else None,
        trend=trend(filters, ctx, rate, grain, run) if cohort and rate else None,
        times=times(filters, ctx, run) if cohort else None,
        flow=None if cohort else flow(filters, ctx, run),
        breakdown=breakdown(filters, ctx, by, run),
        bridge=bridge(filters, run),
        alerts=report_alerts.checked(ctx.contract.effective(), None, run),
    )

"""Content use: which content reaches leads, which is associated with leads advancing, and
whether Sales uses Marketing's content on opportunities.

Counts come from DuckDB (queries/sql/content_*.sql); rates, 95% Wilson intervals and tests are
computed here on the few aggregated rows. Every comparison here is an association between a
touch and an outcome, not proof that the touch caused it: Sales may pick the deals it already
expects to win to share content with. Definitions: docs/content.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pandas as pd

from data.contract import Contract
from queries import attribution, contracts, funnel, stats
from queries.filters import Filters, attribute_column

# Columns computed here on the aggregated rows (named so that an empty result has them too).
ADVANCE_STATS = [
    "advance_rate",
    "advance_low",
    "advance_high",
    "baseline_rate",
    "baseline_low",
    "baseline_high",
    "difference",
    "p_value",
    "is_significant",
    "is_small",
]
SALES_USE_STATS = [
    "share_rate",
    "share_low",
    "share_high",
    "win_rate_shared",
    "win_low_shared",
    "win_high_shared",
    "win_rate_not_shared",
    "win_low_not_shared",
    "win_high_not_shared",
    "difference",
    "p_value",
    "is_significant",
    "is_small",
]


def content_reach(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Touches and reach per piece of content in the date range: one row per content piece.

    Columns: content_id, title, kind, made_by (team that made it), published_at,
    n_touches_marketing, n_touches_sales (touches made by each team in the range), n_leads
    (distinct leads touched), n_leads_by_sales. Content published by the end of the range is
    listed even when nobody used it. Sorted by n_leads, largest first.
    """
    contract = contract or contracts.current(db).effective()
    as_of = funnel.resolve_as_of(filters, db)
    df = attribution.run("content_reach", filters, contract, as_of, db)
    counts = ["n_touches_marketing", "n_touches_sales", "n_leads", "n_leads_by_sales"]
    df[counts] = df[counts].astype("int64")
    df.attrs.update(as_of=as_of)
    return df


def _difference_p(x: int, n: int, expected: float, expected_var: float) -> float:
    """Two-sided p-value of (x/n - expected/n) under a normal approximation.

    The comparison rate is a stratum-weighted mix of untouched leads' rates (expected / n)
    with its own sampling variance (expected_var / n²), so the pooled two-proportion test does
    not apply; the variance of the difference is the sum of both variances.
    """
    if n <= 0:
        return math.nan
    p = x / n
    var = p * (1 - p) / n + expected_var / (n * n)
    if var <= 0:
        return 1.0 if abs(x - expected) < 1e-9 else 0.0
    z = (p - expected / n) / math.sqrt(var)
    return math.erfc(abs(z) / math.sqrt(2))


def landmark_hours(filters: Filters, contract: Contract) -> list[int]:
    """Per stage, in funnel order: the landmark, how long after entering the stage a lead is
    looked at (still in the stage? touched by then?).

    The stage's expected days from funnel.toml (the conversion window when a stage has none),
    in whole hours so that SQL adds an integer number of hours.
    """
    return [round((s.expected_days or filters.horizon(contract)) * 24) for s in contract.stages]


def content_advance(
    filters: Filters, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Advance rate of leads touched by a content piece in a stage vs comparable leads without
    that touch: one row per (stage, content), stages in funnel order, most-touched first.

    A landmark comparison (see content_advance.sql): leads still in the stage at the landmark
    (the stage's expected days after entering it, landmark_hours); touched = saw the content
    between the entry and the landmark (before the entry too for a lead's first stage);
    advanced = reached the next stage later, within the conversion window. Comparable leads:
    same stage, channel and month of entry, not touched with this content by the landmark. Columns: stage_order, stage,
    label, content_id, title, kind, made_by, n_touched (leads touched by the landmark),
    n_advanced, n_matched (touched leads with comparable untouched leads), n_matched_advanced,
    n_comparison (those untouched leads), advance_rate, advance_low, advance_high (touched and
    matched, 95% Wilson), baseline_rate, baseline_low, baseline_high (what the touched leads'
    strata did without the touch, normal 95% interval), difference (points, 0-1 scale),
    p_value, is_significant (p < 0.05), is_small (n_matched under 30).
    attrs: as_of, window_days, is_mature (the range's end + window is on or before as_of;
    otherwise leads still have time to advance and the rates are not final).
    """
    contract = contract or contracts.current(db).effective()
    as_of = funnel.resolve_as_of(filters, db)
    df = attribution.run(
        "content_advance",
        filters,
        contract,
        as_of,
        db,
        # A small table, one row per stage: its landmark, an interval of whole hours.
        landmark_rows=[
            {"stage_order": order, "landmark": dt.timedelta(hours=h)}
            for order, h in enumerate(landmark_hours(filters, contract), start=1)
        ],
    )
    stage_of = {s.order: s for s in contract.stages}
    df.insert(1, "stage", [stage_of[int(o)].key for o in df["stage_order"]])
    df.insert(2, "label", [stage_of[int(o)].label for o in df["stage_order"]])
    ints = ["n_touched", "n_advanced", "n_matched", "n_matched_advanced", "n_comparison"]
    df[ints] = df[ints].astype("int64")
    rows = []
    for r in df.itertuples():
        n, x = int(r.n_matched), int(r.n_matched_advanced)
        lo, hi = stats.wilson(x, n)
        base = r.expected_advanced / n if n else math.nan
        half = stats.Z95 * math.sqrt(r.expected_var) / n if n else math.nan
        p = _difference_p(x, n, float(r.expected_advanced), float(r.expected_var))
        rows.append(
            {
                "advance_rate": stats.rate(x, n),
                "advance_low": lo,
                "advance_high": hi,
                "baseline_rate": base,
                "baseline_low": max(0.0, base - half) if n else math.nan,
                "baseline_high": min(1.0, base + half) if n else math.nan,
                "difference": stats.rate(x, n) - base if n else math.nan,
                "p_value": p,
                "is_significant": bool(not math.isnan(p) and p < 0.05),
                "is_small": n < stats.SMALL_GROUP,
            }
        )
    extra = pd.DataFrame(rows, index=df.index, columns=ADVANCE_STATS)
    out = pd.concat([df.drop(columns=["expected_advanced", "expected_var"]), extra], axis=1)
    out = out[
        [
            "stage_order",
            "stage",
            "label",
            *[c for c in out.columns if c not in ("stage_order", "stage", "label")],
        ]
    ]
    # A lead has its whole window (from entering the stage) to advance: until the range's end
    # + window has passed, advance rates can still rise and are not final.
    out.attrs.update(
        as_of=as_of,
        window_days=filters.window(contract),
        is_mature=funnel.is_mature(filters, contract, as_of),
    )
    return out


LOOKBACK_MONTHS = 12


def mature_range(filters: Filters, contract: Contract, as_of: dt.datetime) -> Filters:
    """`filters` with its date range replaced by the default look-back for win rates: the 12
    months of opportunities ending one conversion window before the as-of date.

    Win rates of recent opportunities are not final (many deals are still open), so the page's
    default is a range whose window has closed: the last day is the day before
    as_of - window, so end + 1 day + window <= as_of (queries.funnel.period_is_mature holds).
    The other filters (channels, regions, ...) are kept.
    """
    end_before = as_of.date() - dt.timedelta(days=filters.horizon(contract))
    try:
        start = end_before.replace(year=end_before.year - LOOKBACK_MONTHS // 12)
    except ValueError:  # 29 February, a year earlier
        start = end_before.replace(year=end_before.year - LOOKBACK_MONTHS // 12, day=28)
    return dataclasses.replace(filters, start=start, end=end_before - dt.timedelta(days=1))


def sales_content_use(
    filters: Filters, by: str | None = None, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Opportunities where Sales used Marketing-made content, and win rates with and without:
    one row per group (a single row when `by` is None).

    `by` must be one of queries.filters.ATTRIBUTES. Columns: group_value, n_opportunities
    (opened in the range), n_shared (Sales touched the deal with Marketing content between
    opportunity entry and close), share_rate, share_low, share_high (n_shared /
    n_opportunities, 95% Wilson), n_closed_shared, n_won_shared, win_rate_shared,
    win_low_shared, win_high_shared, n_closed_not_shared, n_won_not_shared,
    win_rate_not_shared, win_low_not_shared, win_high_not_shared (win rate = won / closed;
    open deals are left out), n_open_shared, n_open_not_shared (still open at as_of: in neither
    win rate), difference (shared - not shared, 0-1 scale), p_value (pooled two-proportion
    test), is_significant, is_small (either closed group under 30).
    attrs: as_of, window_days, is_mature (the range's end + the conversion window is on or
    before as_of: every opportunity had its full window to close; otherwise the win rates can
    still change and are not final), n_open (open opportunities over all groups).
    """
    if by is not None:
        attribute_column(by)  # refuses anything outside the allow-list before SQL runs
    contract = contract or contracts.current(db).effective()
    as_of = funnel.resolve_as_of(filters, db)
    # Opportunities opened in the range = the pipeline basis of the attribution deals.
    outcomes = attribution.deal_outcomes(filters, contract, as_of, db, basis="pipeline", deal_by=by)
    shared = outcomes["is_shared"]
    parts = {
        "n_opportunities": outcomes["n_deals"],
        "n_shared": outcomes["n_deals"].where(shared, 0),
        "n_closed_shared": outcomes["n_closed"].where(shared, 0),
        "n_won_shared": outcomes["n_won"].where(shared, 0),
        "n_closed_not_shared": outcomes["n_closed"].where(~shared, 0),
        "n_won_not_shared": outcomes["n_won"].where(~shared, 0),
    }
    df = (
        pd.DataFrame({"group_value": outcomes["group_value"].astype(object), **parts})
        .groupby("group_value", as_index=False, dropna=False)
        .sum()
        .sort_values("group_value", na_position="last", ignore_index=True)
    )
    # Leads without the attribute form their own group, listed last (as before).
    missing = "All opportunities" if by is None else "(none)"
    df["group_value"] = [missing if pd.isna(v) else v for v in df["group_value"]]
    ints = [c for c in df.columns if c.startswith("n_")]
    df[ints] = df[ints].astype("int64")
    rows = []
    for r in df.itertuples():
        share = stats.wilson(r.n_shared, r.n_opportunities)
        with_ = stats.wilson(r.n_won_shared, r.n_closed_shared)
        without = stats.wilson(r.n_won_not_shared, r.n_closed_not_shared)
        w1 = stats.rate(r.n_won_shared, r.n_closed_shared)
        w0 = stats.rate(r.n_won_not_shared, r.n_closed_not_shared)
        p = stats.two_proportion_p(
            r.n_won_shared, r.n_closed_shared, r.n_won_not_shared, r.n_closed_not_shared
        )
        rows.append(
            {
                "share_rate": stats.rate(r.n_shared, r.n_opportunities),
                "share_low": share[0],
                "share_high": share[1],
                "win_rate_shared": w1,
                "win_low_shared": with_[0],
                "win_high_shared": with_[1],
                "win_rate_not_shared": w0,
                "win_low_not_shared": without[0],
                "win_high_not_shared": without[1],
                "difference": w1 - w0,
                "p_value": p,
                "is_significant": bool(not math.isnan(p) and p < 0.05),
                "is_small": min(r.n_closed_shared, r.n_closed_not_shared) < stats.SMALL_GROUP,
            }
        )
    extra = pd.DataFrame(rows, index=df.index, columns=SALES_USE_STATS)
    out = pd.concat([df, extra], axis=1)
    order = [
        "group_value",
        "n_opportunities",
        "n_shared",
        "share_rate",
        "share_low",
        "share_high",
        "n_closed_shared",
        "n_won_shared",
        "win_rate_shared",
        "win_low_shared",
        "win_high_shared",
        "n_closed_not_shared",
        "n_won_not_shared",
        "win_rate_not_shared",
        "win_low_not_shared",
        "win_high_not_shared",
        "n_open_shared",
        "n_open_not_shared",
        "difference",
        "p_value",
        "is_significant",
        "is_small",
    ]
    out = out.reindex(columns=order)
    out["n_open_shared"] = out["n_shared"] - out["n_closed_shared"]
    out["n_open_not_shared"] = out["n_opportunities"] - out["n_shared"] - out["n_closed_not_shared"]
    window = filters.window(contract)
    out.attrs.update(
        as_of=as_of,
        window_days=window,
        is_mature=funnel.period_is_mature(filters.end, window, as_of),
        n_open=int(out["n_open_shared"].sum() + out["n_open_not_shared"].sum()),
    )
    return out

"""The funnel engine's readers: typed functions over queries/sql, one per query.

Each returns a DataFrame with the columns listed in its docstring. Counts come from DuckDB;
rates and intervals are computed here on the few aggregated rows (never on raw events).
Definitions: ../shared/DESIGN.md "Definitions that must be exact"; the Definitions page shows them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pandas as pd

from data import contract as contract_mod
from data.contract import Contract
from queries import executor, stats
from queries.filters import FilterError, Filters, attribute_column

GRAINS = ("week", "month")
COHORT_QUERIES = ("cohort_funnel", "stage_times", "trend")


def store_facts(db: Path | None = None) -> dict[str, str]:
    """store_meta as a dict: latest_event_at, is_sample, contract_hash, sample_leads, ..."""
    df = executor.run("store_facts", db=db)
    return dict(zip(df["key"], df["value"], strict=True))


_LATEST: dict[tuple[str, str], dt.datetime] = {}  # (path, store version) -> latest event


def latest_event_at(db: Path | None = None) -> dt.datetime:
    """The default as-of moment: the latest event in the store.

    Every query without an explicit as-of needs it, so it is remembered per store version
    (a stat, not a connection): a new or rewritten store file is read again.
    """
    key = (str(db), executor.store_version(db))
    if key not in _LATEST:
        value = store_facts(db).get("latest_event_at")
        _LATEST.clear()  # one store version at a time is enough
        _LATEST[key] = (
            dt.datetime.fromisoformat(value) if value else dt.datetime.now(dt.UTC).replace(tzinfo=None)
        )
    return _LATEST[key]


def resolve_as_of(filters: Filters, db: Path | None = None) -> dt.datetime:
    return filters.as_of or latest_event_at(db)


def is_mature(filters: Filters, contract: Contract, as_of: dt.datetime) -> bool:
    """A cohort is final only once end of range + window is on or before the as-of date."""
    return period_is_mature(filters.end, filters.window(contract), as_of)


def period_is_mature(last_day: dt.date, window_days: int, as_of: dt.datetime) -> bool:
    window_end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min)
    return window_end + dt.timedelta(days=window_days) <= as_of


def _run(
    name: str, filters: Filters, contract: Contract, as_of: dt.datetime, db: Path | None = None, **extra
) -> pd.DataFrame:
    available = filters.params(contract, as_of)
    available.update(stage_keys=contract.stage_keys, n_stages=len(contract.stages), by=None)
    available.update(extra)
    if name in COHORT_QUERIES:  # they read the cohort defined once in cohort_rows.sql
        return executor.run_composed("cohort_rows", name, available, db=db)
    return executor.run(name, executor.bind(name, available), db=db)


def _check_by(by: str | None) -> str | None:
    if by is not None:
        attribute_column(by)  # refuses anything outside the allow-list before SQL runs
    return by


def _stage_frame(contract: Contract) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stage_order": [s.order for s in contract.stages],
            "stage": contract.stage_keys,
            "label": [s.label for s in contract.stages],
        }
    )


def _with_rates(counts: pd.DataFrame, contract: Contract, count_col: str = "n_reached") -> pd.DataFrame:
    """One row per stage (zeros filled) with step and overall rates and 95% Wilson bounds."""
    df = _stage_frame(contract).merge(
        counts.drop(columns="group_value", errors="ignore"), on="stage_order", how="left"
    )
    number_cols = [c for c in counts.columns if c.startswith("n_") or c == "revenue"]
    df[number_cols] = df[number_cols].fillna(0)
    for c in number_cols:
        if c.startswith("n_"):
            df[c] = df[c].astype("int64")
    n = df[count_col].tolist()
    first = n[0]
    cols: dict[str, list[float]] = {k: [] for k in ("step_rate", "step_low", "step_high")}
    cols.update({k: [] for k in ("overall_rate", "overall_low", "overall_high")})
    for k, reached in enumerate(n):
        base = n[k - 1] if k > 0 else reached
        cols["step_rate"].append(stats.rate(reached, base))
        lo, hi = stats.wilson(reached, base)
        cols["step_low"].append(lo)
        cols["step_high"].append(hi)
        cols["overall_rate"].append(stats.rate(reached, first))
        lo, hi = stats.wilson(reached, first)
        cols["overall_low"].append(lo)
        cols["overall_high"].append(hi)
    for k, values in cols.items():
        df[k] = values
    return df


def _attrs(df: pd.DataFrame, filters: Filters, contract: Contract, as_of: dt.datetime) -> pd.DataFrame:
    df.attrs.update(
        as_of=as_of,
        window_days=filters.window(contract),
        skip_policy=filters.policy(contract),
        is_mature=is_mature(filters, contract, as_of),
    )
    return df


def cohort_funnel(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Cohort conversion: one row per stage, in funnel order (every stage, zeros included).

    Columns: stage_order, stage, label, n_reached, n_skipped, n_in_progress, n_dropped,
    revenue (won amounts, on the last stage; 0 elsewhere), step_rate, step_low, step_high
    (reached(k)/reached(k-1), 95% Wilson), overall_rate, overall_low, overall_high
    (reached(k)/reached(1)). The last stage has no drop-off.
    attrs: as_of, window_days, skip_policy, is_mature.
    """
    contract = contract or contract_mod.load()
    as_of = resolve_as_of(filters, db)
    counts = _run("cohort_funnel", filters, contract, as_of, db=db)
    df = _with_rates(counts, contract)
    df.loc[df.index[-1], ["n_in_progress", "n_dropped"]] = 0
    return _attrs(df, filters, contract, as_of)


def flow_funnel(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Flow view: one row per stage, entries during the range whoever the leads are.

    Columns: stage_order, stage, label, n_entries (first entries in the range), n_reentries
    (re-entries in the range: recycling, never a second conversion), revenue (last stage),
    ratio_to_previous (n_entries(k) / n_entries(k-1): compares different leads, not a rate).
    """
    contract = contract or contract_mod.load()
    as_of = resolve_as_of(filters, db)
    counts = _run("flow_funnel", filters, contract, as_of, db=db)
    df = _stage_frame(contract).merge(counts.drop(columns="group_value"), on="stage_order", how="left")
    df[["n_entries", "n_reentries"]] = df[["n_entries", "n_reentries"]].fillna(0).astype("int64")
    df["revenue"] = df["revenue"].fillna(0.0).astype(float)
    prev = df["n_entries"].shift(1)
    df["ratio_to_previous"] = [
        stats.rate(int(n), int(p)) if k > 0 else math.nan
        for k, (n, p) in enumerate(zip(df["n_entries"], prev, strict=True))
    ]
    df.attrs.update(as_of=as_of, view="flow")
    return df


def stage_times(
    filters: Filters, by: str | None = None, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Time between stages for the cohort: one row per transition, then one total row.

    Columns: from_stage, to_stage, label ("Lead → Marketing qualified", "Total: ..."),
    is_total, n_leads, median_days, p75_days, p90_days (+ group_value when `by` is set).
    A transition k→k+1 is the days from the lead's own entry into k until it reached k+1 in
    time (under `implied`, reaching a later stage counts); the total is start → last stage, its
    own median (not a sum of step medians).
    """
    contract = contract or contract_mod.load()
    by = _check_by(by)
    as_of = resolve_as_of(filters, db)
    raw = _run("stage_times", filters, contract, as_of, by=by, db=db)
    stages = contract.stages
    rows = []
    groups = sorted(raw["group_value"].dropna().unique()) if by else [None]
    for g in groups:
        part = raw[raw["group_value"].isna()] if g is None else raw[raw["group_value"] == g]
        by_order = {int(r.stage_order): r for r in part.itertuples()}
        for k, s in enumerate(stages):
            is_total = k == len(stages) - 1
            frm, to = (stages[0], s) if is_total else (s, stages[k + 1])
            r = by_order.get(s.order)
            label = f"Total: {frm.label} → {to.label}" if is_total else f"{frm.label} → {to.label}"
            row = {
                "from_stage": frm.key,
                "to_stage": to.key,
                "label": label,
                "is_total": is_total,
                "n_leads": int(r.n_leads) if r is not None else 0,
                "median_days": float(r.median_days)
                if r is not None and r.median_days is not None
                else math.nan,
                "p75_days": float(r.p75_days) if r is not None and r.p75_days is not None else math.nan,
                "p90_days": float(r.p90_days) if r is not None and r.p90_days is not None else math.nan,
            }
            if by:
                row = {"group_value": g, **row}
            rows.append(row)
    return _attrs(pd.DataFrame(rows), filters, contract, as_of)


def trend(
    filters: Filters, grain: str = "month", db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Cohort conversion per week (ISO, Monday) or month of start: one row per period × stage.

    Columns: period_start, period_end, stage_order, stage, label, n_reached, step_rate,
    step_low, step_high, overall_rate, overall_low, overall_high, is_mature, is_small (the
    period's cohort has fewer than 30 leads). A period is immature while its end + window is
    after the as-of date: its rates can still rise and are not final.
    """
    if grain not in GRAINS:
        raise FilterError(f"trend grain: expected one of {list(GRAINS)}, got {grain!r}")
    contract = contract or contract_mod.load()
    as_of = resolve_as_of(filters, db)
    raw = _run("trend", filters, contract, as_of, grain=grain, db=db)
    frames = []
    for period, part in raw.groupby("period_start", sort=True):
        start = pd.Timestamp(period).date()
        if grain == "week":
            end = start + dt.timedelta(days=6)
        else:
            end = (pd.Timestamp(start) + pd.offsets.MonthEnd(1)).date()
        df = _with_rates(part.drop(columns="period_start"), contract)
        df.insert(0, "period_start", start)
        df.insert(1, "period_end", end)
        df["is_mature"] = period_is_mature(min(end, filters.end), filters.window(contract), as_of)
        df["is_small"] = int(df["n_reached"].iloc[0]) < stats.SMALL_GROUP
        frames.append(df)
    columns = ["period_start", "period_end", *_stage_frame(contract).columns, "n_reached"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return _attrs(out, filters, contract, as_of)


def breakdown(
    filters: Filters,
    by: str,
    view: str = "cohort",
    db: Path | None = None,
    contract: Contract | None = None,
) -> pd.DataFrame:
    """Conversion (cohort) or entries (flow) by a lead attribute: one row per group × stage.

    `by` must be one of queries.filters.ATTRIBUTES (refused before any SQL runs otherwise).
    Cohort columns: group_value, then cohort_funnel's columns, is_small (group's cohort has
    fewer than 30 leads). Flow columns: group_value, then flow_funnel's columns.
    Groups are sorted by their first-stage count, largest first.
    """
    by = _check_by(by)
    if view not in ("cohort", "flow"):
        raise FilterError(f"view: expected 'cohort' or 'flow', got {view!r}")
    contract = contract or contract_mod.load()
    as_of = resolve_as_of(filters, db)
    name = "cohort_funnel" if view == "cohort" else "flow_funnel"
    raw = _run(name, filters, contract, as_of, by=by, db=db)
    raw["group_value"] = raw["group_value"].fillna("(none)")
    frames = []
    for g, part in raw.groupby("group_value", sort=True):
        if view == "cohort":
            df = _with_rates(part, contract)
            df.loc[df.index[-1], ["n_in_progress", "n_dropped"]] = 0
            df["is_small"] = int(df["n_reached"].iloc[0]) < stats.SMALL_GROUP
            size = int(df["n_reached"].iloc[0])
        else:
            df = _stage_frame(contract).merge(part.drop(columns="group_value"), on="stage_order", how="left")
            df[["n_entries", "n_reentries"]] = df[["n_entries", "n_reentries"]].fillna(0).astype("int64")
            df["revenue"] = df["revenue"].fillna(0.0)
            size = int(df["n_entries"].iloc[0])
        df.insert(0, "group_value", g)
        frames.append((size, g, df))
    frames.sort(key=lambda t: (-t[0], t[1]))
    out = pd.concat([f for _, _, f in frames], ignore_index=True) if frames else pd.DataFrame()
    return _attrs(out, filters, contract, as_of)


HEADLINES = (
    # key, label, kind
    ("leads", "Leads", "count"),
    ("mqls", "MQLs", "count"),
    ("won", "Won deals", "count"),
    ("revenue", "Revenue", "amount"),
    ("mql_rate", "Lead → MQL", "rate"),
    ("win_rate", "MQL → won", "rate"),
    ("overall_rate", "Overall conversion", "rate"),
)


def headline(funnel_df: pd.DataFrame, contract: Contract) -> dict[str, tuple[float, int]]:
    """Headline figures from a cohort funnel: key -> (value, base count for rates)."""
    n = dict(zip(funnel_df["stage"], funnel_df["n_reached"], strict=True))
    first, handoff, last = contract.stage_keys[0], contract.handoff_stage, contract.stage_keys[-1]
    revenue = float(funnel_df["revenue"].iloc[-1])
    return {
        "leads": (n[first], n[first]),
        "mqls": (n[handoff], n[handoff]),
        "won": (n[last], n[last]),
        "revenue": (revenue, n[last]),
        "mql_rate": (stats.rate(n[handoff], n[first]), n[first]),
        "win_rate": (stats.rate(n[last], n[handoff]), n[handoff]),
        "overall_rate": (stats.rate(n[last], n[first]), n[first]),
    }


def compare_periods(
    filters: Filters, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Headline metrics now vs the previous period of equal length: one row per metric.

    Columns: metric, label, kind (count, amount, rate), current, previous, change (current -
    previous; points for rates), change_pct (for counts and amounts), p_value and
    is_significant (two-proportion test, rates only), n_current, n_previous (the rate's base),
    is_small (either base under 30). Both periods use the same as-of date, so the previous
    period is usually more mature: is_mature_current / is_mature_previous in attrs.
    """
    contract = contract or contract_mod.load()
    as_of = resolve_as_of(filters, db)
    fixed = dataclasses.replace(filters, as_of=as_of)
    now = headline(cohort_funnel(fixed, db=db, contract=contract), contract)
    before = headline(cohort_funnel(fixed.previous(), db=db, contract=contract), contract)
    rows = []
    for key, label, kind in HEADLINES:
        (cur, n_cur), (prev, n_prev) = now[key], before[key]
        p = math.nan
        if kind == "rate":
            x_cur = round(cur * n_cur) if n_cur else 0
            x_prev = round(prev * n_prev) if n_prev else 0
            p = stats.two_proportion_p(x_cur, n_cur, x_prev, n_prev)
        change = cur - prev if not (math.isnan(cur) or math.isnan(prev)) else math.nan
        rows.append(
            {
                "metric": key,
                "label": label,
                "kind": kind,
                "current": cur,
                "previous": prev,
                "change": change,
                "change_pct": (change / prev) if kind != "rate" and prev else math.nan,
                "p_value": p,
                "is_significant": bool(kind == "rate" and not math.isnan(p) and p < 0.05),
                "n_current": int(n_cur),
                "n_previous": int(n_prev),
                "is_small": min(n_cur, n_prev) < stats.SMALL_GROUP,
            }
        )
    df = pd.DataFrame(rows)
    df.attrs.update(
        as_of=as_of,
        is_mature_current=is_mature(filters, contract, as_of),
        is_mature_previous=is_mature(filters.previous(), contract, as_of),
    )
    return df

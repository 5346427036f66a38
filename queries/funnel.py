"""The funnel engine's readers: typed functions over queries/sql, one per query.

Each returns a DataFrame with the columns listed in its docstring. Counts come from DuckDB;
rates and intervals are computed here on the few aggregated rows (never on raw events).
Definitions: docs/design.md "Definitions"; the Definitions page shows them in words.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd

from data.contract import Contract
from queries import contracts, cube, executor, options, stats
from queries.filters import FilterError, Filters, attribute_column

GRAINS = ("week", "month")
COHORT_QUERIES = (
    "cohort_funnel",
    "cohort_records",
    "cohort_outcomes",
    "cohort_revenue",
    "stage_history",
    "stage_times",
    "trend",
)


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
    """A cohort is final only once end of range + window is on or before the as-of date; with
    no window it never is by time alone (see the outcomes' open count)."""
    return period_is_mature(filters.end, filters.window(contract), as_of)


def period_is_mature(last_day: dt.date, window_days: int | None, as_of: dt.datetime) -> bool:
    if window_days is None:
        return False
    window_end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min)
    return window_end + dt.timedelta(days=window_days) <= as_of


def _lost_keys(contract: Contract) -> list[str]:
    # An empty list would not bind as a typed list; no exit key is ever ''.
    return contract.exit_keys_of("lost") or [""]


def grain_view(filters: Filters, contract: Contract) -> Contract:
    """The contract as the view's grain sees it (Contract.of_grain): every stage for leads, the
    opportunity's own stages for opportunities."""
    return contract.of_grain(filters.grain_of(contract))


def _run(
    name: str, filters: Filters, contract: Contract, as_of: dt.datetime, db: Path | None = None, **extra
) -> pd.DataFrame:
    """Run a funnel query over the journeys of the view's grain, which follow the contract's
    tracked stages. `contract` is the grain's view (see grain_view())."""
    available = _available(filters, contract, as_of, db, **extra)
    # A view at the latest date with the contract's window sums the rollups kept per store
    # version (queries/cube.py): the same rows, without reading every journey again.
    summed = cube.answer(name, available, filters.window(contract) == contract.conversion_window_days, db)
    if summed is not None:
        return summed
    # COHORT_QUERIES read the cohort defined once in cohort_rows.sql: {{ ref() }} in their SQL.
    return executor.run(name, executor.bind(name, available), db=db)


def _available(
    filters: Filters, contract: Contract, as_of: dt.datetime, db: Path | None = None, **extra
) -> dict:
    """Every parameter a funnel query of this view may bind (executor.bind takes its own)."""
    computing = contract.effective()
    available = filters.params(computing, as_of)
    available["grain"] = filters.grain_of(contract)
    available.update(
        stage_keys=computing.stage_keys,
        last_stage_key=computing.stage_keys[-1] if computing.stage_keys else "",
        n_stages=len(computing.stages),
        lost_keys=_lost_keys(computing),
        is_past=as_of < latest_event_at(db),
        by=None,
    )
    available.update(extra)
    return available


MONTH = "month"  # cohort views may also group by the month leads started (YYYY-MM)


def _check_by(by: str | None, month: bool = True) -> str | None:
    if by is not None and not (month and by == MONTH):
        attribute_column(by)  # refuses anything outside the allow-list before SQL runs
    return by


def _stage_frame(contract: Contract) -> pd.DataFrame:
    """One row per stage of the contract, in its order: stage_order, stage, label, tracked, and
    computed_order (the stage's position among the tracked stages the journeys follow; <NA>
    for a stage the data does not record)."""
    orders, keys, labels, tracked, positions = _stage_lists(contract)
    return pd.DataFrame(
        {
            "stage_order": list(orders),
            "stage": list(keys),
            "label": list(labels),
            "tracked": list(tracked),
            "computed_order": pd.array(list(positions), dtype="Int64"),
        }
    )


@functools.lru_cache(maxsize=64)
def _stage_lists(
    contract: Contract,
) -> tuple[tuple[int, ...], tuple[str, ...], tuple[str, ...], tuple[bool, ...], tuple[int | None, ...]]:
    """_stage_frame's columns, once per contract (every funnel frame repeats them); tuples, as
    every caller shares them."""
    tracked = [contract.is_tracked(s.key) for s in contract.stages]
    positions, k = [], 0
    for is_tracked in tracked:
        k += is_tracked
        positions.append(k if is_tracked else None)
    return (
        tuple(s.order for s in contract.stages),
        tuple(contract.stage_keys),
        tuple(s.label for s in contract.stages),
        tuple(tracked),
        tuple(positions),
    )


_GROUP = "_group"  # the group of a frame of several funnels (a period, a breakdown value)


def _stage_rows(counts: pd.DataFrame, contract: Contract, key: str | None) -> pd.DataFrame:
    """One row per group × stage of the contract (groups: the distinct values of `key` in
    `counts`, sorted, no value last; one group when `key` is None), with the group's counts
    per computed stage: tracked stages without a row get zeros, untracked stages <NA>. Column
    _group numbers the groups in that order."""
    return pd.DataFrame(_stage_columns(counts, contract, key))


def _stage_columns(counts: pd.DataFrame, contract: Contract, key: str | None) -> dict:
    """_stage_rows' columns, in its order, before they become a frame.

    Filled by position in arrays, not by pandas merges, and made a frame once: the frame is
    small (stages × groups), and a chain of pandas operations on it cost more than the query
    that counted it."""
    orders, keys, labels, tracked_list, positions = _stage_lists(contract)
    n_stages = len(orders)
    if key is None:
        values, group_of = None, np.zeros(len(counts), dtype=np.int64)
        n_groups = 1
    else:
        values = counts[key].drop_duplicates().sort_values(na_position="last", ignore_index=True)
        group_of = pd.Index(values).get_indexer(counts[key])
        n_groups = len(values)
    # The row of each computed stage among the contract's stages (untracked ones have none).
    row_of = {p: i for i, p in enumerate(positions) if p is not None}
    stage_of = np.array([row_of.get(int(o), -1) for o in counts["stage_order"]], dtype=np.int64)
    found = stage_of >= 0
    cells = group_of[found] * n_stages + stage_of[found]
    tracked = np.tile(np.array(tracked_list, dtype=bool), n_groups)
    out = {_GROUP: np.repeat(np.arange(n_groups, dtype=np.int64), n_stages)}
    if values is not None:
        out[key] = values.iloc[np.repeat(np.arange(n_groups), n_stages)].reset_index(drop=True)
    out |= {
        "stage_order": np.tile(np.array(orders, dtype=np.int64), n_groups),
        "stage": list(keys) * n_groups,
        "label": list(labels) * n_groups,
        "tracked": tracked,
        "computed_order": pd.array(list(positions) * n_groups, dtype="Int64"),
    }
    for c in counts.columns:
        if c in ("stage_order", "group_value", key):
            continue
        column = np.where(tracked, 0.0, np.nan)  # tracked stages without a row: zero
        column[cells] = counts[c].to_numpy(dtype=float, na_value=np.nan)[found]
        if c.startswith("n_"):
            out[c] = pd.array(np.where(tracked, column, np.nan), dtype="Float64").astype("Int64")
        else:
            out[c] = np.where(tracked, column, np.nan)
    return out


def _previous_tracked(df: pd.DataFrame, column: str) -> tuple[pd.Series, pd.Series]:
    """For each tracked row: `column` on its group's first tracked stage, and on the tracked
    stage before it (<NA> on the first), as float; untracked rows get <NA> in both."""
    groups = df[_GROUP].to_numpy() if _GROUP in df.columns else np.zeros(len(df), dtype=np.int64)
    first, previous = _previous_tracked_arrays(
        df["tracked"].to_numpy(dtype=bool), df[column].to_numpy(dtype=float, na_value=np.nan), groups
    )
    as_series = {"dtype": "Float64", "index": df.index}
    return (
        pd.Series(pd.array(first, dtype="Float64"), **as_series),
        pd.Series(pd.array(previous, dtype="Float64"), **as_series),
    )


def _previous_tracked_arrays(
    tracked: np.ndarray, values: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """_previous_tracked over arrays: (first, previous) as floats, NaN where there is none."""
    first = np.full(len(values), np.nan)
    previous = np.full(len(values), np.nan)
    seen: dict[int, tuple[float, float]] = {}  # group -> (first, last) tracked value so far
    for i in np.flatnonzero(tracked):
        g = groups[i]
        if g in seen:
            start, last = seen[g]
            previous[i] = last
        else:
            start = values[i]
        first[i] = start
        seen[g] = (start, values[i])
    return first, previous


def _with_rates(
    counts: pd.DataFrame, contract: Contract, count_col: str = "n_reached", key: str | None = None
) -> pd.DataFrame:
    """One row per stage of the contract (per group × stage with `key`: see _stage_rows) with
    step and overall rates and 95% Wilson bounds.

    `counts` has one row per (group and) computed stage (its stage_order is the position among
    the tracked stages). Tracked stages without a row get zeros; untracked stages get <NA>
    counts and NaN rates: not recorded, never counted. Rates run from the first tracked stage,
    and a step is from the tracked stage before. Computed for every group at once (a weekly
    trend is 53 funnels: one at a time, the frame work took four times the query), on arrays,
    and made a frame once."""
    columns = _stage_columns(counts, contract, key)
    tracked = columns["tracked"]
    n = columns[count_col].to_numpy(dtype=float, na_value=math.nan)
    first, previous = _previous_tracked_arrays(tracked, n, columns[_GROUP])
    # The first tracked stage's step is from itself; untracked stages have no rate.
    base = np.where(np.isnan(previous), n, previous)
    untracked = np.isnan(n)
    for name, trials in (("step", base), ("overall", first)):
        low, high = stats.wilson_bounds(n, trials)
        columns[f"{name}_rate"] = np.where(untracked, math.nan, stats.rates(n, trials))
        columns[f"{name}_low"] = np.where(untracked, math.nan, low)
        columns[f"{name}_high"] = np.where(untracked, math.nan, high)
    del columns["computed_order"]
    if key is None:
        del columns[_GROUP]
    return pd.DataFrame(columns)


def _attrs(df: pd.DataFrame, filters: Filters, contract: Contract, as_of: dt.datetime) -> pd.DataFrame:
    df.attrs.update(
        as_of=as_of,
        window_days=filters.window(contract),
        skip_policy=filters.policy(contract),
        is_mature=is_mature(filters, contract, as_of),
    )
    return df


def _last_tracked(df: pd.DataFrame):
    """The index of the last tracked stage's row (no drop-off there)."""
    tracked = df.index[df["tracked"]]
    return tracked[-1] if len(tracked) else df.index[-1]


def cohort_funnel(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Cohort conversion: one row per stage of the contract, in funnel order.

    Columns: stage_order, stage, label, tracked (False: the data never records this stage; its
    counts are <NA> and its rates NaN: shown as not recorded, never counted), n_reached,
    n_skipped, n_in_progress, n_dropped, revenue (won amounts of every currency, on the last
    stage; see revenue() for the split by currency), step_rate, step_low, step_high
    (reached(k)/reached(previous tracked stage), 95% Wilson), overall_rate, overall_low,
    overall_high (reached(k)/reached(first tracked stage)). The last tracked stage has no
    drop-off. attrs: as_of, window_days (None: no window), skip_policy, is_mature.
    """
    contract = grain_view(filters, contract or contracts.current(db))
    as_of = resolve_as_of(filters, db)
    counts = _run("cohort_funnel", filters, contract, as_of, db=db)
    df = _with_rates(counts, contract)
    df.loc[_last_tracked(df), ["n_in_progress", "n_dropped"]] = 0
    return _attrs(df, filters, contract, as_of)


def _flow_frame(counts: pd.DataFrame, contract: Contract, key: str | None = None) -> pd.DataFrame:
    """One row per stage (per group × stage with `key`) of flow counts and ratio_to_previous:
    n_entries(k) / n_entries(the tracked stage before), NaN on the first tracked stage."""
    df = _stage_rows(counts, contract, key)
    _, previous = _previous_tracked(df, "n_entries")
    n = df["n_entries"].astype("Float64").to_numpy(dtype=float, na_value=math.nan)
    trials = previous.to_numpy(dtype=float, na_value=math.nan)
    df["ratio_to_previous"] = np.where(np.isnan(trials), math.nan, stats.rates(n, trials))
    return df.drop(columns=["computed_order", *([_GROUP] if key is None else [])])


def flow_funnel(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Flow view: one row per stage of the contract, entries during the range whoever the leads are.

    Columns: stage_order, stage, label, tracked, n_entries (first entries in the range),
    n_reentries (re-entries in the range: recycling, never a second conversion), revenue (last
    stage), ratio_to_previous (n_entries(k) / n_entries(previous tracked stage): compares
    different leads, not a rate). Untracked stages have <NA> counts.
    """
    contract = grain_view(filters, contract or contracts.current(db))
    as_of = resolve_as_of(filters, db)
    counts = _run("flow_funnel", filters, contract, as_of, db=db)
    df = _flow_frame(counts, contract)
    df.attrs.update(as_of=as_of, view="flow")
    return df


def stage_times(
    filters: Filters, by: str | None = None, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Time between tracked stages for the cohort: one row per move, then one total row.

    Columns: from_stage, to_stage, label ("Lead → Marketing qualified", "Total: ..."),
    is_total, n_leads, median_days, p75_days, p90_days (+ group_value when `by` is set).
    A move k→k+1 is between consecutive stages the data records: the days from the lead's own
    entry into k until it reached k+1 in time (under `implied`, reaching a later stage counts);
    the total is start → last tracked stage, its own median (not a sum of step medians).
    """
    contract = grain_view(filters, contract or contracts.current(db))
    by = _check_by(by)
    as_of = resolve_as_of(filters, db)
    raw = _run("stage_times", filters, contract, as_of, by=by, db=db)
    stages = contract.effective().stages
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

            def days(value) -> float:
                return float(value) if value is not None and not pd.isna(value) else math.nan

            row = {
                "from_stage": frm.key,
                "to_stage": to.key,
                "label": label,
                "is_total": is_total,
                "n_leads": int(r.n_leads) if r is not None else 0,
                "median_days": days(r.median_days) if r is not None else math.nan,
                "p75_days": days(r.p75_days) if r is not None else math.nan,
                "p90_days": days(r.p90_days) if r is not None else math.nan,
            }
            if by:
                row = {"group_value": g, **row}
            rows.append(row)
    out = _attrs(pd.DataFrame(rows), filters, contract, as_of)
    out.attrs["wins_recorded"] = _wins_recorded(contract)
    return out


def _wins_recorded(contract: Contract) -> bool:
    """Whether the data records winning: the last stage is tracked, after another one."""
    return (
        bool(contract.stages)
        and contract.is_tracked(contract.stages[-1].key)
        and len(contract.tracked_stages) >= 2
    )


def time_to_win_of(times: pd.DataFrame) -> dict | None:
    """time_to_win() read from stage_times' frame (its total row), for a page that draws the
    stage times anyway: {median, p75, p90, n}; None when the data does not record winning."""
    if not times.attrs.get("wins_recorded") or times.empty:
        return None
    total = times.iloc[-1]
    return {
        "median": total["median_days"],
        "p75": total["p75_days"],
        "p90": total["p90_days"],
        "n": int(total["n_leads"]),
    }


def time_to_win(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> dict:
    """Days from start to the last stage (won) for the cohort's leads that won in time:
    {median, p75, p90, n}; None when the data does not record the last stage."""
    contract = grain_view(filters, contract or contracts.current(db))
    if not _wins_recorded(contract):
        return None
    return time_to_win_of(stage_times(filters, db=db, contract=contract))


def trend(
    filters: Filters, grain: str = "month", db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Cohort conversion per week (ISO, Monday) or month of start: one row per period × stage.

    Columns: period_start, period_end, stage_order, stage, label, tracked, n_reached, step_rate,
    step_low, step_high, overall_rate, overall_low, overall_high, is_mature, is_small (the
    period's cohort has fewer than 30 leads). A period is immature while its end + window is
    after the as-of date: its rates can still rise and are not final.
    """
    if grain not in GRAINS:
        raise FilterError(f"trend grain: expected one of {list(GRAINS)}, got {grain!r}")
    contract = grain_view(filters, contract or contracts.current(db))
    as_of = resolve_as_of(filters, db)
    raw = _run("trend", filters, contract, as_of, period=grain, db=db)
    columns = ["period_start", "period_end", *_stage_frame(contract).columns[:-1], "n_reached"]
    if raw.empty:
        return _attrs(pd.DataFrame(columns=columns), filters, contract, as_of)
    raw["period_start"] = pd.to_datetime(raw["period_start"]).dt.date
    df = _with_rates(raw, contract, key="period_start")
    starts = df["period_start"]
    if grain == "week":
        ends = starts + dt.timedelta(days=6)
    else:
        ends = (pd.to_datetime(starts) + pd.offsets.MonthEnd(1)).dt.date
    df.insert(df.columns.get_loc("period_start") + 1, "period_end", ends)
    window = filters.window(contract)
    mature = {end: period_is_mature(min(end, filters.end), window, as_of) for end in ends.unique()}
    df["is_mature"] = ends.map(mature)
    first_tracked, _ = _previous_tracked(df, "n_reached")
    size = first_tracked.fillna(0).groupby(df[_GROUP]).transform("max").astype("int64")
    df["is_small"] = size < stats.SMALL_GROUP
    out = df.drop(columns=_GROUP)
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
    fewer than 30 leads). Flow columns: group_value, then flow_funnel's columns. A lead without
    a value has group_value None (kept apart from a literal value such as 'unknown').
    Groups are sorted by their first-stage count, largest first (no value last among equals).
    """
    by = _check_by(by, month=view == "cohort")
    if view not in ("cohort", "flow"):
        raise FilterError(f"view: expected 'cohort' or 'flow', got {view!r}")
    contract = grain_view(filters, contract or contracts.current(db))
    as_of = resolve_as_of(filters, db)
    name = "cohort_funnel" if view == "cohort" else "flow_funnel"
    raw = _run(name, filters, contract, as_of, by=by, db=db)
    if raw.empty:
        return _attrs(pd.DataFrame(), filters, contract, as_of)
    if view == "cohort":
        df = _with_rates(raw, contract, key="group_value")
        last = df[df["tracked"]].groupby(_GROUP, sort=False).tail(1).index
        if len(last) < df[_GROUP].nunique():  # a group without a tracked stage: its last row
            last = df.groupby(_GROUP, sort=False).tail(1).index.union(last)
        df.loc[last, ["n_in_progress", "n_dropped"]] = 0
        first, _ = _previous_tracked(df, "n_reached")
    else:
        df = _flow_frame(raw, contract, key="group_value")
        first, _ = _previous_tracked(df, "n_entries")
    size = first.fillna(0).groupby(df[_GROUP]).transform("max").astype("int64")
    if view == "cohort":
        df["is_small"] = size < stats.SMALL_GROUP
    # Largest first-stage count first; no value last among equals; then by the value as text.
    no_value = df["group_value"].isna()
    text = df["group_value"].where(~no_value, "").astype(str)
    order = pd.DataFrame({"size": -size, "none": no_value, "text": text, "group": df[_GROUP]})
    ranked = order.drop_duplicates("group").sort_values(["size", "none", "text"], kind="stable")["group"]
    position = pd.Series(range(len(ranked)), index=ranked.to_numpy())
    df = df.iloc[df[_GROUP].map(position).argsort(kind="stable")].reset_index(drop=True)
    out = df.drop(columns=_GROUP)
    if no_value.any():  # no value is None, as in a list of values of any type
        out["group_value"] = out["group_value"].astype(object).where(out["group_value"].notna(), None)
    return _attrs(out, filters, contract, as_of)


def outcomes(
    filters: Filters, by: str | None = None, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Outcomes of the cohort's leads: one row per group (one row when `by` is None).

    Columns: group_value, n_cohort, n_won, n_lost, n_after_window (won or lost by the as-of, but
    after the window), n_other_exit (ended by another exit), n_open (no outcome or exit yet;
    n_open_past_window of them are past their window), n_decided (= won + lost), win_rate
    (won / decided: open leads and other exits are not outcomes), win_low, win_high (95%
    Wilson), is_small (fewer than 30 decided). Sorted by n_cohort, largest first.
    attrs: as of, window, skip policy, is_mature, is_recorded (the data records both outcomes:
    the last stage and a lost exit; otherwise the win rate is not shown).
    """
    by = _check_by(by)
    contract = grain_view(filters, contract or contracts.current(db))
    as_of = resolve_as_of(filters, db)
    raw = _run("cohort_outcomes", filters, contract, as_of, by=by, db=db)
    if by is None and raw.empty:
        raw = pd.DataFrame([{"group_value": None}])
    counts = [
        "n_cohort",
        "n_won",
        "n_lost",
        "n_after_window",
        "n_other_exit",
        "n_open",
        "n_open_past_window",
    ]
    for c in counts:
        raw[c] = raw[c].fillna(0).astype("int64") if c in raw else 0
    raw["group_value"] = raw["group_value"].where(raw["group_value"].notna(), None)
    recorded = contract.outcomes_recorded and contract.is_tracked(contract.stages[-1].key)
    raw["n_decided"] = raw["n_won"] + raw["n_lost"]
    rates = [_win_rate(w, d, contract) for w, d in zip(raw["n_won"], raw["n_decided"], strict=True)]
    bounds = [
        stats.wilson(w, d) if recorded else (math.nan, math.nan)
        for w, d in zip(raw["n_won"], raw["n_decided"], strict=True)
    ]
    raw["win_rate"] = rates
    raw["win_low"] = [b[0] for b in bounds]
    raw["win_high"] = [b[1] for b in bounds]
    raw["is_small"] = raw["n_decided"] < stats.SMALL_GROUP
    out = raw.sort_values(
        ["n_cohort", "group_value"], ascending=[False, True], na_position="last", kind="stable"
    ).reset_index(drop=True)
    out = _attrs(out, filters, contract, as_of)
    out.attrs["is_recorded"] = recorded
    return out


def _win_rate(n_won: int, n_decided: int, contract: Contract) -> float:
    """Win rate = won / (won + lost); NaN when the data records no outcomes or no winning."""
    recorded = contract.outcomes_recorded and contract.is_tracked(contract.stages[-1].key)
    return stats.rate(n_won, n_decided) if recorded else math.nan


def revenue(
    filters: Filters, by: str | None = None, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Won revenue of the cohort per currency: one row per (group, currency), never summed
    across currencies. Columns: group_value, currency ('' when the source named none), n_won,
    n_with_amount, revenue. Empty when nothing was won (or the data does not record winning)."""
    by = _check_by(by)
    contract = grain_view(filters, contract or contracts.current(db))
    if not contract.is_tracked(contract.stages[-1].key):
        return pd.DataFrame(columns=["group_value", "currency", "n_won", "n_with_amount", "revenue"])
    as_of = resolve_as_of(filters, db)
    df = _run("cohort_revenue", filters, contract, as_of, by=by, db=db)
    df["revenue"] = df["revenue"].astype(float)
    return _attrs(df, filters, contract, as_of)


def revenue_by_currency(df: pd.DataFrame) -> dict[str, float]:
    """{currency: amount} from revenue() (one group), largest first."""
    pairs = sorted(zip(df["currency"], df["revenue"], strict=True), key=lambda p: -p[1])
    return {c: float(a) for c, a in pairs}


def stage_history(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> dict:
    """How the cohort's records really moved: {n_stage_events, backward_moves, moved_back,
    reopened} from every stage event by the as-of (see stage_history.sql)."""
    contract = grain_view(filters, contract or contracts.current(db))
    as_of = resolve_as_of(filters, db)
    df = _run("stage_history", filters, contract, as_of, db=db)
    row = df.iloc[0] if len(df) else None

    def n(col: str) -> int:
        return int(row[col]) if row is not None and not pd.isna(row[col]) else 0

    return {
        "n_stage_events": n("n_stage_events"),
        "backward_moves": n("n_backward_moves"),
        "moved_back": n("n_moved_back"),
        "reopened": n("n_reopened"),
    }


def undated_open(db: Path | None = None) -> pd.DataFrame:
    """Open records with no date at all (undated open pipeline): one row per status, most
    first. Columns: status, n_records, n_with_amount. They are in no cohort; an undated exit is
    not open (data quality lists it)."""
    return executor.run("undated_open", {"exit_keys": list(contracts.current(db).exit_keys)}, db=db)


def headline(funnel_df: pd.DataFrame, contract: Contract) -> dict[str, tuple[float, int]]:
    """Headline figures from a cohort funnel: key -> (value, base count for rates).

    Counts run over the tracked stages: `leads` is the first tracked stage (the cohort), `mqls`
    the handoff stage when it is tracked, `won` the last stage when it is tracked; a figure the
    data cannot give is absent."""
    rows = funnel_df[funnel_df["tracked"]]
    if rows.empty:
        return {}
    n = {k: int(v) for k, v in zip(rows["stage"], rows["n_reached"], strict=True)}
    first = rows["stage"].iloc[0]
    last_key = contract.stages[-1].key
    out: dict[str, tuple[float, int]] = {"leads": (n[first], n[first])}
    handoff = contract.handoff_stage
    if handoff in n and handoff != first:
        out["mqls"] = (n[handoff], n[handoff])
        out["mql_rate"] = (stats.rate(n[handoff], n[first]), n[first])
    if last_key in n:
        out["won"] = (n[last_key], n[last_key])
        out["revenue"] = (float(funnel_df["revenue"].iloc[-1]), n[last_key])
        if handoff in n and handoff != first:
            out["mql_to_won"] = (stats.rate(n[last_key], n[handoff]), n[handoff])
    last = rows["stage"].iloc[-1]
    if last != first:
        out["overall_rate"] = (stats.rate(n[last], n[first]), n[first])
    return out


def headline_labels(contract: Contract) -> dict[str, tuple[str, str]]:
    """key -> (label, kind) of the headline figures, in the contract's words."""
    tracked = contract.tracked_stages or contract.stages
    first, last = tracked[0], tracked[-1]
    handoff = contract.handoff
    won = contract.stages[-1]
    noun = "Opportunities" if first.grain == "opportunity" else "Leads"
    labels = {
        "leads": (noun, "count"),
        "mqls": (handoff.label if handoff else "", "count"),
        "won": (won.label, "count"),
        "revenue": ("Revenue", "amount"),
        "win_rate": ("Win rate", "rate"),
        "mql_rate": (f"{first.label} → {handoff.label}" if handoff else "", "rate"),
        "mql_to_won": (f"{handoff.label} → {won.label}" if handoff else "", "rate"),
        "overall_rate": (f"{first.label} → {last.label}", "rate"),
    }
    return labels


def cohort_age_days(last_day: dt.date, as_of: dt.datetime) -> int:
    """Whole days every record of a period starting on or before `last_day` has had by `as_of`:
    from the end of its last day (negative while the period has not ended)."""
    ended = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min)
    return math.floor((as_of - ended).total_seconds() / 86400)


def comparison_age(filters: Filters, contract: Contract, as_of: dt.datetime) -> int | None:
    """The age, in days since each record's start, at which the current period and the one
    before are compared (docs/design.md "Fair comparisons"): the window when the current period
    is mature, else the youngest record's age (the previous period, older, has had at least as
    long). None when the current period has had no whole day since it ended: too young to
    compare anything that takes time to happen."""
    window = filters.window(contract)
    age = cohort_age_days(filters.end, as_of)
    cap = age if window is None else min(window, age)
    return cap if cap >= 1 else None


# Headline figures that do not depend on the age of the cohort: how many records started.
AGELESS = ("leads",)


def compare_periods(
    filters: Filters, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Headline metrics now vs the previous period of equal length, compared fairly: one row per
    metric the data can give, in the order leads, MQLs, won, revenue, win rate, handoff rate,
    MQL → won, overall.

    Both periods are compared at equal age (docs/design.md "Fair comparisons"): each one's
    conversion within the same number of days since each record's start, `age_days` (the
    window when the current period is mature, else the current period's age, which caps it;
    comparison_age). `current` is the figure as it stands (what the page shows), `current_at_age`
    and `previous` are both at `age_days`, and the change is theirs.

    Columns: metric, label, kind (count, amount, rate), current, current_at_age, previous,
    change (current_at_age - previous; points for rates), change_pct (for counts and amounts),
    p_value and is_significant (two-proportion test, rates only), n_current, n_previous (the
    rate's bases at that age), is_small (either base under 30), age_days, is_immature (the
    current figure can still change: its window is open on the as-of date; the cohort's size
    cannot once the period has ended), mark (what the page writes in the metric: "immature",
    "no earlier data", "too young to compare" or ""). A period that is immature or whose
    previous period begins before the store's first data gets no noise verdict (p_value NaN,
    is_significant False), and before the first data no change either.
    attrs: as_of, is_mature_current, is_mature_previous, currencies (revenue is only compared in
    one currency), previous_before_data, first_start, age_days, previous_start, previous_end,
    changes (the contract's changelog entries dated from the previous period's start to the
    current one's end: the comparison spans a change in the definitions).
    """
    contract = grain_view(filters, contract or contracts.current(db))
    as_of = resolve_as_of(filters, db)
    fixed = dataclasses.replace(filters, as_of=as_of)
    before = fixed.previous()
    age = comparison_age(fixed, contract, as_of)
    mature = is_mature(filters, contract, as_of)
    first_start = _first_start(db, filters.grain_of(contract))
    # A previous period that begins before the store's first data holds only part of a cohort:
    # its figures are not comparable, so no change or noise verdict is given against it.
    before_data = first_start is None or before.start < first_start
    ended = cohort_age_days(filters.end, as_of) >= 0

    def figures(period: Filters) -> dict[str, tuple[float, int]]:
        out = headline(cohort_funnel(period, db=db, contract=contract), contract)
        if contract.outcomes_recorded:
            o = outcomes(period, db=db, contract=contract).iloc[0]
            out["win_rate"] = (float(o["win_rate"]), int(o["n_decided"]))
        return out

    # What the comparison takes: the current period as it stands (at the view's window), and
    # both periods at the comparison's age (the current one only while it is immature).
    asked: dict[str, tuple[Filters, int | None]] = {"now": (fixed, fixed.window(contract))}
    if not (mature or age is None):
        asked["now_at_age"] = (fixed, age)
    asked["previous"] = (before, before.window(contract) if age is None else age)
    found, now_currencies = _headlines_at_ages(asked, contract, as_of, db) or ({}, None)
    got = {}
    for name, (period, days) in asked.items():
        if name in found:
            got[name] = found[name]
        elif days == period.window(contract):
            got[name] = figures(period)
        else:
            got[name] = figures(dataclasses.replace(period, window_days=days))
    now, previous = got["now"], got["previous"]
    now_at_age = got.get("now_at_age", now)
    if now_currencies is not None and contract.is_tracked(contract.stages[-1].key):
        currencies = now_currencies  # revenue()'s, from the same query
    else:
        currencies = sorted(set(revenue(fixed, db=db, contract=contract)["currency"]))
    if len(currencies) > 1:
        now.pop("revenue", None)
    labels = headline_labels(contract)
    rows = []
    for key in ("leads", "mqls", "won", "revenue", "win_rate", "mql_rate", "mql_to_won", "overall_rate"):
        if key not in now:
            continue
        label, kind = labels[key]
        ageless = key in AGELESS
        cur = now[key][0]
        comparable = ageless or age is not None
        (cur_age, n_cur) = now[key] if ageless else now_at_age.get(key, (math.nan, 0))
        (prev, n_prev) = (previous if ageless or age else {}).get(key, (math.nan, 0))
        if not comparable:
            cur_age, n_cur, prev, n_prev = math.nan, 0, math.nan, 0
        immature = (not ended) if ageless else not mature
        p = math.nan
        if kind == "rate" and not (math.isnan(cur_age) or math.isnan(prev)):
            x_cur = round(cur_age * n_cur) if n_cur else 0
            x_prev = round(prev * n_prev) if n_prev else 0
            p = stats.two_proportion_p(x_cur, n_cur, x_prev, n_prev)
        change = cur_age - prev if not (math.isnan(cur_age) or math.isnan(prev)) else math.nan
        mark = ""
        if before_data:
            mark = "no earlier data"
        elif not comparable:
            mark = "too young to compare"
        elif immature:
            mark = "immature"
        if before_data:
            change, p = math.nan, math.nan
        if immature:
            p = math.nan
        rows.append(
            {
                "metric": key,
                "label": label,
                "kind": kind,
                "current": cur,
                "current_at_age": cur_age,
                "previous": prev,
                "change": change,
                "change_pct": (change / prev)
                if kind != "rate" and prev and not math.isnan(change)
                else math.nan,
                "p_value": p,
                "is_significant": bool(kind == "rate" and not math.isnan(p) and p < 0.05),
                "n_current": int(n_cur),
                "n_previous": int(n_prev),
                "is_small": min(n_cur, n_prev) < stats.SMALL_GROUP,
                "age_days": age,
                "is_immature": bool(immature),
                "mark": mark,
            }
        )
    df = pd.DataFrame(rows)
    df.attrs.update(
        as_of=as_of,
        is_mature_current=mature,
        is_mature_previous=is_mature(before, contract, as_of),
        currencies=currencies,
        previous_before_data=before_data,
        first_start=first_start,
        age_days=age,
        previous_start=before.start,
        previous_end=before.end,
        changes=changes_within(contract, before.start, filters.end),
    )
    return df


def _headlines_at_ages(
    asked: dict[str, tuple[Filters, int | None]],
    contract: Contract,
    as_of: dt.datetime,
    db: Path | None = None,
) -> tuple[dict[str, dict[str, tuple[float, int]]], list[str] | None] | None:
    """headline() of each period of `asked` (name -> (period, window in days)) at its window,
    and its win rate when the data records outcomes, from one query of each rollup that keeps
    every reach and outcome apart by the age it came at (queries/cube.py AGED): the figures
    compare_periods() takes, the same numbers as cohort_funnel() and outcomes() at those
    windows. The periods differ in their dates only. A period with no window, or one past the
    contract's, is left out; None when no rollup answers (a past as-of, an owner filter) or it
    is not built yet. With the figures, the won currencies of "now", sorted (revenue()'s; None
    when "now" is left out).
    The rollups are the contract window's whatever the view's: any age within it is a sum of
    their rows, so a view with a window of its own compares from them too."""
    window = contract.conversion_window_days
    asked = {
        name: (period, days)
        for name, (period, days) in asked.items()
        if days is not None and (window is None or days <= window)
    }
    if not asked:
        return None
    periods = [period for period, _ in asked.values()]
    # One range that holds every period: the rows of the rollup handed to the query.
    span = dataclasses.replace(
        periods[0], start=min(p.start for p in periods), end=max(p.end for p in periods), window_days=None
    )
    available = _available(span, contract, as_of, db)
    computing = contract.effective()
    # Each period by its position (grouping by a number, not a name: half the query's time).
    available["period_rows"] = [
        {"period": i, **_period_bounds(period, computing, as_of), "age_days": days}
        for i, (period, days) in enumerate(asked.values())
    ]
    counts = cube.answer("cohort_funnel_at_age", available, True, db)
    if counts is None:
        return None
    decided = None
    if contract.outcomes_recorded:
        decided = cube.answer("cohort_outcomes_at_age", available, True, db)
        if decided is None:
            return None
    # Every period's stages in one frame (a period with no rows has no group: counted empty).
    sums = counts.drop(columns="currencies")
    staged = _with_rates(sums, contract, key="period") if len(sums) else None
    out, currencies = {}, None
    for i, name in enumerate(asked):
        if name == "now":
            currencies = sorted({c for listed in counts["currencies"][counts["period"] == i] for c in listed})
        rows = staged[staged["period"] == i] if staged is not None else sums.iloc[0:0]
        if rows.empty:
            rows = _with_rates(sums.iloc[0:0].drop(columns="period"), contract)
        figures = headline(rows.reset_index(drop=True), contract)
        if decided is not None:
            mine = decided[decided["period"] == i]
            n_won = int(mine["n_won"].sum())
            n_decided = n_won + int(mine["n_lost"].sum())
            figures["win_rate"] = (_win_rate(n_won, n_decided, contract), n_decided)
        out[name] = figures
    return out, currencies


def _period_bounds(period: Filters, contract: Contract, as_of: dt.datetime) -> dict:
    """A period's range as a query binds it: {start_at, end_before}, timestamps at midnight."""
    params = period.params(contract, as_of)
    return {"start_at": params["start_at"], "end_before": params["end_before"]}


def changes_within(contract: Contract, first: dt.date, last: dt.date) -> list[tuple[dt.date, str]]:
    """The contract's changelog entries dated from `first` to `last` (inclusive): a rate whose
    records started across one was computed under two definitions."""
    return [(c.date, c.change) for c in contract.changelog if first <= c.date <= last]


def _first_start(db: Path | None, grain: str = "lead") -> dt.date | None:
    return options.date_bounds(db, grain)[0]

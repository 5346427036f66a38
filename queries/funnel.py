"""The funnel engine's readers: typed functions over queries/sql, one per query.

Each returns a DataFrame with the columns listed in its docstring. Counts come from DuckDB;
rates and intervals are computed here on the few aggregated rows (never on raw events).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from data import contract as contract_mod
from data.contract import Contract
from queries import executor, stats
from queries.filters import Filters


def store_facts(db: Path | None = None) -> dict[str, str]:
    """store_meta as a dict: latest_event_at, is_sample, contract_hash, sample_leads, ..."""
    df = executor.run("store_facts", db=db)
    return dict(zip(df["key"], df["value"], strict=True))


def latest_event_at(db: Path | None = None) -> dt.datetime:
    """The default as-of moment: the latest event in the store."""
    value = store_facts(db).get("latest_event_at")
    return dt.datetime.fromisoformat(value) if value else dt.datetime.now(dt.UTC).replace(tzinfo=None)


def resolve_as_of(filters: Filters, db: Path | None = None) -> dt.datetime:
    return filters.as_of or latest_event_at(db)


def is_mature(filters: Filters, contract: Contract, as_of: dt.datetime) -> bool:
    """A cohort is final only once end of range + window is on or before the as-of date."""
    window_end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min) + dt.timedelta(
        days=filters.window(contract)
    )
    return window_end <= as_of


def _with_rates(counts: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Add stage key and label, step and overall rates with 95% Wilson bounds."""
    stages = pd.DataFrame(
        {
            "stage_order": [s.order for s in contract.stages],
            "stage": contract.stage_keys,
            "label": [s.label for s in contract.stages],
        }
    )
    df = stages.merge(counts, on="stage_order", how="left")
    count_cols = [c for c in counts.columns if c.startswith("n_")]
    df[count_cols] = df[count_cols].fillna(0).astype("int64")
    first = int(df["n_reached"].iloc[0])
    prev = df["n_reached"].shift(1)
    step, step_lo, step_hi, over, over_lo, over_hi = [], [], [], [], [], []
    for k, n in enumerate(df["n_reached"]):
        base = int(prev.iloc[k]) if k > 0 else int(n)
        step.append(stats.rate(int(n), base))
        lo, hi = stats.wilson(int(n), base)
        step_lo.append(lo)
        step_hi.append(hi)
        over.append(stats.rate(int(n), first))
        lo, hi = stats.wilson(int(n), first)
        over_lo.append(lo)
        over_hi.append(hi)
    df["step_rate"], df["step_low"], df["step_high"] = step, step_lo, step_hi
    df["overall_rate"], df["overall_low"], df["overall_high"] = over, over_lo, over_hi
    return df


def cohort_funnel(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Cohort conversion: one row per stage, in funnel order (every stage, zeros included).

    Columns: stage_order, stage, label, n_reached, n_skipped, n_in_progress, n_dropped,
    step_rate, step_low, step_high (reached(k)/reached(k-1), 95% Wilson), overall_rate,
    overall_low, overall_high (reached(k)/reached(1)). The last stage has no drop-off.
    attrs: as_of, window_days, skip_policy, is_mature.
    """
    contract = contract or contract_mod.load()
    as_of = resolve_as_of(filters, db)
    counts = executor.run("cohort_funnel", filters.params(contract, as_of), db=db)
    df = _with_rates(counts, contract)
    last = df.index[-1]
    df.loc[last, ["n_in_progress", "n_dropped"]] = 0
    df.attrs.update(
        as_of=as_of,
        window_days=filters.window(contract),
        skip_policy=filters.policy(contract),
        is_mature=is_mature(filters, contract, as_of),
    )
    return df

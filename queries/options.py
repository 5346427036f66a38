"""What the global filters can be set to: the values present in the store.

The sidebar offers these, and values arriving in the URL are checked against them (anything
else is ignored), so a link can never ask for a value the store does not hold.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from queries import executor
from queries.filters import LIST_FILTERS

FILTER_ATTRIBUTES = tuple(LIST_FILTERS)  # the list filters' attributes (queries/filters.py)


def filter_options(db: Path | None = None) -> pd.DataFrame:
    """One row per (attribute, value) present on leads with a journey.

    Columns: attribute (channel, region, segment, owner), value (what the filter holds: the
    owner_id for owners), label (what a person reads: the owner's name for owners), n_leads.
    Sorted by attribute, then label.
    """
    return executor.run("filter_options", db=db)


def choices(options: pd.DataFrame, attribute: str) -> dict[str, str]:
    """value -> label for one attribute, in display order."""
    part = options[options["attribute"] == attribute]
    return dict(zip(part["value"], part["label"], strict=True))


def filter_choices(db: Path | None = None) -> dict[str, dict[str, str]]:
    """attribute -> {value: label} for every filter attribute: what the sidebar offers, built
    once per store version rather than on every run (the frame draws it on every page)."""
    opts = filter_options(db)
    return {a: choices(opts, a) for a in FILTER_ATTRIBUTES}


_BOUNDS: dict[tuple, tuple[dt.date | None, dt.date | None]] = {}  # (path, version, grain) -> bounds


def date_bounds(db: Path | None = None, grain: str = "lead") -> tuple[dt.date | None, dt.date | None]:
    """(first, last) day on which some journey of the grain started (leads, or opportunities);
    (None, None) when there is none. Remembered per store version (a stat, not a connection),
    as every comparison with the previous period and every date preset asks for it."""
    key = (str(db), executor.store_version(db), grain)
    if key not in _BOUNDS:
        row = executor.run("date_bounds", {"grain": grain}, db=db).iloc[0]
        first, last = row["first_start"], row["last_start"]
        if len(_BOUNDS) > 8:  # a version or two, each grain: older ones go
            _BOUNDS.clear()
        _BOUNDS[key] = (
            None if pd.isna(first) else pd.Timestamp(first).date(),
            None if pd.isna(last) else pd.Timestamp(last).date(),
        )
    return _BOUNDS[key]


def currencies(db: Path | None = None) -> list[str]:
    """The currency codes of the store's won amounts, most used first ('' when the source named
    none): an amount's heading names its currency when there is exactly one."""
    return list(executor.run("currencies", db=db)["currency"])


def owner_roles(db: Path | None = None) -> list[str]:
    """The roles records have owners in besides their own owner (an SDR, a closing rep), in
    name order: what per-owner views may count instead of the record's owner."""
    return executor.run("owner_roles", db=db)["role"].tolist()

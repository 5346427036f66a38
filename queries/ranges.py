"""The date range a view opens on, chosen from the data (never an empty one).

The default is the latest full calendar quarter (over by the as-of date, the data beginning in
its first month at the latest) in which cohorts start, preferring one that is mature (its conversion window has closed by the as-of date, so its numbers are final): a store
whose leads stop months before its last win still opens on its own leads, and the sample opens
on its newest final quarter. Without a full quarter, full months are tried the same way; a
store holding less than a month opens on all of its data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.contract import Contract
from queries import contracts, executor, funnel, options


@dataclass(frozen=True)
class DefaultRange:
    start: dt.date
    end: dt.date
    kind: str  # "quarter", "month" or "all"
    is_mature: bool
    reason: str  # one sentence for the sidebar: why this range

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        if self.kind == "month":
            return f"{self.start:%b %Y}"
        return "All data"


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _next_quarter(start: dt.date) -> dt.date:
    month = start.month + 3
    return dt.date(start.year + (month > 12), month - 12 if month > 12 else month, 1)


def _next_month(start: dt.date) -> dt.date:
    return dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)


def _periods(first: dt.date, last: dt.date, kind: str) -> list[tuple[dt.date, dt.date]]:
    """Full calendar periods inside [first, last], newest first."""
    start = _quarter_start(first) if kind == "quarter" else first.replace(day=1)
    step = _next_quarter if kind == "quarter" else _next_month
    out = []
    while start <= last:
        nxt = step(start)
        end = nxt - dt.timedelta(days=1)
        if start >= first and end <= last:
            out.append((start, end))
        start = nxt
    return out[::-1]


def choose(
    first_start: dt.date,
    last_start: dt.date,
    as_of: dt.datetime,
    window_days: int | None,
    start_months: set[dt.date] | None = None,
) -> DefaultRange:
    """The default range for starts in [first_start, last_start], as of `as_of`.

    `start_months` (first days of the months in which some lead started) rules out a full
    period that holds no start at all; None: every month holds starts."""

    def has_starts(start: dt.date, end: dt.date) -> bool:
        return start_months is None or any(start <= m <= end for m in start_months)

    # A period is full when the data begins in its first month (a cohort a few days short at
    # the very start of the data is still that period's) and it is over by the as-of date.
    data_from = first_start.replace(day=1)
    data_to = max(last_start, as_of.date())
    for kind in ("quarter", "month"):
        periods = [p for p in _periods(data_from, data_to, kind) if has_starts(*p)]
        for start, end in periods:
            if funnel.period_is_mature(end, window_days, as_of):
                return DefaultRange(
                    start, end, kind, True, f"the latest full {kind} whose cohort is final (mature)"
                )
        if periods:
            start, end = periods[0]
            why = "no full period is mature yet" if window_days else "there is no conversion window"
            return DefaultRange(start, end, kind, False, f"the latest full {kind} with data ({why})")
    mature = funnel.period_is_mature(last_start, window_days, as_of)
    return DefaultRange(first_start, last_start, "all", mature, "the store holds less than a full month")


def default_range(
    db: Path | None = None, contract: Contract | None = None, grain: str | None = None
) -> DefaultRange | None:
    """The default range of the store for a grain (the contract's default grain when None);
    None when no journey of it has started."""
    contract = contract or contracts.current(db)
    grain = grain or contract.default_grain
    first, last = options.date_bounds(db, grain)
    if first is None:
        return None
    months = {
        pd.Timestamp(m).date() for m in executor.run("start_months", {"grain": grain}, db=db)["month_start"]
    }
    return choose(first, last, funnel.latest_event_at(db), contract.conversion_window_days, months)

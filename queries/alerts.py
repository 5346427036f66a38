"""The contract's alert rules checked on one ISO week against the week before it.

Each rule ([[alerts]] in the contract, data.contract.AlertRule) watches a weekly number the
Weekly page shows, computed by the same functions (queries.weekly): the share of records decided
at a stage that moved on, first entries into a stage, or SLA breaches (handed-over records whose
SLA ran out in the week without an action in time). A rule fires when its comparison holds, both
weeks' bases reach its minimum n, and (with noise_test) the change is outside the noise.

`evaluate()` returns one row per rule, fired or not, with the numbers behind it; reports.alerts
writes the sentence, the webhook message and the command line for a scheduler.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd

from data.contract import AlertRule, Contract
from queries import contracts, stats, weekly

ALPHA = 0.05
COLUMNS = [
    "name",
    "metric",
    "stage",
    "comparison",
    "threshold",
    "week",
    "value",
    "previous",
    "change",
    "n",
    "n_previous",
    "p_value",
    "fired",
    "status",
]


def count_p(current: int, previous: int) -> float:
    """Two counts over equal weeks: the conditional binomial test's normal approximation (the
    Weekly page's and Funnel health's test for counts; reports.format.count_change_p)."""
    total = current + previous
    if total <= 0:
        return math.nan
    z = (current - previous) / math.sqrt(total)
    return math.erfc(abs(z) / math.sqrt(2))


def _holds(rule: AlertRule, value: float, change: float) -> bool:
    if rule.comparison == "below":
        return value < rule.threshold
    if rule.comparison == "above":
        return value > rule.threshold
    if math.isnan(change):
        return False
    if rule.comparison == "fell_by":
        return -change >= rule.threshold
    return change >= rule.threshold  # rose_by


def _row(rule: AlertRule, monday: dt.date, value, previous, change, n, n_prev, p, status=None) -> dict:
    if status is None:
        if min(n, n_prev) < rule.min_n:
            status = f"not checked: fewer than {rule.min_n} in a week's base"
        elif rule.noise_test and not (p < ALPHA):
            status = "within the noise" if _holds(rule, value, change) else "quiet"
        else:
            status = "fired" if _holds(rule, value, change) else "quiet"
    return {
        "name": rule.name,
        "metric": rule.metric,
        "stage": rule.stage,
        "comparison": rule.comparison,
        "threshold": rule.threshold,
        "week": weekly.week_label(monday),
        "value": value,
        "previous": previous,
        "change": change,
        "n": int(n),
        "n_previous": int(n_prev),
        "p_value": p,
        "fired": status == "fired",
        "status": status,
    }


def _conversion(rule: AlertRule, monday: dt.date, db: Path | None, contract: Contract) -> dict:
    rows = weekly.conversion_rows(monday, n_weeks=2, db=db, contract=contract)
    compared = weekly.compare_conversions(rows, monday, contract).set_index("stage")
    if rule.stage not in compared.index:
        return _row(
            rule, monday, math.nan, math.nan, math.nan, 0, 0, math.nan, "not checked: stage not recorded"
        )
    c = compared.loc[rule.stage]
    n, x, pn, px = int(c["n_decided"]), int(c["n_moved"]), int(c["prev_decided"]), int(c["prev_moved"])
    p = stats.two_proportion_p(x, n, px, pn) if n and pn else math.nan
    change = c["rate"] - c["prev_rate"] if n and pn else math.nan
    return _row(rule, monday, c["rate"], c["prev_rate"], change, n, pn, p)


def _entries(rule: AlertRule, monday: dt.date, db: Path | None, contract: Contract) -> dict:
    trend, _ = weekly.entries_trend(monday, n_weeks=2, db=db, contract=contract)
    h = weekly.headline(trend, monday).set_index("stage")
    if rule.stage not in h.index:
        return _row(
            rule, monday, math.nan, math.nan, math.nan, 0, 0, math.nan, "not checked: stage not recorded"
        )
    now, before = int(h.at[rule.stage, "this_week"]), int(h.at[rule.stage, "last_week"])
    return _counts(rule, monday, now, before)


def _counts(rule: AlertRule, monday: dt.date, now: int, before: int) -> dict:
    change = (now - before) / before if before else math.nan
    p = count_p(now, before)
    # A count's base is the count itself: "doubled from 2 to 4" is not news.
    return _row(rule, monday, float(now), float(before), change, now, before, p)


def _sla_breaches(rule: AlertRule, monday: dt.date, db: Path | None, contract: Contract) -> dict:
    if not contract.sla_measured:
        return _row(
            rule, monday, math.nan, math.nan, math.nan, 0, 0, math.nan, "not checked: SLA not measured"
        )
    now, _ = weekly._sla_breaches(monday, db, contract, names=False)
    before, _ = weekly._sla_breaches(monday - dt.timedelta(days=7), db, contract, names=False)
    return _counts(rule, monday, len(now), len(before))


CHECKS = {"conversion": _conversion, "entries": _entries, "sla_breaches": _sla_breaches}


def evaluate(
    monday: dt.date | None = None, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Every alert rule of the contract on the ISO week starting `monday` (default: the last
    complete week in the store) against the week before: one row per rule, in contract order.

    Columns: name, metric, stage, comparison, threshold, week, value (this week: a rate 0–1 or
    a count), previous (last week), change (rate points, or the share of last week's count),
    n, n_previous (the weeks' bases: decided records, or the counts), p_value, fired, status
    ("fired", "quiet", "within the noise", or "not checked: ..." and why).
    attrs: week_start, n_fired.
    """
    contract = contract or contracts.current(db).effective()
    if monday is None:
        _, latest = weekly.store_span(db)
        monday = weekly.default_week(latest) if latest else weekly.week_start(dt.date.today())
    monday = weekly.week_start(monday)
    rows = [CHECKS[rule.metric](rule, monday, db, contract) for rule in contract.alerts]
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs.update(week_start=monday, n_fired=int(df["fired"].sum()) if len(df) else 0)
    return df

"""Currencies: the store's dated exchange rates (written by data/rates.py into currency_rates)
and the won revenue of a cohort converted with them.

Amounts in different currencies are never added up without a rate (docs/design.md
"Currencies"). With a base currency, each amount is converted at the rate valid on the day it
was set or won: the latest rate dated on or before that day, one unit of the currency being
worth `rate` units of the base. A total is given only when every amount has such a rate;
otherwise the rates missing are named (currency, and the earliest day a rate must cover).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd

from data.contract import Contract
from queries import contracts, executor, funnel
from queries.filters import Filters


@dataclasses.dataclass(frozen=True)
class MissingRate:
    """Amounts in `currency` that no rate to the base converts; the earliest was set on `since`."""

    currency: str
    since: dt.date
    n_amounts: int


def rates(db: Path | None = None) -> pd.DataFrame:
    """The store's dated exchange rates (currency_rates.sql): currency, valid_from, base, rate,
    source; empty when none has been imported (python -m data.rates)."""
    return executor.run("currency_rates", db=db)


def bases(db: Path | None = None) -> list[str]:
    """The currencies the store's rates convert to, in order."""
    return sorted(set(rates(db)["base"]))


def check_base(base: str | None) -> str | None:
    """A base currency as queries take it: None, or a three-letter upper-case code."""
    if base is None:
        return None
    if not (
        isinstance(base, str) and len(base) == 3 and base.isascii() and base.isalpha() and base.isupper()
    ):
        raise ValueError(f"currency: expected a three-letter code such as EUR, got {base!r}")
    return base


def missing(df: pd.DataFrame) -> list[MissingRate]:
    """The rates missing for rows with n_without_rate and first_day_without_rate, per currency."""
    found: dict[str, MissingRate] = {}
    for r in df[df["n_without_rate"] > 0].itertuples():
        since = pd.Timestamp(r.first_day_without_rate).date()
        old = found.get(r.currency)
        n = int(r.n_without_rate)
        found[r.currency] = (
            MissingRate(r.currency, since, n)
            if old is None
            else MissingRate(r.currency, min(since, old.since), old.n_amounts + n)
        )
    return sorted(found.values(), key=lambda m: (m.currency, m.since))


def missing_text(base: str, missing_rates: list[MissingRate]) -> str:
    """What keeps a total in `base` from being given, in words ('' when nothing does)."""
    if not missing_rates:
        return ""
    parts = [
        f"amounts in {m.currency or '(no currency named)'} set from {m.since:%d %b %Y} on"
        for m in missing_rates
    ]
    return (
        f"no rate to {base} covers " + "; ".join(parts) + ". Import a rate for each of these currencies "
        f"to {base} dated on or before those days (python -m data.rates FILE --base {base})."
    )


def revenue_in(filters: Filters, base: str, db: Path | None = None, contract: Contract | None = None) -> dict:
    """The cohort's won revenue (funnel.revenue's amounts) in `base`, each amount at the rate
    valid on the day it was won: {"base", "total" (None unless every amount is converted),
    "by_currency" {code: amount in that currency}, "missing" [MissingRate]}."""
    base = check_base(base)
    contract = funnel.grain_view(filters, contract or contracts.current(db))
    empty = {"base": base, "total": None, "by_currency": {}, "missing": []}
    if not contract.stages or not contract.is_tracked(contract.stages[-1].key):
        return empty
    computing = contract.effective()
    as_of = funnel.resolve_as_of(filters, db)
    available = filters.params(computing, as_of)
    available.update(
        grain=filters.grain_of(contract),
        n_stages=len(computing.stages),
        is_past=as_of < funnel.latest_event_at(db),
        by=None,
        base=base,
    )
    df = executor.run("cohort_revenue_rated", executor.bind("cohort_revenue_rated", available), db=db)
    lacking = missing(df)
    return {
        "base": base,
        "total": None if lacking else float(df["revenue_base"].fillna(0).sum()),
        "by_currency": {c: float(a) for c, a in zip(df["currency"], df["revenue"], strict=True)},
        "missing": lacking,
    }

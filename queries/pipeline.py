"""The Sales leader's weekly review: the open pipeline at a date, what moved between two dates,
and how the opportunities really moved through their stages.

Readers over queries/sql/pipeline_*.sql (pipeline_states.sql is their one definition of an
opportunity's state at a moment) and stage_visits.sql / stage_moves.sql (the real stage
history of the cohort's opportunities). Counts and sums come from DuckDB; the few aggregated
rows are arranged here into plain data for the Pipeline page (pages/pipeline.py) and the summary
(reports/summary.py), which show the same numbers. Definitions in words: docs/pipeline.md and
docs/design.md ("Pipeline at a date", "Movement between two dates", "Sourced by", "Currencies",
"Stage history").

Every view counts opportunities (the opportunity grain), whatever grain the sidebar counts;
its attribute filters apply (channel, region, segment, owner). The date range applies to the
stage history only (its cohort: opportunities that started in the range); the pipeline and its
movement are about the moments T1 and T2, each the end of its day, never after the view's as-of.

Amounts are never added across currencies: every amount stays in its own currency unless a
base currency is asked for and a dated rate (data/rates.py, table currency_rates) converts each
one; a converted total with any amount left unconverted is not given (`missing_rates` says what
is missing).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pandas as pd

from data.contract import Contract
from queries import contracts, cube, currency, executor, funnel
from queries.filters import FilterError, Filters

GRAIN = "opportunity"
DEFAULT_DAYS = 7  # T1 defaults to a week before T2
MAX_ROWS = 50_000  # the most a drill-down list returns
SCREEN_ROWS = 500

# The movement buckets in the order they are applied (pipeline_states.sql): key -> (label,
# definition in words). Each opportunity is counted once, in the first that applies.
BUCKETS: dict[str, tuple[str, str]] = {
    "new": (
        "New",
        "Created after T1 and by T2: its first stage event falls between the two dates (counted "
        "here even if it closed again by T2).",
    ),
    "reopened": (
        "Re-opened",
        "Closed at T1 (won or lost) and open again at T2. Without this bucket the pipeline at T1 "
        "and the buckets would not add up to the pipeline at T2.",
    ),
    "won": ("Won", "Open at T1, and at T2 its latest stage event is the last stage (won)."),
    "lost": (
        "Lost",
        "Open at T1, and by T2 closed without a win: its latest event is a lost exit (or another "
        "exit that ended it).",
    ),
    "moved_forward": ("Moved forward", "Open at both dates, in a later stage at T2 than at T1."),
    "moved_back": ("Moved back", "Open at both dates, in an earlier stage at T2 than at T1."),
    "pushed_out": (
        "Close date pushed out",
        "Open at both dates in the same stage, with a later expected close date at T2 than at T1.",
    ),
    "pulled_in": (
        "Close date pulled in",
        "Open at both dates in the same stage, with an earlier expected close date at T2 than at T1.",
    ),
    "amount_up": (
        "Amount up",
        "Open at both dates, same stage and close date, with a larger amount at T2 (a missing "
        "amount counts as 0).",
    ),
    "amount_down": (
        "Amount down",
        "Open at both dates, same stage and close date, with a smaller amount at T2.",
    ),
    "unchanged": ("Unchanged", "Open at both dates with the same stage, close date and amount."),
}
# The waterfall's bars: the pipeline at T1, each bucket, the pipeline at T2.
BARS: dict[str, str] = {
    "start": "Pipeline at T1",
    **{k: v[0] for k, v in BUCKETS.items()},
    "end": "Pipeline at T2",
}
# Sourcing teams (docs/design.md "Sourced by"): every opportunity is one or the other, by the
# bridge's Marketing-touched flag.
SOURCES = ("marketing", "sales")
SOURCE_LABELS = {"marketing": "Marketing-sourced", "sales": "Sales-sourced"}

DEFINITIONS = {
    "state": (
        "An opportunity's state at a moment is its latest stage or exit event on or before it; "
        "its amount and close date are the latest its events carried on or before it. Open: that "
        "latest event is a stage before the last (won)."
    ),
    "pipeline": (
        "Open pipeline at a date (the end of that day): the opportunities open then, by the stage "
        "they were in, with their amounts at that date, per currency."
    ),
    "movement": (
        "Movement from T1 to T2: every opportunity open at T1, open at T2 or created between them, "
        "counted once, in the first bucket that applies: "
        + ", ".join(v[0].lower() for v in BUCKETS.values())
        + ". A bucket's amount is what it did to the open pipeline: the amounts open at T2 minus "
        "those open at T1 of its opportunities, so the pipeline at T1 plus every bucket is the "
        "pipeline at T2."
    ),
    "sourced": (
        "Sourced by Marketing when one of the opportunity's contacts (the lead on its events, or a "
        "contact on it) has an event by a Marketing-team owner before the opportunity was created "
        "(its first stage event); otherwise by the team of that first stage event's owner."
    ),
    "currencies": (
        "Amounts are never added across currencies. With a base currency chosen, each amount is "
        "converted at the rate valid on the day it was set (the latest rate dated on or before "
        "it); a total is given only when every amount has such a rate."
    ),
    "visits": (
        "Real stage history: every stage and exit event of the cohort's opportunities by the "
        "as-of. A visit to a stage begins with an event of a stage other than the opportunity's "
        "previous one (a repeated row of the same stage is the same visit) and lasts until its "
        "next stage or exit event. An opportunity that moved back and forward again counts in "
        "each stage it really visited; a skipped stage is not filled in."
    ),
    "time_in_stage": (
        "Days in the stage per visit that has ended (median, p75, p90); visits still going on at "
        "the as-of are counted apart and have no days yet."
    ),
    "backward": ("Backward move: a stage event into an earlier stage than the opportunity's previous stage."),
    "reopened": (
        "Re-open: a stage event before the last stage after the opportunity was first won or lost "
        "(the first such event each time it had been closed)."
    ),
}


class PipelineError(ValueError):
    """A pipeline view's dates or choices are not acceptable; the message says why."""


def day_end(day: dt.date) -> dt.datetime:
    """A date as a moment: the end of that day (every event of the day is on or before it)."""
    return dt.datetime.combine(day, dt.time.max)


def has_opportunities(contract: Contract) -> bool:
    """The store's data records an opportunity's own stages (the opportunity grain)."""
    return GRAIN in contract.grains


def journey(contract: Contract) -> Contract:
    """The opportunity's own tracked stages, renumbered 1..n (Contract.for_grain)."""
    return contract.for_grain(GRAIN)


def default_dates(filters: Filters, db: Path | None = None) -> tuple[dt.date, dt.date]:
    """(T1, T2): T2 is the view's as-of day (the latest event's, by default), T1 a week before."""
    return dates_ending(funnel.resolve_as_of(filters, db).date())


def dates_ending(t2: dt.date) -> tuple[dt.date, dt.date]:
    """(T1, T2) of the default movement ending on `t2`: T1 DEFAULT_DAYS before it."""
    return t2 - dt.timedelta(days=DEFAULT_DAYS), t2


def _moment(day: dt.date, as_of: dt.datetime) -> dt.datetime:
    """The end of `day`, never after the as-of: a view uses only what was known then."""
    return min(day_end(day), as_of)


def _check_day(name: str, value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if not isinstance(value, dt.date):
        raise PipelineError(f"{name}: expected a date, got {value!r}")
    return value


def _params(
    filters: Filters,
    contract: Contract,
    t1: dt.date,
    t2: dt.date,
    base: str | None,
    db: Path | None,
    **extra,
) -> dict:
    stages = journey(contract)
    last = stages.stages[-1].key if stages.stages else ""
    won = contract.stages[-1]
    as_of = funnel.resolve_as_of(filters, db)
    params = filters.params(stages, as_of)
    params.update(
        stage_keys=stages.stage_keys or [""],
        # The last stage is won only where the data records it (journey() keeps tracked stages).
        won_key=last if last == won.key and contract.is_tracked(won.key) else "",
        exit_keys=contract.exit_keys or [""],
        t1=_moment(t1, as_of),
        t2=_moment(t2, as_of),
        base=currency.check_base(base),
    )
    params.update(extra)
    return params


def _run(names: list[str], params: dict, db: Path | None) -> list[pd.DataFrame]:
    """Queries over pipeline_states, which is computed once for all of them: read from the
    states kept for these moments (queries/cube.py STATES), whatever the list filters, or
    computed for this view where none are kept (another engine)."""
    kept = cube.states(names, params, db=db)
    if kept is not None:
        return kept
    return executor.run_over("pipeline_states", names, params, db=db)


def _labels(contract: Contract) -> dict[int, tuple[str, str]]:
    """stage order (among the opportunity's tracked stages) -> (key, label)."""
    return {s.order: (s.key, s.label) for s in journey(contract).stages}


def _source(value) -> str:
    return value if isinstance(value, str) and value in SOURCES else "sales"


# --- pipeline at a date ----------------------------------------------------------------------


def by_stage(
    filters: Filters,
    at: dt.date | None = None,
    base: str | None = None,
    db: Path | None = None,
    contract: Contract | None = None,
) -> pd.DataFrame:
    """The open pipeline at the end of day `at` (default: the view's as-of day): one row per
    (stage, sourcing team, currency) of pipeline_by_stage.sql, plus stage and label.

    Columns: stage_order, stage, label, sourced_by (a team key, or None: not recorded),
    currency ('' when the source named none), n_opportunities, n_with_amount, amount (in that
    currency), amount_base (in `base`, or NaN), n_without_rate, first_day_without_rate."""
    contract = contract or contracts.current(db)
    at = _check_day("date", at) if at is not None else default_dates(filters, db)[1]
    if not has_opportunities(contract):
        return pd.DataFrame(columns=["stage_order", "stage", "label", "sourced_by", "currency"])
    (df,) = _run(["pipeline_by_stage"], _params(filters, contract, at, at, base, db), db)
    df = _stage_rows(df, contract)
    df.attrs.update(at=at, base=base)
    return df


def _stage_rows(df: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    labels = _labels(contract)
    df.insert(1, "stage", [labels[int(k)][0] for k in df["stage_order"]])
    df.insert(2, "label", [labels[int(k)][1] for k in df["stage_order"]])
    df["sourced_by"] = df["sourced_by"].astype(object).where(df["sourced_by"].notna(), None)
    return df


# --- movement between two dates --------------------------------------------------------------


def _check_dates(t1: dt.date, t2: dt.date) -> None:
    if t1 >= t2:
        raise PipelineError(f"movement: the first date ({t1}) must be before the second ({t2})")


def movement(
    filters: Filters,
    t1: dt.date | None = None,
    t2: dt.date | None = None,
    base: str | None = None,
    db: Path | None = None,
    contract: Contract | None = None,
) -> pd.DataFrame:
    """What moved from the end of day t1 to the end of day t2 (default: a week to the view's
    as-of day): the rows of pipeline_movement.sql, one per (bucket, sourcing team, currency) and
    one per (bucket, sourcing team) over every currency (is_every_currency).

    Columns: bucket, sourced_by, currency, is_every_currency, n_opportunities, n_open_t1,
    n_open_t2, amount_t1, amount_t2, amount_base_t1, amount_base_t2, n_without_rate,
    first_day_without_rate."""
    contract = contract or contracts.current(db)
    d1, d2 = default_dates(filters, db)
    t1 = _check_day("from", t1) if t1 is not None else d1
    t2 = _check_day("to", t2) if t2 is not None else d2
    _check_dates(t1, t2)
    if not has_opportunities(contract):
        return pd.DataFrame(columns=["bucket", "sourced_by", "currency", "is_every_currency"])
    (df,) = _run(["pipeline_movement"], _params(filters, contract, t1, t2, base, db), db)
    df = _movement_rows(df)
    df.attrs.update(t1=t1, t2=t2, base=base)
    return df


def _movement_rows(df: pd.DataFrame) -> pd.DataFrame:
    df["sourced_by"] = df["sourced_by"].astype(object).where(df["sourced_by"].notna(), None)
    df["currency"] = df["currency"].astype(object).where(df["currency"].notna(), None)
    return df


def opportunities(
    filters: Filters,
    bar: str,
    t1: dt.date | None = None,
    t2: dt.date | None = None,
    sourced: str | None = None,
    base: str | None = None,
    limit: int = SCREEN_ROWS,
    db: Path | None = None,
    contract: Contract | None = None,
) -> pd.DataFrame:
    """The opportunities behind one bar of the movement waterfall ('start': the pipeline at T1,
    'end': at T2, or a bucket key), of one sourcing team or all, largest amount first.

    Columns: opportunity_id, name (CRM text: plain text only), account, owner_id, sourced_by,
    bucket, created_at, status_t1, stage_t1 (label, or the exit's), is_open_t1, status_t2,
    stage_t2, is_open_t2, amount_t1, currency_t1, amount_t2, currency_t2, amount_base_t1,
    amount_base_t2, close_t1, close_t2."""
    if bar not in BARS:
        raise PipelineError(f"bar: expected one of {list(BARS)}, got {bar!r}")
    if sourced is not None and sourced not in SOURCES:
        raise PipelineError(f"sourced by: expected one of {list(SOURCES)}, got {sourced!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ROWS:
        raise FilterError(f"rows: expected a whole number from 1 to {MAX_ROWS:,}, got {limit!r}")
    contract = contract or contracts.current(db)
    d1, d2 = default_dates(filters, db)
    t1 = _check_day("from", t1) if t1 is not None else d1
    t2 = _check_day("to", t2) if t2 is not None else d2
    _check_dates(t1, t2)
    if not has_opportunities(contract):
        return pd.DataFrame(columns=["opportunity_id", "name"])
    params = _params(filters, contract, t1, t2, base, db, bar=bar, sourced=sourced, limit=limit)
    (df,) = _run(["pipeline_opportunities"], params, db)
    names = {s.key: s.label for s in contract.stages} | {e.key: e.label for e in contract.exits}
    for when in ("t1", "t2"):
        position = df.columns.get_loc(f"status_{when}") + 1
        df.insert(
            position,
            f"stage_{when}",
            [names.get(k, k) if isinstance(k, str) else None for k in df[f"status_{when}"]],
        )
    return df


# --- the page's view: plain data ---------------------------------------------------------------


@dataclasses.dataclass
class View:
    """What the Pipeline page shows for (T1, T2), one sourcing team or all, and a base currency.

    stages          one row per open stage of the opportunity's journey (every stage before the
                    last): stage, label, n_opportunities, n_marketing, n_sales,
                    n_with_amount, amount_base (NaN unless converted), and one column per
                    currency, amount:<code>
    buckets         one row per bucket, in order: bucket, label, definition, n_opportunities,
                    n_marketing, n_sales, n_open_t1, n_open_t2, n_change (open at T2 minus
                    open at T1), change_base, and change:<code> per currency
    start, end      the pipeline at T1 and at T2: {"n": int, "amounts": {code: amount},
                    "converted": amount or None}
    currencies      every currency an open amount is in, largest pipeline at T2 first
    missing_rates   what keeps a converted total from being given (empty: none, or no base)
    """

    t1: dt.date
    t2: dt.date
    as_of: dt.datetime
    sourced: str | None
    base: str | None
    stages: pd.DataFrame
    buckets: pd.DataFrame
    start: dict
    end: dict
    currencies: list[str]
    missing_rates: list[currency.MissingRate]

    @property
    def converted(self) -> bool:
        """Amounts are shown in the base currency: one was asked for and every amount is rated."""
        return self.base is not None and not self.missing_rates


def _number(value) -> float:
    """An amount of a row as a float; a missing one (no rate, say) adds nothing."""
    return 0.0 if value is None or pd.isna(value) else float(value)


def _sums(records: list[dict], key: str, column: str) -> dict:
    """{value of `key`: the sum of `column` over the records with it} (exactly rounded)."""
    found: dict = {}
    for r in records:
        found.setdefault(r[key], []).append(_number(r[column]))
    return {k: math.fsum(v) for k, v in found.items()}


def _change(records: list[dict], before: str, after: str) -> float:
    """What the records did to an amount: the sum of `after` less the sum of `before`."""
    return math.fsum(_number(r[after]) for r in records) - math.fsum(_number(r[before]) for r in records)


def view(
    filters: Filters,
    t1: dt.date | None = None,
    t2: dt.date | None = None,
    sourced: str | None = None,
    base: str | None = None,
    db: Path | None = None,
    contract: Contract | None = None,
) -> View:
    """The pipeline at T2 by stage and the movement from T1 to T2, for one sourcing team (or
    all), amounts per currency and, with `base`, converted where every amount is rated."""
    if sourced is not None and sourced not in SOURCES:
        raise PipelineError(f"sourced by: expected one of {list(SOURCES)}, got {sourced!r}")
    contract = contract or contracts.current(db)
    d1, d2 = default_dates(filters, db)
    t1 = _check_day("from", t1) if t1 is not None else d1
    t2 = _check_day("to", t2) if t2 is not None else d2
    _check_dates(t1, t2)
    if has_opportunities(contract):
        # One pass over the opportunities' events for both: the pipeline at T2 reads only the
        # states at T2, which do not depend on T1.
        raw_stages, raw_moves = _run(
            ["pipeline_by_stage", "pipeline_movement"], _params(filters, contract, t1, t2, base, db), db
        )
        # No attrs on these: pandas deep-copies a frame's attrs on every operation.
        stage_rows = _stage_rows(raw_stages, contract)
        moves = _movement_rows(raw_moves)
    else:
        stage_rows = by_stage(filters, t2, base, db=db, contract=contract)
        moves = movement(filters, t1, t2, base, db=db, contract=contract)
        stage_rows.attrs.clear()
        moves.attrs.clear()
    # The rows are a few dozen (stage or bucket, team, currency): arranged as plain records, as
    # pandas spent a few milliseconds per operation on them.
    stage_recs = stage_rows.to_dict("records")
    move_recs = moves.to_dict("records")
    if sourced is not None:
        stage_recs = [r for r in stage_recs if _source(r["sourced_by"]) == sourced]
        move_recs = [r for r in move_recs if _source(r["sourced_by"]) == sourced]
    per_currency = [r for r in move_recs if not r["is_every_currency"]]
    every = [r for r in move_recs if r["is_every_currency"]]
    # Every amount open at T2 is also a leg of the movement (each opportunity open at T2 is in
    # a bucket), so the movement's rows alone say what is unrated, at T1 and at T2.
    legs, legs_of = (per_currency, moves) if move_recs else (stage_recs, stage_rows)
    missing = [] if base is None else currency.missing(pd.DataFrame(legs, columns=list(legs_of.columns)))
    converts = bool(base) and not missing

    # Currencies, largest open pipeline at T2 first (then at T1, then by code).
    at_t1 = _sums(per_currency, "currency", "amount_t1")
    at_t2 = _sums(stage_recs, "currency", "amount")
    with_amount = {r["currency"] for r in stage_recs if r["n_with_amount"] > 0}
    with_amount |= {r["currency"] for r in per_currency if _number(r["amount_t1"]) != 0}
    currencies = sorted(with_amount, key=lambda c: (-at_t2.get(c, 0.0), -at_t1.get(c, 0.0), c))

    # The pipeline at T2, one row per open stage.
    open_stages = [s for s in journey(contract).stages if s.order < len(journey(contract).stages)] or list(
        journey(contract).stages
    )
    columns: dict[str, list] = {
        "stage_order": [s.order for s in open_stages],
        "stage": [s.key for s in open_stages],
        "label": [s.label for s in open_stages],
    }
    rows_of = {s.order: [r for r in stage_recs if int(r["stage_order"]) == s.order] for s in open_stages}
    for c in ("n_opportunities", "n_with_amount"):
        columns[c] = [sum(int(r[c]) for r in rows_of[o]) for o in columns["stage_order"]]
    for team in SOURCES:
        columns[f"n_{team}"] = [
            sum(int(r["n_opportunities"]) for r in rows_of[o] if _source(r["sourced_by"]) == team)
            for o in columns["stage_order"]
        ]
    for code in currencies:
        columns[f"amount:{code}"] = [
            math.fsum(_number(r["amount"]) for r in rows_of[o] if r["currency"] == code)
            for o in columns["stage_order"]
        ]
    # Converted only when every amount is rated: a stage with no amount then holds 0.
    columns["amount_base"] = [
        math.fsum(_number(r["amount_base"]) for r in rows_of[o]) if converts else math.nan
        for o in columns["stage_order"]
    ]
    stages = pd.DataFrame(columns).astype(
        {c: "int64" for c in columns if c.startswith("n_") or c == "stage_order"}
    )

    # The movement, one row per bucket in order.
    rows = []
    for key, (label, definition) in BUCKETS.items():
        part = [r for r in every if r["bucket"] == key]
        cur = [r for r in per_currency if r["bucket"] == key]
        row = {
            "bucket": key,
            "label": label,
            "definition": definition,
            "n_opportunities": sum(int(r["n_opportunities"]) for r in part),
        }
        for team in SOURCES:
            row[f"n_{team}"] = sum(
                int(r["n_opportunities"]) for r in part if _source(r["sourced_by"]) == team
            )
        n1 = sum(int(r["n_open_t1"]) for r in part)
        n2 = sum(int(r["n_open_t2"]) for r in part)
        row.update(n_open_t1=n1, n_open_t2=n2, n_change=n2 - n1)
        row["change_base"] = math.nan
        if converts:
            row["change_base"] = _change(cur, "amount_base_t1", "amount_base_t2")
        for code in currencies:
            row[f"change:{code}"] = _change(
                [r for r in cur if r["currency"] == code], "amount_t1", "amount_t2"
            )
        rows.append(row)
    buckets = pd.DataFrame(rows)

    def ends(amount_col: str, base_col: str, n_col: str) -> dict:
        amounts = {code: _sums(per_currency, "currency", amount_col).get(code, 0.0) for code in currencies}
        converted = math.fsum(_number(r[base_col]) for r in per_currency) if converts else None
        return {"n": sum(int(r[n_col]) for r in every), "amounts": amounts, "converted": converted}

    as_of = funnel.resolve_as_of(filters, db)
    return View(
        t1=t1,
        t2=t2,
        as_of=as_of,
        sourced=sourced,
        base=base,
        stages=stages,
        buckets=buckets,
        start=ends("amount_t1", "amount_base_t1", "n_open_t1"),
        end=ends("amount_t2", "amount_base_t2", "n_open_t2"),
        currencies=currencies,
        missing_rates=missing,
    )


def waterfall(v: View, measure: str) -> pd.DataFrame:
    """The waterfall from the pipeline at T1 to the one at T2 in one measure: 'count'
    (opportunities), a currency code (that currency's amounts only), or 'base' (every amount in
    the base currency; only when View.converted).

    One row per bar: bar (start, a bucket key, end), label, kind ('absolute' for the two
    pipelines, 'relative' for a bucket), value (the pipeline, or the bucket's change to it),
    n_opportunities (in the bar)."""
    if measure == "base" and not v.converted:
        raise PipelineError(
            "no total in the base currency: " + (missing_text(v) or "no base currency chosen")
        )
    if measure not in ("count", "base", *v.currencies):
        raise PipelineError(f"waterfall: expected count, base or one of {v.currencies}, got {measure!r}")

    def end_value(end: dict) -> float:
        if measure == "count":
            return float(end["n"])
        if measure == "base":
            return float(end["converted"])
        return float(end["amounts"].get(measure, 0.0))

    column = {"count": "n_change", "base": "change_base"}.get(measure, f"change:{measure}")
    rows = [
        {
            "bar": "start",
            "label": BARS["start"],
            "kind": "absolute",
            "value": end_value(v.start),
            "n_opportunities": v.start["n"],
        }
    ]
    for r in v.buckets.to_dict("records"):
        rows.append(
            {
                "bar": r["bucket"],
                "label": r["label"],
                "kind": "relative",
                "value": float(r[column]),
                "n_opportunities": int(r["n_opportunities"]),
            }
        )
    rows.append(
        {
            "bar": "end",
            "label": BARS["end"],
            "kind": "absolute",
            "value": end_value(v.end),
            "n_opportunities": v.end["n"],
        }
    )
    return pd.DataFrame(rows)


def missing_text(v: View) -> str:
    """What keeps a converted total from being given, in words ('' when nothing does)."""
    return currency.missing_text(v.base, v.missing_rates) if v.base else ""


# --- the real stage history of the cohort's opportunities -----------------------------------------


def _cohort(
    name: str, filters: Filters, contract: Contract, db: Path | None, **extra
) -> tuple[pd.DataFrame, Contract, dt.datetime]:
    """Run a query over the cohort of opportunities (cohort_rows.sql at the opportunity grain)."""
    f = dataclasses.replace(filters, grain=GRAIN)
    computing = journey(contract)
    as_of = funnel.resolve_as_of(f, db)
    available = f.params(computing, as_of)
    available.update(
        grain=GRAIN,
        stage_keys=computing.stage_keys or [""],
        last_stage_key=computing.stage_keys[-1] if computing.stage_keys else "",
        n_stages=len(computing.stages),
        lost_keys=contract.exit_keys_of("lost") or [""],
        exit_keys=contract.exit_keys or [""],
        is_past=as_of < funnel.latest_event_at(db),
        by=None,
    )
    available.update(extra)
    # At the latest date the cohort's stage and exit events are kept whole (queries/cube.py
    # ROWS) and a view takes those of its range and list filters.
    kept = cube.answer(name, available, f.window(contract) == contract.conversion_window_days, db)
    if kept is not None:
        return kept, computing, as_of
    return executor.run(name, executor.bind(name, available), db=db), computing, as_of


def stage_visits(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """How the cohort's opportunities really moved through their stages: one row per tracked
    stage of the opportunity, in order (stage_visits.sql).

    Columns: stage_order, stage, label, n_opportunities (with at least one real visit),
    pct_of_previous (n_opportunities ÷ the stage before's), pct_of_first (÷ the first stage's),
    n_visits, n_forward, n_back, n_lost, n_other_exit, n_current, n_opportunities_forward,
    forward_rate (n_opportunities_forward ÷ n_opportunities), median_days, p75_days, p90_days
    (days in the stage per ended visit). attrs: as_of."""
    contract = contract or contracts.current(db)
    if not has_opportunities(contract):
        return pd.DataFrame(columns=["stage_order", "stage", "label", "n_opportunities"])
    raw, computing, as_of = _cohort("stage_visits", filters, contract, db)
    frame = pd.DataFrame(
        {
            "stage_order": [s.order for s in computing.stages],
            "stage": computing.stage_keys,
            "label": [s.label for s in computing.stages],
        }
    )
    df = frame.merge(raw, on="stage_order", how="left")
    counts = [c for c in raw.columns if c.startswith("n_")]
    for c in counts:
        df[c] = df[c].fillna(0).astype("int64")
    n = df["n_opportunities"].tolist()
    first = n[0] if n else 0
    df["pct_of_previous"] = [math.nan if k == 0 or not n[k - 1] else n[k] / n[k - 1] for k in range(len(n))]
    df["pct_of_first"] = [n[k] / first if first else math.nan for k in range(len(n))]
    df["forward_rate"] = [
        f / t if t else math.nan
        for f, t in zip(df["n_opportunities_forward"], df["n_opportunities"], strict=True)
    ]
    for c in ("median_days", "p75_days", "p90_days"):
        df[c] = df[c].astype(float)
    order = ["stage_order", "stage", "label", "n_opportunities", "pct_of_previous", "pct_of_first"]
    df = df[order + [c for c in df.columns if c not in order]]
    df.attrs["as_of"] = as_of
    return df


def stage_moves(
    filters: Filters, limit: int = SCREEN_ROWS, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Every backward move and re-open of the cohort's opportunities by the as-of, newest first
    (stage_moves.sql; the same definitions as funnel.stage_history, whose counts these are).

    Columns: opportunity_id, name (CRM text: plain text only), owner_id, occurred_at, from_stage,
    from_label, came_back_from, came_back_label, to_stage, to_label, is_backward, is_reopened."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ROWS:
        raise FilterError(f"rows: expected a whole number from 1 to {MAX_ROWS:,}, got {limit!r}")
    contract = contract or contracts.current(db)
    if not has_opportunities(contract):
        return pd.DataFrame(columns=["opportunity_id", "name", "occurred_at"])
    df, _, _ = _cohort("stage_moves", filters, contract, db, limit=limit)
    names = {s.key: s.label for s in contract.stages} | {e.key: e.label for e in contract.exits}
    for key_col, label_col in (
        ("from_stage", "from_label"),
        ("came_back_from", "came_back_label"),
        ("to_stage", "to_label"),
    ):
        position = df.columns.get_loc(key_col) + 1
        df.insert(position, label_col, [names.get(k, k) if isinstance(k, str) else None for k in df[key_col]])
    for c in ("is_backward", "is_reopened"):
        df[c] = df[c].astype(bool)
    return df


def moment_filters(filters: Filters) -> Filters:
    """The part of a view's filters the pipeline depends on: its attribute filters and as-of.
    The date range and counting rules are set to fixed values, so a change of range (which only
    the stage history follows) leaves the pipeline's cached results in place."""
    day = filters.as_of.date() if filters.as_of else dt.date(2000, 1, 1)
    return dataclasses.replace(filters, start=day, end=day, window_days=None, skip_policy=None, grain=None)


def history_filters(filters: Filters) -> Filters:
    """The view's filters at the opportunity grain: what the stage history's cohort follows."""
    return dataclasses.replace(filters, grain=GRAIN)

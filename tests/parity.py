"""Parity: every query the pages run, on DuckDB and on ClickHouse (embedded chdb), row for row.

    .venv/bin/python -m tests.parity --db STORE            # default views + 12 random views
    .venv/bin/python -m tests.parity --db STORE --views 0  # default views only
    make parity                                           # on a 3,000-lead sample

Records every executor call (executor.run, run_over, run_sql) the pages' view functions make
(Funnel health cohort and flow, Teams, Content, Pipeline, Weekly meeting, Targets, and the
sidebar's look-ups) for the default views and a seeded set of random views (list filters,
custom ranges, breakdowns, both skip policies, the flow view), then runs each distinct (SQL,
values) on DuckDB and with HANDOFF_ENGINE=clickhouse (queries/engines.py) and compares the
frames: the same columns, the same rows (in order when the statement ends with an `order by`,
else as multisets), numbers to 1e-9 relative, nulls equal to nulls, timestamps equal. Prints
each differing query's name and the error or its first differing rows, and last
`parity: N of M queries equal`; exits 1 unless all are equal.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import decimal
import math
import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

REL = 1e-9
SHOW_ROWS = 5


@dataclasses.dataclass
class Call:
    """One distinct executor call: how it was made and what it names."""

    kind: str  # "run", "run_over" or "run_sql"
    name: str
    args: tuple
    kwargs: dict

    def key(self) -> str:
        return repr((self.kind, self.args, sorted(self.kwargs.items())))


@dataclasses.dataclass
class Outcome:
    name: str
    equal: bool
    detail: str = ""


# --- recording -------------------------------------------------------------------------------


@contextlib.contextmanager
def recording() -> Iterator[dict[str, Call]]:
    """Every distinct executor call made inside, in the order first made (run on DuckDB)."""
    from queries import executor

    calls: dict[str, Call] = {}
    originals = {k: getattr(executor, k) for k in ("run", "run_over", "run_sql")}

    def wrap(kind: str, fn: Callable) -> Callable:
        def recorded(*args, **kwargs):
            kwargs.pop("db", None)
            name = args[0] if kind != "run_sql" else "sql: " + " ".join(str(args[0]).split())[:60]
            if kind == "run_over":
                name = f"{args[0]} > {', '.join(args[1])}"
            call = Call(kind, name, args, kwargs)
            calls.setdefault(call.key(), call)
            return fn(*args, **kwargs)

        return recorded

    from queries import bridge, cube, funnel, options

    # What is kept per store version would be served without a query: start from none (an
    # earlier test on the same store would otherwise leave store_facts or date_bounds
    # unrecorded).
    with bridge._ACCOUNTS_LOCK:
        bridge._ACCOUNTS.clear()
    funnel._LATEST.clear()
    options._BOUNDS.clear()
    # The rollups and kept rows are DuckDB-only stand-ins for the cohort, flow, history and deal
    # queries (queries/cube.py, pinned equal to them by tests/test_cube.py): the harness records
    # the queries themselves.
    answers = cube.answers
    cube.answers = lambda *args: False
    for kind, fn in originals.items():
        setattr(executor, kind, wrap(kind, fn))
    try:
        yield calls
    finally:
        cube.answers = answers
        for kind, fn in originals.items():
            setattr(executor, kind, fn)


def _filters_for(db: Path):
    """The default filters a page opens on (the store's default range) and the sidebar's values."""
    from queries import contracts, funnel, options, ranges
    from queries.filters import Filters

    options.filter_choices()
    funnel.latest_event_at()
    contract = contracts.current()
    options.date_bounds(grain=contract.default_grain)
    chosen = ranges.default_range()
    return Filters(chosen.start, chosen.end), contract


def drive_default(errors: list[str]) -> None:
    """Each page's view on its defaults."""
    from queries import contracts

    filters, contract = _filters_for(Path())
    drive_pages(filters, contracts.current(), errors, "default")


def drive_pages(
    filters, contract, errors: list[str], label: str, by: str = "channel", flow: bool = True
) -> None:
    from queries import funnel
    from queries import targets as qt
    from reports import content_view, health_view, pipeline_view, teams_view, weekly_view
    from ui import targets_view

    def direct(fn, *args, **kwargs):
        return fn(*args, **kwargs)

    steps = [
        ("health cohort", lambda: health_view.view(filters, contract, by=by)),
        (
            "teams",
            lambda: teams_view.view(filters, by=by if by in ("channel", "region", "segment") else "channel"),
        ),
        ("content", lambda: content_view.view(filters)),
        ("pipeline", lambda: pipeline_view.page(filters, contract)),
        ("weekly", lambda: weekly_view.page(contract.effective())),
        ("targets", lambda: targets_view.page(funnel.latest_event_at(), contract.effective(), direct)),
    ]
    if flow:
        steps.insert(1, ("health flow", lambda: health_view.view(filters, contract, view="flow", by=by)))
    del qt
    for page, step in steps:
        try:
            step()
        except Exception as exc:  # a page that fails on DuckDB is reported, not compared
            errors.append(f"{label} {page}: {type(exc).__name__}: {exc}")


def random_filters(rng: random.Random, n: int):
    """n random views: filters (one to three values of some list filters), a custom range of 2
    to 52 weeks, a skip policy, a breakdown, the flow view one time in three."""
    from data.contract import SKIP_POLICIES
    from queries import funnel, options
    from queries.filters import ATTRIBUTES, LIST_FILTERS, Filters

    choices = options.filter_choices()
    first, last = options.date_bounds()
    latest = funnel.latest_event_at().date()
    last = max(last or latest, latest)
    span = max((last - first).days, 0)
    views = []
    for _ in range(n):
        lists = {}
        for attribute, field in LIST_FILTERS.items():
            held = sorted(choices.get(field, {}) or choices.get(attribute, {}))
            if held and rng.random() < 0.4:
                lists[field] = tuple(rng.sample(held, min(len(held), rng.randint(1, 3))))
        days = min(span, rng.randint(14, 364))
        start = first + dt.timedelta(days=rng.randint(0, max(span - days, 0)))
        f = Filters(start, start + dt.timedelta(days=days), skip_policy=rng.choice(SKIP_POLICIES), **lists)
        views.append((f, rng.choice(sorted(ATTRIBUTES)), rng.random() < 1 / 3))
    return views


def record(db: Path, n_views: int, seed: int) -> tuple[list[Call], list[str]]:
    """The distinct executor calls of the default views and `n_views` random ones."""
    from queries import contracts

    errors: list[str] = []
    with store_env(db, None), recording() as calls:
        drive_default(errors)
        contract = contracts.current()
        for i, (f, by, flow) in enumerate(random_filters(random.Random(seed), n_views)):
            drive_pages(f, contract, errors, f"random view {i + 1}", by=by, flow=flow)
    return list(calls.values()), errors


@contextlib.contextmanager
def store_env(db: Path, engine: str | None) -> Iterator[None]:
    """HANDOFF_DB at `db` and HANDOFF_ENGINE at `engine` (None: unset) inside; the query cache
    is not involved (the view functions are called directly)."""
    saved = {k: os.environ.get(k) for k in ("HANDOFF_DB", "HANDOFF_ENGINE")}
    os.environ["HANDOFF_DB"] = str(db)
    if engine is None:
        os.environ.pop("HANDOFF_ENGINE", None)
    else:
        os.environ["HANDOFF_ENGINE"] = engine
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --- running and comparing -------------------------------------------------------------------


def execute(call: Call) -> list[pd.DataFrame]:
    from queries import executor

    got = getattr(executor, call.kind)(*call.args, **call.kwargs)
    return got if isinstance(got, list) else [got]


def ordered(call: Call) -> list[bool]:
    """Per frame of the call, whether its statement ends with an `order by` (then rows compare
    in order)."""
    import sqlglot

    from queries import executor

    if call.kind == "run":
        texts = [executor.sql_text(call.args[0])]
    elif call.kind == "run_sql":
        texts = [call.args[0]]
    else:
        texts = [executor.sql_text(o, frozenset({call.args[0]})) for o in call.args[1]]
    out = []
    for text in texts:
        tree = sqlglot.parse_one(text, read="duckdb")
        out.append(tree.args.get("order") is not None)
    return out


def _value(v):
    """A cell as a comparable Python value: None for every null, floats for numbers (bools
    too), Timestamps for dates and times, tuples for lists."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.ndarray | list | tuple):
        return tuple(_value(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _value(x)) for k, x in v.items()))
    if isinstance(v, bool | np.bool_):
        return float(v)
    if isinstance(v, int | float | decimal.Decimal | np.integer | np.floating):
        f = float(v)
        return None if math.isnan(f) else f
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else pd.Timestamp(v)
    if isinstance(v, dt.datetime | dt.date | pd.Timestamp):
        t = pd.Timestamp(v)
        if t.tzinfo is not None:
            t = t.tz_convert("UTC").tz_localize(None)
        return t
    if isinstance(v, pd.Timedelta | dt.timedelta | np.timedelta64):
        return ("interval", pd.Timedelta(v).total_seconds())
    return v


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float):
        return a == b or abs(a - b) <= REL * max(abs(a), abs(b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _sort_key(row: tuple):
    def one(v):
        if v is None:
            return (0, "")
        if isinstance(v, float):
            return (1, f"{v:.9e}")
        return (2, repr(v))

    return tuple(one(v) for v in row)


def rows_of(df: pd.DataFrame) -> list[tuple]:
    return [tuple(_value(v) for v in row) for row in df.astype(object).itertuples(index=False, name=None)]


def compare(ours: pd.DataFrame, theirs: pd.DataFrame, in_order: bool) -> str:
    """ "" when equal, else what differs (in full for the first rows)."""
    if list(ours.columns) != list(theirs.columns):
        return f"columns differ:\n  duckdb:     {list(ours.columns)}\n  clickhouse: {list(theirs.columns)}"
    kinds = [
        (c, _kind(ours[c]), _kind(theirs[c]))
        for c in ours.columns
        if ours[c].notna().any() and theirs[c].notna().any()
    ]
    if any(k1 != k2 for _, k1, k2 in kinds):
        return "types differ: " + ", ".join(
            f"{c} {k1} on duckdb, {k2} on clickhouse" for c, k1, k2 in kinds if k1 != k2
        )
    a, b = rows_of(ours), rows_of(theirs)
    if len(a) != len(b):
        note = f"{len(a)} rows on duckdb, {len(b)} on clickhouse"
        a_s, b_s = sorted(a, key=_sort_key), sorted(b, key=_sort_key)
        missing = [r for r in a_s if not any(_same_row(r, x) for x in b_s)][:SHOW_ROWS]
        extra = [r for r in b_s if not any(_same_row(r, x) for x in a_s)][:SHOW_ROWS]
        return f"{note}\n  only on duckdb: {missing}\n  only on clickhouse: {extra}"
    if not in_order:
        a, b = sorted(a, key=_sort_key), sorted(b, key=_sort_key)
    bad = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if not _same_row(x, y)]
    if not bad:
        return ""
    if in_order and _multiset_equal(a, b):
        return f"same rows, other order ({len(bad)} rows out of place), first at row {bad[0]}"
    lines = [
        f"{len(bad)} of {len(a)} rows differ ({'in order' if in_order else 'sorted'}); columns {list(ours.columns)}"
    ]
    for i in bad[:SHOW_ROWS]:
        lines.append(f"  row {i} duckdb:     {a[i]}")
        lines.append(f"  row {i} clickhouse: {b[i]}")
    return "\n".join(lines)


def _kind(column: pd.Series) -> str:
    """What a column holds, as far as a page can tell: truth values, numbers, times or other."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "time"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    value = column.dropna().iloc[0]
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | float | decimal.Decimal | np.number):
        return "number"
    if isinstance(value, dt.date | pd.Timestamp):
        return "time"
    return "other"


def _same_row(x: tuple, y: tuple) -> bool:
    return len(x) == len(y) and all(_same(p, q) for p, q in zip(x, y, strict=True))


def _multiset_equal(a: list[tuple], b: list[tuple]) -> bool:
    a_s, b_s = sorted(a, key=_sort_key), sorted(b, key=_sort_key)
    return all(_same_row(x, y) for x, y in zip(a_s, b_s, strict=True))


def check(db: Path, calls: list[Call]) -> list[Outcome]:
    """Each call on DuckDB and on chdb, frame by frame."""
    outcomes: list[Outcome] = []
    for call in calls:
        names = [call.name] if call.kind != "run_over" else [f"{call.args[0]} > {o}" for o in call.args[1]]
        with store_env(db, None):
            ours = execute(call)
        try:
            with store_env(db, "clickhouse"):
                theirs = execute(call)
        except Exception as exc:
            message = f"{type(exc).__name__}: {' '.join(str(exc).split())[:1500]}"
            outcomes += [Outcome(n, False, message) for n in names]
            continue
        for n, o, t, in_order in zip(names, ours, theirs, ordered(call), strict=True):
            detail = compare(o, t, in_order)
            outcomes.append(Outcome(n, not detail, detail))
    return outcomes


def run(db: Path, n_views: int = 12, seed: int = 7, out=print) -> list[Outcome]:
    """Record, compare, print; the outcomes, one per query (a run_over's each outer file)."""
    calls, errors = record(db, n_views, seed)
    for e in errors:
        out(f"page error on duckdb (not compared): {e}")
    outcomes = check(db, calls)
    for o in outcomes:
        if not o.equal:
            out(f"--- {o.name}\n{o.detail}")
    n = sum(o.equal for o in outcomes)
    out(summary(n, len(outcomes)))
    return outcomes


def summary(n: int, m: int) -> str:
    return f"parity: {n} of {m} queries equal"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, required=True, help="the store to compare on (read only)")
    parser.add_argument("--views", type=int, default=12, help="random views beyond the defaults")
    parser.add_argument("--seed", type=int, default=7, help="the random views' seed")
    args = parser.parse_args(argv)
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    outcomes = run(args.db.resolve(), args.views, args.seed)
    return 0 if all(o.equal for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())

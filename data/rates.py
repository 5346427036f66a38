"""Dated exchange rates: a small CSV into the store's currency_rates, all or nothing.

    python -m data.rates FILE [--base EUR] [--db PATH]

FILE is a CSV with a header row naming `currency`, `date` and `rate`, and optionally `base`
(in any order, any case). Each row says: from `date` on, one unit of `currency` is worth `rate`
units of `base` (amount_in_base = amount * rate); a rate holds until the next one dated for
the same pair. A row without a base takes --base; a row whose base differs from --base is
refused (say which base you mean).

    currency,date,rate
    USD,2025-01-01,0.92
    USD,2025-03-01,0.95

Every row is checked first (three-letter codes, an ISO date, a positive rate, no conflicting
repeat); if any is refused, nothing is written and each refused row is listed with its line
number and reason. Otherwise the rates are written in one swap, like an import (the previous
version is kept for rollback, and the load is recorded): a new rate for a (currency, date,
base) already stored replaces it; a file that adds and changes nothing leaves the store as it
was, byte for byte. Journeys are not rebuilt: rates change no count.

Exit codes: 0 written or unchanged; 1 rows refused (nothing written); 2 bad arguments, no store,
or another import running.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import hashlib
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from data import importer, store

CODE = re.compile(r"^[A-Z]{3}$")
DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
NUMBER = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,12})?$")
MAX_RATE = 1e9
MAX_ROWS = 100_000  # a rates file is small; more lines than this is not one
COLUMNS = ("currency", "date", "rate", "base")


class RatesRefused(ValueError):
    """The file cannot be read as a rates file at all (the message says why)."""


@dataclass(frozen=True)
class Rate:
    currency: str
    valid_from: dt.date
    base: str
    rate: float
    line: int


@dataclass
class RatesReport:
    """What a rates file held and what became of it."""

    name: str
    rates: list[Rate] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    n_repeated: int = 0  # lines that repeat another line exactly
    n_added: int = 0
    n_changed: int = 0
    n_unchanged: int = 0
    swapped: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        n_lines = len(self.rates) + len(self.rejected) + self.n_repeated
        if not self.ok:
            return (
                f"{self.name}: {n_lines} rows, {len(self.rejected)} refused; nothing written "
                "(a rates file is taken whole or not at all)"
            )
        text = (
            f"{self.name}: {n_lines} rows = {len(self.rates)} rates + {self.n_repeated} repeated lines; "
            f"{self.n_added} added, {self.n_changed} changed, {self.n_unchanged} already stored"
        )
        return text + ("" if self.swapped else "; the store is unchanged")


def _code(value: str, what: str) -> tuple[str | None, str | None]:
    text = value.strip().upper()
    if not CODE.match(text):
        return None, f"{what} {value.strip()!r} is not a three-letter currency code such as EUR"
    return text, None


def parse(text: str, name: str, base: str | None) -> RatesReport:
    """Check every row of a rates file (its text); the report lists the rates and the refusals."""
    report = RatesReport(name)
    if base is not None:
        base, problem = _code(base, "--base")
        if problem:
            raise RatesRefused(problem)
    lines = text.removeprefix("\ufeff").splitlines()
    if len(lines) > MAX_ROWS + 1:
        raise RatesRefused(f"{name}: {len(lines):,} lines; a rates file holds at most {MAX_ROWS:,} rows")
    # One physical line is one row: a stray quote can never swallow the lines after it.
    rows = [(n, next(csv.reader([line]), [])) for n, line in enumerate(lines, start=1) if line.strip()]
    if not rows:
        raise RatesRefused(f"{name}: the file is empty; expected a header row: currency,date,rate")
    header_line, header = rows[0]
    names = [h.strip().lower() for h in header]
    for required in ("currency", "date", "rate"):
        if required not in names:
            raise RatesRefused(
                f"{name}, line {header_line}: the header names {header!r}; it needs the columns "
                "currency, date and rate (and optionally base)"
            )
    unknown = [h for h in names if h not in COLUMNS]
    if unknown or len(set(names)) != len(names):
        raise RatesRefused(
            f"{name}, line {header_line}: expected the columns currency, date, rate and optionally base, "
            f"each once; got {header!r}"
        )
    at = {h: i for i, h in enumerate(names)}
    seen: dict[tuple[str, dt.date, str], Rate] = {}
    for n, fields in rows[1:]:
        if len(fields) != len(names):
            report.rejected.append(
                (n, f"expected {len(names)} fields ({','.join(names)}), found {len(fields)}")
            )
            continue
        problems = []
        currency, problem = _code(fields[at["currency"]], "currency")
        problems += [problem] if problem else []
        row_base = base
        given = fields[at["base"]].strip() if "base" in at else ""
        if given:
            row_base, problem = _code(given, "base")
            if problem:
                problems.append(problem)
            elif base is not None and row_base != base:
                problems.append(f"base {row_base} differs from --base {base}; say which base you mean")
        elif base is None:
            problems.append("no base currency: give --base or fill the base column")
        day_text = fields[at["date"]].strip()
        day = None
        if DAY.match(day_text):
            with contextlib.suppress(ValueError):
                day = dt.date.fromisoformat(day_text)
        if day is None:
            problems.append(f"date {day_text!r} is not a day such as 2025-03-01")
        rate_text = fields[at["rate"]].strip()
        rate = float(rate_text) if NUMBER.match(rate_text) else math.nan
        if not (0 < rate <= MAX_RATE):
            problems.append(
                f"rate {rate_text!r} is not a positive number such as 0.92 (a point for decimals)"
            )
        if not problems and currency == row_base:
            problems.append(f"a rate from {currency} to itself is always 1; leave it out")
        if problems:
            report.rejected.append((n, "; ".join(problems)))
            continue
        key = (currency, day, row_base)
        earlier = seen.get(key)
        if earlier is not None:
            if earlier.rate == rate:
                report.n_repeated += 1
            else:
                report.rejected.append(
                    (
                        n,
                        f"another rate for {currency} to {row_base} from {day} than line {earlier.line} ({earlier.rate:g})",
                    )
                )
            continue
        seen[key] = Rate(currency, day, row_base, rate, n)
    report.rates = list(seen.values())
    if not report.rates and not report.rejected:
        raise RatesRefused(f"{name}: the file has a header but no rates")
    return report


def import_rates(path: Path, base: str | None = None, db: Path | None = None) -> RatesReport:
    """Check the rates file at `path` and, when every row is acceptable, write its rates into
    the store at `db` (the live store by default) in one swap. See the module's docstring."""
    path = Path(path)
    db = Path(db) if db else store.db_path()
    if not db.exists():
        raise FileNotFoundError(f"No store at {db}: build the sample or import data first.")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RatesRefused(f"{path.name}: not UTF-8 text; save the file as UTF-8 CSV") from None
    report = parse(text, path.name, base)
    if not report.ok:
        return report
    load_id = f"rates:{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}:{hashlib.sha256(raw).hexdigest()[:8]}"
    with importer._import_lock(db):  # one import (of any kind) per store at a time
        importer._tidy_versions(db)
        stored = _stored(db)
        for r in report.rates:
            old = stored.get((r.currency, r.valid_from, r.base))
            if old is None:
                report.n_added += 1
            elif old != r.rate:
                report.n_changed += 1
            else:
                report.n_unchanged += 1
        if not (report.n_added or report.n_changed):
            return report  # nothing new: the live file keeps its bytes and every cache
        try:
            with store.replacing(db) as con:
                store.copy_live(con, db)
                con.executemany(
                    "insert or replace into currency_rates (currency, valid_from, base, rate, source) "
                    "values (?, ?, ?, ?, ?)",
                    [(r.currency, r.valid_from, r.base, r.rate, load_id) for r in report.rates],
                )
                n_rows = len(report.rates) + report.n_repeated
                con.execute(
                    "insert into loads values ($id, $at, 'rates', $description, $n, $n_ok, 0, $n_dup)",
                    {
                        "id": load_id,
                        "at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
                        "description": f"Exchange rates from {path.name}: {report.n_added} added, "
                        f"{report.n_changed} changed",
                        "n": n_rows,
                        "n_ok": len(report.rates),
                        "n_dup": report.n_repeated,
                    },
                )
                importer._keep_pending(db)
            report.swapped = True
        finally:
            importer._tidy_versions(db)
    return report


def _stored(db: Path) -> dict[tuple[str, dt.date, str], float]:
    with store.reading(db) as con:
        try:
            rows = con.execute("select currency, valid_from, base, rate from currency_rates").fetchall()
        except duckdb.CatalogException:  # a store from before the table existed
            return {}
    return {(c, d, b): r for c, d, b, r in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.rates", description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, help="CSV with columns currency, date, rate (and optionally base)")
    parser.add_argument("--base", help="the currency the rates convert to, for rows with no base column")
    parser.add_argument(
        "--db", type=Path, default=None, help="the store (default: $HANDOFF_DB or data/handoff.duckdb)"
    )
    parser.add_argument("--show", type=int, default=20, help="refused rows to print (default 20)")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"{args.file}: no such file")
    try:
        report = import_rates(args.file, args.base, args.db)
    except (RatesRefused, FileNotFoundError, importer.ImportBusyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    for line, reason in report.rejected[: args.show]:
        print(f"  line {line}: {reason}")
    if len(report.rejected) > args.show:
        print(f"  ... {len(report.rejected) - args.show} more refused rows")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

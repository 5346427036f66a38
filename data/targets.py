"""The targets writer: validated edits of the targets table, one at a time or from a CSV file.

Every change goes through `data.edits.write()`: one transaction on the team's edits file beside
the store (never the analytics store itself, so no cached view is thrown away and no import is
waited for) that updates `targets` and appends the change to `target_history` (old and new
value, when, by whom). Anything invalid is refused with a TargetError naming the row and column
before any file is opened, so a refused edit or file writes nothing at all.

The metric vocabulary (which team may set which metric, and what it counts) lives here so the
writer and the readers (queries/targets.py) agree on it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path

from data import edits

SHARED = "shared"
MAX_VALUE = 1e12  # more than a trillion in one month's target is a typo, not a plan
MAX_NAME = 100
MAX_CSV_BYTES = 1_000_000
MAX_CSV_ROWS = 5_000
CSV_COLUMNS = ("period", "team", "metric", "value")


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # "count" (whole numbers) or "currency"
    role: str  # what it measures: content, a stage role (first, handoff, opportunity, won),
    # revenue or pipeline; queries/targets.py maps the stage roles to the contract's stages


METRICS = {
    m.key: m
    for m in (
        Metric("content_published", "Content pieces published", "count", "content"),
        Metric("leads", "Leads", "count", "first"),
        Metric("mqls", "MQLs passed to Sales", "count", "handoff"),
        Metric("opportunities", "Opportunities opened (deals pitched)", "count", "opportunity"),
        Metric("deals_won", "Deals won", "count", "won"),
        Metric("revenue", "Revenue (won deal amounts)", "currency", "revenue"),
        Metric("pipeline", "Pipeline opened (opportunity amounts)", "currency", "pipeline"),
    )
}

# Which metrics each team sets: a team's own quotas, and the targets both teams share.
TEAM_METRICS = {
    "marketing": ("content_published", "leads", "mqls"),
    "sales": ("opportunities", "deals_won", "revenue"),
    SHARED: ("revenue", "pipeline"),
}


class TargetError(ValueError):
    """A target edit or import was refused; the message says which value and why."""


@dataclass(frozen=True)
class TargetRow:
    period: dt.date
    team: str
    metric: str
    value: float


def _shown(value, limit: int = 40) -> str:
    """A cell value quoted for a message, cut short: a file's text never floods the page."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_period(value) -> dt.date:
    """A month: a date on the first of a month, or text 'YYYY-MM' / 'YYYY-MM-01'."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        day = value
    else:
        text = str(value).strip()
        try:
            day = dt.date.fromisoformat(text + "-01" if len(text) == 7 else text)
        except ValueError:
            raise TargetError(
                f"period {_shown(text)} is not a month: write it as 2026-10 or 2026-10-01"
            ) from None
    if day.day != 1:
        raise TargetError(
            f"period {day} is not the first day of a month: targets are monthly (e.g. {day:%Y-%m}-01)"
        )
    if not 2000 <= day.year <= 2100:
        raise TargetError(f"period {day} is outside 2000-2100")
    return day


def parse_value(value, metric: str) -> float:
    """A target value: a finite number, not negative, whole for counts, below MAX_VALUE."""
    if isinstance(value, bool):
        raise TargetError(f"value {_shown(value)} for {metric} is not a number")
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        try:
            value = float(text)
        except ValueError:
            raise TargetError(f"value {_shown(value)} for {metric} is not a number") from None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TargetError(f"value {_shown(value)} for {metric} is not a number") from None
    if not math.isfinite(number):
        raise TargetError(f"value for {metric} must be a finite number, got {_shown(value)}")
    if number < 0:
        raise TargetError(f"value for {metric} must not be negative, got {number:g}")
    if number >= MAX_VALUE:
        raise TargetError(
            f"value for {metric} is {number:,.0f}: more than {MAX_VALUE:,.0f} looks like a typo"
        )
    if METRICS[metric].unit == "count" and number != int(number):
        raise TargetError(f"{METRICS[metric].label} is a count: {number:g} is not a whole number")
    return number


def validate(period, team, metric, value) -> TargetRow:
    """One target, checked: a month, a known team, a metric that team sets, a sensible value."""
    team = str(team).strip().lower() if team is not None else ""
    if team not in TEAM_METRICS:
        raise TargetError(f"team {_shown(team)} is not one of {', '.join(TEAM_METRICS)}")
    metric = str(metric).strip().lower() if metric is not None else ""
    if metric not in TEAM_METRICS[team]:
        raise TargetError(
            f"metric {_shown(metric)} is not a {team} target; {team} sets {', '.join(TEAM_METRICS[team])}"
        )
    return TargetRow(parse_period(period), team, metric, parse_value(value, metric))


def _who(set_by: str) -> str:
    name = (set_by or "").strip()
    if not name:
        raise TargetError("say who is setting the target (your name): the history records it")
    if len(name) > MAX_NAME:
        raise TargetError(f"the name is longer than {MAX_NAME} characters")
    return name


def _write(rows: list[TargetRow], set_by: str, path: Path | None, now: dt.datetime | None) -> int:
    """Upsert rows and append their history in one transaction; returns the number changed."""
    at = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    changed = 0
    with edits.write(path, (edits.TARGETS,)) as con:
        for r in rows:
            key = {"period": r.period, "team": r.team, "metric": r.metric}
            old = con.execute(
                "select value from targets where period = $period and team = $team and metric = $metric",
                key,
            ).fetchone()
            old_value = old[0] if old else None
            if old_value is not None and old_value == r.value:
                continue  # unchanged: no history line for a no-op
            params = {**key, "value": r.value, "at": at, "by": set_by}
            con.execute(
                "insert or replace into targets values ($period, $team, $metric, $value, $at, $by)", params
            )
            con.execute(
                "insert into target_history values ($period, $team, $metric, $old, $value, $at, $by)",
                {**params, "old": old_value},
            )
            changed += 1
    _check_written(rows, path)
    return changed


def _check_written(rows: list[TargetRow], path: Path | None) -> None:
    """Read the values back from the edits file now live: a transaction that was silently
    dropped must not pass for a saved edit (see NOTES on DuckDB: a swallowed error inside
    BEGIN...COMMIT does that)."""
    stored = {
        (period, team, metric): value
        for period, team, metric, value in edits.read(path, "select period, team, metric, value from targets")
    }
    for r in rows:
        if stored.get((r.period, r.team, r.metric)) != r.value:
            raise TargetError(f"the {r.team} {r.metric} target for {r.period:%Y-%m} was not saved; try again")


def set_target(
    period, team, metric, value, set_by: str, path: Path | None = None, now: dt.datetime | None = None
) -> bool:
    """Set one target (validated first; nothing is written if it is refused). True if it changed."""
    row = validate(period, team, metric, value)
    return _write([row], _who(set_by), path, now) > 0


def parse_csv(data: bytes | str) -> list[TargetRow]:
    """Targets from CSV text with a header period,team,metric,value (any column order).

    Every row is checked; if any is wrong, TargetError lists each problem as
    'row N, column C: ...' (row 1 is the header) and no row is kept.
    """
    if isinstance(data, bytes):
        if len(data) > MAX_CSV_BYTES:
            raise TargetError(f"the file is larger than {MAX_CSV_BYTES // 1000} kB: split it")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TargetError("the file is not UTF-8 text: save it as CSV (UTF-8)") from None
    reader = csv.reader(io.StringIO(data))
    header = next(reader, None)
    if not header:
        raise TargetError("the file is empty: expected a header row period,team,metric,value")
    names = [h.strip().lower() for h in header]
    missing = [c for c in CSV_COLUMNS if c not in names]
    if missing:
        raise TargetError(
            f"row 1 (header): missing column(s) {', '.join(missing)}; expected period,team,metric,value"
        )
    extra = [h for h in names if h not in CSV_COLUMNS]
    if extra:
        raise TargetError(f"row 1 (header): unexpected column(s) {', '.join(_shown(h) for h in extra[:5])}")
    if len(set(names)) != len(names):
        raise TargetError("row 1 (header): a column appears twice")
    index = {c: names.index(c) for c in CSV_COLUMNS}
    rows: list[TargetRow] = []
    errors: list[str] = []
    seen: dict[tuple, int] = {}
    for n, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) + len(errors) >= MAX_CSV_ROWS:
            raise TargetError(f"more than {MAX_CSV_ROWS} rows: split the file")
        if len(cells) != len(names):
            errors.append(f"row {n}: expected {len(names)} cells, found {len(cells)}")
            continue
        cell = {c: cells[i] for c, i in index.items()}
        try:
            row = validate(cell["period"], cell["team"], cell["metric"], cell["value"])
        except TargetError as exc:
            errors.append(f"row {n}, column {_column_of(str(exc))}: {exc}")
            continue
        key = (row.period, row.team, row.metric)
        if key in seen:
            errors.append(
                f"row {n}: {row.team} {row.metric} for {row.period:%Y-%m} is already on row {seen[key]}"
            )
            continue
        seen[key] = n
        rows.append(row)
    if errors:
        shown = errors[:20]
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise TargetError("nothing was imported: " + "; ".join(shown) + more)
    if not rows:
        raise TargetError("the file has a header but no target rows")
    return rows


def _column_of(message: str) -> str:
    """The column a validate() message is about: each message starts with its column's name."""
    return next((c for c in ("period", "team", "metric") if message.startswith(c)), "value")


def import_csv(
    data: bytes | str, set_by: str, path: Path | None = None, now: dt.datetime | None = None
) -> int:
    """Import targets from CSV: all rows or none. Returns the number of targets that changed."""
    who = _who(set_by)
    return _write(parse_csv(data), who, path, now)

"""Import CRM exports into the store: all-or-nothing per file, idempotent, swapped in atomically.

    python -m data.importer FILE [FILE ...] --mapping NAME|PATH [--db PATH] [--fresh]

How an import runs (docs/import.md has the user's view):
1. Each file is read and checked row by row (data/import_read.py) into temporary staging tables
   of a new store version built beside the live one (data.store.replacing()). A file-level
   problem (empty, header only, not UTF-8, a required column missing or repeated) refuses that
   file with a message naming it.
2. The live store is copied into the new version, then each file in the mapping's order is
   settled in SQL (data/import_settle.py): identical repeats are duplicates, conflicting repeats
   are rejected together, rows whose events are already stored are duplicates, rows that
   contradict a stored event are rejected. A file with more rejected rows than the mapping
   allows is refused whole. Otherwise its new events, leads and owners are inserted, with a
   `loads` row, an `import_files` row (hash, counts) and its rejected and flagged rows in
   `import_issues`.
3. Journeys are rebuilt, the live file is kept as `<stem>.prev-1.duckdb` (older ones shift to
   -2, -3) and the new version replaces it with one os.replace(). Readers see the old version or
   the new.

Rows in = accepted + rejected + duplicate, for every file, always.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data import contract as contract_mod
from data import store
from data.contract import Contract
from data.import_mapping import Mapping, MappingError, presets
from data.import_mapping import load as load_mapping
from data.import_read import EVENT_COLUMNS, LEAD_COLUMNS, ImportRefused, Source, read_rows
from data.import_settle import IMPORT_TABLES, STAGING, FileReport, Stager, settle

KEEP_VERSIONS = 3  # <stem>.prev-1.duckdb (the version before the last import) .. prev-3

__all__ = [
    "FileReport",
    "ImportBusyError",
    "ImportRefused",
    "MappingError",
    "Source",
    "import_files",
    "preview",
    "rollback",
    "versions",
]


class ImportBusyError(RuntimeError):
    """Another import is writing the same store right now."""


@dataclass
class ImportReport:
    files: list[FileReport]
    db: Path
    swapped: bool  # a new version of the store is live
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(f.refused is None for f in self.files)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- versions and rollback ---------------------------------------------------------------------


def _prev(db: Path, n: int) -> Path:
    """handoff.duckdb -> handoff.prev-1.duckdb: same extension, so tools (and .gitignore) treat
    kept versions like the store itself."""
    return db.with_name(f"{db.stem}.prev-{n}{db.suffix}")


def versions(db: Path | None = None) -> list[Path]:
    """Kept earlier versions of the store, newest first (<stem>.prev-1.duckdb, -2, ...)."""
    db = Path(db) if db else store.db_path()
    return [p for n in range(1, KEEP_VERSIONS + 1) if (p := _prev(db, n)).exists()]


def _keep_previous(db: Path) -> None:
    """Keep the live file as prev-1 before it is replaced. A hard link costs nothing and, since
    os.replace() gives the live path a new file, the link goes on holding the old version."""
    if not db.exists():
        return
    _prev(db, KEEP_VERSIONS).unlink(missing_ok=True)
    for n in range(KEEP_VERSIONS - 1, 0, -1):
        if _prev(db, n).exists():
            os.replace(_prev(db, n), _prev(db, n + 1))
    try:
        os.link(db, _prev(db, 1))
    except OSError:  # a file system without hard links
        shutil.copy2(db, _prev(db, 1))


def rollback(db: Path | None = None) -> Path:
    """Make the version before the last import live again (one step). The undone version is
    dropped; older kept versions move up one place. Readers see the old file or the new."""
    db = Path(db) if db else store.db_path()
    with _import_lock(db):
        prev = _prev(db, 1)
        if not prev.exists():
            raise FileNotFoundError(f"No earlier version of {db.name} is kept: nothing to roll back to.")
        os.replace(prev, db)
        for n in range(2, KEEP_VERSIONS + 1):
            if _prev(db, n).exists():
                os.replace(_prev(db, n), _prev(db, n - 1))
    return db


@contextlib.contextmanager
def _import_lock(db: Path) -> Iterator[None]:
    """One import (or rollback) per store at a time: two would both write <db>.tmp."""
    db.parent.mkdir(parents=True, exist_ok=True)
    # The lock lives in the temp directory, keyed by the store's full path, so no stray file
    # appears beside the store (or in the repository).
    key = hashlib.sha256(str(db.resolve()).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"handoff-import-{key}.lock"
    with open(lock_path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ImportBusyError(
                f"Another import into {db.name} is running; wait for it to finish and try again."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- the import ---------------------------------------------------------------------------------


def import_files(
    sources: list[Source],
    mapping: Mapping | str | Path,
    db: Path | None = None,
    *,
    fresh: bool = False,
    now: dt.datetime | None = None,
    contract: Contract | None = None,
    progress: Callable[[float, str], None] | None = None,
    _before_swap: Callable[[], None] | None = None,
) -> ImportReport:
    """Import `sources` with `mapping` into the store at `db` (the live store by default).

    fresh: start from an empty store instead of adding to the current one (replaces sample data).
    A refused file writes nothing; when every file is refused the store is left untouched (not
    even rewritten). `_before_swap` is a test hook called just before the swap.
    """
    started = time.perf_counter()
    db = Path(db) if db else store.db_path()
    contract = contract or contract_mod.load()
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping, contract)
    now = now or _now()
    say = progress or (lambda fraction, text: None)
    reports = [FileReport(name=s.name) for s in sources]
    stamp = _now().strftime("%Y%m%dT%H%M%S")

    class _AllRefused(Exception):
        pass

    try:
        with _import_lock(db), store.replacing(db) as con:
            con.execute("set preserve_insertion_order = false")
            con.execute(STAGING)
            stager = Stager(con)
            staged: list[tuple[int, FileReport]] = []
            total = max(sum(s.size for s in sources), 1)
            done = 0
            for file_no, (source, report) in enumerate(zip(sources, reports, strict=True)):
                report.sha256 = source.sha256()
                base = done

                def tick(frac: float, base=base, source=source) -> None:
                    say(0.65 * (base + frac * source.size) / total, f"Reading {source.name}")

                try:
                    spec, rows = read_rows(source, mapping, contract, now, progress=tick)
                    report.role = spec.role
                    for outcome in rows:
                        stager.add(file_no, outcome)
                    stager.flush()
                    stager.flush_owners()
                    staged.append((file_no, report))
                except ImportRefused as exc:
                    report.refused = str(exc)
                    con.execute("delete from st_rows where file_no = $f", {"f": file_no})
                    con.execute("delete from st_events where file_no = $f", {"f": file_no})
                    con.execute("delete from st_leads where file_no = $f", {"f": file_no})
                    stager.rows, stager.events, stager.leads, stager.owners = [], [], [], {}
                done += source.size
            if not staged:
                raise _AllRefused
            say(0.7, "Copying the current store")
            if fresh or not db.exists():
                store.create_schema(con)
            else:
                con.execute("attach " + store.sql_literal(db) + " as src (read_only)")
                con.execute("copy from database src to store")
                con.execute("detach src")
                store.create_schema(con)  # a store written by an earlier version gets what it lacks
            con.execute(IMPORT_TABLES)
            # Settle files in the mapping's order, so that deals are known before their history.
            order = {s.role: i for i, s in enumerate(mapping.files)}
            staged.sort(key=lambda fr: order.get(fr[1].role, 99))
            n_written = 0
            for file_no, report in staged:
                say(0.75, f"Checking {report.name} against the store")
                # Unique even when the same file is imported twice in one second.
                report.load_id = f"import:{stamp}:{file_no + 1}:{report.sha256[:8]}:{uuid.uuid4().hex[:6]}"
                settle(con, file_no, report, mapping, contract, now)
                n_written += report.refused is None
            for table in ("st_rows", "st_events", "st_leads", "st_owners"):
                con.execute(f"drop table {table}")  # staging is done: free its memory
            if not n_written:
                raise _AllRefused
            say(0.85, "Rebuilding journeys")
            store.rebuild_journey(con, contract)
            if fresh:
                store.set_meta(con, "is_sample", "false")
            store.set_meta(con, "last_import_at", _now().isoformat(sep=" "))
            if _before_swap:
                _before_swap()
            say(0.95, "Swapping in the new version")
            _keep_previous(db)
    except _AllRefused:
        return ImportReport(reports, db, swapped=False, seconds=time.perf_counter() - started)
    say(1.0, "Done")
    return ImportReport(reports, db, swapped=True, seconds=time.perf_counter() - started)


def preview(
    source: Source,
    mapping: Mapping | str | Path,
    n: int = 20,
    now: dt.datetime | None = None,
    contract: Contract | None = None,
) -> tuple[str, pd.DataFrame]:
    """The first `n` data rows of `source` as the mapping reads them: (file role, one row per
    event, or per row when it maps to none). Columns: row_number, status ('ok', 'rejected',
    'flagged', 'ignored'), problem, then the event and lead columns. Raises ImportRefused."""
    contract = contract or contract_mod.load()
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping, contract)
    spec, rows = read_rows(source, mapping, contract, now or _now(), limit=n)
    out = []
    for o in rows:
        base = {"row_number": o.row_number}
        p = o.parsed
        if p is None:
            out.append({**base, "status": "rejected", "problem": f"{o.column or 'row'}: {o.reason}"})
            continue
        status = "ignored" if p.ignored else ("flagged" if p.flags else "ok")
        lead = dict(zip(LEAD_COLUMNS, p.lead, strict=True)) if p.lead else {}
        lead.pop("owner_id", None)
        lead = {("lead_created_at" if k == "created_at" else k): v for k, v in lead.items()}
        events = p.events or [None]
        for e in events:
            row = {**base, "status": status, "problem": "; ".join(p.flags) or None}
            if e is not None:
                row.update(zip(EVENT_COLUMNS, e, strict=True))
            row.update({k: v for k, v in lead.items() if k != "lead_id" or "lead_id" not in row})
            out.append(row)
    cols = ["row_number", "status", "problem", *EVENT_COLUMNS, "lead_created_at", *LEAD_COLUMNS[2:9]]
    df = pd.DataFrame(out)
    df = df.reindex(columns=[c for c in cols if c in df.columns or c in cols[:3]])
    return spec.role, df


# --- command line -------------------------------------------------------------------------------


def _bar(stream) -> Callable[[float, str], None]:
    last = {"text": None, "pct": -1}
    tty = stream.isatty()

    def show(fraction: float, text: str) -> None:
        pct = int(fraction * 100)
        if pct == last["pct"] and text == last["text"]:
            return
        if not tty and text == last["text"] and pct // 10 == last["pct"] // 10:
            return  # in a log, one line per 10%
        last.update(text=text, pct=pct)
        filled = int(fraction * 30)
        line = f"[{'#' * filled}{'.' * (30 - filled)}] {pct:3d}% {text}"
        stream.write(("\r" + line.ljust(100)) if tty else line + "\n")
        stream.flush()

    return show


def main(argv: list[str] | None = None) -> int:
    names = ", ".join(presets())
    parser = argparse.ArgumentParser(prog="python -m data.importer", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="CSV export file(s)")
    parser.add_argument("--mapping", required=True, help=f"a preset ({names}) or the path of a mapping .toml")
    parser.add_argument(
        "--db", type=Path, default=None, help="the store (default: $HANDOFF_DB or data/handoff.duckdb)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="start from an empty store instead of adding to it"
    )
    parser.add_argument("--show", type=int, default=10, help="rejected rows to print per file (default 10)")
    args = parser.parse_args(argv)
    for f in args.files:
        if not f.is_file():
            parser.error(f"{f}: no such file")
    try:
        report = import_files(
            [Source.from_path(f) for f in args.files],
            args.mapping,
            args.db,
            fresh=args.fresh,
            progress=_bar(sys.stderr),
        )
    except (MappingError, ImportBusyError, contract_mod.ContractError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stderr.write("\n")
    for f in report.files:
        print(f.summary())
        rejected = f.issues[f.issues["severity"] == "rejected"] if len(f.issues) else f.issues
        for r in rejected.head(args.show).itertuples():
            column = f"column {r.column_name!r}" if isinstance(r.column_name, str) else "row"
            print(f"  row {r.row_number}, {column}: {r.reason}")
        if len(rejected) > args.show:
            print(
                f"  ... {len(rejected) - args.show:,} more rejected rows: see the Data page or table import_issues"
            )
    where = report.db
    if report.swapped:
        kept = f"; the previous version is kept as {_prev(where, 1).name}" if versions(where) else ""
        print(f"Store {where} updated in {report.seconds:.1f} s{kept}.")
    else:
        print(f"Store {where} unchanged ({report.seconds:.1f} s).")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

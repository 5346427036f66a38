"""The team's edits: meeting notes, targets and target history, in a DuckDB file of their own.

The analytics store (data/store.py) holds what a CRM export or the sample says and is replaced
whole by every import. What people type into the dashboard is not analytics data, so it lives
beside the store, never in it:

    handoff.duckdb                  the analytics store (events, leads, journeys, loads, ...)
    handoff.edits.duckdb            meeting_notes, targets, target_history, edits_meta (edits.sql)
    handoff.edits.prev-1.duckdb     the edits file as it was before the last save (-2, -3 older)

Saving an edit never touches the analytics store, so the store's version (the cache key of every
result and drawn section) stays as it was and nobody's cached views are thrown away. An import
never touches this file, so an edit made while an import runs is neither lost nor kept waiting.

Writes are copy-on-write, like imports: under a lock of its own (store.writer_lock on this
file's path), the live edits file is copied to `<edits>.tmp`, changed in one transaction and
swapped in with os.replace(). Readers (queries/executor.py attaches this file READ_ONLY next to
the store) see the old file or the new one, never a lock and never half an edit; a failed save
leaves the live file exactly as it was. The file is a few MB (3.5 MB after 200 saves on the
sample, not growing), and a whole save takes about 0.13 s on 2 cores. The file replaced is kept as a copy (never a hard link: nothing may change a
backup) in `<stem>.edits.prev-1.duckdb`, older ones shifting to -2 and -3.

Each save also gives the kind of edit it changed a new version (`version:notes`,
`version:targets` in edits_meta): a cached result that reads only targets is still served after
a note is saved (queries/cache.py).

Stores written before this file existed hold tables of the same names. Until the first edit is
saved, readers read those tables from the store (queries/executor.py); the first save creates
this file from their rows, and from then on they are never read again (the store is not
rewritten for it: an import simply copies them along, untouched).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb

from data import store

HERE = Path(__file__).parent
KEEP_VERSIONS = 3  # <stem>.edits.prev-1.duckdb (before the last save) .. prev-3
WAIT_SECONDS = 10.0  # another save holds the lock for about 0.1 s; an import never takes it

# Each table of the edits file and the kind of edit it belongs to: a query's cache key carries
# the version of the kinds it reads (queries/cache.py). Fixed names: used as identifiers.
TABLES = {"meeting_notes": "notes", "targets": "targets", "target_history": "targets"}
NOTES, TARGETS = "notes", "targets"
KINDS = (NOTES, TARGETS)


def path_for(db: Path) -> Path:
    """The edits file of the store at `db`: handoff.duckdb -> handoff.edits.duckdb, same folder."""
    db = Path(db)
    return db.with_name(f"{db.stem}.edits{db.suffix}")


def kept(db: Path, n: int) -> Path:
    """handoff.duckdb -> handoff.edits.prev-<n>.duckdb: the edits file before the n-th last save."""
    db = Path(db)
    return db.with_name(f"{db.stem}.edits.prev-{n}{db.suffix}")


def versions_kept(db: Path | None = None) -> list[Path]:
    """Kept earlier edits files, newest first."""
    db = Path(db) if db else store.db_path()
    return [p for n in range(1, KEEP_VERSIONS + 1) if (p := kept(db, n)).exists()]


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The edits tables in the connection's current database (idempotent)."""
    con.execute((HERE / "edits.sql").read_text(encoding="utf-8"))


def legacy_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """The edits tables an older store attached as `catalog` still holds (in TABLES order)."""
    found = {
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = $db and schema_name = 'main'",
            {"db": catalog},
        ).fetchall()
    }
    return [t for t in TABLES if t in found]


def copy_legacy(con: duckdb.DuckDBPyConnection, source: str, target: str) -> list[str]:
    """Copy the rows of the edits tables the store attached as `source` still holds into the
    (empty) edits tables of `target`; returns the tables copied. Columns are matched by name."""
    tables = legacy_tables(con, source)
    for table in tables:  # catalog names are ours, table names from TABLES: never input
        sql = f"insert into {target}.main.{table} by name select * from {source}.main.{table}"  # noqa: S608
        con.execute(sql)
    return tables


@contextlib.contextmanager
def write(
    db: Path | None = None,
    kinds: tuple[str, ...] = (),
    *,
    fresh: bool = False,
    wait_seconds: float = WAIT_SECONDS,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """One save: a read-write connection whose current database is a copy of the edits file.

    Statements run in one transaction. On success the transaction commits, each of `kinds`
    gets a new version, the live file is kept as prev-1 and the copy swapped in; on any error
    the copy is removed and the live file is left exactly as it was.

    Without an edits file yet, the copy starts from the tables an older store at `db` still
    holds (see the module doc). fresh=True starts from empty tables instead (the sample build).
    """
    db = Path(db) if db else store.db_path()
    live = path_for(db)
    live.parent.mkdir(parents=True, exist_ok=True)
    # StoreLockedError when another save holds the file longer than `wait_seconds`.
    busy = f"{live.name} is being rewritten by another save (a note or a target); try again in a moment."
    with store.writer_lock(live, wait_seconds=wait_seconds, busy=busy):
        yield from _write(db, live, kinds, fresh)


def _write(db: Path, live: Path, kinds: tuple[str, ...], fresh: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    tmp = live.with_name(live.name + ".tmp")
    for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
        stale.unlink(missing_ok=True)
    migrate = not fresh and not live.exists()
    if not fresh and live.exists():
        # A copy, not a link: the live file's inode stays exactly as it is (it becomes prev-1).
        shutil.copyfile(live, tmp)
    con = duckdb.connect(config=store.NO_AUTOLOAD)
    try:
        if live.exists() and not fresh:
            _check_readable(con, live)
        con.execute("attach " + store.sql_literal(tmp) + " as edits")
        con.execute("use edits")
        create_schema(con)  # an edits file from an earlier version gets the tables it lacks
        if migrate and db.exists():
            store.attach_read_only(con, db, "legacy")
            copied = copy_legacy(con, "legacy", "edits")
            con.execute("detach legacy")
            if copied:
                _set_meta(con, "migrated_from", f"{db.name}: {', '.join(copied)}")
        con.execute("begin")
        yield con
        for kind in kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown kind of edit {kind!r}")
            _set_meta(con, f"version:{kind}", uuid.uuid4().hex)
        con.execute("commit")
        con.execute("checkpoint edits")
        con.execute("use memory")
        con.execute("detach edits")
        con.close()
        _keep_previous(db, live)
        os.replace(tmp, live)
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        raise


def _check_readable(con: duckdb.DuckDBPyConnection, live: Path) -> None:
    """Refuse to build on an edits file DuckDB cannot read (StoreDamagedError, naming it)."""
    store.attach_read_only(con, live, "current")
    con.execute("detach current")


def _set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("insert or replace into edits_meta values ($key, $value)", {"key": key, "value": value})


def _keep_previous(db: Path, live: Path) -> None:
    """Keep the live edits file as prev-1 (a copy) before it is replaced; older ones shift."""
    if not live.exists():
        return
    kept(db, KEEP_VERSIONS).unlink(missing_ok=True)
    for n in range(KEEP_VERSIONS - 1, 0, -1):
        if kept(db, n).exists():
            os.replace(kept(db, n), kept(db, n + 1))
    partial = kept(db, 1).with_name(kept(db, 1).name + ".tmp")
    shutil.copy2(live, partial)
    os.replace(partial, kept(db, 1))


def start_afresh(db: Path, targets: list[tuple]) -> Path:
    """Replace the edits file of `db` with one holding only `targets` (rows of period, team,
    metric, value, set_at, set_by) and their first history lines: the sample build's. The
    file replaced is kept as prev-1. Returns the edits file's path."""
    with write(db, KINDS, fresh=True) as con:
        con.executemany("insert into targets values (?, ?, ?, ?, ?, ?)", targets)
        con.execute(
            "insert into target_history "
            "select period, team, metric, null, value, set_at, set_by from targets order by all"
        )
    return path_for(db)


def read(db: Path | None, sql: str, params: dict | None = None) -> list[tuple]:
    """Rows of a fixed statement over the live edits file as it is on disk now (a writer's check
    after its save; the dashboard reads through queries/executor.py). [] without a file."""
    live = path_for(Path(db) if db else store.db_path())
    if not live.exists():
        return []
    con = duckdb.connect(config=store.NO_AUTOLOAD)
    try:
        store.attach_read_only(con, live, "edits")
        con.execute("use edits")
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()

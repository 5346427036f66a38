"""The store: where the DuckDB file lives, how it is created, and how derived tables are rebuilt.

Writers build a new file beside the live one and `os.replace()` it over the live path, so a
reader (which keeps the file it attached read-only, per version: queries/executor.py) sees the
old version or the new, never a mix, and never a lock error. The team's edits (notes, targets) live in a file of their own beside it
(data/edits.py), so saving one never rewrites this one.

`diagnose()` is the one place that tells why a store file could not be opened or read: locked by
a writer (wait), or damaged, not a DuckDB file at all, or refused by the OS (waiting cannot help).

    python -m data.store sample [--leads 50000] [--seed 7] [--db PATH]   build the sample store
    python -m data.store rebuild [--db PATH]                              rebuild journey tables
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from data import contract as contract_mod
from data import contract_store, incremental, journey, locks, sample

HERE = Path(__file__).parent
ENV_DB = "HANDOFF_DB"
DEFAULT_DB = HERE / "handoff.duckdb"


def db_path() -> Path:
    """The live store: $HANDOFF_DB, or data/handoff.duckdb in the repository."""
    return _resolved(os.environ.get(ENV_DB) or str(DEFAULT_DB))


@functools.lru_cache(maxsize=64)
def _resolved(path: str) -> Path:
    # Every query asks for the store's path; resolving it walks the file system each time.
    return Path(path).resolve()


def sql_literal(path: Path) -> str:
    """A file path as a SQL string literal: ATTACH takes no bound parameter. Paths come from
    our own configuration (environment or default), never from a user's upload."""
    return "'" + str(path).replace("'", "''") + "'"


def read_sql(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(read_sql("schema.sql"))


def rebuild_journey(
    con: duckdb.DuckDBPyConnection,
    contract: contract_mod.Contract | str | None = None,
    source: str = "build",
    changes: incremental.Changes | None = None,
) -> contract_mod.Contract:
    """Rebuild the derived journey tables from events under the store's contract; returns it.

    `contract` (a Contract or a contract's text), when given, is first made the store's
    contract in force (a new version, unless it is the same). The journeys follow the stages the
    events record (the contract's tracked stages); store_meta keeps which version and which
    stages and exits they were built with, so a reader can check that they belong together.

    `changes`: what an import changed (data/incremental.py snapshot, then settled): the derived
    tables are then rebuilt for the records it touched only, when that is exact, else in full;
    changes.outcome says which, and why."""
    if contract is not None:
        contract_store.ensure(con, contract, source)
    found = contract_store.latest(con)
    if found is None:  # a store from before contracts were kept in it: adopt the default
        contract_store.save(con, contract_mod.default_text(), "default")
        found = contract_store.latest(con)
    version, text = found
    full = contract_mod.loads(text, origin="the store's contract")
    stages, exits = contract_store.tracked_keys(con, full)
    tracked = full.with_tracked(frozenset(stages), frozenset(exits))
    # What the derived tables are built with (contract version and hash, tracked stages and
    # exits): an incremental rebuild requires the store's to be the same, then they are kept.
    built = incremental.expected_meta(version, contract_mod.text_hash(text), stages, exits)
    if changes is None:
        journey.rebuild(con, tracked)
    else:
        changes.outcome = incremental.rebuild(con, tracked, changes, built)
        if not changes.outcome.incremental:
            journey.rebuild(con, tracked)
    set_meta(con, incremental.META_CODE, incremental.code_digest())
    for key, value in built.items():
        set_meta(con, key, value)
    latest = con.execute("select max(occurred_at) from events").fetchone()[0]
    set_meta(con, "latest_event_at", latest.isoformat(sep=" ") if latest else "")
    return tracked


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("insert or replace into store_meta values ($key, $value)", {"key": key, "value": value})


class StoreLockedError(RuntimeError):
    """Another writer (an import, a sample build) holds the store; the message says what to do."""


# --- why a store file cannot be read -----------------------------------------------------------

DUCKDB_MAGIC = b"DUCK"  # bytes 8 to 12 of every DuckDB database file
LOCKED, DAMAGED, NOT_DUCKDB, UNREADABLE = "locked", "damaged", "not_duckdb", "unreadable"


@dataclass(frozen=True)
class StoreProblem:
    """Why `path` could not be opened or read. kind: LOCKED (a writer holds it: wait and it
    passes), DAMAGED (a DuckDB file that cannot be read: truncated, a bad checksum), NOT_DUCKDB
    (empty, text, an SQLite file...), UNREADABLE (the operating system refuses: permissions, a
    directory). detail: DuckDB's or the system's own words."""

    kind: str
    path: Path
    detail: str

    def what(self, detail: bool = True) -> str:
        """What is wrong, in one sentence naming the file (no advice: that depends on the file);
        with the system's own words unless detail=False."""
        name = self.path.name
        words = f" ({self.detail})" if detail else ""
        if self.kind == NOT_DUCKDB:
            return f"{name} is not a DuckDB database (it is empty or another kind of file)."
        if self.kind == UNREADABLE:
            return f"{name} cannot be opened: the system refuses it{words}."
        if self.kind == LOCKED:
            return f"{name} is held by another program writing it in place."
        return f"{name} is damaged: DuckDB cannot read it{words}."


class StoreDamagedError(RuntimeError):
    """A store (or edits) file that waiting will not fix: damaged, not DuckDB, or unreadable.
    `problem` says which file and why; the pages add what to do (ui/frame.py)."""

    def __init__(self, problem: StoreProblem) -> None:
        self.problem = problem
        super().__init__(
            f"{problem.what()} Nothing was changed. Roll back to a kept version "
            f"({problem.path.stem}.prev-1{problem.path.suffix}) or rebuild it (docs/deploy.md)."
        )


def diagnose(path: Path, exc: BaseException) -> StoreProblem | None:
    """What an error met opening or reading the store file `path` says about that file.

    A lock is DuckDB's "Could not set lock" (the only lock message it has). Anything else is
    judged by looking at the file itself: not a regular readable file (UNREADABLE), no DuckDB
    header (NOT_DUCKDB), or a DuckDB file whose blocks cannot be read (DAMAGED). None when the
    error is not about the file (a query's own mistake, a missing table): the caller re-raises it.
    """
    text = str(exc)
    if not isinstance(exc, duckdb.Error):
        return None
    if isinstance(exc, duckdb.IOException) and "Could not set lock" in text:
        return StoreProblem(LOCKED, Path(path), text)
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except FileNotFoundError:
        return None  # missing: the callers say so in their own words
    except IsADirectoryError:
        return StoreProblem(UNREADABLE, Path(path), "it is a directory, not a file")
    except OSError as err:
        return StoreProblem(UNREADABLE, Path(path), err.strerror or str(err))
    if head[8:12] != DUCKDB_MAGIC:
        return StoreProblem(NOT_DUCKDB, Path(path), text)
    # A DuckDB file: an I/O error reading it (truncated: "could not read enough bytes") or a
    # block that fails its checksum ("Corrupt database file", raised as the base duckdb.Error).
    if isinstance(exc, duckdb.IOException | duckdb.SerializationException) or "Corrupt database" in text:
        return StoreProblem(DAMAGED, Path(path), text)
    return None


# DuckDB must never fetch an extension from the network to open a file (an SQLite file made it
# try to download sqlite_scanner): every connection we open to a store file says so.
NO_AUTOLOAD = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def attach_read_only(con: duckdb.DuckDBPyConnection, path: Path, alias: str, attempts: int = 10) -> None:
    """ATTACH `path` READ_ONLY as `alias`, retrying only while a writer holds a lock on it.

    A damaged, foreign or unreadable file raises StoreDamagedError at once (no retry can fix
    it); a lock still held after `attempts` (about a second for 10) re-raises DuckDB's lock
    error for the caller to report as busy. Anything else is re-raised as it is.
    """
    delay = 0.02
    for attempt in range(attempts):
        try:
            con.execute("attach " + sql_literal(path) + f" as {alias} (read_only)")
            return
        except duckdb.Error as exc:
            problem = diagnose(path, exc)
            if problem is None:
                raise
            if problem.kind != LOCKED:
                raise StoreDamagedError(problem) from exc
            if attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)


@contextlib.contextmanager
def writer_lock(path: Path, wait_seconds: float | None = None, busy: str | None = None) -> Iterator[None]:
    """One writer per file at a time, across processes.

    Without it, a change written to the live file while another writer builds the next version
    would be lost when that version is swapped in. Keyed by the file's full path: the store and
    its edits file (data/edits.py) have a lock each, so an edit never waits for an import. The
    lock file lives in the temp directory, so nothing appears beside the store; the kernel
    releases it if the writer dies. wait_seconds=None waits as long as it takes; `busy` is the
    message when the wait runs out.
    """
    message = busy or (
        f"{Path(path).name} is being rewritten (an import or a sample build); try again when it has finished."
    )
    with locks.held(path, "store", wait_seconds, busy=lambda: StoreLockedError(message)):
        yield


@contextlib.contextmanager
def reading(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short read-only connection to the store at `path` for the command-line tools (the
    dashboard reads through queries/executor.py instead)."""
    con = duckdb.connect()
    try:
        con.execute("attach " + sql_literal(Path(path)) + " as store (read_only)")
        con.execute("use store")
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Write a whole new store at `path.tmp`, then swap it in atomically on success.

    On any error the temporary file is removed and the live store is left exactly as it was.
    Holds the writer lock throughout, so no small edit can slip in between the copy of the live
    store and the swap.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(path):
        yield from _replacing(path)


def _replacing(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    tmp = path.with_name(path.name + ".tmp")
    for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
        stale.unlink(missing_ok=True)
    # An in-memory connection that attaches the new file as `store`, so that copies between
    # attached databases (rebuild) name both sides.
    con = duckdb.connect()
    con.execute("attach " + sql_literal(tmp) + " as store")
    con.execute("use store")
    try:
        yield con
        con.execute("checkpoint store")
        con.execute("use memory")
        con.execute("detach store")
        con.close()
        # A log left beside the live file (a writer stopped before its checkpoint) belongs to
        # the old file: beside the new one DuckDB refuses it ("WAL does not match database
        # file"). The new file was copied through DuckDB with the log's changes (copy_live),
        # so it goes first; a reader opening the old file meanwhile reads it as checkpointed.
        path.with_name(path.name + ".wal").unlink(missing_ok=True)
        os.replace(tmp, path)
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise


def copy_live(con: duckdb.DuckDBPyConnection, live: Path) -> str:
    """Make the store being written by replacing() (`store` on `con`) a copy of the live file
    at `live`, with every table the schema has; returns how it was copied ("file" or "tables").

    A checkpointed DuckDB file is a consistent database on its own, and the writer lock that
    replacing() holds keeps any other writer out, so when the live file has no write-ahead log
    its bytes are copied as they are: about a second for a 1M-lead store, where rewriting it
    table by table (`copy from database`) took 15-40 s, most of a small import's time. With a
    log beside it (a writer stopped before its checkpoint), the log's changes are only seen
    through DuckDB, so the tables are copied through it. Either way the new file is written
    before anything else is; the live file is only read."""
    live = Path(live)
    tmp = Path(con.execute("select path from duckdb_databases() where database_name = 'store'").fetchone()[0])
    how = "tables"
    if not live.with_name(live.name + ".wal").exists():
        con.execute("use memory")
        con.execute("detach store")
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        shutil.copyfile(live, tmp)
        con.execute("attach " + sql_literal(tmp) + " as store")
        con.execute("use store")
        how = "file"
    else:
        con.execute("attach " + sql_literal(live) + " as src (read_only)")
        con.execute("copy from database src to store")
        con.execute("detach src")
    # A store written by an earlier version gets the tables it lacks (schema.sql is idempotent).
    create_schema(con)
    return how


@contextlib.contextmanager
def small_write(
    path: Path | None = None, attempts: int = 40, wait_seconds: float = 10.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short read-write transaction on the live store, in place: for maintenance and test
    fixtures only. It changes the store's version (every cached result is recomputed), so the
    dashboard never uses it: team edits go to their own file (data/edits.py), loads through
    replacing().

    It waits up to `wait_seconds` for a running import to finish (then raises
    StoreLockedError). This process's read-only handles of the file are closed first
    (WRITE_IN_PLACE_HOOKS); another process's readers hold it while they read, so the file lock
    is retried briefly; a damaged file raises StoreDamagedError at once. The transaction commits
    on success and rolls back on any error, leaving the store as it was.
    """
    path = Path(path) if path else db_path()
    if not path.exists():
        raise FileNotFoundError(f"No store at {path}: build the sample or import data first.")
    with writer_lock(path, wait_seconds=wait_seconds):
        yield from _small_write(path, attempts)


# Called with the file's path before it is opened read-write in place: the dashboard's readers
# (queries/executor.py) keep a read-only handle per store version, which DuckDB would not let a
# read-write connection in the same process open the file beside.
WRITE_IN_PLACE_HOOKS: list[Callable[[Path], None]] = []


def _small_write(path: Path, attempts: int) -> Iterator[duckdb.DuckDBPyConnection]:
    delay = 0.02
    for attempt in range(attempts):
        for hook in WRITE_IN_PLACE_HOOKS:
            hook(path)
        try:
            con = duckdb.connect(str(path), config=NO_AUTOLOAD)
            break
        except duckdb.Error as exc:
            if "Unique file handle conflict" in str(exc) and attempt < attempts - 1:
                time.sleep(delay)  # a query of this process still reads it: it is closed after
                delay = min(delay * 1.5, 0.25)
                continue
            problem = diagnose(path, exc)
            if problem is not None and problem.kind != LOCKED:
                raise StoreDamagedError(problem) from exc
            if problem is None or attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)
    try:
        con.execute("begin")
        yield con
        con.execute("commit")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("rollback")
        raise
    finally:
        con.close()


def build_sample(
    path: Path | None = None,
    n_leads: int = 50_000,
    seed: int = 7,
    progress: Callable[[float, str], None] | None = None,
    edits_afresh: bool = True,
) -> Path:
    """Build the sample store at `path` (the live store by default) and swap it in.

    Its targets go into the edits file beside it (data/edits.py), which starts afresh with them
    (no notes): a new sample is a new start. The edits file it replaces is kept as
    `<stem>.edits.prev-1.duckdb`. edits_afresh=False leaves the edits file as it is, as an import
    does (the load test swaps samples in as its imports).
    """
    # Imported here: data.edits builds on this module (its lock and read-only attach).
    from data import edits

    path = Path(path) if path else db_path()
    say = progress or (lambda frac, text: None)
    contract = contract_mod.load()
    with replacing(path) as con:
        say(0.05, "Creating tables")
        create_schema(con)
        say(0.15, f"Generating {n_leads:,} sample leads")
        sample.generate(con, contract, n_leads=n_leads, seed=seed)
        say(0.75, "Building journeys")
        contract_store.declare(con, contract.stage_keys)  # the generator records every stage
        rebuild_journey(con, contract, source="default")
        set_meta(con, "is_sample", "true")
        set_meta(con, "sample_seed", str(seed))
        set_meta(con, "sample_leads", str(n_leads))
        con.execute(
            "insert into loads values ('sample', $at, 'sample', $desc, null, null, null, null)",
            {
                "at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
                "desc": f"Sample data: {n_leads:,} leads, seed {seed}",
            },
        )
        targets = sample.target_rows(con, contract)
        say(0.95, "Saving")
    # After the store is live: a build that failed leaves the team's edits as they were.
    if edits_afresh:
        edits.start_afresh(path, targets)
    say(1.0, "Done")
    return path


def ensure_store(progress: Callable[[float, str], None] | None = None) -> bool:
    """Build the sample store if the configured file is missing. True if it was built now."""
    path = db_path()
    if path.exists():
        return False
    build_sample(path, progress=progress)
    return True


def rebuild(
    path: Path | None = None,
    contract_text: str | None = None,
    source: str = "rebuild",
    user: str | None = None,
) -> contract_mod.Contract:
    """Rebuild the derived journey tables of an existing store, in one atomic swap; returns the
    contract they were built under.

    With `contract_text`, that contract is validated and made the store's contract in force
    first (a new version recorded with `source` and `user`), so a contract change and the
    journeys built under it go live together or not at all."""
    path = Path(path) if path else db_path()
    if contract_text is not None:
        contract_mod.loads(contract_text, origin=source)  # refuse before copying anything
    with replacing(path) as con:
        copy_live(con, path)
        if contract_text is not None:
            contract_store.save(con, contract_text, source, user)
        return rebuild_journey(con)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.store", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_sample = sub.add_parser("sample", help="build the sample store")
    p_sample.add_argument("--leads", type=int, default=50_000)
    p_sample.add_argument("--seed", type=int, default=7)
    p_sample.add_argument("--db", type=Path, default=None)
    p_rebuild = sub.add_parser("rebuild", help="rebuild the journey tables from events")
    p_rebuild.add_argument("--db", type=Path, default=None)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.command == "sample":
        path = build_sample(args.db, n_leads=args.leads, seed=args.seed)
    else:
        path = Path(args.db) if args.db else db_path()
        rebuild(path)
    size = path.stat().st_size / 1e6
    print(f"{args.command}: {path} ({size:.1f} MB) in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

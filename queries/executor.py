"""The one place SQL runs for the dashboard: read-only, on a cursor of one DuckDB per store version.

For each version of the store file (inode, mtime, size) one in-memory DuckDB is opened once: the
store attached READ_ONLY as `store` (and, for queries that name `edits.<table>`, in a handle of
its own, the team's edits file READ_ONLY as `edits`, data/edits.py), external access and
spilling to disk switched off (so a query cannot read or write any other file), the
configuration locked. Each query runs one `.sql` file from queries/sql with bound `$named`
parameters on a cursor of it (a connection of its own: its own temp tables) and closes that
cursor. An import swaps in a new file (os.replace): the next query sees a new version and opens
a handle for it (attaching, rather than connecting to the path, always reads the file that is
there now), while queries still running on the old one finish on the old inode. Old handles are
closed when no query runs on them (see _Handle).

A file that cannot be opened is told apart by data.store.diagnose: a lock (StoreBusyError,
after about a second of retries) or a file waiting cannot fix (StoreDamagedError, at once).
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import dataclasses
import functools
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from data import edits as edits_mod
from data import store
from queries import sql_refs

SQL_DIR = Path(__file__).with_name("sql")
# Nothing of ours writes the live store in place any more (imports swap files, edits have their
# own file), so a lock is another program holding it: a second of retries, not several.
ATTACH_ATTEMPTS = 10

# Every reader connection: no spilling to disk. DuckDB lets a connection write its temp
# directory even with external access off, and the default (`<cwd>/.tmp`) made
# `COPY ... TO '<cwd>/.tmp/x.csv'` succeed. The readers aggregate in SQL and stay far below the
# memory limit; a query that did not would fail with an out-of-memory error instead of spilling.
READER_CONFIG = {"temp_directory": "", **store.NO_AUTOLOAD}


class StoreMissingError(RuntimeError):
    """The configured store file does not exist."""


class StoreBusyError(RuntimeError):
    """The store could not be opened for reading right now (another process holds it)."""


# A store or edits file that waiting will not fix (damaged, not DuckDB, unreadable); `problem`
# names the file. Raised at once, never after retries.
StoreDamagedError = store.StoreDamagedError


@functools.cache
def source_text(name: str) -> str:
    """The text of queries/sql/<name>.sql as written. Names are ours (function code), never
    user input."""
    path = SQL_DIR / f"{name}.sql"
    if path.parent != SQL_DIR or not path.exists():
        raise KeyError(f"no query named {name!r}")
    return path.read_text(encoding="utf-8")


@functools.cache
def sql_text(name: str, materialized: frozenset[str] = frozenset()) -> str:
    """Query file `name` as the plain SQL that runs: its macros and ref()s expanded
    (queries/sql_refs.py), those in `materialized` read as tables the connection holds."""
    return sql_refs.expand(name, source_text, materialized)


_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


def param_names(name: str, materialized: frozenset[str] = frozenset()) -> set[str]:
    """The $named parameters a query file uses, its references included (in its SQL, not in
    its comments)."""
    return set(_PARAM.findall(_COMMENT.sub("", sql_text(name, materialized))))


def bind(name: str, available: dict, materialized: frozenset[str] = frozenset()) -> dict:
    """The subset of `available` that query `name` uses; a parameter it needs but that is not
    available fails here, naming it (DuckDB refuses extra parameters, so we pass exactly these)."""
    return _bound(name, param_names(name, materialized), available)


def _bound(name: str, needed: set[str], available: dict) -> dict:
    missing = needed - available.keys()
    if missing:
        raise KeyError(f"query {name!r} needs parameters {sorted(missing)}")
    return {k: available[k] for k in needed}


# --- the team's edits ------------------------------------------------------------------------

_EDITS_REF = re.compile(r"\bedits\.(?:main\.)?([a-z_]+)\b")
_COMMENT = re.compile(r"--[^\n]*")


@functools.lru_cache(maxsize=256)
def edits_read(sql: str) -> frozenset[str]:
    """The kinds of team edit (data/edits.py: notes, targets) a statement reads. A query names
    the edits tables as `edits.<table>`; an unknown name there fails loudly."""
    kinds = set()
    for table in _EDITS_REF.findall(_COMMENT.sub("", sql)):
        if table not in edits_mod.TABLES:
            raise KeyError(f"no edits table named {table!r}")
        kinds.add(edits_mod.TABLES[table])
    return frozenset(kinds)


def reads_edits(*kinds: str):
    """Mark a query function whose result depends on the team's edits of these kinds ("notes",
    "targets"), directly or through the functions it calls: its cached result (queries/cache.py)
    is keyed on their version too, so a saved target is shown at once while a saved note leaves
    every result that does not read notes cached."""
    unknown = set(kinds) - set(edits_mod.KINDS)
    if unknown:
        raise ValueError(f"unknown kinds of edit {sorted(unknown)}")

    def mark(fn):
        fn.reads_edits = tuple(kinds)
        return fn

    return mark


# While a cached function computes (queries/cache.py), the kinds of edit it declared; a query
# reading another kind fails, so a missing @reads_edits cannot serve stale results unnoticed.
_DECLARED: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar(
    "edits_declared", default=None
)


@contextlib.contextmanager
def declared_edits(kinds: tuple[str, ...]) -> Iterator[None]:
    """Queries run inside may read only the kinds of edit a cached function declared."""
    token = _DECLARED.set(frozenset(kinds))
    try:
        yield
    finally:
        _DECLARED.reset(token)


def _check_declared(kinds: frozenset[str]) -> None:
    declared = _DECLARED.get()
    if declared is not None and not kinds <= declared:
        missing = ", ".join(repr(k) for k in sorted(kinds - declared))
        raise RuntimeError(
            f"a cached query function reads the team's edits ({missing}) without "
            f"@executor.reads_edits({missing}): its cached result would not change when they are saved"
        )


def edits_path(db: Path | None = None) -> Path:
    """The edits file beside `db`, else beside the live store (never beside a pin)."""
    return edits_mod.path_for(Path(db) if db else store.db_path())


# The store version pinned for the current script run: (live path, pinned path). See pin().
_PINNED: contextvars.ContextVar[tuple[Path, Path] | None] = contextvars.ContextVar("store_pin", default=None)
PIN_KEEP_SECONDS = 600  # an unused pin of a replaced store is removed after this long


def _path(db: Path | None) -> Path:
    """The file a query reads: `db`, else the version pinned for this run, else the live store."""
    if db:
        return Path(db)
    live = store.db_path()
    pinned = _PINNED.get()
    if pinned is not None and pinned[0] == live and pinned[1].exists():
        return pinned[1]
    return live


@contextlib.contextmanager
def reading(path: Path) -> Iterator[None]:
    """Read the store file `path` (a pin from an earlier run) in this thread for a while: a
    download built when clicked reads the version its page was drawn from."""
    token = _PINNED.set((store.db_path(), Path(path)))
    try:
        yield
    finally:
        _PINNED.reset(token)


def current_path() -> Path:
    """The store file this thread's queries read now: the pinned version, else the live one."""
    return _path(None)


def pin() -> Path | None:
    """Read the store version that is live now for every query of this script run.

    An import swaps a new file in with os.replace() while pages are being drawn; without a pin,
    the queries of one run could read the old file and then the new one, and a page would show
    numbers from both. The pin is a hard link to the live file's current inode (in a directory
    beside it), so it keeps naming that version after a swap; queries without an explicit `db`
    read it until the next pin(). Called by the frame at the start of each run. Falls back to
    the live path (no pin) where hard links are not possible.
    """
    live = store.db_path()
    _PINNED.set(None)
    try:
        stat = os.stat(live)
    except FileNotFoundError:
        return None
    pins = live.parent / f".{live.name}.pins"
    target = pins / f"{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}.duckdb"
    try:
        if not target.exists():
            pins.mkdir(exist_ok=True)
            tmp = pins / f"{uuid.uuid4().hex}.duckdb.tmp"
            os.link(live, tmp)
            if os.stat(tmp).st_ino != stat.st_ino:  # swapped between stat and link: pin that one
                os.unlink(tmp)
                return pin()
            os.replace(tmp, target)
        _drop_old_pins(pins, keep=target)
    except OSError:
        return None
    _PINNED.set((live, target))
    return target


def unpin() -> None:
    """Read the live store again from now on, in this thread (undoes pin())."""
    _PINNED.set(None)


_RETIRED: dict[Path, float] = {}  # pin -> when this process first saw it not live


def _drop_old_pins(pins: Path, keep: Path) -> None:
    """Remove the pins of versions that stopped being live more than PIN_KEEP_SECONDS ago (as
    seen by this process; no run lasts that long). Kept in memory, so nothing but the pins
    themselves (ignored like every .duckdb file) appears beside the store."""
    now = time.time()
    for old in pins.glob("*.duckdb"):
        if old == keep:
            continue
        first_seen = _RETIRED.setdefault(old, now)
        if now - first_seen > PIN_KEEP_SECONDS:
            old.unlink(missing_ok=True)  # another session may have removed it first
            _RETIRED.pop(old, None)


def store_version(db: Path | None = None, edits: tuple[str, ...] = ()) -> str:
    """Changes whenever the store file is replaced or rewritten: the cache key for results and
    drawn sections. The contract lives in the store, so a contract change is a new version too.

    `edits`: the kinds of team edit the result also shows ("targets", "notes"); their versions
    join the key, so saving a target retires what shows targets and nothing else."""
    path = _path(db)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    version = f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"
    if edits:
        version += "|" + edits_version(edits, db)
    return version


def edits_version(kinds: tuple[str, ...], db: Path | None = None) -> str:
    """The version of each kind of team edit, e.g. "notes=3f..;targets=9a..". Read from the edits
    file's edits_meta once per file version (a save replaces the file: new inode) and
    remembered; before the first save the edits are the older store's own tables, whose version
    is the store's."""
    path = edits_path(db)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "legacy"  # read from the store itself: its version, already in the key, covers them
    known = _edits_versions(str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    return ";".join(f"{k}={known.get(k, '0')}" for k in sorted(set(kinds)))


@functools.lru_cache(maxsize=64)
def _edits_versions(path: str, ino: int, mtime_ns: int, size: int) -> dict[str, str]:
    # (ino, mtime_ns, size) only key the cache: one read per version of the edits file.
    con = duckdb.connect(config=READER_CONFIG)
    try:
        store.attach_read_only(con, Path(path), "edits", ATTACH_ATTEMPTS)
        rows = con.execute("select key, value from edits.edits_meta where key like 'version:%'").fetchall()
    except duckdb.IOException as exc:
        raise StoreBusyError(f"The team's edits file {path} is held by another program.") from exc
    finally:
        con.close()
    return {k.removeprefix("version:"): v for k, v in rows}


# Work nobody is waiting for (the cache warmer) runs its queries on one thread, leaving the
# other core to the people clicking. Set per thread, like the pin.
_BACKGROUND: contextvars.ContextVar[bool] = contextvars.ContextVar("background", default=False)


def background() -> None:
    """Run this thread's queries on one DuckDB thread from now on (see _BACKGROUND)."""
    _BACKGROUND.set(True)


def in_background() -> bool:
    """Whether this thread's queries are work nobody is waiting for (see background())."""
    return _BACKGROUND.get()


# --- one read-only DuckDB per store version ---------------------------------------------------
#
# Opening an in-memory DuckDB and attaching the store costs 20-40 ms at 1M leads, and a fresh
# instance starts with an empty buffer pool. So each version of the store (its file's inode,
# mtime and size: a pin is a hard link to the same inode, so it shares its live file's handle)
# gets one instance, configured and locked once, and every query runs on a cursor of it: a
# connection of its own to that shared database (its own temp tables, its own transaction),
# closed after the query. Settings such as threads are the instance's, not a cursor's, so a
# query of the background warmer (threads=1) reads through a handle of its own. A query that
# reads the team's edits uses a handle with the edits file attached too, keyed on that file's
# version as well (a save replaces the file: a new inode, so a new handle that sees it).
#
# An import never waits for a handle: it swaps a new file in with os.replace(), and an open
# handle keeps reading the old inode. Handles are closed least recently used first beyond
# MAX_HANDLES, and when unused for IDLE_SECONDS, but never while a query runs on them (a
# handle pushed out while busy is closed by its last query).

MAX_HANDLES = 8  # a version or two, each with and without the edits file, for the pages and the warmer
IDLE_SECONDS = 300.0


@dataclasses.dataclass(eq=False)
class _Handle:
    key: tuple
    con: duckdb.DuckDBPyConnection
    store: Path  # the file attached as `store` (the live path or a pin of the same inode)
    edits: Path | None  # the file attached as `edits`; None without one (or the in-memory stand-in)
    users: int = 0
    last_used: float = 0.0
    retired: bool = False  # out of _HANDLES: closed when its last query ends
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


_HANDLES: collections.OrderedDict[tuple, _Handle] = collections.OrderedDict()
_HANDLES_LOCK = threading.Lock()
_OPENING: dict[tuple, threading.Lock] = {}  # versions being opened now, one thread each
OPENED: collections.Counter[str] = collections.Counter()  # instances opened in this process ("handles")


def _file_key(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def _edits_key(path: Path) -> tuple:
    """The edits file's version; before its first save the stand-in, which follows the store."""
    try:
        return _file_key(path)
    except FileNotFoundError:
        return ("stand-in",)


def _threads() -> int:
    return 1 if _BACKGROUND.get() else 2


def _open(key: tuple, path: Path, edits_file: Path | None, threads: int) -> _Handle | None:
    """A new instance with `path` (and `edits_file`) attached read-only, configured and locked;
    None if a file was swapped while it was being attached (the caller looks again)."""
    con = duckdb.connect(config={"threads": threads, **READER_CONFIG})
    try:
        # No progress bar: it would print to the server's terminal on every long query.
        con.execute("set enable_progress_bar = false")
        _attach(con, path, "store")
        attached_edits = None
        if edits_file is not None:
            attached_edits = edits_file if _attach_edits(con, edits_file) else None
        con.execute("use store")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
        try:
            same = _file_key(path) == key[1] and (edits_file is None or _edits_key(edits_file) == key[2])
        except FileNotFoundError:  # removed meanwhile: the caller says so
            same = False
    except BaseException:
        con.close()
        raise
    if not same:
        con.close()
        return None
    with _HANDLES_LOCK:
        OPENED["handles"] += 1
    return _Handle(key, con, path, attached_edits)


SWAP_RETRY_SECONDS = 5.0  # how long a reader keeps looking for a version that stays in place


def _acquire(path: Path, edits_file: Path | None) -> _Handle:
    """The handle of the version of `path` (and `edits_file`) there now, opened if need be, with
    one more query on it (give it back with _release)."""
    threads = _threads()
    # Retried while a version is swapped in under the opening, for a few seconds rather than a
    # few times: on a busy machine several imports in a row can each win the race once.
    deadline = time.monotonic() + SWAP_RETRY_SECONDS
    while True:
        try:
            key = (threads, _file_key(path), None if edits_file is None else _edits_key(edits_file))
        except FileNotFoundError:
            raise StoreMissingError(
                f"No store at {path}. Build the sample with `make sample` or import data."
            ) from None
        found = _take(key)
        if found is not None:
            return found
        # One thread opens a version; the others asking for it meanwhile wait for that one.
        with _HANDLES_LOCK:
            opening = _OPENING.setdefault(key, threading.Lock())
        with opening:
            found = _take(key)
            if found is not None:
                return found
            try:
                opened = _open(key, path, edits_file, threads)  # a locked file: about a second
            except BaseException:
                with _HANDLES_LOCK:
                    _OPENING.pop(key, None)
                raise
            with _HANDLES_LOCK:
                _OPENING.pop(key, None)  # with the handle in place: nobody opens it twice
                if opened is not None:
                    now = time.monotonic()
                    opened.users, opened.last_used = 1, now
                    _HANDLES[key] = opened
                    _evict(now)
            if opened is None:
                if time.monotonic() < deadline:
                    continue  # swapped while attaching: look at the new version
                break
            return opened
    raise StoreBusyError(
        f"{path.name} was replaced again and again while being opened; try again in a moment."
    )


def _take(key: tuple) -> _Handle | None:
    """The open handle of `key` with one more query on it, or None."""
    with _HANDLES_LOCK:
        found = _HANDLES.get(key)
        if found is not None:
            found.users += 1
            found.last_used = time.monotonic()
            _HANDLES.move_to_end(key)
        return found


def _evict(now: float) -> None:
    """Close handles beyond MAX_HANDLES (least recently used first) and those unused for
    IDLE_SECONDS; one still running a query is closed by its last query. Holds _HANDLES_LOCK."""
    for key, handle in list(_HANDLES.items()):
        over = len(_HANDLES) > MAX_HANDLES
        if not over and now - handle.last_used <= IDLE_SECONDS:
            continue
        if handle.users == 0:
            del _HANDLES[key]
            handle.con.close()
        elif over:
            del _HANDLES[key]
            handle.retired = True


_SWEPT = [0.0]  # when idle handles were last looked for by a query ending


def _release(handle: _Handle) -> None:
    with _HANDLES_LOCK:
        now = time.monotonic()
        handle.users -= 1
        handle.last_used = now
        if handle.retired and handle.users == 0:
            handle.con.close()
        if now - _SWEPT[0] > IDLE_SECONDS / 10:  # the warmer's handles, once it is done
            _SWEPT[0] = now
            _evict(now)


def close_idle(path: Path | None = None) -> None:
    """Close the handles no query is running on (all, or those of the file `path`), and retire
    the others: before something in this process opens a store file read-write in place (DuckDB
    refuses to while the file is attached here), and in tests."""
    with _HANDLES_LOCK:
        for key, handle in list(_HANDLES.items()):
            if path is not None and not _same_file(path, handle):
                continue
            del _HANDLES[key]
            if handle.users == 0:
                handle.con.close()
            else:
                handle.retired = True


def _same_file(path: Path, handle: _Handle) -> bool:
    names = {str(handle.store), str(handle.edits)}
    if str(path) in names:
        return True
    try:
        return _file_key(path) in (handle.key[1], handle.key[2])
    except FileNotFoundError:
        return False


def open_handles() -> int:
    """Instances open in this process now (kept and retired-but-busy): for tests and the bench."""
    with _HANDLES_LOCK:
        return len(_HANDLES)


store.WRITE_IN_PLACE_HOOKS.append(close_idle)


@contextlib.contextmanager
def _cursor(db: Path | None, edits: bool) -> Iterator[tuple[duckdb.DuckDBPyConnection, _Handle]]:
    """A cursor of the shared handle of the store version this thread reads (and with `edits`,
    the team's edits file as `edits`): a connection of its own, closed after the query."""
    path = _path(db)
    if not path.exists():
        raise StoreMissingError(f"No store at {path}. Build the sample with `make sample` or import data.")
    handle = _acquire(path, edits_path(db) if edits else None)
    try:
        with handle.lock:  # the shared connection hands out cursors one thread at a time
            cur = handle.con.cursor()
        try:
            cur.execute("use store")  # a cursor starts in the instance's default database
            yield cur, handle
        finally:
            cur.close()
    finally:
        _release(handle)


class Reader:
    """A read-only connection to the store for a few statements (contracts.py): a cursor of the
    shared handle, external access and spilling off, the configuration locked. close() (or the
    end of a `with` block) gives it back."""

    def __init__(self, db: Path | None, edits: bool) -> None:
        self._context = _cursor(db, edits)
        self._cur, self._handle = self._context.__enter__()

    def __getattr__(self, name: str):
        return getattr(self._cur, name)

    def close(self) -> None:
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(None, None, None)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(db: Path | None = None, edits: bool = False) -> Reader:
    """A read-only connection to the store (and with `edits`, the team's edits file as
    `edits`), external access and spilling switched off, the configuration locked; close it."""
    return Reader(db, edits)


def _live_name(problem: store.StoreProblem) -> store.StoreProblem:
    """The problem as the live file's: a pin (a hard link to the same file) is ours, not a name
    anybody knows or could roll back."""
    pinned = _PINNED.get()
    if pinned is not None and problem.path == pinned[1]:
        return dataclasses.replace(problem, path=pinned[0])
    pins = problem.path.parent
    if pins.name.startswith(".") and pins.name.endswith(".pins"):  # a pin another run attached
        return dataclasses.replace(problem, path=pins.parent / pins.name[1 : -len(".pins")])
    return problem


def _attach(con: duckdb.DuckDBPyConnection, path: Path, alias: str) -> None:
    try:
        store.attach_read_only(con, path, alias, ATTACH_ATTEMPTS)
    except store.StoreDamagedError as exc:
        raise StoreDamagedError(_live_name(exc.problem)) from exc.__cause__
    except duckdb.IOException as exc:
        if "Could not set lock" not in str(exc):
            raise
        raise StoreBusyError(
            f"{path.name} is being written by another program, in place; try again when it has finished."
        ) from exc


def _attach_edits(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """The edits file as `edits`; before its first save, an in-memory stand-in holding the rows
    of the edits tables an older store still has (data/edits.py), or none. True if the file
    itself was attached."""
    if path.exists():
        _attach(con, path, "edits")
        return True
    con.execute("attach ':memory:' as edits")
    con.execute("use edits")
    edits_mod.create_schema(con)
    edits_mod.copy_legacy(con, "store", "edits")
    return False


def _execute(cur: duckdb.DuckDBPyConnection, sql: str, params: dict, handle: _Handle, arrow: bool = False):
    """cur.execute(sql, params).df() (with `arrow`, the Arrow table, its types as DuckDB's),
    telling a file DuckDB cannot read from a query's mistake."""
    try:
        if arrow:
            return cur.sql(sql, params=params).to_arrow_table()
        return cur.execute(sql, params).df()
    except duckdb.Error as exc:
        for path in _suspects(handle, exc):
            problem = store.diagnose(path, exc)
            if problem is not None and problem.kind != store.LOCKED:
                raise StoreDamagedError(_live_name(problem)) from exc
        raise


def _suspects(handle: _Handle, exc: duckdb.Error) -> list[Path]:
    """The attached file a read error is about: the one DuckDB names, else the only one, else
    the edits file if it fails a read of its own (it is small), else the store."""
    files = [handle.store] + ([handle.edits] if handle.edits is not None and handle.edits.exists() else [])
    named = [p for p in files if str(p) in str(exc)]
    if named or len(files) == 1:
        return named or files
    check = duckdb.connect(config=READER_CONFIG)
    try:
        store.attach_read_only(check, files[1], "edits", 1)
        for table in edits_mod.TABLES:
            check.execute(f"select * from edits.{table}").fetchall()  # noqa: S608 (names from TABLES)
    except (duckdb.Error, store.StoreDamagedError):
        return [files[1]]
    finally:
        check.close()
    return [files[0]]


def _prepare(sql: str) -> bool:
    """Whether `sql` reads the team's edits (then checked against what the cached caller declared)."""
    kinds = edits_read(sql)
    _check_declared(kinds)
    return bool(kinds)


# HANDOFF_ENGINE (queries/engines.py): unset or duckdb, every query runs here on the store file
# (and nothing of the other engines is imported); clickhouse, run/run_over/run_sql hand the
# same rendered SQL to queries/engines.py. Read per query, so a test can switch it.
def _elsewhere() -> bool:
    """Whether the queries run on an engine other than DuckDB (an unknown name fails)."""
    if not os.environ.get("HANDOFF_ENGINE"):
        return False
    from queries import engines

    return engines.current() != "duckdb"


def _engines():
    from queries import engines

    return engines


def on_duckdb() -> bool:
    """Whether this process's queries run on the store file in DuckDB (HANDOFF_ENGINE unset or
    duckdb): what DuckDB alone can do, such as reading queries/cube.py's rollups, needs it."""
    return not _elsewhere()


def engine_description() -> str:
    """Where this process's queries run, in a sentence (the Data page shows it)."""
    if not _elsewhere():
        return "DuckDB, on the store file"
    return _engines().describe()


def run(
    name: str,
    params: dict | None = None,
    db: Path | None = None,
    relations: dict | None = None,
    arrow: bool = False,
) -> pd.DataFrame:
    """Run queries/sql/<name>.sql with bound parameters and return the result as a DataFrame
    (with `arrow`, as an Arrow table that keeps DuckDB's types: decimals stay decimals).

    `relations`: name -> Arrow table, each readable by that name on this query's cursor only
    (queries/cube.py's rollups, kept in memory per store version); names are our own."""
    sql = sql_text(name)
    edits = _prepare(sql)
    if _elsewhere():
        return _engines().run_sql(sql, params, db)
    with _cursor(db, edits) as (cur, handle):
        for relation, table in (relations or {}).items():
            cur.register(relation, table)
        return _execute(cur, sql, params or {}, handle, arrow)


def run_over(base: str, outers: list[str], available: dict, db: Path | None = None) -> list[pd.DataFrame]:
    """Run each query of `outers` over the rows of query `base`, computed once.

    For a page that draws several summaries of one set of rows (the pipeline by stage and its
    movement, both over pipeline_states): `base`'s rows are kept in a temporary table named
    `base`, in memory on this query's own cursor (no other query sees it) and gone when the
    cursor closes, and each outer file's {{ ref('<base>') }} reads that table instead of
    hoisting the file again. Values stay bound parameters; every text is one of our own files."""
    held = frozenset({base})
    texts = [sql_text(base), *(sql_text(o, held) for o in outers)]
    edits = any([_prepare(text) for text in texts])
    if _elsewhere():
        values = [bind(base, available), *(bind(o, available, held) for o in outers)]
        return _engines().run_over(texts, values, base, db)
    with _cursor(db, edits) as (cur, handle):
        # The name is one of our query files' (sql_text checked that it exists).
        _execute(cur, f"create temp table {base} as {texts[0]}", bind(base, available), handle)
        return [
            _execute(cur, text, bind(outer, available, held), handle)
            for outer, text in zip(outers, texts[1:], strict=True)
        ]


@functools.cache
def sql_text_on_rows(name: str, base: str, reader: str = "cube_lead_rows") -> str:
    """Query file `name` as the plain SQL that runs, its {{ ref('<base>') }} read from kept rows
    instead of computed: the rows of `reader` over the relation `lead_rows` take the place of
    `base`'s file (cube_lead_rows.sql: a view's range and list filters; cube_kept_rows.sql:
    every row, for a query that selects its rows itself)."""
    return sql_refs.expand(name, lambda ref: source_text(reader if ref == base else ref))


def run_on_rows(
    name: str, base: str, rows, available: dict, db: Path | None = None, reader: str = "cube_lead_rows"
) -> pd.DataFrame:
    """Run query `name` over `rows` instead of computing its base query `base`: `rows` is an
    Arrow table of `base`'s rows over the whole store (queries/cube.py ROWS, DEALS), read as
    `lead_rows` on this query's own cursor through `reader` (sql_text_on_rows). DuckDB only
    (the kept rows are read by DuckDB)."""
    text = sql_text_on_rows(name, base, reader)
    edits = _prepare(text)
    params = _bound(name, set(_PARAM.findall(_COMMENT.sub("", text))), available)
    with _cursor(db, edits) as (cur, handle):
        cur.register("lead_rows", rows)
        return _execute(cur, text, params, handle)


def run_sql(sql: str, params: dict | None = None, db: Path | None = None) -> pd.DataFrame:
    """Run a small fixed statement (metadata look-ups); values are still bound parameters."""
    edits = _prepare(sql)
    if _elsewhere():
        return _engines().run_sql(sql, params, db)
    with _cursor(db, edits) as (cur, handle):
        return _execute(cur, sql, params or {}, handle)

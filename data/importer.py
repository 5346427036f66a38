"""Import CRM exports into the store: all-or-nothing per file, idempotent, swapped in atomically.

    python -m data.importer FILE [FILE ...] --mapping NAME|PATH [--db PATH] [--fresh] [--user NAME] [--timing]

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

A file already imported into this store (same bytes, same mapping text) is not read again, and an
import in which no file adds or changes anything is not swapped in: the store keeps its bytes,
no `loads` row is added and no kept version is used.

Rows in = accepted + rejected + duplicate, for every file, always.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data import alert_hook, contract_store, detect, import_bulk, incremental, locks, propose, store
from data import contract as contract_mod
from data.contract import Contract
from data.import_mapping import Mapping, MappingError, presets
from data.import_mapping import load as load_mapping
from data.import_read import (
    EVENT_COLUMNS,
    LEAD_COLUMNS,
    ImportRefused,
    Source,
    given_roles,
    read_rows,
    reads_other_roles,
)
from data.import_settle import IMPORT_TABLES, STAGED_TABLES, STAGING, FileReport, Stager, relink, settle

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
    # How the journeys were rebuilt: incrementally (how many records) or in full (why).
    rebuilt: str = ""

    @property
    def ok(self) -> bool:
        return all(f.refused is None for f in self.files)

    @property
    def unchanged(self) -> bool:
        """Nothing was refused and nothing new was found: the store was left as it was."""
        return self.ok and not self.swapped


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- versions and rollback ---------------------------------------------------------------------


def _prev(db: Path, n: int) -> Path:
    """handoff.duckdb -> handoff.prev-1.duckdb: same extension, so tools (and .gitignore) treat
    kept versions like the store itself."""
    return db.with_name(f"{db.stem}.prev-{n}{db.suffix}")


def _pending(db: Path) -> Path:
    """The live file about to be replaced, kept under this name (a hard link) until the swap has
    happened; only then does it become prev-1. Never a kept version itself."""
    return db.with_name(f"{db.stem}.prev-new{db.suffix}")


def versions(db: Path | None = None) -> list[Path]:
    """Kept earlier versions of the store, newest first (<stem>.prev-1.duckdb, -2, ...)."""
    db = Path(db) if db else store.db_path()
    return [p for n in range(1, KEEP_VERSIONS + 1) if (p := _prev(db, n)).exists()]


def _inode(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino


def _tidy_versions(db: Path) -> None:
    """Put the kept versions in order: prev-1, prev-2, ... with no gap, each its own file.

    Run under the import lock before and after every swap and rollback, so that whatever step a
    crash (kill -9) interrupted is completed or undone here:
    - the pending link still names the live file: the swap never happened, drop the link;
    - it names another file: the swap happened, that file is the version before it, so it
      becomes prev-1 and the others move up (the oldest beyond KEEP_VERSIONS is dropped);
    - a gap (a rollback or a shift cut short) closes up;
    - a kept version that is the live file, or the same file as a newer kept version (hard links
      left by an earlier importer), is dropped: it holds nothing to go back to, and an edit of the
      live store would change it too.
    Every step is one rename or unlink, so a crash in here leaves a state this same function puts
    in order.
    """
    pending = _pending(db)
    slots = [(n, p) for n in range(1, KEEP_VERSIONS + 2) if (p := _prev(db, n)).exists()]
    if pending.exists():
        if db.exists() and os.path.samefile(pending, db):
            pending.unlink()
        else:
            slots.insert(0, (0, pending))
    seen = {_inode(db)} if db.exists() else set()
    keep: list[tuple[int, Path]] = []
    for n, path in slots:
        inode = _inode(path)
        if inode in seen:
            path.unlink()
            continue
        seen.add(inode)
        keep.append((n, path))
    for _, path in keep[KEEP_VERSIONS:]:
        path.unlink()
    moves = [(n, path, target) for target, (n, path) in enumerate(keep[:KEEP_VERSIONS], start=1)]
    # Slot numbers only grow along `keep`, so the moves up (the pending file and the versions
    # before the first gap) run from the oldest, and the moves down (after a gap) from the newest:
    # no rename ever lands on a file that has still to move.
    for n, path, target in reversed(moves):
        if n < target:
            os.replace(path, _prev(db, target))
    for n, path, target in moves:
        if n > target:
            os.replace(path, _prev(db, target))


def _keep_pending(db: Path) -> None:
    """Before the swap: hold the live file under the pending name. A hard link costs nothing and,
    since os.replace() gives the live path a new file, it goes on holding the old version."""
    if not db.exists():
        return
    pending = _pending(db)
    pending.unlink(missing_ok=True)
    try:
        os.link(db, pending)
    except OSError:  # a file system without hard links
        shutil.copy2(db, pending)


def rollback(db: Path | None = None) -> Path:
    """Make the version before the last import live again (one step). The undone version is
    dropped; older kept versions move up one place. Readers see the old file or the new."""
    db = Path(db) if db else store.db_path()
    with _import_lock(db):
        _tidy_versions(db)
        prev = _prev(db, 1)
        if not prev.exists():
            raise FileNotFoundError(f"No earlier version of {db.name} is kept: nothing to roll back to.")
        os.replace(prev, db)
        _tidy_versions(db)
    return db


@contextlib.contextmanager
def _import_lock(db: Path) -> Iterator[None]:
    """One import (or rollback) per store at a time: two would both write <db>.tmp."""
    db.parent.mkdir(parents=True, exist_ok=True)
    busy = f"Another import into {db.name} is running; wait for it to finish and try again."
    with locks.held(db, "import", wait_seconds=0, busy=lambda: ImportBusyError(busy)):
        yield


# --- the import ---------------------------------------------------------------------------------


def store_contract(db: Path, fresh: bool = False) -> Contract:
    """The contract an import into `db` follows: the store's own, or the shipped default for a
    new store (or a fresh start, which replaces what is loaded)."""
    if fresh or not Path(db).exists():
        return contract_mod.load()
    with store.reading(db) as con:
        return contract_store.of_store(con)


def os_user() -> str:
    """The name of the user running this process: who loaded a file from the command line."""
    try:
        return getpass.getuser()
    except Exception:  # no login name and no passwd entry (a bare container)
        return f"uid {os.getuid()}"


def _user_name(user: str | None) -> str:
    text = " ".join(str(user or "").split())[:100]  # one line of text, never markup or a path
    return text or os_user()


def _earlier_imports(db: Path) -> dict[tuple[str, str], str]:
    """(file sha256, mapping sha256) -> when and by whom, for every file imported into the live
    store (rows imported before the mapping's hash was kept are left out: they import again)."""
    if not db.exists():
        return {}
    with store.reading(db) as con:
        columns = con.execute(
            "select column_name from duckdb_columns() where database_name = 'store' and table_name = 'import_files'"
        ).fetchall()
        if ("mapping_sha256",) not in columns:
            return {}
        rows = con.execute(
            """
            select f.file_sha256, f.mapping_sha256, max(l.loaded_at), arg_max(f.imported_by, l.loaded_at)
            from import_files as f
            join loads as l on l.load_id = f.load_id
            where f.mapping_sha256 is not null
            group by all
            """
        ).fetchall()
    return {
        (sha, mapping_sha): f"{at:%Y-%m-%d %H:%M} UTC" + (f" by {who}" if who else "")
        for sha, mapping_sha, at, who in rows
    }


def _stored_roles(db: Path) -> frozenset[str]:
    """The file roles of every file imported into the live store (a Salesforce field history's
    stage changes are no move once an OpportunityHistory is stored: FileSpec.stages_only_without)."""
    if not db.exists():
        return frozenset()
    with store.reading(db) as con:
        tables = con.execute(
            "select table_name from duckdb_tables() where database_name = 'store' and table_name = 'import_files'"
        ).fetchall()
        if not tables:
            return frozenset()
        return frozenset(r for (r,) in con.execute("select distinct file_role from import_files").fetchall())


def _roles(sources: list[Source], mapping: Mapping, db: Path | None) -> frozenset[str]:
    """given_roles() of these files, with those of the files stored in `db` (None: a new
    store), read only for a mapping whose files depend on them."""
    stored = _stored_roles(db) if db is not None and reads_other_roles(mapping) else frozenset()
    return given_roles(sources, mapping, stored)


def import_files(
    sources: list[Source],
    mapping: Mapping | str | Path,
    db: Path | None = None,
    *,
    fresh: bool = False,
    now: dt.datetime | None = None,
    contract: Contract | None = None,
    contract_text: str | None = None,
    contract_source: str = "import",
    progress: Callable[[float, str], None] | None = None,
    user: str | None = None,
    _before_swap: Callable[[], None] | None = None,
) -> ImportReport:
    """Import `sources` with `mapping` into the store at `db` (the live store by default).

    contract_text: a contract (a confirmed proposal, say) that becomes the store's contract in
    force in the same swap, recorded with `contract_source`; the files are read under it.

    fresh: start from an empty store instead of adding to the current one (replaces sample data).
    user: who is loading the files, kept with each file's record (the Data page passes the
    signed-in user; default: the OS user running this process).
    A refused file writes nothing. A file already imported into this store with the same mapping
    (same bytes, same mapping text) is not read again. When every file is refused, already
    imported, or adds and changes nothing, the store is left untouched (not even rewritten).
    `_before_swap` is a test hook called just before the swap.
    """
    started = time.perf_counter()
    db = Path(db) if db else store.db_path()
    if contract_text is not None:
        contract = contract_mod.loads(contract_text, origin=contract_source)
    contract = contract or store_contract(db, fresh)
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping, contract)
    now = now or _now()
    say = progress or (lambda fraction, text: None)
    who = _user_name(user)
    reports = [FileReport(name=s.name, imported_by=who) for s in sources]
    stamp = _now().strftime("%Y%m%dT%H%M%S")

    class _Unchanged(Exception):
        pass

    rebuilt = ""

    def done(swapped: bool) -> ImportReport:
        return ImportReport(
            reports,
            db,
            swapped=swapped,
            seconds=time.perf_counter() - started,
            rebuilt=rebuilt if swapped else "",
        )

    with _import_lock(db):
        _tidy_versions(db)  # complete or undo whatever a crash interrupted
        earlier = {} if fresh else _earlier_imports(db)
        todo: list[int] = []
        for file_no, (source, report) in enumerate(zip(sources, reports, strict=True)):
            say(0.0, f"Reading {source.name}")
            report.sha256 = source.sha256()
            when = earlier.get((report.sha256, mapping.sha256))
            if when:
                report.unchanged = f"already imported on {when} with this mapping; nothing changed"
            else:
                todo.append(file_no)
        if not todo:
            return done(swapped=False)
        # What the other files are, for a file whose rows depend on it (a field history's stage
        # changes, when OpportunityHistory is given too): read from their headers first.
        roles = _roles(sources, mapping, None if fresh else db)
        try:
            with store.replacing(db) as con:
                con.execute("set preserve_insertion_order = false")
                con.execute(STAGING)
                stager = Stager(con)
                staged: list[tuple[int, FileReport]] = []
                recorded: dict[int, frozenset[str]] = {}  # file -> stages it has a date column for
                total = max(sum(sources[i].size for i in todo), 1)
                read = 0
                for file_no in todo:
                    source, report = sources[file_no], reports[file_no]
                    base = read

                    def tick(frac: float, base=base, source=source) -> None:
                        say(0.65 * (base + frac * source.size) / total, f"Reading {source.name}")

                    try:
                        got = import_bulk.stage_file(
                            con, stager, file_no, source, mapping, contract, now, tick, roles
                        )
                        spec = got.spec
                        report.role = spec.role
                        report.unused = spec.unused
                        report.n_read_in_bulk, report.read_row_by_row = got.n_bulk, got.why
                        recorded[file_no] = spec.recorded
                        stager.flush()
                        stager.flush_owners()
                        staged.append((file_no, report))
                    except ImportRefused as exc:
                        report.refused = str(exc)
                        stager.discard(file_no)
                    read += source.size
                if not staged:
                    raise _Unchanged
                say(0.7, "Copying the current store")
                before = None  # the store before the import, for an incremental rebuild (data/incremental.py)
                if fresh or not db.exists():
                    store.create_schema(con)
                else:
                    store.copy_live(con, db)
                    say(0.72, "Fingerprinting the current store")
                    before = incremental.snapshot(con)
                con.execute(IMPORT_TABLES)
                # Settle files in the mapping's order, so that deals are known before their history.
                order = {s.role: i for i, s in enumerate(mapping.files)}
                staged.sort(key=lambda fr: order.get(fr[1].role, 99))
                written = []
                for file_no, report in staged:
                    say(0.75, f"Checking {report.name} against the store")
                    # Unique even when the same file is imported twice in one second.
                    report.load_id = (
                        f"import:{stamp}:{file_no + 1}:{report.sha256[:8]}:{uuid.uuid4().hex[:6]}"
                    )
                    settle(con, file_no, report, mapping, contract, now)
                    if report.refused is None:
                        written.append(report)
                for table in STAGED_TABLES:
                    con.execute(f"drop table {table}")  # staging is done: free its memory
                changes = sum(
                    r.n_events_added
                    + r.n_events_restated
                    + r.n_leads_added
                    + r.n_leads_updated
                    + r.n_undated
                    + r.n_exits_undated
                    + r.n_opportunities
                    + r.n_contacts
                    + r.n_roles
                    + r.n_touches
                    + r.n_lookup_joined
                    for r in written
                )
                if not written or (changes == 0 and not fresh):
                    # Nothing new: a new version would equal the live one. Keep the live file
                    # (its bytes, its version, every cache) and say so.
                    for r in written:
                        r.load_id = None
                        r.unchanged = (
                            "nothing new (every row is already stored, or rejected): the store is unchanged"
                        )
                    raise _Unchanged
                relinked = relink(con)  # contacts and accounts a later file completes
                say(0.85, "Rebuilding journeys")
                if contract_text is not None:
                    contract_store.save(con, contract_text, contract_source, who)
                contract_store.declare(
                    con, set().union(*(recorded.get(f, ()) for f, r in staged if r.refused is None))
                )
                if before is not None:
                    before.settled(
                        [r.load_id for r in written],
                        n_restated=sum(r.n_events_restated for r in written),
                        n_leads_updated=sum(r.n_leads_updated for r in written),
                        n_touches=sum(r.n_touches for r in written),
                        relinked=relinked,
                    )
                store.rebuild_journey(con, contract, changes=before)
                rebuilt = (
                    before.outcome.text()
                    if before and before.outcome
                    else "journeys rebuilt in full: a new store"
                )
                if fresh:
                    store.set_meta(con, "is_sample", "false")
                store.set_meta(con, "last_import_at", _now().isoformat(sep=" "))
                if _before_swap:
                    _before_swap()
                say(0.95, "Swapping in the new version")
                _keep_pending(db)
        except _Unchanged:
            return done(swapped=False)
        finally:
            _tidy_versions(db)  # the pending file becomes prev-1, or goes if the swap did not happen
    say(1.0, "Done")
    # The alert rules on the new store, posted if a webhook is configured: in a process of its
    # own, so an import never waits for (or fails with) the webhook (data/alert_hook.py).
    alert_hook.after_import(db)
    return done(swapped=True)


def observe(
    sources: list[Source], mapping: Mapping | str | Path, now: dt.datetime | None = None
) -> tuple[propose.Observations, Mapping]:
    """What the files say about their stage and status names (data.propose), read under the
    shipped default contract. Raises ImportRefused for a file that cannot be read."""
    base = contract_mod.load()
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping, base)
    obs = propose.Observations()
    roles = given_roles(sources, mapping)
    for source in sources:
        import_bulk.observe_file(source, mapping, base, now or _now(), obs, given_roles=roles)
    return obs, mapping


def propose_contract(
    sources: list[Source], mapping: Mapping | str | Path, now: dt.datetime | None = None
) -> propose.Proposal:
    """The contract these files suggest for a new store: the shipped default when every stage
    and status name they hold is one of its stages or exits; the default extended by the
    others when they hold some of its stages before won (a portal's custom stage); else one
    made of their own names, order and outcomes (data/propose.py)."""
    obs, mapping = observe(sources, mapping, now)
    base = contract_mod.load()
    known = {}
    for x in (*base.stages, *base.exits):
        known[propose.plain(x.key)] = x.key
        known[propose.plain(x.label)] = x.key
    if obs.names and all(p in known for p in obs.names):
        return propose.from_default({known[p] for p in obs.names})
    # Default stages and names of the export's own (a portal's custom stage): the default funnel
    # extended by them. Names of its own only: a funnel made of them.
    if any(known.get(p) in base.stage_keys[:-1] for p in obs.names):
        return propose.extend_default(obs, known)
    # The grain of the records the files hold (a mapping may have files of both grains, of which
    # only the leads' were given); the mapping's when the files hold names of both.
    seen = set(obs.grains.values())
    if len(seen) == 1:
        grain = seen.pop()
    else:
        grain = "opportunity" if any(s.grain == "opportunity" for s in mapping.files) else "lead"
    return propose.propose(obs, grain=grain, name=mapping.name)


def preview(
    source: Source,
    mapping: Mapping | str | Path,
    n: int = 20,
    now: dt.datetime | None = None,
    contract: Contract | None = None,
    others: list[Source] | tuple[Source, ...] = (),
    db: Path | None = None,
) -> tuple[str, pd.DataFrame]:
    """The first `n` data rows of `source` as the mapping reads them: (file role, one row per
    event, or per row when it maps to none). Columns: row_number, status ('ok', 'rejected',
    'flagged', 'ignored'), problem, then the event and lead columns. Raises ImportRefused.

    `others`: the files imported with it, and `db` the store it goes into (None: a new store),
    for a file whose rows depend on them as the import reads it (a field history's stage changes
    are no move when an OpportunityHistory is given too: FileSpec.stages_only_without)."""
    contract = contract or store_contract(store.db_path())
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping, contract)
    roles = _roles([source, *others], mapping, db)
    spec, rows = read_rows(source, mapping, contract, now or _now(), limit=n, given_roles=roles)
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


def stage_counts(
    sources: list[Source],
    mapping: Mapping | str | Path,
    contract: Contract | None = None,
    now: dt.datetime | None = None,
) -> pd.DataFrame:
    """Per stage and exit of the contract, in its order: the records (distinct lead ids, or deal
    ids for a record with no lead) these files give an entry into it, over all the files, and
    nothing written. What the import would add before the store's own rules (skipped stages
    implied, the window, moves already stored). Columns: key, label, kind ("stage" or "exit"),
    records. attrs: rows (data rows read), rejected (rows a check refuses), refused ({file name:
    why} for a file that would be refused whole)."""
    contract = contract or store_contract(store.db_path())
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping, contract)
    entered: dict[str, set] = {}
    n_rows = n_rejected = 0
    refused = {}
    roles = given_roles(sources, mapping)
    for source in sources:
        try:
            _, rows = read_rows(source, mapping, contract, now or _now(), given_roles=roles)
            for o in rows:
                n_rows += 1
                if o.parsed is None:
                    n_rejected += 1
                    continue
                for e in o.parsed.events:
                    lead_id, deal_id, kind = e[1], e[2], e[3]
                    entered.setdefault(kind, set()).add(lead_id or f"deal:{deal_id}")
        except ImportRefused as exc:
            refused[source.name] = str(exc)
    out = [
        {"key": x.key, "label": x.label, "kind": kind, "records": len(entered.get(x.key, ()))}
        for kind, items in (("stage", contract.stages), ("exit", contract.exits))
        for x in items
    ]
    df = pd.DataFrame(out, columns=["key", "label", "kind", "records"])
    df.attrs.update(rows=n_rows, rejected=n_rejected, refused=refused)
    return df


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


class _Phases:
    """Wall seconds per phase of an import, from the progress messages (`--timing`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._text: str | None = None
        self._since = time.perf_counter()

    def start(self, text: str | None) -> None:
        now = time.perf_counter()
        if self._text is not None:
            self.seconds[self._text] = self.seconds.get(self._text, 0.0) + now - self._since
        self._text, self._since = text, now

    def wrap(self, show: Callable[[float, str], None]) -> Callable[[float, str], None]:
        def both(fraction: float, text: str) -> None:
            if text != self._text:
                self.start(text)
            show(fraction, text)

        return both

    def text(self) -> str:
        self.start(None)
        return "\n".join(f"  {seconds:7.1f} s  {text}" for text, seconds in self.seconds.items())


def _is_sample(db: Path) -> bool:
    """The store holds generated sample data (an import into it should start afresh)."""
    with store.reading(db) as con:
        row = con.execute("select value from store_meta where key = 'is_sample'").fetchone()
    return bool(row) and row[0] == "true"


def main(argv: list[str] | None = None) -> int:
    names = ", ".join(presets())
    parser = argparse.ArgumentParser(prog="python -m data.importer", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="CSV export file(s)")
    parser.add_argument("--mapping", help=f"a preset ({names}) or the path of a mapping .toml")
    parser.add_argument(
        "--detect",
        action="store_true",
        help="print, per file, the preset and file role its header matches, or 'unknown shape' with a "
        "proposed mapping naming what it could not decide; nothing is read past the file's start, "
        "nothing is written",
    )
    parser.add_argument(
        "--db", type=Path, default=None, help="the store (default: $HANDOFF_DB or data/handoff.duckdb)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="start from an empty store instead of adding to it"
    )
    parser.add_argument("--show", type=int, default=10, help="rejected rows to print per file (default 10)")
    parser.add_argument(
        "--user", default=None, help="who is loading the files, kept with the import (default: your OS user)"
    )
    parser.add_argument(
        "--timing", action="store_true", help="print the wall seconds of each phase of the import"
    )
    funnel = parser.add_mutually_exclusive_group()
    funnel.add_argument(
        "--propose",
        action="store_true",
        help="print the funnel contract proposed from these files (their own stages, order and "
        "outcomes) and stop; nothing is written. Save it, edit it, then import with --contract",
    )
    funnel.add_argument(
        "--contract",
        type=Path,
        default=None,
        help="the funnel contract (.toml) for a new store, or to apply with this import",
    )
    funnel.add_argument(
        "--accept-proposal", action="store_true", help="import under the proposed contract as it is"
    )
    args = parser.parse_args(argv)
    for f in args.files:
        if not f.is_file():
            parser.error(f"{f}: no such file")
    sources = [Source.from_path(f) for f in args.files]
    if args.detect:
        found = detect.detect_files(sources)
        print(found.text())
        for d in found.files:
            if d.proposal is not None:
                print(f"\n# --- draft mapping for {d.file_name} ---")
                print(d.proposal.mapping_toml(d.file_name), end="")
        return 0
    if not args.mapping:
        parser.error("--mapping is required (or --detect, to find which preset fits)")
    db = Path(args.db) if args.db else store.db_path()
    # Into the generated sample, an import starts afresh: a team's export is never mixed with
    # sample leads (the sample stays in the kept versions, for rollback).
    replaces_sample = db.exists() and not args.fresh and _is_sample(db)
    is_new = args.fresh or not db.exists() or replaces_sample
    contract_text, contract_source = None, "import"
    phases = _Phases() if args.timing else None
    try:
        if args.propose or args.accept_proposal or (is_new and not args.contract):
            if phases:
                phases.start("Proposing the funnel from the files")
            try:
                proposal = propose_contract(sources, args.mapping)
            except ImportRefused:
                if args.propose or args.accept_proposal:
                    raise
                # A file that cannot be read at all: the import says so, in its own words.
                proposal = propose.from_default(contract_mod.load().stage_keys)
            if args.propose:
                print(proposal.toml(), end="")
                return 0
            if args.accept_proposal:
                contract_text, contract_source = proposal.toml(), "proposal, accepted on import"
            elif proposal.contract != contract_mod.load():
                print(
                    "error: these files name stages of their own, not the default funnel's:\n  "
                    + "\n  ".join(proposal.notes)
                    + "\nA new store needs its funnel confirmed first. Review the one proposed from the files:\n"
                    f"  python -m data.importer {' '.join(str(f) for f in args.files)} --mapping {args.mapping} "
                    "--propose > funnel.toml\n"
                    "edit it if you like, then import with --contract funnel.toml (or take it as it is "
                    "with --accept-proposal).",
                    file=sys.stderr,
                )
                return 2
        if args.contract:
            if not args.contract.is_file():
                parser.error(f"{args.contract}: no such file")
            contract_text = args.contract.read_text(encoding="utf-8")
            contract_source = f"file {args.contract.name}, on import"
        report = import_files(
            sources,
            args.mapping,
            args.db,
            fresh=args.fresh or replaces_sample,
            progress=phases.wrap(_bar(sys.stderr)) if phases else _bar(sys.stderr),
            user=args.user,
            contract_text=contract_text,
            contract_source=contract_source,
        )
    except ImportRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (MappingError, ImportBusyError, contract_mod.ContractError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stderr.write("\n")
    if phases:
        print("Seconds per phase:\n" + phases.text(), file=sys.stderr)
    if replaces_sample and report.swapped:
        print("The sample data was replaced by your export (it is kept for rollback).")
    for f in report.files:
        print(f.summary())
        rejected = f.issues[f.issues["severity"] == "rejected"] if len(f.issues) else f.issues
        for r in rejected.head(args.show).itertuples():
            column = f"column {r.column_name!r}" if isinstance(r.column_name, str) else "row"
            last = getattr(r, "last_row_number", r.row_number)
            rows = (
                f"rows {r.row_number}-{last}"
                if last == last and last != r.row_number
                else f"row {r.row_number}"
            )
            print(f"  {rows}, {column}: {r.reason}")
        if len(rejected) > args.show:
            print(
                f"  ... {len(rejected) - args.show:,} more rejected rows: see the Data page or table import_issues"
            )
    where = report.db
    if report.swapped:
        kept = f"; the previous version is kept as {_prev(where, 1).name}" if versions(where) else ""
        print(f"Store {where} updated in {report.seconds:.1f} s{kept}.")
        if report.rebuilt:
            print(report.rebuilt[0].upper() + report.rebuilt[1:] + ".")
    else:
        print(f"Store {where} unchanged ({report.seconds:.1f} s).")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""The store's own contract: every version kept, dated, with who applied it and from where.

One row per version in `contract_versions` (schema.sql); the latest is the contract in force.
Journeys are built under it in the same store version (data.store.rebuild_journey), and
store_meta records which version and which stages and exits the events record, so a reader
never combines a contract with journeys built under another one. A store written before the
contract moved into the store has no versions: it reads the shipped default (data/funnel.toml).

Writers only: every function takes a read-write connection inside data.store.replacing() (or
the read-only connection of a reader, for `of_store`).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json

import duckdb

from data import contract as contract_mod
from data.contract import Contract, ContractError

META_VERSION = "contract_version"
META_HASH = "contract_hash"
META_TRACKED = "tracked_stages"
META_TRACKED_EXITS = "tracked_exits"
# Stages a loaded file records even where no record has reached them yet (a date column per
# stage, present in the export): JSON list of keys, kept across imports.
META_DECLARED = "declared_stages"


def user_name() -> str:
    """Who is applying a change from this process (the OS account), for the version record."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_name = $name and table_catalog = current_database()",
        {"name": name},
    ).fetchone()
    return bool(row[0])


def latest(con: duckdb.DuckDBPyConnection) -> tuple[int, str] | None:
    """(version, text) of the contract in force, or None when the store keeps none yet."""
    if not _has_table(con, "contract_versions"):
        return None
    row = con.execute("select version, toml from contract_versions order by version desc limit 1").fetchone()
    return (int(row[0]), row[1]) if row else None


def history(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every version, newest first: version, applied_at, applied_by, source, contract_hash."""
    if not _has_table(con, "contract_versions"):
        return []
    rows = con.execute(
        "select version, applied_at, applied_by, source, contract_hash from contract_versions "
        "order by version desc"
    ).fetchall()
    keys = ("version", "applied_at", "applied_by", "source", "contract_hash")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def text_of(con: duckdb.DuckDBPyConnection) -> str:
    """The text of the contract in force (the shipped default when the store keeps none)."""
    found = latest(con)
    return found[1] if found else contract_mod.default_text()


def _meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    if not _has_table(con, "store_meta"):
        return {}
    return dict(con.execute("select key, value from store_meta").fetchall())


def of_store(con: duckdb.DuckDBPyConnection) -> Contract:
    """The contract in force, with the stages and exits the store's events record attached."""
    contract = contract_mod.loads(text_of(con), origin="the store's contract")
    meta = _meta(con)
    stages = json.loads(meta[META_TRACKED]) if META_TRACKED in meta else None
    exits = json.loads(meta[META_TRACKED_EXITS]) if META_TRACKED_EXITS in meta else None
    return contract.with_tracked(
        frozenset(stages) if stages is not None else None, frozenset(exits) if exits is not None else None
    )


def save(
    con: duckdb.DuckDBPyConnection,
    text: str,
    source: str,
    user: str | None = None,
    at: dt.datetime | None = None,
) -> int | None:
    """Validate `text` and make it the contract in force; returns the new version, or None when
    it is the same text as the version in force (nothing to record)."""
    contract_mod.loads(text, origin=source)  # refuse an invalid contract before writing
    found = latest(con)
    if found and found[1] == text:
        return None
    version = (found[0] if found else 0) + 1
    con.execute(
        "insert into contract_versions values ($version, $at, $by, $source, $hash, $toml)",
        {
            "version": version,
            "at": at or dt.datetime.now(dt.UTC).replace(tzinfo=None),
            "by": (user or user_name())[:200],
            "source": source[:200],
            "hash": contract_mod.text_hash(text),
            "toml": text,
        },
    )
    return version


def ensure(con: duckdb.DuckDBPyConnection, contract: Contract | str, source: str) -> None:
    """Make `contract` (a Contract or a contract's text) the one in force if it is not already.

    A Contract equal to the one in force (its text may carry comments) changes nothing."""
    if isinstance(contract, str):
        save(con, contract, source)
        return
    found = latest(con)
    current = contract_mod.loads(found[1]) if found else None
    bare = contract.with_tracked(None, None)
    if current == bare:
        return
    if found is None and bare == contract_mod.load():
        save(con, contract_mod.default_text(), source)
    else:
        save(con, contract_mod.dumps(bare), source)


def declared(con: duckdb.DuckDBPyConnection) -> set[str]:
    meta = _meta(con)
    return set(json.loads(meta[META_DECLARED])) if META_DECLARED in meta else set()


def declare(con: duckdb.DuckDBPyConnection, keys) -> None:
    """Record that the data loaded into this store records these stages (a loaded file has a
    date column for each), even before any record reaches them."""
    keys = sorted(declared(con) | set(keys))
    con.execute(
        "insert or replace into store_meta values ($key, $value)",
        {"key": META_DECLARED, "value": json.dumps(keys)},
    )


def tracked_keys(con: duckdb.DuckDBPyConnection, contract: Contract) -> tuple[list[str], list[str]]:
    """(stage keys, exit keys) of the contract the store's data records: a stage some stored
    event enters or a loaded file declares (`declare`), an exit some stored event takes."""
    found = {
        r[0]
        for r in con.execute(
            "select distinct event_type from events where event_type = any($keys)",
            {"keys": contract.stage_keys + contract.exit_keys},
        ).fetchall()
    }
    stages = found | declared(con)
    return [k for k in contract.stage_keys if k in stages], [k for k in contract.exit_keys if k in found]


def check_built(meta: dict[str, str], text: str) -> None:
    """Refuse journeys built under another contract version than the one in force."""
    built = meta.get(META_HASH)
    if built and built != contract_mod.text_hash(text):
        raise ContractError(
            "the journeys in this store were built under another version of its contract: "
            "rebuild them with `python -m data.store rebuild`"
        )

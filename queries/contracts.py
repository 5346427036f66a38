"""The contract the dashboard computes with: the store's own, read once per store version.

Every query function takes `contract=None` and falls back to `current(db)`: the contract in
force in the store it reads (data/contract_store.py), with the stages and exits its events
record attached. Journeys built under another contract version are refused here, so a page can
never show numbers computed under one definition next to labels of another.
"""

from __future__ import annotations

import threading
from pathlib import Path

from data import contract_store
from data.contract import Contract
from queries import executor

_CACHE: dict[tuple[str, str], Contract] = {}
_LOCK = threading.Lock()


def current(db: Path | None = None) -> Contract:
    """The store's contract in force (tracked stages attached), remembered per store version."""
    key = (str(db), executor.store_version(db))
    with _LOCK:
        found = _CACHE.get(key)
    if found is not None:
        return found
    with executor.connect(db) as con:
        text = contract_store.text_of(con)
        meta = dict(con.execute("select key, value from store_meta").fetchall())
        contract_store.check_built(meta, text)
        contract = contract_store.of_store(con)
    with _LOCK:
        if len(_CACHE) > 16:  # a few store versions at a time are enough
            _CACHE.clear()
        _CACHE[key] = contract
    return contract


def history(db: Path | None = None) -> list[dict]:
    """Every version of the store's contract, newest first: version, applied_at, applied_by,
    source, contract_hash (empty for a store that keeps none yet)."""
    with executor.connect(db) as con:
        return contract_store.history(con)


def stage_rows(contract: Contract) -> list[dict]:
    """The contract's stages as a small table bound as one parameter ($stage_rows): one row per
    stage, in funnel order, with its stage_order (1-based), stage_key, transition_team (the team
    owning the move from it; null for the last) and expected_days (null where not set). The SQL
    unnests the list once and joins it, which means the same on DuckDB, ClickHouse and Spark;
    lists unnested side by side, or a list indexed by a computed position, do not."""
    return [
        {
            "stage_order": order,
            "stage_key": s.key,
            "transition_team": s.owner,
            "expected_days": float(s.expected_days) if s.expected_days else None,
        }
        for order, s in enumerate(contract.stages, start=1)
    ]

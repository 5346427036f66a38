"""Small helpers for the importer tests: write a file, import it, read the store back."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import duckdb

from data import importer, store
from data.import_read import Source

NOW = dt.datetime(2025, 6, 1, 12, 0)  # the tests' "now": dates after 2025-06-02 12:00 are future
HEADER = "event_id,lead_id,deal_id,event_type,occurred_at,owner_id,team,reason_code,amount"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def run(
    tmp_path: Path, files, mapping="event_log", db: Path | None = None, **kwargs
) -> importer.ImportReport:
    """Import `files` (paths) into `db` (tmp_path/store.duckdb by default) as of NOW."""
    db = db or tmp_path / "store.duckdb"
    paths = files if isinstance(files, list) else [files]
    kwargs.setdefault("now", NOW)
    return importer.import_files([Source.from_path(p) for p in paths], mapping, db, **kwargs)


def run_importer(*args: str) -> str:
    """`python -m data.importer ARGS`, exit code 0; what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert importer.main(list(args)) == 0
    return out.getvalue()


def summarise(capsys, db, *args) -> dict:
    """`python -m reports.summary --db DB --json ARGS`, exit code 0; the summary it printed."""
    from reports import summary

    capsys.readouterr()
    assert summary.main(["--db", str(db), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def log_file(tmp_path: Path, rows: list[str], name: str = "events.csv") -> Path:
    return write(tmp_path, name, HEADER + "\n" + "\n".join(rows) + "\n")


def query(db: Path, sql: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect()
    try:
        con.execute("attach " + store.sql_literal(db) + " as s (read_only)")
        con.execute("use s")
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def mapping_file(tmp_path: Path, text: str, name: str = "custom.toml") -> Path:
    return write(tmp_path, name, text)


EVENT_LOG_MAPPING = """
name = "test log"
timezone = "{tz}"
max_rejected_share = {share}
event_id_prefix = "t"
{extra}

[[files]]
role = "events"
shape = "long"
event_id = "event_id"
lead_id = "lead_id"
deal_id = "deal_id"
stage = "event_type"
time = "occurred_at"
owner = "owner_id"
team = "team"
reason = "reason_code"
amount = "amount"
optional = ["deal_id", "owner_id", "team", "reason_code", "amount"]
"""


def log_mapping(tmp_path: Path, tz: str = "UTC", share: float = 1.0, extra: str = "") -> Path:
    """The event-log mapping with a chosen zone and rejection limit (1.0: never refuse)."""
    return mapping_file(tmp_path, EVENT_LOG_MAPPING.format(tz=tz, share=share, extra=extra))

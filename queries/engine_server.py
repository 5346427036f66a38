"""HANDOFF_ENGINE=clickhouse on a ClickHouse server, through clickhouse-connect.

Chosen by queries/engines.py when a server is configured, else the queries run on embedded
chdb (one machine). The SQL is the same translation (engines.translate); what differs is where
the tables live and how they are loaded.

- Where. $HANDOFF_CLICKHOUSE_URL (`http[s]://user:password@host:8123/database?cluster=name`),
  else Streamlit's secrets, section [clickhouse]: url, username, password, database, cluster
  (read only when Streamlit is imported and a secrets file exists; no secrets is no server).
  The database (default `handoff`) is created if missing.
- Tables. Per store version (the store file's and the team's edits', as for chdb), every table
  of the store and of the edits is created on the server as `ENGINE = MergeTree ORDER BY
  lead_id` (`tuple()` without a lead_id), every column Nullable (a list: Array(Nullable(..)))
  as on the chdb path, and its rows are copied from DuckDB as Arrow record batches
  (client.insert_arrow). With a cluster, each table is a local MergeTree created ON CLUSTER
  plus a Distributed table over it, sharded by cityHash64(lead_id); a table without a lead_id
  (the small look-ups, the edits) is sharded by rand(), and joins run with
  distributed_product_mode = 'global', so a join on any key sees every shard's rows.
- Versions, and never a half-loaded table. A load goes into two new databases named for the
  version and a nonce (`<db>_store_<tag>`, `<db>_edits_<tag>`); only once every table is
  loaded is a row (version, tag) inserted into `<db>.handoff_loads`. A reader takes the newest
  tag of its version from there, so it reads a complete load or none (then loads one itself);
  a process never swaps tables under another. A second process on the same store version
  reuses the load it finds. After a load, the loads of the same store file beyond the newest
  two are dropped (a query still in flight on the previous version keeps its tables; a
  process whose load was dropped under it finds or makes a new one and runs the query again).
  Why not one set of tables swapped by EXCHANGE: two processes may read two versions at once
  (a page run pinned to the version it started on), and a crash mid-load then leaves only
  databases no load names, never a half-loaded table read.
- Queries. The translated statement with its store tables named in the loaded databases, its
  {name:Type} parameters sent as the server's param_<name> values in ClickHouse's text format
  (the same text chdb gets), engines.SETTINGS as client settings; results read as Arrow and
  typed as on the chdb path. One client for the process, without a session, so Streamlit's
  threads share it; run_over's rows go to a Memory table named uniquely per call in `<db>`,
  dropped after (not a session's temporary table: no two threads share a session).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import sys
import threading
import uuid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd

ENV_URL = "HANDOFF_CLICKHOUSE_URL"
DEFAULT_DATABASE = "handoff"
LOADS = "handoff_loads"  # the table naming each complete load: (store, version, tag, loaded_at)
KEEP_LOADS = 2  # loads of one store file kept: the newest and the one before it
BATCH_ROWS = 100_000  # rows per Arrow batch sent


@dataclasses.dataclass(frozen=True)
class Config:
    host: str
    port: int
    username: str = "default"
    password: str = ""
    database: str = DEFAULT_DATABASE
    cluster: str | None = None
    secure: bool = False


def config() -> Config | None:
    """The server to run on: $HANDOFF_CLICKHOUSE_URL, else secrets [clickhouse], else None."""
    url = (os.environ.get(ENV_URL) or "").strip()
    if url:
        return from_url(url)
    section = _secrets()
    if not section or not section.get("url"):
        return None
    found = from_url(str(section["url"]))
    extra = {k: section[k] for k in ("username", "password", "database", "cluster") if section.get(k)}
    return dataclasses.replace(found, **{k: str(v) for k, v in extra.items()})


def from_url(url: str) -> Config:
    """`http[s]://user:password@host:port/database?cluster=name` as a Config."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{ENV_URL}: expected http[s]://user:password@host:port/database, got {url!r}")
    secure = parts.scheme == "https"
    database = unquote(parts.path.strip("/")) or DEFAULT_DATABASE
    _check_name(database)
    cluster = (parse_qs(parts.query).get("cluster") or [None])[0]
    return Config(
        host=parts.hostname,
        port=parts.port or (8443 if secure else 8123),
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        database=database,
        cluster=cluster,
        secure=secure,
    )


def _secrets() -> dict | None:
    """Streamlit's [clickhouse] secrets, only if Streamlit is in use and a secrets file exists."""
    if "streamlit" not in sys.modules:
        return None
    try:
        import streamlit as st

        if not st.secrets.load_if_toml_exists():
            return None
        section = st.secrets.get("clickhouse")
        return dict(section) if section else None
    except Exception:  # noqa: BLE001 (no readable secrets: no server)
        return None


def _check_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"not a plain ClickHouse name: {name!r}")
    return name


# --- DDL (pure: the statements for a table, a database; unit-tested) --------------------------


def column_type(duckdb_type: str) -> str:
    """A DuckDB column type as the ClickHouse type it loads into, nullable as every DuckDB
    column is (as chdb reads the same column from Parquet: a date is a Date32, a timestamp a
    DateTime64(6), a list an Array of nullable elements)."""
    t = duckdb_type.strip().upper()
    if t.endswith("[]"):
        return f"Array({column_type(t[:-2])})"
    scalar = {
        "BOOLEAN": "Bool",
        "TINYINT": "Int8",
        "SMALLINT": "Int16",
        "INTEGER": "Int32",
        "BIGINT": "Int64",
        "HUGEINT": "Int128",
        "UTINYINT": "UInt8",
        "USMALLINT": "UInt16",
        "UINTEGER": "UInt32",
        "UBIGINT": "UInt64",
        "FLOAT": "Float32",
        "DOUBLE": "Float64",
        "VARCHAR": "String",
        "BLOB": "String",
        "UUID": "UUID",
        "DATE": "Date32",
        "TIMESTAMP": "DateTime64(6)",
        "TIMESTAMP WITH TIME ZONE": "DateTime64(6, 'UTC')",
    }
    if t in scalar:
        return f"Nullable({scalar[t]})"
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", t)
    if decimal:
        return f"Nullable(Decimal({decimal[1]}, {decimal[2]}))"
    raise TypeError(f"no ClickHouse type for the DuckDB column type {duckdb_type}")


def database_ddl(database: str, cluster: str | None = None) -> str:
    return f"CREATE DATABASE IF NOT EXISTS {_check_name(database)}{_on(cluster)}"


def drop_database_ddl(database: str, cluster: str | None = None) -> str:
    return f"DROP DATABASE IF EXISTS {_check_name(database)}{_on(cluster)} SYNC"


def table_ddl(
    database: str, table: str, columns: list[tuple[str, str]], cluster: str | None = None
) -> list[str]:
    """The statements that create one table of a load: `columns` are (name, ClickHouse type).
    Without a cluster one MergeTree table; with one a local MergeTree `<table>_local` on every
    node and the Distributed table `<table>` over them, by lead (cityHash64(lead_id)), or
    rand() for a table without a lead_id."""
    names = [c for c, _ in columns]
    order = "lead_id" if "lead_id" in names else "tuple()"
    body = ", ".join(f"{_ident(c)} {t}" for c, t in columns)
    merge = f"ENGINE = MergeTree ORDER BY {order} SETTINGS allow_nullable_key = 1"
    db = _check_name(database)
    if not cluster:
        return [f"CREATE TABLE {db}.{_ident(table)} ({body}) {merge}"]
    local = f"{table}_local"
    key = "cityHash64(lead_id)" if "lead_id" in names else "rand()"
    return [
        f"CREATE TABLE {db}.{_ident(local)}{_on(cluster)} ({body}) {merge}",
        f"CREATE TABLE {db}.{_ident(table)}{_on(cluster)} AS {db}.{_ident(local)} "
        f"ENGINE = Distributed({_ident(cluster)}, {db}, {_ident(local)}, {key})",
    ]


def _on(cluster: str | None) -> str:
    return f" ON CLUSTER {_ident(cluster)}" if cluster else ""


def _ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


# --- the server backend ----------------------------------------------------------------------


class _Text:
    """A parameter value already in ClickHouse's text format (engines.translate's): handed to
    clickhouse-connect, which sends str(value) as param_<name> as it is (a str it would escape
    again)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


@dataclasses.dataclass(frozen=True)
class _Loaded:
    version: str
    store_db: str
    edits_db: str
    schema: dict  # the store's tables: {table: {column: type}}, for engines.translate


class Server:
    """One clickhouse-connect client for this process and the load its queries read."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.lock = threading.Lock()  # one load at a time; queries do not take it
        self.loaded: _Loaded | None = None  # the load made or found last
        self.loads: dict[str, _Loaded] = {}  # by version: a pinned run's and the live one
        self._client = None
        self._client_lock = threading.Lock()

    def settings(self) -> dict:
        from queries import engines

        out = dict(engines.SETTINGS)
        if self.cfg.cluster:
            out["distributed_product_mode"] = "global"  # a join of two sharded tables sees all rows
        return out

    def client(self):
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    import clickhouse_connect

                    self._client = clickhouse_connect.get_client(
                        host=self.cfg.host,
                        port=self.cfg.port,
                        username=self.cfg.username,
                        password=self.cfg.password,
                        secure=self.cfg.secure,
                        settings=self.settings(),
                        autogenerate_session_id=False,  # shared by threads: no session
                    )
        return self._client

    # --- loads ---

    def ready(self, db: Path | None) -> _Loaded:
        """The load of the store version this thread reads now (made if there is none)."""
        from queries import engines, executor

        path = executor._path(db)
        version = f"{path}|{executor.store_version(db)}|{engines._edits_version(db)}"
        loaded = self.loads.get(version)
        if loaded is not None:
            return loaded
        client = self.client()
        with self.lock:
            if version in self.loads:
                return self.loads[version]
            columns = engines.store_columns(path, executor.edits_path(db))
            tag = self._find(client, version) or self._load(
                client, path, executor.edits_path(db), version, columns
            )
            schema = {
                t: dict.fromkeys(c for c, _ in cols) for (d, t), cols in columns.items() if d == "store"
            }
            self.loaded = _Loaded(version, self._db("store", tag), self._db("edits", tag), schema)
            self.loads = {**dict(list(self.loads.items())[-(KEEP_LOADS - 1) :]), version: self.loaded}
            return self.loaded

    def _on_load(self, db: Path | None, fn):
        """fn(the load of this thread's store version); once more on a new load if its
        databases were dropped meanwhile (another process's clean-up of old loads)."""
        try:
            return fn(self.ready(db))
        except Exception as exc:
            if "UNKNOWN_DATABASE" not in str(exc):
                raise
            with self.lock:
                self.loads = {}
            return fn(self.ready(db))

    def _db(self, kind: str, tag: str) -> str:
        return f"{self.cfg.database}_{kind}_{tag}"

    def _loads_table(self, client) -> str:
        db = self.cfg.database
        client.command(database_ddl(db, self.cfg.cluster))
        client.command(
            f"CREATE TABLE IF NOT EXISTS {db}.{LOADS} (store String, version String, tag String, "
            "loaded_at DateTime64(3)) ENGINE = MergeTree ORDER BY (store, version, loaded_at)"
        )
        return f"{db}.{LOADS}"

    def _find(self, client, version: str) -> str | None:
        """The newest complete load of `version` whose databases are still there."""
        loads = self._loads_table(client)
        rows = client.query(
            f"SELECT tag FROM {loads} WHERE version = {{v:String}} "  # noqa: S608 (our names)
            f"AND concat({{p:String}}, tag) IN (SELECT name FROM system.databases) "
            "ORDER BY loaded_at DESC LIMIT 1",
            parameters={"v": _Text(_escaped(version)), "p": _Text(f"{self.cfg.database}_store_")},
        ).result_rows
        return rows[0][0] if rows else None

    def _load(self, client, path: Path, edits_file: Path, version: str, columns: dict) -> str:
        """Every table of the store and the edits into new databases; then the marker row."""
        import duckdb

        from queries import executor

        tag = hashlib.sha1(version.encode()).hexdigest()[:10] + "_" + uuid.uuid4().hex[:8]  # noqa: S324
        cluster = self.cfg.cluster
        for kind in ("store", "edits"):
            client.command(database_ddl(self._db(kind, tag), cluster))
        con = duckdb.connect(config=executor.READER_CONFIG)
        try:
            con.execute("set enable_progress_bar = false")
            executor._attach(con, path, "store")
            executor._attach_edits(con, edits_file)
            insert = {"insert_distributed_sync": 1} if cluster else None  # loaded when it returns
            for (kind, table), cols in columns.items():
                target = self._db(kind, tag)
                typed = [(c, column_type(t)) for c, t in cols]
                for statement in table_ddl(target, table, typed, cluster):
                    client.command(statement)
                # Names from information_schema.
                reader = con.sql(f'select * from {kind}.main."{table}"').to_arrow_reader(BATCH_ROWS)  # noqa: S608
                for batch in reader:
                    if batch.num_rows:
                        import pyarrow as pa

                        client.insert_arrow(
                            _ident(table), pa.Table.from_batches([batch]), database=target, settings=insert
                        )
        finally:
            con.close()
        client.command(
            f"INSERT INTO {self._loads_table(client)} VALUES "  # noqa: S608 (our names; values bound)
            "({s:String}, {v:String}, {t:String}, now64(3))",
            parameters={"s": _Text(_escaped(str(path))), "v": _Text(_escaped(version)), "t": _Text(tag)},
        )
        self._drop_old(client, str(path))
        return tag

    def _drop_old(self, client, store: str) -> None:
        """The loads of `store` beyond the newest KEEP_LOADS: their databases dropped."""
        rows = client.query(
            f"SELECT tag FROM {self.cfg.database}.{LOADS} WHERE store = {{s:String}} "  # noqa: S608
            "ORDER BY loaded_at DESC",
            parameters={"s": _Text(_escaped(store))},
        ).result_rows
        for (tag,) in rows[KEEP_LOADS:]:
            for kind in ("store", "edits"):
                client.command(drop_database_ddl(self._db(kind, tag), self.cfg.cluster))

    # --- queries ---

    def _names(self, loaded: _Loaded, renames: dict[str, str] | None = None):
        """The translated tree's tables named in the load: `store.t`, an unqualified store
        table, and `edits.t`; `renames` maps an unqualified name (run_over's base) to a table
        of `<db>`."""
        from sqlglot import exp

        def name(tree):
            ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
            for table in tree.find_all(exp.Table):
                if not isinstance(table.this, exp.Identifier):
                    continue
                db, t = table.db, table.name
                if not db and renames and t in renames:
                    table.set("this", exp.to_identifier(renames[t], quoted=True))
                    table.set("db", exp.to_identifier(self.cfg.database))
                    if not table.alias:  # columns qualified by the old name still find it
                        table.set("alias", exp.TableAlias(this=exp.to_identifier(t)))
                elif db == "store" or (not db and t in loaded.schema and t not in ctes):
                    table.set("db", exp.to_identifier(loaded.store_db))
                elif db == "edits":
                    table.set("db", exp.to_identifier(loaded.edits_db))
            return tree

        return name

    def _translate(self, sql, params, schema, names, key=None):
        """engines.translate with the load's names; `key` keeps the text (None: a name of this
        call only is in it, as run_over's held table is)."""
        from queries import engines

        text, bound = engines.translate(sql, params or {}, schema, after=names, key=key)
        return text, {k: _Text(v) for k, v in bound.items()}

    def _frame(self, text: str, bound: dict) -> pd.DataFrame:
        from queries import engines

        table = self.client().query_arrow(text, parameters=bound)
        return engines._frame(table.to_pandas())

    def run_sql(self, sql: str, params: dict | None, db: Path | None) -> pd.DataFrame:
        def run(loaded: _Loaded) -> pd.DataFrame:
            key = (loaded.store_db, loaded.edits_db)
            text, bound = self._translate(sql, params, loaded.schema, self._names(loaded), key)
            return self._frame(text, bound)

        return self._on_load(db, run)

    def run_over(
        self, texts: list[str], params: list[dict], base: str, db: Path | None
    ) -> list[pd.DataFrame]:
        """engines.run_over on the server: the first text's rows in a Memory table of `<db>`
        named for this call only, read by the other texts as `base`, dropped after."""
        return self._on_load(db, lambda loaded: self._run_over(loaded, texts, params, base))

    def _run_over(
        self, loaded: _Loaded, texts: list[str], params: list[dict], base: str
    ) -> list[pd.DataFrame]:
        client = self.client()
        held = f"over_{base}_{uuid.uuid4().hex}"
        full = f"{self.cfg.database}.{_ident(held)}"
        key = (loaded.store_db, loaded.edits_db)
        first, bound = self._translate(texts[0], params[0], loaded.schema, self._names(loaded), key)
        client.command(f"CREATE TABLE {full} ENGINE = Memory AS {first}", parameters=bound or None)
        try:
            described = client.query(f"DESCRIBE TABLE {full}").result_rows
            schema = {**loaded.schema, base: {r[0]: r[1] for r in described}}
            names = self._names(loaded, {base: held})
            out = []
            for text, values in zip(texts[1:], params[1:], strict=True):
                sql, b = self._translate(text, values, schema, names)
                out.append(self._frame(sql, b))
            return out
        finally:
            client.command(f"DROP TABLE IF EXISTS {full} SYNC")


def _escaped(text: str) -> str:
    """A string as a top-level String parameter in ClickHouse's escaped text format."""
    from queries import engine_rewrites

    return engine_rewrites.ch_text(text)


_SERVERS: dict[Config, Server] = {}
_SERVERS_LOCK = threading.Lock()


def backend() -> Server | None:
    """The server backend for the configured server, or None (then embedded chdb)."""
    cfg = config()
    if cfg is None:
        return None
    with _SERVERS_LOCK:
        if cfg not in _SERVERS:
            _SERVERS[cfg] = Server(cfg)
        return _SERVERS[cfg]

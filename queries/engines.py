"""Where the pages' SQL runs: the store file on DuckDB (the default), or ClickHouse.

HANDOFF_ENGINE picks the engine: `duckdb` (the default: queries/executor.py runs every query on
the store file and never imports this module's translator) or `clickhouse`: a ClickHouse server through
clickhouse-connect when one is configured ($HANDOFF_CLICKHOUSE_URL or secrets [clickhouse]; its
loading and naming are in queries/engine_server.py), else embedded chdb in this process, for
one machine. The translation below is the same for both; what follows describes chdb.

With `clickhouse`:

- Tables. For each version of the store (executor.store_version: inode, mtime, size; and the
  team's edits), every table of the store and of the edits file is exported once from DuckDB to
  Parquet (a temporary directory, removed once loaded), then loaded into the chdb session as a
  MergeTree table (databases `store` and `edits`), ordered by `lead_id` where the table has
  one, else by nothing (`tuple()`). Columns keep DuckDB's nullability (every Parquet column is
  nullable), so a null reads as null, as it does on DuckDB. A new store version drops and
  reloads them. One session per process, one query at a time on it (a lock).
- SQL. A query is the text the executor renders for DuckDB (macros and ref()s expanded, the
  same file), parsed by SQLGlot as DuckDB and written as ClickHouse, with the rewrite layer of
  queries/engine_rewrites.py between the two: AST transforms this product owns for what SQLGlot
  leaves wrong or means differently. There is no second hand-written copy of any query.
- Parameters. chdb takes ClickHouse query parameters, so each `$name` becomes `{name:Type}`
  and its value travels apart from the text, typed from the Python value (str String, int
  Int64, float Float64, bool Bool, date Date, datetime DateTime64(6), timedelta
  IntervalMicrosecond, a list or tuple of str Array(String), Array(Nullable(String)) when it
  holds a null), in the parameters' own text format (escaped; never spliced into the SQL). A
  null value is the SQL literal NULL (an AST node, not text). A list filter is never a null
  list (the SQL reads `$all_x or list_contains($x, col)`: ClickHouse has no nullable arrays).
- Settings make ClickHouse mean what DuckDB means (SETTINGS: nulls from outer joins and empty
  aggregates and grouping sets, a column preferred to a same-named alias, UTC).
- Results come back as pandas DataFrames with the columns the query names, typed as DuckDB's
  read: timestamps without a zone in microseconds, counts as int64, booleans as bool.

The rewrites themselves are listed in queries/engine_rewrites.py; `make parity`
(tests/parity.py) checks every query the pages run against DuckDB.
"""

from __future__ import annotations

import atexit
import collections
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pandas as pd

ENV_ENGINE = "HANDOFF_ENGINE"
ENGINES = ("duckdb", "clickhouse")
DEFAULT_ENGINE = "duckdb"


def current() -> str:
    """The engine the pages' queries run on: $HANDOFF_ENGINE, else duckdb."""
    name = (os.environ.get(ENV_ENGINE) or DEFAULT_ENGINE).strip().lower()
    if name not in ENGINES:
        raise ValueError(f"{ENV_ENGINE}={name!r}: expected one of {', '.join(ENGINES)}")
    return name


# ClickHouse settings that make its answers mean what DuckDB's do.
SETTINGS = {
    "session_timezone": "UTC",
    "join_use_nulls": 1,  # an outer join's missing side is null, not the type's default
    "aggregate_functions_null_for_empty": 1,  # sum/min/max over no rows are null
    "cast_keep_nullable": 1,
    "union_default_mode": "DISTINCT",
    "enable_named_columns_in_function_tuple": 1,  # tuple(x AS k): a struct's element names
    "group_by_use_nulls": 1,  # grouping sets: a key not grouped by is null, not its default
    "prefer_column_name_to_alias": 1,  # `sum(n) as n`: a later `n` is the column, as on DuckDB
    "output_format_pretty_row_numbers": 0,
}


class _Chdb:
    """One chdb session for this process and the store version its tables were loaded from."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.session = None
        self.version: str | None = None
        self.workdir: Path | None = None
        self.schema: dict[str, dict[str, str]] = {}  # the store's tables: {table: {column: type}}

    def ready(self, db: Path | None) -> object:
        """The session with the tables of the store version this thread reads now."""
        from queries import executor

        path = executor._path(db)
        version = f"{path}|{executor.store_version(db)}|{_edits_version(db)}"
        if self.session is None:
            import chdb.session

            self.session = chdb.session.Session()
            for key, value in SETTINGS.items():
                self.session.query(f"SET {key} = {_setting(value)}")
        if self.version != version:
            self._load(path, executor.edits_path(db))
            self.version = version
        return self.session

    def _load(self, path: Path, edits_file: Path) -> None:
        """Export every table of the store and of the edits to Parquet, and load each into a
        MergeTree table of the session (databases `store` and `edits`)."""
        self.workdir = Path(tempfile.mkdtemp(prefix="handoff-chdb-"))
        tables = export_parquet(path, edits_file, self.workdir)
        self.schema = {
            t: dict.fromkeys(cols, "unknown") for (d, t), (_, cols) in tables.items() if d == "store"
        }
        s = self.session
        for database in ("store", "edits"):
            s.query(f"DROP DATABASE IF EXISTS {database}")
            s.query(f"CREATE DATABASE {database}")
        for (database, table), (parquet, columns) in tables.items():
            order = "lead_id" if "lead_id" in columns else "tuple()"
            # Names are the store's own tables (information_schema), the path one we made.
            create = f"CREATE TABLE {database}.`{table}` ENGINE = MergeTree ORDER BY {order} "
            source = f"SELECT * FROM file('{parquet}', Parquet)"  # noqa: S608
            s.query(f"{create}SETTINGS allow_nullable_key = 1 AS {source}")
        s.query("USE store")
        shutil.rmtree(self.workdir, ignore_errors=True)  # loaded: the Parquet files are done with
        self.workdir = None


def _setting(value) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value) + "'"


def _edits_version(db: Path | None) -> str:
    from data import edits as edits_mod
    from queries import executor

    return executor.edits_version(tuple(edits_mod.KINDS), db)


def store_columns(path: Path, edits_file: Path) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """{(database, table): [(column, DuckDB type)]} of every base table of the store and of the
    team's edits (databases `store` and `edits`), read on a DuckDB of its own."""
    import duckdb

    from queries import executor

    con = duckdb.connect(config=executor.READER_CONFIG)
    try:
        executor._attach(con, path, "store")
        executor._attach_edits(con, edits_file)
        rows = con.execute(
            "select table_catalog, table_name, list(column_name order by ordinal_position), "
            "list(data_type order by ordinal_position) "
            "from information_schema.columns join information_schema.tables "
            "using (table_catalog, table_schema, table_name) "
            "where table_type = 'BASE TABLE' and table_catalog in ('store', 'edits') "
            "and table_schema = 'main' group by all order by all"
        ).fetchall()
        return {(d, t): list(zip(cols, types, strict=True)) for d, t, cols, types in rows}
    finally:
        con.close()


def export_parquet(
    path: Path, edits_file: Path, workdir: Path
) -> dict[tuple[str, str], tuple[Path, list[str]]]:
    """Every base table of the store (and of the team's edits) as a Parquet file in `workdir`:
    {(database, table): (file, columns)}. Read on a DuckDB of its own (the executor's readers
    cannot write files), the store attached read-only."""
    import duckdb

    from queries import executor

    tables = store_columns(path, edits_file)
    con = duckdb.connect(config=executor.READER_CONFIG)
    try:
        con.execute("set enable_progress_bar = false")
        executor._attach(con, path, "store")
        executor._attach_edits(con, edits_file)
        found = {}
        for (database, table), columns in tables.items():
            target = workdir / f"{database}.{table}.parquet"
            # Names from information_schema; the path is our own temporary directory.
            source = f'select * from {database}.main."{table}"'  # noqa: S608
            con.execute(f"copy ({source}) to {executor.store.sql_literal(target)} (format parquet)")
            found[(database, table)] = (target, [c for c, _ in columns])
        return found
    finally:
        con.close()


_CHDB = _Chdb()


@atexit.register
def _remove_exports() -> None:
    """Parquet exports of a load that did not finish go with the process."""
    if _CHDB.workdir is not None:
        shutil.rmtree(_CHDB.workdir, ignore_errors=True)


# --- translation -----------------------------------------------------------------------------


def translate(
    sql: str, params: dict, schema: dict | None = None, after=None, key: object = None
) -> tuple[str, dict[str, str]]:
    """DuckDB SQL (as the executor renders it) and its values -> ClickHouse SQL with {name:Type}
    parameters, and those parameters' values in ClickHouse's text format. `schema` ({table:
    {column: type}}, the store's) lets `t.*` be written out column by column; `after`, a
    function of the rewritten tree, names its tables where a server holds them
    (queries/engine_server.py).

    `key` (hashable: what `schema` and `after` stand for, e.g. the loaded store version) keeps
    the translation: parsing, rewriting and writing a page query takes SQLGlot 0.1 to 0.8 s, as
    long as ClickHouse takes to answer it. The text depends on the values only through each
    one's nullness and type (engine_rewrites.bind_parameters), so a text is kept per
    (key, SQL, each parameter's type or null) and the values are bound afresh on every call."""
    from queries import engine_rewrites

    if key is None:
        return _translate(sql, params, schema, after)
    shape = tuple(sorted((n, None if v is None else engine_rewrites.ch_type(v)) for n, v in params.items()))
    memo = (key, sql, shape)
    with _TRANSLATED_LOCK:
        found = _TRANSLATED.get(memo)
        if found is not None:
            _TRANSLATED.move_to_end(memo)
    if found is None:
        text, bound = _translate(sql, params, schema, after)
        with _TRANSLATED_LOCK:
            _TRANSLATED[memo] = (text, tuple(bound))
            while len(_TRANSLATED) > TRANSLATIONS_KEPT:
                _TRANSLATED.popitem(last=False)
        return text, bound
    text, names = found
    return text, {name: engine_rewrites.ch_text(params[name]) for name in names}


TRANSLATIONS_KEPT = 512  # the pages run about 60 distinct queries; filters change only values
_TRANSLATED: collections.OrderedDict[tuple, tuple[str, tuple[str, ...]]] = collections.OrderedDict()
_TRANSLATED_LOCK = threading.Lock()


def _translate(sql: str, params: dict, schema: dict | None, after) -> tuple[str, dict[str, str]]:
    import sqlglot

    from queries import engine_rewrites

    tree = sqlglot.parse_one(sql, read="duckdb")
    tree, bound = engine_rewrites.rewrite(tree, params, schema)
    if after is not None:
        tree = after(tree)
    return tree.sql(dialect="clickhouse"), bound


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    """ClickHouse's frame typed as DuckDB's reads: timestamps without a zone in microseconds,
    counts (UInt64) as int64."""
    for column in df.columns:
        s = df[column]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_dtype(s.dtype):
            s = s.astype("datetime64[us]")
        elif pd.api.types.is_unsigned_integer_dtype(s.dtype) and (s.dropna() < 2**63).all():
            s = s.astype("Int64" if isinstance(s.dtype, pd.api.extensions.ExtensionDtype) else "int64")
        df[column] = s
    return df


def _server():
    """The ClickHouse server backend when one is configured (a URL), else None: embedded chdb."""
    from queries import engine_server

    return engine_server.backend()


def run_sql(sql: str, params: dict | None, db: Path | None) -> pd.DataFrame:
    """One statement rendered for DuckDB, run on the configured ClickHouse server (queries/
    engine_server.py), else on chdb, over the store version this thread reads."""
    server = _server()
    if server is not None:
        return server.run_sql(sql, params, db)
    with _CHDB.lock:
        session = _CHDB.ready(db)
        text, bound = translate(sql, params or {}, _CHDB.schema, key=_CHDB.version)
        return _frame(session.query(text, "DataFrame", params=bound))


def run_over(texts: list[str], params: list[dict], base: str, db: Path | None) -> list[pd.DataFrame]:
    """executor.run_over on the server or chdb: the first text's rows held as a table `base`."""
    server = _server()
    if server is not None:
        return server.run_over(texts, params, base, db)
    with _CHDB.lock:
        session = _CHDB.ready(db)
        first, bound = translate(texts[0], params[0], _CHDB.schema, key=_CHDB.version)
        session.query(f"DROP TEMPORARY TABLE IF EXISTS {base}")
        session.query(f"CREATE TEMPORARY TABLE {base} ENGINE = Memory AS {first}", params=bound)
        try:
            described = session.query(f"DESCRIBE TABLE {base}", "DataFrame")
            schema = {**_CHDB.schema, base: dict(zip(described["name"], described["type"], strict=True))}
            out = []
            for text, values in zip(texts[1:], params[1:], strict=True):
                sql, b = translate(text, values, schema, key=(_CHDB.version, base, texts[0]))
                out.append(_frame(session.query(sql, "DataFrame", params=b)))
            return out
        finally:
            session.query(f"DROP TEMPORARY TABLE IF EXISTS {base}")


def describe() -> str:
    """Where the pages' queries run (HANDOFF_ENGINE=clickhouse), in a sentence for the Data page
    (the server's host and database, never its user or password)."""
    from queries import engine_server

    server = engine_server.config()
    if server is not None:
        where = f"{server.host}:{server.port}, database {server.database}"
        shards = f", sharded over cluster {server.cluster}" if server.cluster else ""
        return (
            f"a ClickHouse server at {where}{shards}, over the store's tables loaded there per store version"
        )
    return "ClickHouse (embedded chdb), over the store's tables loaded into it per store version"

"""HANDOFF_ENGINE=clickhouse on a ClickHouse server (queries/engine_server.py), through the real
clickhouse-connect client, against tests/clickhouse_http.py (ClickHouse's HTTP interface over a
chdb session: no server runs here). The default views equal DuckDB's; values bound as they
are; a new store version loaded apart and a half-done load never read; the cluster DDL."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests import parity
from tests.conftest import SAMPLE_LEADS
from tests.test_parity import PINNED

pytest.importorskip("chdb")
pytest.importorskip("sqlglot")
pytest.importorskip("clickhouse_connect")

from queries import engine_server  # noqa: E402
from tests import clickhouse_http  # noqa: E402


@pytest.fixture(scope="module")
def server_url():
    """The stand-in serving for this module, HANDOFF_CLICKHOUSE_URL pointed at it. The latest
    event remembered per store version (queries/funnel.py) is forgotten before and after, so
    this module and tests/test_parity.py each record its query."""
    from queries import funnel

    funnel._LATEST.clear()
    saved = os.environ.get(engine_server.ENV_URL)
    with clickhouse_http.serving() as url:
        os.environ[engine_server.ENV_URL] = url
        try:
            yield url
        finally:
            funnel._LATEST.clear()
            if saved is None:
                os.environ.pop(engine_server.ENV_URL, None)
            else:
                os.environ[engine_server.ENV_URL] = saved


def _on_server(monkeypatch, db: Path) -> None:
    monkeypatch.setenv("HANDOFF_ENGINE", "clickhouse")
    monkeypatch.setenv("HANDOFF_DB", str(db))


def test_default_views_equal_on_the_server(server_url, sample_store):
    lines: list[str] = []
    outcomes = parity.run(sample_store, n_views=0, out=lines.append)
    equal = {o.name for o in outcomes if o.equal}
    differing = "\n".join(line for line in lines if not line.startswith("parity:"))
    assert equal >= PINNED, f"not equal on the server: {sorted(PINNED - equal)}\n{differing}"
    assert all(o.equal for o in outcomes), differing
    # It ran on the server: the load is named there.
    server = engine_server.backend()
    assert server is not None and server.loaded is not None
    assert server.loaded.store_db.startswith(server.cfg.database + "_store_")


def test_values_are_bound_as_they_are(server_url, sample_store, monkeypatch):
    from queries import executor

    sql = (
        "select $name as name, coalesce($nothing, 'none') as nothing, $day as day, $day + 1 as next_day, $at as at, "
        "count(*) filter (where ($all_channels or list_contains($channels, channel))) as all_channels, "
        "count(*) filter (where list_contains($some, channel)) as some_channels, "
        "count(*) filter (where ($all_some or list_contains($some, channel)) and list_contains($regions, region)) as both "
        "from leads"
    )
    params = {
        "name": 'O\'Brien "Bob", 100%',
        "nothing": None,
        "day": dt.date(2025, 2, 28),
        "at": dt.datetime(2025, 3, 1, 12, 30, 15, 250000),
        # A list filter as the pages bind it (queries/filters.list_filter_params): never a null
        # list; nothing picked is an empty list with its "all" flag.
        "all_channels": True,
        "channels": [],
        "all_some": False,
        "some": ["paid_search", "it's not a channel"],
        "regions": ["EMEA", "North America"],
    }
    monkeypatch.delenv("HANDOFF_ENGINE", raising=False)
    on_duckdb = executor.run_sql(sql, params, db=sample_store)
    _on_server(monkeypatch, sample_store)
    got = executor.run_sql(sql, params, db=sample_store)
    row = got.iloc[0]
    assert row["name"] == 'O\'Brien "Bob", 100%'
    assert row["nothing"] == "none"
    assert pd.Timestamp(row["day"]) == pd.Timestamp("2025-02-28")
    assert pd.Timestamp(row["next_day"]) == pd.Timestamp("2025-03-01")
    assert pd.Timestamp(row["at"]) == pd.Timestamp("2025-03-01 12:30:15.250")
    assert row["all_channels"] == SAMPLE_LEADS
    assert 0 < row["some_channels"] < row["all_channels"]
    assert parity.compare(on_duckdb, got, in_order=True) == ""


def _count(db: Path) -> int:
    from queries import executor

    return int(executor.run_sql("select count(*) as n from leads", None, db=db)["n"].iloc[0])


def test_a_new_store_version_is_loaded_apart(server_url, tmp_path, monkeypatch):
    from data import store

    live = tmp_path / "live.duckdb"
    store.build_sample(live, n_leads=200)
    _on_server(monkeypatch, live)
    assert _count(live) == 200
    server = engine_server.backend()
    first = server.loaded

    # A new version of the same store file: a load of its own, the first one left in place.
    store.build_sample(tmp_path / "next.duckdb", n_leads=300)
    for suffix in ("", ".wal"):
        if Path(f"{live}{suffix}").exists():
            os.remove(f"{live}{suffix}")
    shutil.move(tmp_path / "next.duckdb", live)
    assert _count(live) == 300
    second = server.loaded
    assert second.store_db != first.store_db
    client = server.client()
    databases = {r[0] for r in client.query("SELECT name FROM system.databases").result_rows}
    assert {first.store_db, second.store_db} <= databases  # a query still on the first finds it

    # Another process on the same version reuses the complete load.
    other = engine_server.Server(server.cfg)
    assert other.ready(live).store_db == second.store_db

    # Its databases dropped under it (another process's clean-up): the next query loads again.
    client.command(engine_server.drop_database_ddl(second.store_db))
    assert _count(live) == 300
    assert server.loaded.store_db not in (first.store_db, second.store_db)


def test_a_half_done_load_is_never_read(server_url, tmp_path, monkeypatch):
    from data import store

    live = tmp_path / "half.duckdb"
    store.build_sample(live, n_leads=150)
    _on_server(monkeypatch, live)
    cfg = engine_server.backend().cfg
    broken = engine_server.Server(cfg)
    client = broken.client()
    real = client.insert_arrow
    sent: list[str] = []

    def fail_after_two(table, *args, **kwargs):
        sent.append(table)
        if len(sent) > 2:
            raise RuntimeError("the connection dropped mid-load")
        return real(table, *args, **kwargs)

    monkeypatch.setattr(client, "insert_arrow", fail_after_two)
    with pytest.raises(RuntimeError, match="mid-load"):
        broken.ready(live)
    assert broken.loaded is None
    # Its tables exist, part loaded, but no load names them: another reader loads its own.
    reader = engine_server.Server(cfg)
    loaded = reader.ready(live)
    assert loaded.version.startswith(str(live))
    monkeypatch.setattr(engine_server, "_SERVERS", {cfg: reader})
    assert _count(live) == 150
    rows = client.query(
        f"SELECT count() FROM {cfg.database}.{engine_server.LOADS} WHERE store = {{s:String}}",
        parameters={"s": str(live)},
    ).result_rows
    assert rows[0][0] == 1  # only the complete load is named


def test_the_cluster_ddl():
    columns = [("lead_id", "Nullable(String)"), ("n", "Nullable(Int64)")]
    assert engine_server.table_ddl("h_store_x", "leads", columns) == [
        "CREATE TABLE h_store_x.`leads` (`lead_id` Nullable(String), `n` Nullable(Int64)) "
        "ENGINE = MergeTree ORDER BY lead_id SETTINGS allow_nullable_key = 1"
    ]
    assert engine_server.table_ddl("h_store_x", "leads", columns, cluster="main") == [
        "CREATE TABLE h_store_x.`leads_local` ON CLUSTER `main` (`lead_id` Nullable(String), "
        "`n` Nullable(Int64)) ENGINE = MergeTree ORDER BY lead_id SETTINGS allow_nullable_key = 1",
        "CREATE TABLE h_store_x.`leads` ON CLUSTER `main` AS h_store_x.`leads_local` "
        "ENGINE = Distributed(`main`, h_store_x, `leads_local`, cityHash64(lead_id))",
    ]
    assert engine_server.table_ddl("h_edits_x", "targets", [("month", "Nullable(Date32)")], "main") == [
        "CREATE TABLE h_edits_x.`targets_local` ON CLUSTER `main` (`month` Nullable(Date32)) "
        "ENGINE = MergeTree ORDER BY tuple() SETTINGS allow_nullable_key = 1",
        "CREATE TABLE h_edits_x.`targets` ON CLUSTER `main` AS h_edits_x.`targets_local` "
        "ENGINE = Distributed(`main`, h_edits_x, `targets_local`, rand())",
    ]
    assert engine_server.database_ddl("h", "main") == "CREATE DATABASE IF NOT EXISTS h ON CLUSTER `main`"
    assert engine_server.drop_database_ddl("h") == "DROP DATABASE IF EXISTS h SYNC"


def test_column_types_keep_duckdbs_meaning():
    assert engine_server.column_type("VARCHAR") == "Nullable(String)"
    assert engine_server.column_type("TIMESTAMP") == "Nullable(DateTime64(6))"
    assert engine_server.column_type("DATE") == "Nullable(Date32)"
    assert engine_server.column_type("DECIMAL(14,2)") == "Nullable(Decimal(14, 2))"
    assert engine_server.column_type("VARCHAR[]") == "Array(Nullable(String))"
    with pytest.raises(TypeError, match="INTERVAL"):
        engine_server.column_type("INTERVAL")


def test_the_server_is_configured_by_url_or_not_at_all(monkeypatch):
    monkeypatch.delenv(engine_server.ENV_URL, raising=False)
    assert engine_server.config() is None  # no URL, no secrets: embedded chdb
    monkeypatch.setenv(engine_server.ENV_URL, "https://ana:s%40cret@ch.example:9443/funnel?cluster=main")
    assert engine_server.config() == engine_server.Config(
        host="ch.example",
        port=9443,
        username="ana",
        password="s@cret",
        database="funnel",
        cluster="main",
        secure=True,
    )
    monkeypatch.setenv(engine_server.ENV_URL, "http://ch.example")
    assert engine_server.config() == engine_server.Config(host="ch.example", port=8123)
    monkeypatch.setenv(engine_server.ENV_URL, "ch.example:8123")
    with pytest.raises(ValueError, match=engine_server.ENV_URL):
        engine_server.config()


def test_the_data_page_names_the_server_but_not_its_credentials(monkeypatch):
    from queries import executor

    monkeypatch.setenv("HANDOFF_ENGINE", "clickhouse")
    monkeypatch.delenv(engine_server.ENV_URL, raising=False)
    assert executor.engine_description().startswith("ClickHouse (embedded chdb)")
    monkeypatch.setenv(engine_server.ENV_URL, "https://ana:s%40cret@ch.example:9443/funnel?cluster=main")
    said = executor.engine_description()
    assert said.startswith(
        "a ClickHouse server at ch.example:9443, database funnel, sharded over cluster main"
    )
    assert "ana" not in said and "cret" not in said


def test_the_secrets_name_a_server_when_no_url_does(monkeypatch):
    monkeypatch.delenv(engine_server.ENV_URL, raising=False)
    section = {"url": "https://ch.example:8443", "username": "handoff", "password": "pw", "cluster": "main"}
    monkeypatch.setattr(engine_server, "_secrets", lambda: section)
    assert engine_server.config() == engine_server.Config(
        host="ch.example", port=8443, username="handoff", password="pw", cluster="main", secure=True
    )


def test_no_secrets_file_is_no_server(monkeypatch, tmp_path):
    import streamlit  # noqa: F401 (in use, as in the dashboard)

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(engine_server.ENV_URL, raising=False)
    assert engine_server.config() is None


def test_threads_share_the_server(server_url, sample_store):
    """Streamlit's threads at once: run_over's held rows are each call's own, every answer right."""
    from concurrent.futures import ThreadPoolExecutor

    calls, _ = parity.record(sample_store, n_views=0, seed=7)
    chosen = [c for c in calls if c.kind == "run_over"][:1] + [c for c in calls if c.kind == "run"][:3]
    with parity.store_env(sample_store, None):
        expected = [parity.execute(c) for c in chosen]
    with parity.store_env(sample_store, "clickhouse"), ThreadPoolExecutor(4) as pool:
        got = list(pool.map(parity.execute, chosen * 2))
    for call, ours, theirs in zip(chosen * 2, expected * 2, got, strict=True):
        for o, t, in_order in zip(ours, theirs, parity.ordered(call), strict=True):
            assert parity.compare(o, t, in_order) == "", call.name
    server = engine_server.backend()
    left = (
        server.client()
        .query(
            "SELECT count() FROM system.tables WHERE database = {d:String} AND name LIKE 'over_%'",
            parameters={"d": server.cfg.database},
        )
        .result_rows
    )
    assert left[0][0] == 0  # every held table dropped

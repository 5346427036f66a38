"""Contract checks on a generated sample: each check is a query returning the failing rows."""

from __future__ import annotations

import duckdb
import pytest

from data import contract as contract_mod
from data import edits, sample, store

N_LEADS = 4000


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    return store.build_sample(tmp_path_factory.mktemp("sample") / "s.duckdb", n_leads=N_LEADS, seed=11)


@pytest.fixture(scope="module")
def con(sample_db):
    """The sample store with its edits file (targets) attached beside it, as the dashboard reads."""
    with duckdb.connect() as c:
        c.execute("attach " + store.sql_literal(sample_db) + " as s (read_only)")
        c.execute("attach " + store.sql_literal(edits.path_for(sample_db)) + " as edits (read_only)")
        c.execute("use s")
        yield c


def failing(con, sql, params=None):
    return con.execute(sql, params or {}).fetchall()


C = contract_mod.load()
CHECKS = {
    "event ids are unique": "select event_id from events group by event_id having count(*) > 1",
    "every event's lead exists": "select e.event_id from events e anti join leads l on l.lead_id = e.lead_id",
    "event types are stages, exits or amounts": (
        "select event_id, event_type from events where not list_contains($known, event_type)"
    ),
    "no event precedes its lead's creation (planted rows aside)": (
        "select e.event_id from events e join leads l using (lead_id) "
        "where e.occurred_at < l.created_at and e.source <> 'sample:dirty'"
    ),
    "reason codes are in the contract (planted rows aside)": (
        "select event_id from events where reason_code is not null "
        "and not list_contains($reasons, reason_code) and source <> 'sample:dirty'"
    ),
    "targets cover every month of the sample": (
        "select m from range(date '2024-11-01', date '2026-11-01', interval 1 month) t(m) "
        "where m not in (select period from edits.targets where team = 'shared' and metric = 'revenue')"
    ),
    "targets are team edits: the store itself holds none": (
        "select table_name from duckdb_tables() where database_name = 's' "
        "and table_name in ('targets', 'target_history', 'meeting_notes')"
    ),
    "every target has its first history line": (
        "select period, team, metric from edits.targets "
        "except select period, team, metric from edits.target_history where old_value is null"
    ),
    "every event's owner exists": (
        "select e.event_id from events e where owner_id is not null and owner_id not in (select owner_id from owners)"
    ),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_contract_check(con, name):
    params = {}
    if "$known" in CHECKS[name]:
        params["known"] = C.stage_keys + C.exit_keys + ["amount"]
    if "$reasons" in CHECKS[name]:
        params["reasons"] = [r.key for r in C.reason_codes]
    assert failing(con, CHECKS[name], params) == []


def test_planted_dirty_rows_are_all_found(con):
    before = failing(
        con,
        "select e.event_id from events e join leads l using (lead_id) where e.occurred_at < l.created_at order by 1",
    )
    unknown = failing(
        con,
        "select event_id from events where reason_code is not null and not list_contains($r, reason_code) order by 1",
        {"r": [r.key for r in C.reason_codes]},
    )
    planted = failing(con, "select event_id from events where source = 'sample:dirty' order by 1")
    assert len(before) == sample.N_DIRTY_EACH and len(unknown) == sample.N_DIRTY_EACH
    assert sorted(before + unknown) == planted


def test_generator_is_deterministic(tmp_path, sample_db):
    again = store.build_sample(tmp_path / "again.duckdb", n_leads=N_LEADS, seed=11)
    tables = ["owners", "leads", "events", "content", "touches", "journey_stages", "journey_leads"]
    with duckdb.connect(str(sample_db), read_only=True) as a, duckdb.connect(str(again), read_only=True) as b:
        for table in tables:
            q = f"select md5(string_agg(t::varchar, '|' order by t::varchar)) from {table} t"
            assert a.execute(q).fetchone() == b.execute(q).fetchone(), table
    q = "select md5(string_agg(t::varchar, '|' order by t::varchar)) from targets t"
    assert edits.read(sample_db, q) == edits.read(again, q)


def test_the_stories_are_planted(con):
    # content_syndication: the channel whose MQLs Sales rejects as not a fit most often.
    worst = failing(
        con,
        """
        select l.channel
        from events e join leads l using (lead_id)
        where e.event_type = 'mql'
        group by l.channel
        order by count(*) filter (where exists (
            select 1 from events r where r.lead_id = e.lead_id and r.event_type = 'rejected'
            and r.reason_code = 'not_a_fit')) * 1.0 / count(*) desc
        limit 1
        """,
    )
    assert worst == [("content_syndication",)]
    # Sales-sourced leads start at SQL without a lead event (skips).
    skips = failing(con, "select count(*) from journey_leads where not has_first_entry")[0][0]
    assert skips > N_LEADS * 0.05
    # Recycled leads that came back.
    assert failing(con, "select count(*) from journey_leads where n_reentries > 0")[0][0] > 0

"""The pipeline's layout (data/opportunity_events.sql) leaves nothing out: pipeline_states skips
the rows of opportunities closed for good before T1, and must give exactly the rows the full
computation gives for every opportunity that is in a bucket or open at either date."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from queries import contracts, executor, pipeline
from queries.filters import Filters

PRUNE = """      and not (
          deal_last_at <= $t1
          and (deal_last_type = $won_key or list_contains($exit_keys, deal_last_type))
      )
"""


def _states(con, sql: str, params: dict) -> set[tuple]:
    rows = con.execute(f"select * from ({sql}) where bucket is not null or is_open_t1 or is_open_t2", params)
    return set(rows.fetchall())


@pytest.mark.parametrize("days", [1, 7, 30, 120])
def test_skipping_closed_opportunities_changes_no_state(sample_store, days):
    contract = contracts.current(sample_store)
    filters = Filters(start=dt.date(2000, 1, 1), end=dt.date(2100, 1, 1))
    t2 = pipeline.default_dates(filters, sample_store)[1]
    t1 = t2 - dt.timedelta(days=days)
    params = executor.bind("pipeline_states", pipeline._params(filters, contract, t1, t2, None, sample_store))
    sql = executor.sql_text("pipeline_states")
    assert PRUNE in sql  # the skip this test is about
    full = sql.replace(PRUNE, "")
    con = duckdb.connect(str(sample_store), read_only=True)
    try:
        skipped = con.execute(f"select count(*) from ({full})", params).fetchone()[0] - len(
            con.execute(sql, params).fetchall()
        )
        kept = _states(con, sql, params)
        assert kept == _states(con, full, params)
    finally:
        con.close()
    # The sample has opportunities won or lost long before: the skip does something.
    assert skipped > 0 and len(kept) > 0

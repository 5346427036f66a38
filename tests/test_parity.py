"""The ClickHouse engine (queries/engines.py) against DuckDB on the shared sample store: every
query of the pages' default views equal row for row (tests/parity.py), so a query or rewrite
that breaks parity fails here; and the default engine never loads the translator (nor chdb,
nor clickhouse-connect). tests/test_clickhouse_server.py runs the same views on a server."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pandas as pd
import pytest

from tests import parity
from tests.conftest import ROOT

pytest.importorskip("chdb")
pytest.importorskip("sqlglot")

# The queries of the default views that are equal on both engines (tests/parity.py names a
# run_over by its base and outer files). A query leaving this list is a parity regression.
PINNED = {
    "attribution_credits",
    "attribution_deal_outcomes",
    "bridge_accounts",
    "bridge_facts",
    "bridge_matched_leads",
    "bridge_mqls",
    "bridge_opportunities",
    "bridge_roles",
    "cohort_funnel",
    "cohort_outcomes",
    "cohort_revenue",
    "content_advance",
    "content_reach",
    "currencies",
    "currency_rates",
    "date_bounds",
    "filter_options",
    "flow_funnel",
    "pipeline_states > pipeline_by_stage",
    "pipeline_states > pipeline_movement",
    "pipeline_states > pipeline_opportunities",
    "stage_history",
    "stage_moves",
    "stage_times",
    "stage_visits",
    "start_months",
    "store_facts",
    "targets_actuals",
    "targets_deal_size",
    "targets_for_period",
    "targets_history",
    "targets_periods",
    "targets_through",
    "teams_drop_leads",
    "teams_handoff",
    "teams_handoff_leads",
    "teams_leakage",
    "teams_owners",
    "teams_recycled",
    "teams_stalled",
    "trend",
    "undated_open",
    "weekly_decisions",
    "weekly_entries",
    "weekly_exits",
    "weekly_notes",
    "weekly_reentries",
    "weekly_sla_breaches",
    "weekly_sla_breach_rows",
    "weekly_span",
}


@pytest.fixture(scope="module")
def default_views(sample_store):
    lines: list[str] = []
    # The defaults and three seeded random views (list filters, custom ranges, breakdowns, flow).
    outcomes = parity.run(sample_store, n_views=3, out=lines.append)
    return outcomes, lines


def test_default_views_equal_on_both_engines(default_views):
    outcomes, lines = default_views
    equal = {o.name for o in outcomes if o.equal}
    differing = "\n".join(line for line in lines if not line.startswith("parity:"))
    assert equal >= PINNED, f"no longer equal: {sorted(PINNED - equal)}\n{differing}"
    match = re.fullmatch(r"parity: (\d+) of (\d+) queries equal", lines[-1])
    assert match, lines[-1]
    assert int(match[1]) == sum(o.equal for o in outcomes)
    assert int(match[2]) == len(outcomes) >= len(PINNED)
    assert match[1] == match[2], differing  # every query equal, not only the pinned ones


def test_the_comparison_tells_numbers_nulls_and_order_apart():
    a = pd.DataFrame({"k": ["x", "y"], "v": [1.0, None], "t": pd.to_datetime(["2025-01-01", "2025-01-02"])})
    close = a.assign(v=[1.0 + 1e-12, None])
    assert parity.compare(a, close, in_order=True) == ""
    assert parity.compare(a, a.assign(v=[1.0 + 1e-6, None]), in_order=True)
    assert parity.compare(a, a.assign(v=[1.0, 0.0]), in_order=True)  # a null is not a zero
    flipped = a.iloc[::-1].reset_index(drop=True)
    assert parity.compare(a, flipped, in_order=False) == ""
    assert "other order" in parity.compare(a, flipped, in_order=True)
    assert "columns differ" in parity.compare(a, a.rename(columns={"v": "w"}), in_order=False)
    flags = pd.DataFrame({"f": [True, False]})
    assert "types differ" in parity.compare(flags, flags.astype("uint8"), in_order=True)


def test_the_default_engine_loads_neither_sqlglot_nor_chdb_nor_clickhouse_connect(sample_store):
    code = (
        "import sys; from pathlib import Path; from queries import executor; "
        f"executor.run('store_facts', db=Path({str(sample_store)!r})); "
        "sys.exit(int(any(m in sys.modules for m in ('sqlglot', 'chdb', 'clickhouse_connect'))))"
    )
    # A server's URL alone does not switch the engine: HANDOFF_ENGINE does.
    env = {k: v for k, v in os.environ.items() if k != "HANDOFF_ENGINE"}
    env["HANDOFF_CLICKHOUSE_URL"] = "http://127.0.0.1:9/handoff"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def test_an_unknown_engine_fails_by_name(sample_store, monkeypatch):
    from queries import executor

    monkeypatch.setenv("HANDOFF_ENGINE", "spark")
    with pytest.raises(ValueError, match="HANDOFF_ENGINE"):
        executor.run("store_facts", db=sample_store)

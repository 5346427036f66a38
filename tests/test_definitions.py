"""The Definitions page shows the contract as written in funnel.toml, in order, and needs no
data: it renders even when the store is missing."""

from __future__ import annotations

import pytest

from data import contract as contract_mod

CONTRACT = contract_mod.load()


@pytest.fixture
def definitions(tmp_path, use_store, page_app):
    use_store(tmp_path / "no-store-here.duckdb")  # the page reads funnel.toml only
    at = page_app("pages/definitions.py").run()
    assert not at.exception, at.exception
    return at


def table(at, first_column: str):
    return next(d.value for d in at.dataframe if d.value.columns[0] == first_column)


def test_stages_in_journey_order_with_definition_owner_sla_and_expected_days(definitions):
    stages = table(definitions, "#")
    assert stages["Key"].tolist() == CONTRACT.stage_keys
    assert stages["Definition"].tolist() == [s.definition for s in CONTRACT.stages]
    handoff = stages.set_index("Key").loc[CONTRACT.handoff_stage]
    assert handoff["SLA"] == f"{CONTRACT.handoff_sla_hours:g} h to accept or reject"
    # The shipped contract: Marketing owns lead -> MQL, Sales every move after; MQL expects 2 days.
    owners = stages.set_index("Key")["Owner of the move"]
    assert owners["lead"] == "Marketing"
    assert owners["mql"].startswith("Sales")
    assert owners["won"] == "—"
    assert stages.set_index("Key").loc["mql", "Expected days here"] == "2"  # the last stage's is "—"
    assert stages.set_index("Key").loc["won", "Expected days here"] == "—"


def test_reason_codes_show_the_team_each_is_charged_to(definitions):
    reasons = table(definitions, "Reason").set_index("Code")["Charged to"]
    assert reasons.to_dict() == {r.key: r.charged_to.capitalize() for r in CONTRACT.reason_codes}
    assert reasons["not_a_fit"] == "Marketing" and reasons["no_follow_up"] == "Sales"


def test_exits_and_the_change_log_newest_first(definitions):
    assert table(definitions, "Exit")["Key"].tolist() == CONTRACT.exit_keys
    changes = table(definitions, "Date")
    assert len(changes) == len(CONTRACT.changelog)
    assert changes["Date"].is_monotonic_decreasing
    assert str(changes["Date"].iloc[-1])[:10] == "2024-11-01"  # the first shared contract


def test_headline_settings_and_downloads(definitions):
    values = {m.label: m.value for m in definitions.metric}
    assert values == {"Conversion window": "180 days", "Handoff SLA": "48 hours", "Skip policy": "implied"}
    # stages, exits, reason codes, channel labels, alert rules, change log
    assert len(definitions.get("download_button")) == 6

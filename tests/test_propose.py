"""A contract proposed from an export's stage names: order, outcomes, exits, keys, window."""

from __future__ import annotations

import datetime as dt

import pytest

from data import contract as contract_mod
from data import propose


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day)


def spanish_history() -> propose.Observations:
    obs = propose.Observations()
    # Three opportunities through the org's own stages; the order is only in the dates.
    rows = [
        ("O1", "Prospección", "2025-01-02"),
        ("O1", "Calificación", "2025-01-10"),
        ("O1", "Propuesta", "2025-01-20"),
        ("O1", "Cerrada ganada", "2025-02-01"),
        ("O2", "Prospección", "2025-01-05"),
        ("O2", "Propuesta", "2025-01-25"),
        ("O2", "Calificación", "2025-01-28"),  # moved back: the order is still by the median
        ("O2", "Cerrada perdida", "2025-03-06"),  # 60 days after its first stage
        ("O3", "Prospección", "2025-02-01"),
        ("O3", "Calificación", "2025-02-03"),
    ]
    for record, name, day in rows:
        obs.add(record, name, at(day))
    obs.add("O4", "Prospección", None)  # an open opportunity with no date yet
    return obs


def test_stages_in_the_order_records_reach_them_with_outcomes_and_exits():
    p = propose.propose(spanish_history(), grain="opportunity", today=dt.date(2025, 6, 1))
    c = p.contract
    assert [s.label for s in c.stages] == ["Prospección", "Calificación", "Propuesta", "Cerrada ganada"]
    assert c.stage_keys == ["prospeccion", "calificacion", "propuesta", "cerrada_ganada"]
    assert [(e.key, e.kind) for e in c.exits] == [("cerrada_perdida", "lost")]
    # Opportunities: every move is Sales'; no Marketing handoff in this journey.
    assert c.transition_owners == ["sales", "sales", "sales"] and c.handoff_stage is None
    assert {s.grain for s in c.stages} == {"opportunity"}
    # Longest first stage -> outcome: O2, Jan 5 -> Mar 6 = 60 days: a 60-day window.
    assert c.conversion_window_days == 60
    assert p.counts == {"prospeccion": 3, "calificacion": 3, "propuesta": 2, "cerrada_ganada": 1}
    assert "1 more are in it with no date" in c.stages[0].definition


def test_the_proposal_is_a_valid_contract_that_reads_back_equal():
    p = propose.propose(spanish_history(), grain="opportunity", today=dt.date(2025, 6, 1))
    again = contract_mod.loads(p.toml())
    assert again == p.contract
    assert p.toml().startswith("# A funnel proposed from your export.")


def test_outcomes_the_source_marks_win_over_the_words():
    obs = propose.Observations()
    obs.add("D1", "Stage A", at("2025-01-01"))
    obs.add("D1", "Signed off", at("2025-01-09"), outcome="won")  # IsWon = true in the export
    obs.add("D2", "Stage A", at("2025-01-02"))
    obs.add("D2", "Gone quiet", at("2025-01-05"), outcome="lost")  # IsClosed, not IsWon
    c = propose.propose(obs, grain="opportunity", today=dt.date(2025, 6, 1)).contract
    assert c.stages[-1].label == "Signed off"
    assert [(e.label, e.kind) for e in c.exits] == [("Gone quiet", "lost")]


def test_a_lead_funnel_with_an_mql_stage_gets_a_handoff_and_marketing_owners():
    obs = propose.Observations()
    for record, start in (("L1", "2025-01-01"), ("L2", "2025-01-03")):
        obs.add(record, "Inquiry", at(start))
        obs.add(record, "MQL", at(start) + dt.timedelta(days=3))
        obs.add(record, "SQL", at(start) + dt.timedelta(days=9))
        obs.add(record, "Customer", at(start) + dt.timedelta(days=40))
    obs.add("L3", "Inquiry", at("2025-01-05"))
    obs.add("L3", "Disqualified", at("2025-01-06"))
    c = propose.propose(obs, grain="lead", today=dt.date(2025, 6, 1)).contract
    assert [s.label for s in c.stages] == ["Inquiry", "MQL", "SQL", "Customer"]
    assert c.handoff_stage == "mql"
    assert c.transition_owners == ["marketing", "sales", "sales"]
    assert [(e.key, e.kind) for e in c.exits] == [("disqualified", "disqualified")]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Closed Won", "won"),
        ("Cerrada Ganada", "won"),
        ("Gewonnen", "won"),
        ("Closed Lost", "lost"),
        ("Cerrada perdida", "lost"),
        ("Nurture", "recycled"),
        ("Rejected by Sales", "rejected"),
        ("Unqualified", "disqualified"),
        ("Window shopping", "stage"),  # "won" only as a whole word
        ("Personal demo", "stage"),
        ("Propuesta", "stage"),
    ],
)
def test_names_read_as(name, expected):
    assert propose.meaning(name) == expected


def test_keys_are_plain_unique_and_never_reserved():
    taken: set[str] = set()
    assert propose.key_for("Négociation / Révision", taken) == "negociation_revision"
    assert propose.key_for("Négociation – Révision", taken) == "negociation_revision_2"
    assert propose.key_for("1. Discovery", taken) == "s_1_discovery"
    assert propose.key_for("Amount", taken) == "amount_stage"


def test_fewer_than_two_stages_is_refused_with_a_reason():
    obs = propose.Observations()
    obs.add("X", "Only stage", at("2025-01-01"))
    with pytest.raises(contract_mod.ContractError, match="fewer than two stages"):
        propose.propose(obs)

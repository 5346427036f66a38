"""funnel.toml validation: each broken contract is refused with a message that names the key."""

from __future__ import annotations

import copy
import tomllib

import pytest

from data import contract

RAW = tomllib.loads(contract.DEFAULT_PATH.read_text(encoding="utf-8"))


def broken(change) -> dict:
    raw = copy.deepcopy(RAW)
    change(raw)
    return raw


def test_shipped_contract_loads():
    c = contract.load()
    assert c.stage_keys == ["lead", "mql", "sal", "sql", "opportunity", "won"]
    assert c.transition_owners == ["marketing", "sales", "sales", "sales", "sales"]
    assert c.handoff.key == "mql" and c.handoff_sla_hours == 48
    assert c.reason("not_a_fit").charged_to == "marketing"
    assert c.reason("no_follow_up").charged_to == "sales"
    assert [ch.date.isoformat() for ch in c.changelog] == sorted(ch.date.isoformat() for ch in c.changelog)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["stages"][1].pop("label"), r"stages\[2\] \(mql\): missing key 'label'"),
        (
            lambda r: r["stages"][2].update(owner="finance"),
            r"stages\[3\] \(sal\)\.owner: unknown team 'finance'",
        ),
        (
            lambda r: r["reason_codes"][0].update(charged_to="legal"),
            r"reason_codes\[1\] \(not_a_fit\)\.charged_to: unknown team 'legal'",
        ),
        (
            lambda r: [s.update(order=o) for s, o in zip(r["stages"], [1, 2, 2, 4, 5, 6], strict=True)],
            r"stages\[3\] \(sal\)\.order: stages must be listed in strictly increasing order",
        ),
        (lambda r: r["stages"][3].update(key="mql"), r"duplicate stage key 'mql'"),
        (
            lambda r: r["stages"][0].update(key="Lead Stage"),
            r"stages\[1\]\.key: 'Lead Stage' must be lower-case",
        ),
        (lambda r: r.update(conversion_window_days=0), r"conversion_window_days: expected a positive number"),
        (lambda r: r.update(skip_policy="loose"), r"skip_policy: expected one of \['implied', 'strict'\]"),
        (lambda r: r.update(handoff_stage="won"), r"handoff_stage: 'won' is not a stage before the last"),
        (lambda r: r["stages"][-1].update(owner="sales"), r"the last stage has no next stage to own"),
        (lambda r: r["changelog"][0].update(date="June"), r"changelog\[1\]\.date: expected a date"),
        (lambda r: r["stages"][0].update(expected_days=-3), r"expected_days: expected a positive number"),
    ],
)
def test_broken_contract_is_refused_naming_the_key(change, message):
    with pytest.raises(contract.ContractError, match=message):
        contract.parse(broken(change))


def test_invalid_toml_is_named(tmp_path):
    path = tmp_path / "funnel.toml"
    path.write_text("stages = [", encoding="utf-8")
    with pytest.raises(contract.ContractError, match="funnel.toml: not valid TOML"):
        contract.load(path)

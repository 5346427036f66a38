"""The shared funnel contract (funnel.toml): load it, validate every key, expose it typed.

Every stage, owner, window and reason code the app uses comes from here; nothing is hard-coded
per stage anywhere else. A bad file fails with a message that names the key and what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATH = Path(__file__).with_name("funnel.toml")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SKIP_POLICIES = ("implied", "strict")


class ContractError(ValueError):
    """funnel.toml is not a valid contract; the message names the key at fault."""


@dataclass(frozen=True)
class Stage:
    order: int  # 1-based position in the journey
    key: str
    label: str
    definition: str
    owner: str | None  # team that owns moving a lead from this stage to the next; None for the last
    expected_days: float | None
    owner_note: str = ""


@dataclass(frozen=True)
class Exit:
    key: str
    label: str
    definition: str


@dataclass(frozen=True)
class ReasonCode:
    key: str
    label: str
    charged_to: str


@dataclass(frozen=True)
class Change:
    date: dt.date
    change: str


@dataclass(frozen=True)
class Contract:
    name: str
    stages: tuple[Stage, ...]
    exits: tuple[Exit, ...]
    reason_codes: tuple[ReasonCode, ...]
    changelog: tuple[Change, ...]
    teams: tuple[str, ...]
    conversion_window_days: int
    skip_policy: str
    handoff_stage: str
    handoff_sla_hours: float

    @property
    def stage_keys(self) -> list[str]:
        return [s.key for s in self.stages]

    @property
    def exit_keys(self) -> list[str]:
        return [e.key for e in self.exits]

    def stage(self, key: str) -> Stage:
        for s in self.stages:
            if s.key == key:
                return s
        raise ContractError(f"unknown stage key {key!r}; expected one of {self.stage_keys}")

    @property
    def handoff(self) -> Stage:
        return self.stage(self.handoff_stage)

    def reason(self, key: str) -> ReasonCode | None:
        return next((r for r in self.reason_codes if r.key == key), None)

    @property
    def transition_owners(self) -> list[str]:
        """Owner team of each transition k -> k+1, one entry per stage but the last."""
        return [s.owner for s in self.stages[:-1]]


def _require(table: dict, key: str, kind: type | tuple, where: str):
    if key not in table:
        raise ContractError(f"{where}: missing key '{key}'")
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ContractError(f"{where}.{key}: expected {expected}, got {value!r}")
    if isinstance(value, str) and not value.strip():
        raise ContractError(f"{where}.{key}: must not be empty")
    return value


def _key(table: dict, where: str) -> str:
    key = _require(table, "key", str, where)
    if not KEY_PATTERN.match(key):
        raise ContractError(
            f"{where}.key: {key!r} must be lower-case letters, digits and _ (starting with a letter)"
        )
    return key


def parse(raw: dict) -> Contract:
    """Validate a parsed funnel.toml document and return the typed contract."""
    teams = raw.get("teams", ["marketing", "sales"])
    if not isinstance(teams, list) or not teams or not all(isinstance(t, str) for t in teams):
        raise ContractError("teams: expected a list of team names such as ['marketing', 'sales']")
    for t in teams:
        if not KEY_PATTERN.match(t):
            raise ContractError(f"teams: {t!r} must be lower-case letters, digits and _")

    raw_stages = raw.get("stages")
    if not isinstance(raw_stages, list) or len(raw_stages) < 2:
        raise ContractError("stages: expected at least two [[stages]] tables, in journey order")
    stages: list[Stage] = []
    seen: set[str] = set()
    for i, s in enumerate(raw_stages, start=1):
        where = f"stages[{i}]"
        if not isinstance(s, dict):
            raise ContractError(f"{where}: expected a table")
        key = _key(s, where)
        where = f"stages[{i}] ({key})"
        if key in seen:
            raise ContractError(f"{where}: duplicate stage key {key!r}")
        seen.add(key)
        if "order" in s:
            order = _require(s, "order", int, where)
            if order != i:
                prev = stages[-1].order if stages else 0
                raise ContractError(
                    f"{where}.order: stages must be listed in strictly increasing order 1, 2, 3...; "
                    f"got {order} after {prev}"
                )
        label = _require(s, "label", str, where)
        definition = _require(s, "definition", str, where)
        last = i == len(raw_stages)
        owner = s.get("owner")
        if last:
            if owner is not None:
                raise ContractError(f"{where}.owner: the last stage has no next stage to own")
        else:
            owner = _require(s, "owner", str, where)
            if owner not in teams:
                raise ContractError(f"{where}.owner: unknown team {owner!r}; expected one of {teams}")
        expected = s.get("expected_days")
        if expected is not None and (
            isinstance(expected, bool) or not isinstance(expected, int | float) or expected <= 0
        ):
            raise ContractError(f"{where}.expected_days: expected a positive number of days")
        stages.append(Stage(i, key, label, definition, owner, expected, str(s.get("owner_note", ""))))

    exits: list[Exit] = []
    for i, e in enumerate(raw.get("exits", []), start=1):
        where = f"exits[{i}]"
        key = _key(e, where)
        if key in seen:
            raise ContractError(f"{where}: key {key!r} is already a stage or exit")
        seen.add(key)
        exits.append(Exit(key, _require(e, "label", str, where), _require(e, "definition", str, where)))

    reasons: list[ReasonCode] = []
    reason_keys: set[str] = set()
    for i, r in enumerate(raw.get("reason_codes", []), start=1):
        where = f"reason_codes[{i}]"
        key = _key(r, where)
        if key in reason_keys:
            raise ContractError(f"{where}: duplicate reason code {key!r}")
        reason_keys.add(key)
        charged = _require(r, "charged_to", str, f"{where} ({key})")
        if charged not in teams:
            raise ContractError(
                f"{where} ({key}).charged_to: unknown team {charged!r}; expected one of {teams}"
            )
        reasons.append(ReasonCode(key, _require(r, "label", str, where), charged))

    changes: list[Change] = []
    for i, c in enumerate(raw.get("changelog", []), start=1):
        where = f"changelog[{i}]"
        date = c.get("date")
        if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
            raise ContractError(f"{where}.date: expected a date such as 2025-06-02, got {date!r}")
        changes.append(Change(date, _require(c, "change", str, where)))

    window = _require(raw, "conversion_window_days", int, "funnel")
    if window <= 0:
        raise ContractError(f"conversion_window_days: expected a positive number of days, got {window}")
    policy = _require(raw, "skip_policy", str, "funnel")
    if policy not in SKIP_POLICIES:
        raise ContractError(f"skip_policy: expected one of {list(SKIP_POLICIES)}, got {policy!r}")
    handoff = _require(raw, "handoff_stage", str, "funnel")
    if handoff not in [s.key for s in stages[:-1]]:
        raise ContractError(f"handoff_stage: {handoff!r} is not a stage before the last")
    sla = _require(raw, "handoff_sla_hours", (int, float), "funnel")
    if sla <= 0:
        raise ContractError(f"handoff_sla_hours: expected a positive number of hours, got {sla}")

    return Contract(
        name=str(raw.get("name", "Funnel")),
        stages=tuple(stages),
        exits=tuple(exits),
        reason_codes=tuple(reasons),
        changelog=tuple(sorted(changes, key=lambda c: c.date)),
        teams=tuple(teams),
        conversion_window_days=window,
        skip_policy=policy,
        handoff_stage=handoff,
        handoff_sla_hours=float(sla),
    )


def load(path: Path | str | None = None) -> Contract:
    """Load and validate funnel.toml (the shipped one by default)."""
    path = Path(path) if path else DEFAULT_PATH
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ContractError(f"{path.name}: not valid TOML: {exc}") from exc
    return parse(raw)

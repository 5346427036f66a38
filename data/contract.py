"""The funnel contract both teams sign: validated, typed, and kept in the store with its history.

A contract names the stages of one journey (with labels, written definitions, the team that owns
each move on), the exits that end it early (each of a kind: rejected, recycled, disqualified,
lost or other), the reason codes and the team each is charged to, the conversion window, the
skip policy, the handoff stage and its SLA, the rule that decides between an SLA breach and a
reason code, labels for channel values, a dated change log and optional alert rules
(`[[alerts]]`: metric, comparison, threshold, minimum n, noise test). docs/design.md defines
every term.

The contract is the store's (see `data.contract_store`): `data/funnel.toml` is only the default
a new store and the sample start from. This module knows the format: `parse()` validates a
parsed TOML document with pydantic models (every wrong value is refused with a message that
names the key and what was expected), `load()` reads a file, `dumps()` writes a contract back
as TOML, `Contract.with_tracked()` attaches which stages the store's data records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

DEFAULT_PATH = Path(__file__).with_name("funnel.toml")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SKIP_POLICIES = ("implied", "strict")
# Event types with a meaning of their own in the store (schema.sql): never a stage or exit key.
RESERVED_KEYS = frozenset({"amount"})
# What an exit means for the definitions that use it (docs/design.md "Exits").
EXIT_KINDS = ("rejected", "recycled", "disqualified", "lost", "other")
SLA_RULES = ("breach", "reason")  # which a rejection after the SLA counts under
# Alert rules (docs/design.md "Alerts"): what they watch and how they compare it.
ALERT_METRICS = ("conversion", "entries", "sla_breaches")
ALERT_COMPARISONS = ("fell_by", "rose_by", "below", "above")
GRAINS = ("lead", "opportunity")
NO_WINDOW = "none"


def team_label(key) -> str:
    """A team key as people read it: "marketing" -> "Marketing"; no team -> "Unassigned"."""
    if key is None or (isinstance(key, float) and math.isnan(key)) or key in ("", "unassigned"):
        return "Unassigned"
    return str(key).replace("_", " ").capitalize()


class ContractError(ValueError):
    """A contract is not valid; the message names the key at fault."""


@dataclass(frozen=True)
class Stage:
    order: int  # 1-based position in the journey
    key: str
    label: str
    definition: str
    owner: str | None  # team that owns moving a record from this stage to the next; None for the last
    expected_days: float | None
    owner_note: str = ""
    recorded: bool = True  # False: the team says its data never records this stage
    grain: str = "lead"  # what reaches this stage: a lead (a person) or an opportunity (a deal)


@dataclass(frozen=True)
class Exit:
    key: str
    label: str
    definition: str
    kind: str = "other"  # one of EXIT_KINDS


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
class AlertRule:
    """A rule checked on the last complete week against the week before it.

    metric      conversion: the share of records decided at `stage` that moved on (the Weekly
                page's rate); entries: first entries into `stage`; sla_breaches: handed-over
                records whose SLA ran out in the week without an action in time.
    comparison  fell_by / rose_by: the change against the week before is at least `threshold`
                (in rate points for a conversion, 0.05 = 5 points; as a share of last week's
                count for a count, 1.0 = doubled); below / above: this week's value itself.
    min_n       not checked while either week's base (decided records, or the count) is smaller.
    noise_test  fire only when the change is outside the noise (p < 0.05: a two-proportion test
                for a conversion, the test for two counts for a count).
    """

    name: str
    metric: str
    comparison: str
    threshold: float
    stage: str | None = None
    min_n: int = 30
    noise_test: bool = True


@dataclass(frozen=True)
class Contract:
    name: str
    stages: tuple[Stage, ...]
    exits: tuple[Exit, ...]
    reason_codes: tuple[ReasonCode, ...]
    changelog: tuple[Change, ...]
    teams: tuple[str, ...]
    conversion_window_days: int | None  # None: no window (every stage reached by the as-of counts)
    skip_policy: str
    handoff_stage: str | None  # None: the journey has no Marketing-to-Sales handoff
    handoff_sla_hours: float
    sla_rule: str = "breach"
    channel_labels: tuple[tuple[str, str], ...] = ()
    alerts: tuple[AlertRule, ...] = ()
    # Stage and exit keys the store's events record (None: not known, taken as all). Set by
    # with_tracked() from store_meta; never part of the contract's text or hash.
    tracked: frozenset[str] | None = None
    tracked_exit_keys: frozenset[str] | None = None
    # Set by effective(): whether the full contract's data records Sales' first action, which
    # the reduced journey alone can no longer tell (its next stage may be a later one).
    sla_recorded: bool | None = None

    # --- keys and look-ups ---------------------------------------------------------------------
    @property
    def stage_keys(self) -> list[str]:
        return [s.key for s in self.stages]

    @property
    def exit_keys(self) -> list[str]:
        return [e.key for e in self.exits]

    def exit_keys_of(self, *kinds: str) -> list[str]:
        """Keys of the exits of these kinds, in contract order."""
        return [e.key for e in self.exits if e.kind in kinds]

    @property
    def recycle_exit(self) -> str:
        """The key of the first exit of kind "recycled", '' when there is none: the exit whose
        leads the Teams page follows back from nurture (queries/teams.py recycled, and the
        layout it reads, data/team_layouts.sql team_recycles)."""
        return next(iter(self.exit_keys_of("recycled")), "")

    def stage(self, key: str) -> Stage:
        for s in self.stages:
            if s.key == key:
                return s
        raise ContractError(f"unknown stage key {key!r}; expected one of {self.stage_keys}")

    def exit(self, key: str) -> Exit | None:
        return next((e for e in self.exits if e.key == key), None)

    @property
    def handoff(self) -> Stage | None:
        return self.stage(self.handoff_stage) if self.handoff_stage else None

    def reason(self, key: str) -> ReasonCode | None:
        return next((r for r in self.reason_codes if r.key == key), None)

    def channel_label(self, value: str | None) -> str | None:
        """What people read for a channel value: the contract's label, else the value as is."""
        if value is None:
            return None
        return dict(self.channel_labels).get(value, value)

    @property
    def transition_owners(self) -> list[str]:
        """Owner team of each transition k -> k+1, one entry per stage but the last."""
        return [s.owner for s in self.stages[:-1]]

    # --- what the data records -----------------------------------------------------------------
    def is_tracked(self, key: str) -> bool:
        """A stage is tracked when the store's data records it and the contract does not say
        it is never recorded. Untracked stages are shown as such, never counted or filled."""
        stage = self.stage(key)
        return stage.recorded and (self.tracked is None or key in self.tracked)

    @property
    def tracked_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if self.is_tracked(s.key))

    def exit_is_tracked(self, key: str) -> bool:
        return self.tracked_exit_keys is None or key in self.tracked_exit_keys

    @property
    def outcomes_recorded(self) -> bool:
        """Win rate needs both outcomes: the last stage (won) and a lost exit in the data."""
        return self.is_tracked(self.stages[-1].key) and any(
            self.exit_is_tracked(k) for k in self.exit_keys_of("lost")
        )

    @property
    def sla_measured(self) -> bool:
        """The handoff SLA needs Sales' first action recorded: the handoff stage and the stage
        after it must both be tracked (a rejection alone cannot tell "accepted" from "ignored")."""
        handoff = self.handoff
        if handoff is None or handoff.order >= len(self.stages):
            return False
        if self.sla_recorded is not None:
            return self.sla_recorded
        return self.is_tracked(handoff.key) and self.is_tracked(self.stages[handoff.order].key)

    def with_tracked(self, stages: frozenset[str] | None, exits: frozenset[str] | None = None) -> Contract:
        return dataclasses.replace(self, tracked=stages, tracked_exit_keys=exits)

    def effective(self) -> Contract:
        """The journey the queries compute over: the tracked stages only, renumbered 1..n.

        A move between two tracked stages is owned by the team that owns moving on from the
        first of them. The handoff is kept when its stage is tracked."""
        kept = self.tracked_stages
        if len(kept) == len(self.stages) and self.tracked is None:
            return self
        if not kept:  # a store without stage events: no journeys to compute over
            return self
        stages = tuple(
            dataclasses.replace(s, order=i, owner=s.owner if i < len(kept) else None)
            for i, s in enumerate(kept, start=1)
        )
        handoff = self.handoff_stage if any(s.key == self.handoff_stage for s in stages[:-1]) else None
        return dataclasses.replace(
            self, stages=stages, handoff_stage=handoff, tracked=None, sla_recorded=self.sla_measured
        )

    @property
    def grains(self) -> tuple[str, ...]:
        """The grains this contract's tracked stages count: ("lead", "opportunity"), or one."""
        found = {s.grain for s in self.tracked_stages}
        out = ("lead",) if "lead" in found or not found else ()
        return out + (("opportunity",) if "opportunity" in found else ())

    def of_grain(self, grain: str) -> Contract:
        """The contract as one grain sees it. The lead grain follows every stage (a lead's
        journey goes on through its opportunity's stages); the opportunity grain only the
        opportunity's own stages (grain = "opportunity"), renumbered 1..n, with no handoff (that is
        between grains, at the lead grain). Tracked stages are kept; may hold no stage at all."""
        if grain == "lead":
            return self
        kept = [s for s in self.stages if s.grain == grain]
        stages = tuple(
            dataclasses.replace(s, order=i, owner=s.owner if i < len(kept) else None)
            for i, s in enumerate(kept, start=1)
        )
        return dataclasses.replace(self, stages=stages, handoff_stage=None, sla_recorded=False)

    def for_grain(self, grain: str) -> Contract:
        """The journey one grain's queries compute over: its tracked stages, renumbered."""
        view = self.of_grain(grain)
        return view.effective() if view.stages and view.tracked_stages else view

    @property
    def default_grain(self) -> str:
        """What the pages count first: leads when the data records a lead-grain stage, else
        opportunities (an export of opportunities only)."""
        return "lead" if any(s.grain == "lead" for s in self.tracked_stages) else "opportunity"

    @property
    def horizon_days(self) -> int:
        """Days after which a cohort is treated as settled where a page needs a number (a mature
        look-back for targets and content): the window, or a year when there is none."""
        return self.conversion_window_days or 365

    @property
    def window_text(self) -> str:
        w = self.conversion_window_days
        return "no conversion window (all time)" if w is None else f"{w}-day conversion window"


# --- the file format, validated with pydantic ---------------------------------------------------

Key = Annotated[StrictStr, Field(pattern=KEY_PATTERN.pattern)]
Text = Annotated[StrictStr, Field(min_length=1)]
PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]  # strict: ints pass, text does not


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _StageFile(_Strict):
    key: Key
    label: Text
    definition: Text
    owner: Key | None = None
    expected_days: PositiveNumber | None = None
    owner_note: StrictStr = ""
    order: StrictInt | None = None
    recorded: StrictBool = True
    grain: Literal["lead", "opportunity"] = "lead"


class _ExitFile(_Strict):
    key: Key
    label: Text
    definition: Text
    kind: Literal["rejected", "recycled", "disqualified", "lost", "other"] | None = None


class _ReasonFile(_Strict):
    key: Key
    label: Text
    charged_to: Key


class _ChangeFile(_Strict):
    date: dt.date
    change: Text


NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _AlertFile(_Strict):
    name: Text
    metric: Literal["conversion", "entries", "sla_breaches"]
    stage: Key | None = None
    comparison: Literal["fell_by", "rose_by", "below", "above"]
    threshold: NonNegative
    min_n: Annotated[StrictInt, Field(ge=0)] = 30
    noise_test: StrictBool = True


class _ContractFile(_Strict):
    name: StrictStr = "Funnel"
    teams: list[Key] = Field(default_factory=lambda: ["marketing", "sales"], min_length=1)
    conversion_window_days: StrictInt | Literal["none"]
    skip_policy: Literal["implied", "strict"]
    handoff_stage: Key | None = None
    handoff_sla_hours: PositiveNumber = 48
    sla_rule: Literal["breach", "reason"] = "breach"
    stages: list[_StageFile] = Field(min_length=2)
    exits: list[_ExitFile] = Field(default_factory=list)
    reason_codes: list[_ReasonFile] = Field(default_factory=list)
    channel_labels: dict[StrictStr, Text] = Field(default_factory=dict)
    changelog: list[_ChangeFile] = Field(default_factory=list)
    alerts: list[_AlertFile] = Field(default_factory=list)


_EXPECTED = {
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "float_type": "expected a number",
    "bool_type": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
    "date_type": "expected a date such as 2025-06-02",
    "date_from_datetime_inexact": "expected a date such as 2025-06-02 (no time)",
    "missing": "missing key",
    "extra_forbidden": "unknown key",
    "finite_number": "expected a finite number",
}


def _where(loc: tuple, raw: dict) -> str:
    """('stages', 1, 'label') -> "stages[2] (mql).label": the way a person finds it in the file."""
    parts: list[str] = []
    node: Any = raw
    for item in loc:
        if isinstance(item, int):
            parts[-1] += f"[{item + 1}]"
            node = node[item] if isinstance(node, list) and item < len(node) else None
            if isinstance(node, dict) and KEY_PATTERN.match(str(node.get("key", ""))):
                parts[-1] += f" ({node['key']})"
        elif isinstance(item, str) and item not in ("int", "float", "literal['none']", "str"):
            if item.startswith(("constrained-", "function-")) or "[" in item:
                continue
            parts.append(item)
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts) or "funnel"


def _explain(exc: ValidationError, raw: dict) -> ContractError:
    errors = exc.errors(include_url=False)
    # A union (a number or "none") reports one error per branch: name the key once.
    first = errors[0]
    where = _where(tuple(first["loc"]), raw)
    value = first.get("input")
    kind = first["type"]
    if where == "conversion_window_days":
        return ContractError(f'{where}: expected a positive number of days or "none", got {value!r}')
    if kind == "missing":
        head, _, last = where.rpartition(".")
        return ContractError(f"{head or 'funnel'}: missing key '{last}'")
    if kind == "extra_forbidden":
        return ContractError(f"{where}: unknown key")
    if kind == "string_pattern_mismatch":
        return ContractError(
            f"{where}: {value!r} must be lower-case letters, digits and _ (starting with a letter)"
        )
    if kind == "greater_than_equal":
        return ContractError(f"{where}: expected a number of at least 0, got {value!r}")
    if kind in ("greater_than", "finite_number") or (kind == "float_type" and "days" in where):
        return ContractError(f"{where}: expected a positive number, got {value!r}")
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", first["ctx"]["expected"])
        return ContractError(f"{where}: expected one of {allowed}, got {value!r}")
    if kind == "too_short":
        return ContractError(f"{where}: must not be empty")
    text = _EXPECTED.get(kind, first["msg"])
    return ContractError(f"{where}: {text}, got {value!r}")


def parse(raw: dict) -> Contract:
    """Validate a parsed contract document and return the typed contract."""
    if not isinstance(raw, dict):
        raise ContractError("funnel: expected a TOML document")
    try:
        doc = _ContractFile.model_validate(raw)
    except ValidationError as exc:
        raise _explain(exc, raw) from None
    teams = tuple(doc.teams)
    seen: set[str] = set()
    stages: list[Stage] = []
    for i, s in enumerate(doc.stages, start=1):
        where = f"stages[{i}] ({s.key})"
        if s.key in RESERVED_KEYS:
            raise ContractError(f"{where}.key: {s.key!r} is reserved for the store's own events")
        if s.key in seen:
            raise ContractError(f"{where}: duplicate stage key {s.key!r}")
        seen.add(s.key)
        if s.order is not None and s.order != i:
            prev = stages[-1].order if stages else 0
            raise ContractError(
                f"{where}.order: stages must be listed in strictly increasing order 1, 2, 3...; "
                f"got {s.order} after {prev}"
            )
        last = i == len(doc.stages)
        if last and s.owner is not None:
            raise ContractError(f"{where}.owner: the last stage has no next stage to own")
        if not last and s.owner is None:
            raise ContractError(f"{where}: missing key 'owner'")
        if s.owner is not None and s.owner not in teams:
            raise ContractError(f"{where}.owner: unknown team {s.owner!r}; expected one of {list(teams)}")
        days = float(s.expected_days) if s.expected_days is not None else None
        stages.append(
            Stage(i, s.key, s.label, s.definition, s.owner, days, s.owner_note, s.recorded, s.grain)
        )

    exits: list[Exit] = []
    for i, e in enumerate(doc.exits, start=1):
        where = f"exits[{i}] ({e.key})"
        if e.key in RESERVED_KEYS:
            raise ContractError(f"{where}.key: {e.key!r} is reserved for the store's own events")
        if e.key in seen:
            raise ContractError(f"{where}: key {e.key!r} is already a stage or exit")
        seen.add(e.key)
        kind = e.kind or (e.key if e.key in EXIT_KINDS else "other")
        exits.append(Exit(e.key, e.label, e.definition, kind))

    reasons: list[ReasonCode] = []
    for i, r in enumerate(doc.reason_codes, start=1):
        where = f"reason_codes[{i}] ({r.key})"
        if any(x.key == r.key for x in reasons):
            raise ContractError(f"reason_codes[{i}]: duplicate reason code {r.key!r}")
        if r.charged_to not in teams:
            raise ContractError(
                f"{where}.charged_to: unknown team {r.charged_to!r}; expected one of {list(teams)}"
            )
        reasons.append(ReasonCode(r.key, r.label, r.charged_to))

    window = doc.conversion_window_days
    if window != NO_WINDOW and window <= 0:
        raise ContractError(
            f'conversion_window_days: expected a positive number of days or "none", got {window}'
        )
    if doc.handoff_stage is not None and doc.handoff_stage not in [s.key for s in stages[:-1]]:
        raise ContractError(f"handoff_stage: {doc.handoff_stage!r} is not a stage before the last")
    alerts = tuple(_alert(i, a, stages, doc.handoff_stage) for i, a in enumerate(doc.alerts, start=1))
    return Contract(
        name=doc.name or "Funnel",
        stages=tuple(stages),
        exits=tuple(exits),
        reason_codes=tuple(reasons),
        changelog=tuple(sorted((Change(c.date, c.change) for c in doc.changelog), key=lambda c: c.date)),
        teams=teams,
        conversion_window_days=None if window == NO_WINDOW else window,
        skip_policy=doc.skip_policy,
        handoff_stage=doc.handoff_stage,
        handoff_sla_hours=float(doc.handoff_sla_hours),
        sla_rule=doc.sla_rule,
        channel_labels=tuple(doc.channel_labels.items()),
        alerts=alerts,
    )


def _alert(i: int, a: _AlertFile, stages: list[Stage], handoff: str | None) -> AlertRule:
    """One [[alerts]] rule, checked against the stages it names."""
    where = f"alerts[{i}]"
    keys = [s.key for s in stages]
    if a.metric == "sla_breaches":
        if a.stage is not None:
            raise ContractError(f"{where}.stage: an sla_breaches alert watches the handoff, not a stage")
        if handoff is None:
            raise ContractError(f"{where}.metric: sla_breaches needs a handoff_stage in the contract")
    elif a.stage is None:
        raise ContractError(f"{where}: missing key 'stage' (the stage a {a.metric} alert watches)")
    elif a.stage not in keys:
        raise ContractError(f"{where}.stage: unknown stage {a.stage!r}; expected one of {keys}")
    elif a.metric == "conversion" and a.stage == keys[-1]:
        raise ContractError(f"{where}.stage: {a.stage!r} is the last stage: nothing moves on from it")
    if a.metric == "conversion" and a.threshold > 1:
        raise ContractError(
            f"{where}.threshold: a conversion is a share from 0 to 1 (0.05 = 5 points), got {a.threshold!r}"
        )
    return AlertRule(a.name, a.metric, a.comparison, float(a.threshold), a.stage, a.min_n, a.noise_test)


def loads(text: str, origin: str = "funnel.toml") -> Contract:
    """Validate the text of a contract file."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ContractError(f"{origin}: not valid TOML: {exc}") from exc
    return parse(raw)


def load(path: Path | str | None = None) -> Contract:
    """Load and validate a contract file (the shipped default, data/funnel.toml, by default)."""
    path = Path(path) if path else DEFAULT_PATH
    return loads(path.read_text(encoding="utf-8"), origin=path.name)


def default_text() -> str:
    return DEFAULT_PATH.read_text(encoding="utf-8")


def text_hash(text: str) -> str:
    """The id of a contract version: the first 16 hex digits of the SHA-256 of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# --- writing a contract back as TOML ------------------------------------------------------------


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ContractError(f"cannot write the number {value!r}")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # A JSON string is a valid TOML basic string (same escapes; non-ASCII kept as is).
    return json.dumps(str(value), ensure_ascii=False)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def dumps(contract: Contract, header: str = "") -> str:
    """The contract as a TOML document that parse(tomllib.loads(...)) reads back equal.
    `header` is written first as comment lines (why this contract looks the way it does)."""
    c = contract
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    if lines:
        lines.append("")
    window = NO_WINDOW if c.conversion_window_days is None else c.conversion_window_days
    top = {
        "name": c.name,
        "conversion_window_days": window,
        "skip_policy": c.skip_policy,
        "handoff_stage": c.handoff_stage,
        "handoff_sla_hours": c.handoff_sla_hours,
        "sla_rule": c.sla_rule,
        "teams": list(c.teams),
    }
    lines += [f"{k} = {_toml_value(v)}" for k, v in top.items() if v is not None]
    for s in c.stages:
        lines += ["", "[[stages]]", f"key = {_toml_value(s.key)}", f"label = {_toml_value(s.label)}"]
        lines.append(f"definition = {_toml_value(s.definition)}")
        if s.owner:
            lines.append(f"owner = {_toml_value(s.owner)}")
        if s.expected_days is not None:
            lines.append(f"expected_days = {_toml_value(s.expected_days)}")
        if s.owner_note:
            lines.append(f"owner_note = {_toml_value(s.owner_note)}")
        if not s.recorded:
            lines.append("recorded = false")
        if s.grain != "lead":
            lines.append(f"grain = {_toml_value(s.grain)}")
    for e in c.exits:
        lines += ["", "[[exits]]", f"key = {_toml_value(e.key)}", f"label = {_toml_value(e.label)}"]
        lines += [f"definition = {_toml_value(e.definition)}", f"kind = {_toml_value(e.kind)}"]
    for r in c.reason_codes:
        lines += ["", "[[reason_codes]]", f"key = {_toml_value(r.key)}", f"label = {_toml_value(r.label)}"]
        lines.append(f"charged_to = {_toml_value(r.charged_to)}")
    if c.channel_labels:
        lines += ["", "[channel_labels]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in c.channel_labels]
    for ch in c.changelog:
        lines += ["", "[[changelog]]", f"date = {_toml_value(ch.date)}", f"change = {_toml_value(ch.change)}"]
    for a in c.alerts:
        lines += ["", "[[alerts]]", f"name = {_toml_value(a.name)}", f"metric = {_toml_value(a.metric)}"]
        if a.stage is not None:
            lines.append(f"stage = {_toml_value(a.stage)}")
        lines += [f"comparison = {_toml_value(a.comparison)}", f"threshold = {_toml_value(a.threshold)}"]
        lines += [f"min_n = {_toml_value(a.min_n)}", f"noise_test = {_toml_value(a.noise_test)}"]
    return "\n".join(lines) + "\n"


# --- command line ---------------------------------------------------------------------------------

USAGE = """python -m data.contract show|history|propose|apply [FILE] [--db PATH]

  show              print the store's contract in force (the text as applied), with its version
  history           list every version: when, by whom, from where
  propose           print a contract proposed from the store's data: the one in force with the
                    stages its events never record marked `recorded = false` and the window
                    measured from its outcomes (for a proposal from an export before its first
                    import: python -m data.importer FILES --mapping NAME --propose)
  apply FILE        validate FILE and make it the store's contract; the journeys are rebuilt
                    under it in the same atomic swap (the old version stays in the history)

Exit codes: 0 done; 2 the contract or the arguments are not valid (the message names the key).
"""


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from data import contract_store, propose, store  # the store layer sits on this module

    parser = argparse.ArgumentParser(prog="python -m data.contract", usage=USAGE)
    parser.add_argument("command", choices=("show", "history", "propose", "apply"))
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--db", type=Path, default=None, help="the store (default: $HANDOFF_DB)")
    parser.add_argument("--user", default=None, help="who applies it (default: the OS account)")
    args = parser.parse_args(argv)
    db = Path(args.db) if args.db else store.db_path()
    if not db.exists():
        print(f"error: no store at {db}: build the sample or import an export first", file=sys.stderr)
        return 2
    try:
        if args.command == "apply":
            if not args.file or not args.file.is_file():
                parser.error("apply needs the contract FILE to apply")
            text = args.file.read_text(encoding="utf-8")
            loads(text, origin=args.file.name)
            applied = store.rebuild(db, contract_text=text, source=f"file {args.file.name}", user=args.user)
            kept = ", ".join(s.label for s in applied.tracked_stages)
            print(f"Applied {args.file.name} to {db}; journeys rebuilt over {kept}.")
            return 0
        with store.reading(db) as con:
            if args.command == "show":
                found = contract_store.latest(con)
                text = contract_store.text_of(con)
                info = contract_store.history(con)
                if info:
                    v = info[0]
                    print(
                        f"# version {v['version']}, applied {v['applied_at']:%Y-%m-%d %H:%M} UTC by {v['applied_by']} ({v['source']})"
                    )
                elif found is None:
                    print("# this store keeps no contract yet: the shipped default applies")
                print(text, end="" if text.endswith("\n") else "\n")
            elif args.command == "history":
                for v in contract_store.history(con):
                    print(
                        f"{v['version']:>4}  {v['applied_at']:%Y-%m-%d %H:%M}  {v['contract_hash']}  "
                        f"{v['applied_by']}  {v['source']}"
                    )
            else:
                proposal = propose.revise(contract_store.of_store(con), con)
                print(proposal.toml(), end="")
    except ContractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

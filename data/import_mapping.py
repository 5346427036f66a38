"""Import mappings: how a CRM export becomes leads and events, read from a small TOML file.

A mapping names columns (matched by their header text, never by position) and says, for each
file of an export, whether it is *wide* (one row per record, a date column per stage, like a
HubSpot contacts export), *long* (one row per event or stage change, like a Salesforce
opportunity history or our own event log) or *status* (one row per record whose stage is the
value of a status column, dated by a column that depends on the value: an opportunity list with
a status and a close date). The format is documented with examples in docs/import.md; the
presets live in data/mappings/.

Stage and status names in the data are matched to the store's contract by its stage and exit
keys and labels (case, spacing and accents aside), or by the mapping's `stage_names`; a store
that has no contract yet gets one proposed from those names (data/propose.py).

Every key is checked on load, so a typo in a mapping fails with a message naming the key, and
every stage or exit key it names must exist in the store's contract.
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import hashlib
import re
import tomllib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)

from data.contract import Contract

MAPPINGS_DIR = Path(__file__).with_name("mappings")
PRESET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Lead attributes a mapping may fill (the columns of the leads table besides id, created, owner).
# email: the lead's address, read for its domain by the lead-to-account matching (data/accounts.py).
LEAD_FIELDS = (
    "lead_name",
    "company",
    "account_id",
    "channel",
    "campaign",
    "region",
    "segment",
    "product",
    "email",
)
SHAPES = ("wide", "long", "status", "contacts", "lookup", "touches", "roles", "changes")
# Changes files (a field history: one row per change of one of a record's fields, the field
# named in one column and its new value in another): what a change of each field sets.
# "amount": the deal's amount from then on; "close_date": its expected close date from then on
# (both an AMOUNT_EVENT, no stage move); "stage": a stage move, as a long file's row.
CHANGE_TARGETS = ("amount", "close_date", "stage")
# Lookup files: what each target is, the attributes a lookup may set on it (docs/import.md,
# "Lookup files").
LOOKUP_TARGETS = {
    "owners": ("owner_name", "manager", "office", "team"),
    "accounts": ("name", "domain", "sector", "size"),
    "products": ("name", "family"),
}
CURRENCY = re.compile(r"^[A-Z]{3}$")  # an ISO 4217 code
AMOUNT_EVENT = "amount"  # an event type that only sets a deal's amount or close date (schema.sql)
AMOUNT_ON_STAGES = "stages"  # amount_on: every stage entry of a record carries its current amount
DECIMAL_SEPARATORS = (".", ",")
# Bounds on what one row may hold, so that reading a file never needs more memory than about
# this much, whatever the file (docs/import.md, "Limits").
MAX_LINE_LENGTH = 1_000_000  # characters in one row (all its lines, for a row with line breaks)
MAX_FIELDS = 500  # columns in the header
MAX_LINES_PER_ROW = 100  # physical lines one row may span (line breaks inside quoted values)
MAX_FUTURE_HOURS = 24 * 366 * 10  # ten years: more is no longer a clock difference

AUTO_ENCODING = "auto"  # UTF-8 when the file is valid UTF-8 (or has a byte order mark), else cp1252
GRAINS = ("lead", "opportunity")
# Singles: keys whose value is one column name.
COLUMN_KEYS = (
    "key",
    "lead_id",
    "deal_id",
    "event_id",
    "created_at",
    "stage",
    "time",
    "owner",
    "owner_name",
    "owner_team",
    "team",
    "amount",
    "reason",
    "status",
    "started",
    "outcome_date",
    "is_won",
    "is_closed",
    "currency",
    "contact_role",
    "is_primary",
    "close_date",
    "forecast_category",
    "email",
    "version_active",
    "version_start",
    "contacts",
    "linked_deal",
    "contact_record",
    "converted_account",
    "last_changed",
    "owner_role",
    "name",
    "campaign",
    "changed_field",
    "new_value",
)


class MappingError(ValueError):
    """A mapping file is not valid; the message names the key at fault."""


_DASHES = re.compile(r"[_\-]+")


@functools.lru_cache(maxsize=1 << 14)
def norm(text: str) -> str:
    """Header and stage-name matching: case-, spacing-, '_' and '-'-insensitive. Cached: a file
    repeats the same few stage names, statuses and headers on every row."""
    return " ".join(_DASHES.sub(" ", text.replace("\ufeff", "")).split()).casefold()


def pattern_regex(pattern: str) -> re.Pattern:
    """A stage-column pattern as a regular expression over a header.

    `*` is any text; the first `*` is the stage (captured), later ones match anything (a
    pipeline's name, say). Case is ignored, and a run of spaces, '_' or '-' in the pattern
    matches any such run: `hs_v2_date_entered_*` matches `hs_v2_date_entered_3206386937` and
    `Date entered "*  (Lifecycle Stage Pipeline)"` its UI label.
    """
    parts = re.split(r"(\*|[\s_\-]+)", pattern.strip())
    out, captured = [], False
    for part in parts:
        if part == "*":
            out.append("(.+?)" if not captured else ".*?")
            captured = True
        elif part and not part.strip(" _-\t"):
            out.append(r"[\s_\-]+")
        elif part:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE)


@dataclass(frozen=True)
class FileSpec:
    """How one file of an export maps to leads and events."""

    role: str
    shape: str
    key: str | None  # the column that identifies a row (repeats are duplicates); None: the event id
    lead_id: str | None = None
    deal_id: str | None = None
    lead_from_deal: bool = False  # the lead is found through deal_id (an earlier file or the store)
    event_id: str | None = None  # long files: the source's own event id, if it has one
    created_at: str | None = None  # when set, each row is also a lead record
    stage_dates: dict[str, str] = field(default_factory=dict)  # wide: event type -> date column
    stage: str | None = None  # long: the column holding the stage name
    time: str | None = None  # long: the column holding when it happened
    stage_names: dict[str, str] = field(default_factory=dict)  # normalised source name -> key
    ignore_stage_names: frozenset[str] = frozenset()  # normalised names that are no funnel move
    owner: str | None = None
    owner_name: str | None = None
    owner_team: str | None = None
    team: str | None = None
    amount: str | None = None
    # wide: the event type that carries the amount; "stages" (AMOUNT_ON_STAGES, opportunity
    # files): every stage entry carries the record's current amount, currency and close date
    amount_on: str | None = None
    reason: str | None = None
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()  # normalised columns that may be missing from the file
    # Status files: the stage is the value of `status`. A record entered the first stage (or
    # `started_stage`, a name or key) at `started`; a won or lost status is dated by
    # `outcome_date`. Won and lost are the values listed (normalised) or, per row, the CRM's
    # own flags `is_won` and `is_closed`. Any other status is where an open record stands now.
    status: str | None = None
    started: str | None = None
    started_stage: str | None = None
    outcome_date: str | None = None
    won_values: frozenset[str] = frozenset()
    lost_values: frozenset[str] = frozenset()
    is_won: str | None = None
    is_closed: str | None = None
    currency: str | None = None  # the column with the currency (ISO 4217) of the row's amounts
    # What one row's record is: a lead, or an opportunity (its record row goes to opportunities,
    # its events name the deal, and a proposed contract counts its stages per opportunity).
    grain: str = "lead"
    contact_role: str | None = None  # contacts files: the column with the contact's role
    is_primary: str | None = None  # contacts files: the column saying it is the primary contact
    close_date: str | None = None  # the column with an opportunity's expected close date
    forecast_category: str | None = None  # and with its forecast category
    email: str | None = None  # the column with a lead's email address (account matching)
    # Wide files: headers matching one of these patterns are stage date columns, the stage
    # named by the part the first `*` matches (an id or a label), read through stage_aliases.
    stage_columns: tuple[str, ...] = ()
    stage_aliases: dict[str, str] = field(default_factory=dict)  # normalised source name -> name
    # Status files: status value (as the mapping writes it) -> the column dating an entry into it.
    status_dates: dict[str, str] = field(default_factory=dict)
    # Rows whose value in a column is not one of these (normalised) carry no funnel event.
    where: dict[str, frozenset[str]] = field(default_factory=dict)
    # A sync's history mode: several versions of one row, the current one marked active (or
    # the latest start); the others are earlier versions, never counted twice.
    version_active: str | None = None
    version_start: str | None = None
    contacts: str | None = None  # a column listing contact ids (an opportunity's associations)
    list_separator: str = ";"
    linked_deal: str | None = None  # lead files: the opportunity the lead became (a contact of it)
    contact_record: str | None = None  # lead files: the contact record the lead became
    converted_account: str | None = None  # lead files: the account the lead was converted into
    # Status files: the record's last change (Salesforce's LastModifiedDate). It dates an exit
    # status the row gives no date of its own: the latest the status can have been set.
    last_changed: str | None = None
    fallback: dict[str, str] = field(default_factory=dict)  # column -> column read when it is empty
    owner_roles: dict[str, str] = field(default_factory=dict)  # role name -> column of its owner
    owner_role: str | None = None  # roles files: the column with the role
    max_rejected_share: float | None = None  # this file's own limit (else the mapping's)
    target: str | None = None  # lookup files: owners, accounts or products
    name: str | None = None  # lookup files: the column naming the owner, account or product
    lookup: dict[str, str] = field(default_factory=dict)  # lookup attribute -> column
    campaign: str | None = None  # touches files: the campaign column
    # Changes files: the column naming the changed field, the column with its new value, and
    # what a change of each field sets (normalised field name -> one of CHANGE_TARGETS); a row
    # of any other field is no move.
    changed_field: str | None = None
    new_value: str | None = None
    changes: dict[str, str] = field(default_factory=dict)
    # Changes files: the stage changes are moves only when no file of these roles is imported
    # with this one or was before (a Salesforce OpportunityHistory holds the same moves).
    stages_only_without: frozenset[str] = frozenset()
    # Columns the file carries that are not used: they only help tell it from another file (a
    # column counts towards recognising it), and the import report names them as not used.
    unused: tuple[str, ...] = ()
    # Columns this file never has: a header with one of them is another file, never this one.
    absent: tuple[str, ...] = ()
    # Set when a file is read (import_read.read_rows): the stage keys whose date column this
    # file has, so the store knows the data records them even before any record reaches them.
    recorded: frozenset[str] = frozenset()

    def columns(self) -> list[str]:
        """Every column the spec reads, in a stable order, without repeats."""
        cols: list[str] = []
        singles = (getattr(self, k) for k in COLUMN_KEYS)
        for c in (
            *singles,
            *self.stage_dates.values(),
            *self.status_dates.values(),
            *(c for cs in self.attributes.values() for c in cs),
            *self.owner_roles.values(),
            *self.lookup.values(),
            *self.where,
            *self.fallback.values(),
            *self.unused,
        ):
            if c and c not in cols:
                cols.append(c)
        return cols

    def required_columns(self) -> list[str]:
        return [c for c in self.columns() if norm(c) not in self.optional]

    def value_required(self) -> list[str]:
        """Columns whose value must be present on every row."""
        if self.shape == "lookup":
            # A lookup row is matched by its key or by its name: with both columns, either may be empty.
            return [c for c in (self.key, self.name) if c and not (self.key and self.name)]
        cols = [self.key, self.lead_id, self.deal_id if self.lead_from_deal else None]
        # A status file's open records may carry no created date: they are undated open pipeline.
        created = self.created_at if self.shape != "status" else None
        cols += [
            created,
            self.stage,
            self.time,
            self.event_id,
            self.status,
            self.owner_role,
            self.changed_field,
        ]
        if self.shape == "roles":
            cols.append(self.owner)
        if self.shape == "touches":
            cols.append(self.campaign)
        # A value is missing only when its column and its fallback are both empty (import_read).
        return [c for c in dict.fromkeys(cols) if c]

    def has_patterns(self) -> bool:
        return bool(self.stage_columns)


@dataclass(frozen=True)
class Mapping:
    name: str
    description: str
    files: tuple[FileSpec, ...]
    timezone: str = "UTC"
    date_formats: tuple[str, ...] = ()
    min_date: dt.date = dt.date(2000, 1, 1)
    max_future_hours: float = 24.0
    max_rejected_share: float = 0.1
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal_separator: str | None = None  # None: not declared, amounts that read two ways are refused
    max_line_length: int = MAX_LINE_LENGTH
    max_fields: int = MAX_FIELDS
    max_lines_per_row: int = MAX_LINES_PER_ROW
    event_id_prefix: str = "import"
    owner_team: str = "sales"
    currency: str | None = None  # of amounts in rows that name no currency (ISO 4217)
    origin: str = ""  # where it was read from (a preset name or a path), for messages
    sha256: str = ""  # of the mapping's text: the same file imported with another mapping is no repeat

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def spec(self, role: str) -> FileSpec:
        for s in self.files:
            if s.role == role:
                return s
        raise KeyError(role)

    def rejected_share(self, role: str) -> float:
        """The share of rejected rows over which a file of this role is refused."""
        try:
            own = self.spec(role).max_rejected_share
        except KeyError:
            own = None
        return self.max_rejected_share if own is None else own


def presets() -> dict[str, str]:
    """Preset name -> its description, for the CLI help and the Data page."""
    out = {}
    for path in sorted(MAPPINGS_DIR.glob("*.toml")):
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        out[path.stem] = str(raw.get("description", ""))
    return out


def load(name_or_path: str | Path, contract: Contract) -> Mapping:
    """A preset by name (data/mappings/<name>.toml) or a mapping file by path."""
    text = str(name_or_path)
    if PRESET_NAME.match(text) and (MAPPINGS_DIR / f"{text}.toml").exists():
        path = MAPPINGS_DIR / f"{text}.toml"
    else:
        path = Path(text)
        if not path.is_file():
            names = ", ".join(presets())
            raise MappingError(f"no mapping {text!r}: give a preset ({names}) or the path of a .toml file")
    try:
        body = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MappingError(f"{path.name}: a mapping is UTF-8 text; this file is not ({exc.reason})") from None
    return parse(body, contract, origin=path.stem)


# --- the file format, validated with pydantic: every wrong value is named with its key ----------


def _shown(value: object) -> str:
    """A value as a message shows it: its TOML type and (cut) text."""
    kinds = {bool: "true/false", int: "the number", float: "the number", str: "the text"}
    kind = next((k for t, k in kinds.items() if type(value) is t), None)
    if kind is None:
        kind = {list: "a list", dict: "a table"}.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{kind} {text[:60] + '...' if len(text) > 60 else text}"


def _fail(where: str, expected: str, value: object) -> MappingError:
    return MappingError(f"{where}: expected {expected}, got {_shown(value)}")


def _ok(test: Callable[[Any], bool]) -> AfterValidator:
    """A check whose failure is reported with the key's own `expected` text."""

    def check(value: Any) -> Any:
        if not test(value):
            raise ValueError("refused")
        return value

    return AfterValidator(check)


def _is_encoding(name: str) -> bool:
    try:
        codecs.lookup(name)
        "".encode(name)  # refuses codecs that are not text encodings (base64, rot13)
    except LookupError:
        return name == AUTO_ENCODING
    return True


def _is_char(name: str, more: Callable[[str], bool] = lambda c: True) -> bool:
    return len(name) == 1 and name not in '"\r\n' and more(name)


def _ex(expected: str, default: Any = None, **kw: Any) -> Any:
    """A field with the text a message gives as what was expected."""
    if isinstance(default, list | dict):
        return Field(default_factory=type(default), description=expected, **kw)
    return Field(default, description=expected, **kw)


Column = Annotated[StrictStr, Field(pattern=r"\S")]  # a header text, not blank
Texts = list[Column]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]  # strict: ints pass, text does not
Name = Annotated[StrictStr, Field(pattern=PRESET_NAME.pattern)]
COLUMN = "a column name (text)"
SHARE = "a share between 0 and 1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _FileBase(_Strict):
    role: Name = _ex("a short lower-case name such as 'leads'", ...)
    shape: Literal[SHAPES] = _ex(f"one of {list(SHAPES)}", ...)
    grain: Literal[GRAINS] = _ex(f"one of {list(GRAINS)}", "lead")
    lead_from_deal: StrictBool = _ex("true or false", False)
    stage_dates: dict[str, Column] = _ex('a table of stage = "date column"', {})
    stage_names: dict[str, StrictStr] = _ex('a table of "Source name" = "stage key"', {})
    ignore_stage_names: Texts = _ex("a list of stage names (text)", [])
    attributes: dict[str, Column | Annotated[Texts, Field(min_length=1)]] = _ex(
        "a table of attribute = column", {}
    )
    optional: Texts = _ex("a list of column names (text)", [])
    stage_columns: Texts = _ex('a list of header patterns such as "hs_v2_date_entered_*"', [])
    stage_aliases: dict[str, Column] = _ex('a table of "source name" = "name"', {})
    status_dates: dict[str, Column] = _ex('a table of "Status value" = "date column"', {})
    where: dict[str, StrictStr | Annotated[list[StrictStr], Field(min_length=1)]] = _ex(
        'a table of column = ["value", ...]', {}
    )
    fallback: dict[str, Column] = _ex('a table of column = "column read when it is empty"', {})
    owner_roles: dict[Annotated[str, Field(pattern=r"\S", max_length=60)], Column] = _ex(
        'a table of "Role" = "owner column"', {}
    )
    started_stage: Column | None = _ex("a stage name or key (text)")
    won_values: Texts = _ex("a list of status values (text)", [])
    lost_values: Texts = _ex("a list of status values (text)", [])
    amount_on: StrictStr | None = _ex("a stage key (text)")
    list_separator: Annotated[StrictStr, _ok(_is_char)] = _ex("one character such as ';' or '|'", ";")
    max_rejected_share: Share | None = _ex(SHARE)
    target: Literal[tuple(LOOKUP_TARGETS)] | None = _ex(f"one of {list(LOOKUP_TARGETS)}")
    lookup: dict[str, Column] = _ex("a table of attribute = column", {})
    changes: dict[Annotated[str, Field(pattern=r"\S")], Literal[CHANGE_TARGETS]] = _ex(
        f'a table of "Field" = one of {list(CHANGE_TARGETS)}', {}
    )
    stages_only_without: list[Name] = _ex("a list of file roles of this mapping", [])
    unused: Texts = _ex("a list of column names (text)", [])
    absent: Texts = _ex("a list of column names (text)", [])


# ... and every single-column key (COLUMN_KEYS) is a column name or absent.
_FileTable = create_model(
    "_FileTable", __base__=_FileBase, **{k: (Column | None, _ex(COLUMN)) for k in COLUMN_KEYS}
)


class _MappingFile(_Strict):
    name: Column | None = _ex("a name (text)")
    description: StrictStr = _ex("text", "")
    timezone: StrictStr = _ex("a time zone such as 'Europe/Berlin' or 'UTC'", "UTC")
    date_formats: list[Annotated[StrictStr, _ok(lambda f: "%" in f)]] = _ex(
        "a list of strptime formats such as '%d/%m/%Y'", []
    )
    min_date: dt.date = _ex("a date such as 2000-01-01", dt.date(2000, 1, 1))
    max_future_hours: float = _ex(
        f"a number of hours from 0 to {MAX_FUTURE_HOURS:g}",
        24.0,
        ge=0,
        le=MAX_FUTURE_HOURS,
        allow_inf_nan=False,
    )
    max_rejected_share: Share = _ex(SHARE, 0.1)
    encoding: Annotated[StrictStr, _ok(_is_encoding)] = _ex(
        "a text encoding such as 'utf-8', 'cp1252', 'utf-16' or 'auto'", "utf-8"
    )
    delimiter: Annotated[StrictStr, _ok(lambda c: _is_char(c, lambda c: not c.isalnum()))] = _ex(
        "one character such as ',', ';', '|' or a tab", ","
    )
    decimal_separator: Literal[DECIMAL_SEPARATORS] | None = _ex("'.' (1,500.25) or ',' (1.500,25)")
    max_line_length: StrictInt = _ex(
        "a whole number of characters from 1,000 to 64,000,000", MAX_LINE_LENGTH, ge=1_000, le=64_000_000
    )
    max_fields: StrictInt = _ex("a whole number of columns from 1 to 10,000", MAX_FIELDS, ge=1, le=10_000)
    max_lines_per_row: StrictInt = _ex(
        "a whole number of lines from 1 to 10,000", MAX_LINES_PER_ROW, ge=1, le=10_000
    )
    event_id_prefix: Name | None = _ex("a short lower-case name such as 'crm'")
    owner_team: StrictStr = _ex("a team of funnel.toml", "sales")
    currency: Annotated[StrictStr, Field(pattern=CURRENCY.pattern)] | None = _ex(
        "an ISO 4217 code such as 'EUR' or 'USD'"
    )
    files: list[_FileTable] = _ex("at least one [[files]] table", ..., min_length=1)


# Tables whose entries are named one by one in a message (the path goes down to the entry), with
# what each entry should be; the keys of some are shown quoted, as a person may write any text.
_ENTRIES = {
    "files": "a [[files]] table",
    "stage_dates": COLUMN,
    "stage_aliases": "a stage or status name (text)",
    "status_dates": COLUMN,
    "where": "a value or a list of values (text)",
    "fallback": COLUMN,
    "lookup": COLUMN,
    "owner_roles": COLUMN,
    "attributes": "a column name or a list of them",
    "changes": f"one of {list(CHANGE_TARGETS)}",
}
_QUOTED = ("stage_names", "stage_aliases", "where", "changes")


def _walk(loc: tuple, raw: Any) -> list:
    """The part of an error's location that is in the document (not pydantic's union branches)."""
    keys: list = []
    for item in loc:
        in_table = isinstance(raw, dict) and isinstance(item, str) and item in raw
        if in_table or (isinstance(raw, list) and isinstance(item, int) and item < len(raw)):
            raw = raw[item]
            keys.append(item)
    return keys


def _at(keys: list, raw: Any) -> Any:
    for k in keys:
        raw = raw[k]
    return raw


def _path(origin: str, keys: list, raw: dict) -> str:
    """['files', 1, 'where', 'Type'] -> "mapping.files[2] (deals).where.'Type'"."""
    out = origin
    for i, k in enumerate(keys):
        if isinstance(k, int):
            role = raw["files"][k].get("role") if isinstance(raw["files"][k], dict) else None
            out += f"[{k + 1}]" + (f" ({role})" if isinstance(role, str) and PRESET_NAME.match(role) else "")
        else:
            out += f".{k!r}" if i and keys[i - 1] in _QUOTED else f".{k}"
    return out


def _explain(exc: ValidationError, raw: dict, origin: str, contract: Contract) -> MappingError:
    errors = exc.errors(include_url=False)
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    first = (unknown or errors)[0]
    keys = _walk(tuple(first["loc"]), raw)
    if unknown:  # every unknown key of the table, with the keys it allows
        table = keys[:-1]
        names = sorted(e["loc"][-1] for e in unknown if _walk(tuple(e["loc"]), raw)[:-1] == table)
        allowed = sorted((_FileTable if table else _MappingFile).model_fields)
        return MappingError(f"{_path(origin, table, raw)}: unknown key(s) {names}; allowed: {allowed}")
    if first["type"] == "missing":
        keys.append(first["loc"][-1])
    in_file = len(keys) >= 2 and keys[0] == "files"
    model, depth = (_FileTable, 2) if in_file else (_MappingFile, 0)
    if len(keys) <= depth:  # a [[files]] entry that is not a table
        return _fail(_path(origin, keys, raw), _ENTRIES["files"], _at(keys, raw))
    field = keys[depth]
    expected = model.model_fields[field].description
    if field == "stage_names" and len(keys) > depth + 1:
        known = ", ".join(contract.stage_keys + contract.exit_keys)
        keys, expected = keys[: depth + 2], f"a stage or exit key of funnel.toml ({known})"
    elif field == "owner_roles" and "[key]" in first["loc"]:
        return _fail(_path(origin, keys[: depth + 1], raw), "role names of at most 60 characters", keys[-1])
    elif field in _ENTRIES and len(keys) > depth + 1:
        keys, expected = keys[: depth + 2], _ENTRIES[field]
    else:
        keys = keys[: depth + 1]
    value = None if first["type"] == "missing" else _at(keys, raw)
    return _fail(_path(origin, keys, raw), expected, value)


def _parse_file(f: Any, i: int, contract: Contract, origin: str) -> FileSpec:
    """The checks a [[files]] table's model cannot make alone: what the contract knows, and which
    keys go together for each shape."""
    role, shape, grain, target, lead_from_deal = f.role, f.shape, f.grain, f.target, f.lead_from_deal
    where = f"{origin}.files[{i}] ({role})"
    event_types = set(contract.stage_keys) | set(contract.exit_keys) | {AMOUNT_EVENT}
    known = ", ".join(contract.stage_keys + contract.exit_keys)
    for key in f.stage_dates:
        if key not in event_types - {AMOUNT_EVENT}:
            raise MappingError(f"{where}.stage_dates.{key}: not a stage or exit in funnel.toml ({known})")
    stage_dates = dict(f.stage_dates)
    stage_names: dict[str, str] = {norm(k): k for k in event_types}  # our own keys always match
    for name, key in f.stage_names.items():
        if key not in event_types:
            raise MappingError(f"{where}.stage_names.{name!r}: {key!r} is not a stage or exit in funnel.toml")
        stage_names[norm(name)] = key
    attributes: dict[str, tuple[str, ...]] = {}
    for fld, cols in f.attributes.items():
        if fld not in LEAD_FIELDS:
            raise MappingError(f"{where}.attributes.{fld}: expected one of {list(LEAD_FIELDS)}")
        attributes[fld] = (cols,) if isinstance(cols, str) else tuple(cols)
    singles = {k: getattr(f, k) for k in COLUMN_KEYS}
    stage_columns = f.stage_columns
    for pattern in stage_columns:
        if "*" not in pattern:
            raise MappingError(
                f"{where}.stage_columns: {pattern!r} has no '*' (the part of the header that names the stage)"
            )
    aliases = {norm(name): alias for name, alias in f.stage_aliases.items()}
    status_dates = f.status_dates
    filters = {
        col: frozenset(norm(v) for v in ([v] if isinstance(v, str) else v)) for col, v in f.where.items()
    }
    owner_roles = {name.strip(): col for name, col in f.owner_roles.items()}
    started_stage, won_values, lost_values = f.started_stage, f.won_values, f.lost_values
    lookup: dict[str, str] = {}
    if shape == "lookup":
        if target is None:
            raise _fail(f"{where}.target", f"one of {list(LOOKUP_TARGETS)}", target)
        allowed = LOOKUP_TARGETS[target]
        for attr in f.lookup:
            if attr not in allowed:
                raise MappingError(f"{where}.lookup.{attr}: a lookup of {target} sets one of {list(allowed)}")
        lookup = f.lookup
        if not singles["key"] and not singles["name"]:
            raise MappingError(
                f"{where}: a lookup file needs key (the column with the {target[:-1]}'s id) or name "
                f"(the column with its name), or both"
            )
        if not lookup:
            raise MappingError(f"{where}.lookup: name at least one attribute to set ({list(allowed)})")
    elif target is not None or f.lookup:
        raise MappingError(f'{where}.target: only for lookup files (shape = "lookup")')
    if shape != "wide" and stage_columns:
        raise MappingError(f"{where}.stage_columns: only for wide files")
    if shape != "status" and status_dates:
        raise MappingError(f'{where}.status_dates: only for status files (shape = "status")')
    if bool(singles["version_active"] or singles["version_start"]) and shape == "lookup":
        raise MappingError(f"{where}.version_active: not for lookup files")
    if shape == "touches" and not (singles["lead_id"] and singles["time"] and singles["campaign"]):
        raise MappingError(f"{where}: a touches file needs lead_id, time and campaign")
    if shape == "roles" and not (singles["owner"] and singles["owner_role"]):
        raise MappingError(f"{where}: a roles file needs owner (the owner column) and owner_role (the role)")
    if singles["owner_role"] and shape != "roles":
        raise MappingError(f'{where}.owner_role: only for roles files (shape = "roles")')
    if owner_roles and shape not in ("wide", "status", "long"):
        raise MappingError(f"{where}.owner_roles: only for wide, status or long files")
    for k in ("linked_deal", "contact_record", "converted_account"):
        if singles[k] and (shape not in ("wide", "status") or grain != "lead" or not singles["created_at"]):
            raise MappingError(f"{where}.{k}: only for a file of lead records (with lead_id and created_at)")
    if singles["contacts"] and (shape not in ("wide", "status") or not singles["deal_id"]):
        raise MappingError(f"{where}.contacts: only for a file of opportunity records (with deal_id)")
    if singles["campaign"] and shape != "touches":
        raise MappingError(f'{where}.campaign: only for touches files (shape = "touches")')
    if singles["name"] and shape != "lookup":
        raise MappingError(f'{where}.name: only for lookup files (shape = "lookup")')
    if "product" in attributes and grain != "opportunity":
        raise MappingError(
            f'{where}.attributes.product: only opportunities carry a product (grain = "opportunity")'
        )
    if attributes and not singles["created_at"] and shape != "contacts":
        raise MappingError(
            f"{where}.attributes: this file's rows are not lead records (it has no created_at), so "
            "nothing would store its attributes. Name the file's created date as created_at, or map "
            "the attributes in the file that lists the leads."
        )
    if singles["email"] and "email" not in attributes:  # `email = "Email"` is the attribute too
        attributes["email"] = (singles["email"],)
    if singles["lead_id"] and lead_from_deal:
        raise MappingError(f"{where}: set lead_id (a column) or lead_from_deal = true, not both")
    if (
        shape != "lookup"
        and not singles["lead_id"]
        and not lead_from_deal
        and not (grain == "opportunity" and singles["deal_id"])
    ):
        raise MappingError(
            f"{where}: say whose rows these are: lead_id (a column), lead_from_deal = true, or for "
            'opportunities deal_id with grain = "opportunity"'
        )
    if shape == "contacts" and not (singles["deal_id"] and singles["lead_id"]):
        raise MappingError(
            f"{where}: a contacts file needs deal_id (the opportunity) and lead_id (the contact)"
        )
    for k in ("contact_role", "is_primary"):
        if singles[k] and shape != "contacts":
            raise MappingError(f'{where}.{k}: only for contacts files (shape = "contacts")')
    if lead_from_deal and not singles["deal_id"]:
        raise MappingError(f"{where}.lead_from_deal: needs deal_id, the column that names the deal")
    # A wide file may name its current status and the CRM's won/closed flags too: they only tell
    # a proposed funnel which status names are won and lost (its events come from dates).
    status_keys = (
        ("started", "outcome_date", "last_changed")
        if shape == "wide"
        else ("status", "started", "outcome_date", "is_won", "is_closed", "last_changed")
    )
    if shape != "status":
        for k in status_keys:
            if singles[k]:
                raise MappingError(f'{where}.{k}: only for status files (shape = "status")')
        for k, v in (
            ("started_stage", started_stage),
            ("won_values", won_values),
            ("lost_values", lost_values),
        ):
            if v:
                raise MappingError(f'{where}.{k}: only for status files (shape = "status")')
    if shape == "wide":
        if not stage_dates and not stage_columns and not singles["created_at"]:
            raise MappingError(f"{where}: a wide file needs stage_dates (stage = date column) or created_at")
        for k in ("stage", "time", "event_id"):
            if singles[k]:
                raise MappingError(f"{where}.{k}: only for long files (one row per event)")
    elif shape == "status":
        if not singles["status"]:
            raise MappingError(f"{where}.status: a status file needs the column holding the status")
        for k in ("stage", "time", "event_id"):
            if singles[k]:
                raise MappingError(f"{where}.{k}: only for long files (one row per event)")
        if stage_dates:
            raise MappingError(f"{where}.stage_dates: only for wide files")
        if bool(singles["is_won"]) != bool(singles["is_closed"]):
            raise MappingError(f"{where}: set both is_won and is_closed (the CRM's two flags), or neither")
        if (won_values or lost_values or singles["is_won"]) and not singles["outcome_date"]:
            raise MappingError(f"{where}.outcome_date: the column that dates a won or lost status is needed")
    elif shape in ("contacts", "lookup", "roles", "touches"):
        what = {
            "contacts": "a contacts file only links contacts to opportunities",
            "lookup": "a lookup file only sets attributes of owners, accounts or products",
            "roles": "a roles file only names the owners of records, with their role",
            "touches": "a touches file only lists campaign touches",
        }[shape]
        for k in ("stage", "event_id", "created_at", "amount", *(("time",) if shape != "touches" else ())):
            if singles[k]:
                raise MappingError(f"{where}.{k}: {what}")
        if stage_dates:
            raise MappingError(f"{where}.stage_dates: only for wide files")
    elif shape == "changes":
        for k, what in (
            ("changed_field", "the name of the changed field"),
            ("new_value", "its new value"),
            ("time", "when it changed"),
        ):
            if not singles[k]:
                raise MappingError(f"{where}.{k}: a changes file needs the column holding {what}")
        if not f.changes:
            raise MappingError(
                f'{where}.changes: name the fields whose changes are read, e.g. Amount = "amount"'
            )
        for k in ("stage", "amount", "created_at", "event_id"):
            if singles[k]:
                raise MappingError(
                    f"{where}.{k}: a changes file reads each change from changed_field and new_value"
                )
        if stage_dates:
            raise MappingError(f"{where}.stage_dates: only for wide files")
    else:
        for k in ("stage", "time"):
            if not singles[k]:
                raise MappingError(f"{where}.{k}: a long file needs the column holding the {k}")
        if stage_dates:
            raise MappingError(f"{where}.stage_dates: only for wide files")
    if shape != "changes":
        for k, v in (
            ("changed_field", singles["changed_field"]),
            ("new_value", singles["new_value"]),
            ("changes", f.changes),
            ("stages_only_without", f.stages_only_without),
        ):
            if v:
                raise MappingError(f'{where}.{k}: only for changes files (shape = "changes")')
    elif f.stages_only_without and "stage" not in f.changes.values():
        raise MappingError(f'{where}.stages_only_without: no field of changes is a "stage"')
    amount_on = f.amount_on
    # "won" with stage columns: the stage the contract ends in, whatever its key (a funnel
    # proposed from the data names it after the export's own won stage).
    won_by_pattern = amount_on == "won" and bool(stage_columns)
    # "stages": a record file of opportunities whose amount and close date are the deal's current
    # ones (a HubSpot deals export): every stage entry carries them, so open pipeline has amounts.
    on_stages = amount_on == AMOUNT_ON_STAGES and grain == "opportunity"
    if amount_on is not None and (
        shape != "wide" or (amount_on not in stage_dates and not won_by_pattern and not on_stages)
    ):
        raise _fail(
            f"{where}.amount_on",
            f"for wide files, one of the stage_dates keys {list(stage_dates)}"
            + (" or 'won' (the contract's last stage)" if stage_columns else "")
            + (f" or {AMOUNT_ON_STAGES!r} (every stage entry)" if grain == "opportunity" else ""),
            amount_on,
        )
    if shape == "wide" and singles["amount"] and amount_on is None and grain != "opportunity":
        raise MappingError(f"{where}.amount_on: say which stage carries the amount (e.g. 'won')")
    # A row's identity: an explicit key column, the source's event id, or for a wide file the
    # record's own id; a long file without any id is identified by its derived event id.
    key = singles["key"] or singles["event_id"]
    if not key and shape in ("wide", "status"):
        key = singles["deal_id"] or singles["lead_id"]
    if not key and shape == "contacts":
        key = singles["deal_id"]  # with the contact: see import_read (one row per pair)
    if not key and shape == "roles":
        key = singles["deal_id"] or singles["lead_id"]  # with the role: see import_read
    return FileSpec(
        **{**singles, "key": key},
        role=role,
        shape=shape,
        lead_from_deal=lead_from_deal,
        stage_dates=stage_dates,
        stage_names=stage_names,
        ignore_stage_names=frozenset(norm(x) for x in f.ignore_stage_names),
        amount_on=amount_on,
        attributes=attributes,
        optional=frozenset(norm(x) for x in f.optional),
        started_stage=started_stage,
        won_values=frozenset(norm(v) for v in won_values),
        lost_values=frozenset(norm(v) for v in lost_values),
        grain=grain,
        stage_columns=tuple(f.stage_columns),
        stage_aliases=aliases,
        status_dates=dict(f.status_dates),
        where=filters,
        list_separator=f.list_separator,
        fallback=dict(f.fallback),
        owner_roles=owner_roles,
        max_rejected_share=f.max_rejected_share,
        target=target,
        lookup=dict(lookup),
        changes={norm(name): what for name, what in f.changes.items()},
        stages_only_without=frozenset(f.stages_only_without),
        unused=tuple(f.unused),
        absent=tuple(f.absent),
    )


def parse(text: str, contract: Contract, origin: str = "mapping") -> Mapping:
    """Validate a mapping document and return it typed. Every wrong value raises MappingError
    naming its key and the type expected."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{origin}: not valid TOML: {exc}") from exc
    try:
        doc = _MappingFile.model_validate(raw)
    except ValidationError as exc:
        raise _explain(exc, raw, origin, contract) from None
    specs = tuple(_parse_file(f, i, contract, origin) for i, f in enumerate(doc.files, start=1))
    roles = [s.role for s in specs]
    if len(set(roles)) != len(roles):
        raise MappingError(f"{origin}: file roles must be distinct, got {roles}")
    for i, s in enumerate(specs, start=1):
        for other in sorted(s.stages_only_without - set(roles) - {""}):
            raise MappingError(
                f"{origin}.files[{i}] ({s.role}).stages_only_without: {other!r} is not a file role of "
                f"this mapping ({', '.join(roles)})"
            )
    try:
        zoneinfo.ZoneInfo(doc.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise MappingError(
            f"{origin}.timezone: unknown time zone {doc.timezone!r} (e.g. 'Europe/Berlin', 'UTC')"
        ) from None
    if doc.decimal_separator is not None and doc.decimal_separator == doc.delimiter:
        raise MappingError(
            f"{origin}.decimal_separator: {doc.decimal_separator!r} is also the delimiter; amounts with a "
            "decimal comma need another delimiter (';' is usual)"
        )
    if doc.owner_team not in contract.teams:
        raise _fail(f"{origin}.owner_team", f"one of {list(contract.teams)}", doc.owner_team)
    # Default prefix: the mapping's file name, made a plain key ("My CRM.toml" -> "my_crm").
    default_prefix = re.sub(r"[^a-z0-9_]+", "_", origin.lower()).strip("_")[:40]
    if not PRESET_NAME.match(default_prefix):
        default_prefix = "import"
    return Mapping(
        name=doc.name or origin,
        description=doc.description,
        files=specs,
        timezone=doc.timezone,
        date_formats=tuple(doc.date_formats),
        min_date=doc.min_date,
        max_future_hours=doc.max_future_hours,
        max_rejected_share=doc.max_rejected_share,
        encoding=doc.encoding,
        delimiter=doc.delimiter,
        decimal_separator=doc.decimal_separator,
        max_line_length=doc.max_line_length,
        max_fields=doc.max_fields,
        max_lines_per_row=doc.max_lines_per_row,
        event_id_prefix=doc.event_id_prefix or default_prefix,
        owner_team=doc.owner_team,
        currency=doc.currency,
        origin=origin,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )

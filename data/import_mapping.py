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
import hashlib
import math
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

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
SHAPES = ("wide", "long", "status", "contacts", "lookup", "touches", "roles")
# Lookup files: what each target is, the attributes a lookup may set on it (docs/import.md,
# "Lookup files").
LOOKUP_TARGETS = {
    "owners": ("owner_name", "manager", "office", "team"),
    "accounts": ("name", "domain", "sector", "size"),
    "products": ("name", "family"),
}
CURRENCY = re.compile(r"^[A-Z]{3}$")  # an ISO 4217 code
AMOUNT_EVENT = "amount"  # an event type that only sets a deal amount (schema.sql)
AMOUNT_ON_STAGES = "stages"  # amount_on: every stage entry of a record carries its current amount
DECIMAL_SEPARATORS = (".", ",")
# Bounds on what one row may hold, so that reading a file never needs more memory than about
# this much, whatever the file (docs/import.md, "Limits").
MAX_LINE_LENGTH = 1_000_000  # characters in one row (all its lines, for a row with line breaks)
MAX_FIELDS = 500  # columns in the header
MAX_LINES_PER_ROW = 100  # physical lines one row may span (line breaks inside quoted values)
MAX_FUTURE_HOURS = 24 * 366 * 10  # ten years: more is no longer a clock difference

TOP_KEYS = {
    "name",
    "description",
    "timezone",
    "date_formats",
    "min_date",
    "max_future_hours",
    "max_rejected_share",
    "encoding",
    "delimiter",
    "decimal_separator",
    "max_line_length",
    "max_fields",
    "max_lines_per_row",
    "event_id_prefix",
    "owner_team",
    "currency",
    "files",
}
FILE_KEYS = {
    "role",
    "shape",
    "key",
    "lead_id",
    "deal_id",
    "lead_from_deal",
    "event_id",
    "created_at",
    "stage_dates",
    "stage",
    "time",
    "stage_names",
    "ignore_stage_names",
    "owner",
    "owner_name",
    "owner_team",
    "team",
    "amount",
    "amount_on",
    "reason",
    "attributes",
    "optional",
    "status",
    "started",
    "started_stage",
    "outcome_date",
    "won_values",
    "lost_values",
    "is_won",
    "is_closed",
    "currency",
    "grain",
    "contact_role",
    "is_primary",
    "close_date",
    "forecast_category",
    "email",
    "stage_columns",
    "stage_aliases",
    "status_dates",
    "where",
    "version_active",
    "version_start",
    "contacts",
    "list_separator",
    "linked_deal",
    "contact_record",
    "converted_account",
    "last_changed",
    "fallback",
    "owner_roles",
    "owner_role",
    "max_rejected_share",
    "target",
    "name",
    "lookup",
    "campaign",
}
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
)


class MappingError(ValueError):
    """A mapping file is not valid; the message names the key at fault."""


def norm(text: str) -> str:
    """Header and stage-name matching: case-, spacing-, '_' and '-'-insensitive."""
    return " ".join(re.sub(r"[_\-]+", " ", text.replace("\ufeff", "")).split()).casefold()


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
    # Set when a file is read (import_read.read_rows): the stage keys whose date column this
    # file has, so the store knows the data records them even before any record reaches them.
    recorded: frozenset[str] = frozenset()

    def columns(self) -> list[str]:
        """Every column the spec reads, in a stable order, without repeats."""
        cols: list[str] = []
        singles = (
            self.key,
            self.lead_id,
            self.deal_id,
            self.event_id,
            self.created_at,
            self.stage,
            self.time,
            self.owner,
            self.owner_name,
            self.owner_team,
            self.team,
            self.amount,
            self.reason,
            self.status,
            self.started,
            self.outcome_date,
            self.is_won,
            self.is_closed,
            self.currency,
            self.contact_role,
            self.is_primary,
            self.close_date,
            self.forecast_category,
            self.email,
            self.version_active,
            self.version_start,
            self.contacts,
            self.linked_deal,
            self.contact_record,
            self.converted_account,
            self.last_changed,
            self.owner_role,
            self.name,
            self.campaign,
        )
        for c in (
            *singles,
            *self.stage_dates.values(),
            *self.status_dates.values(),
            *(c for cs in self.attributes.values() for c in cs),
            *self.owner_roles.values(),
            *self.lookup.values(),
            *self.where,
            *self.fallback.values(),
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
        cols += [created, self.stage, self.time, self.event_id, self.status, self.owner_role]
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


# --- typed values: every wrong value is named with its key and the type expected -----------------


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


def _text(table: dict, key: str, where: str, expected: str = "a column name (text)") -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{where}.{key}", expected, value)
    return value


def _texts(table: dict, key: str, where: str, expected: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
        raise _fail(f"{where}.{key}", expected, value)
    return value


def _names(table: dict, key: str, where: str, expected: str) -> dict[str, object]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise _fail(f"{where}.{key}", expected, value)
    return value


def _number(table: dict, key: str, where: str, default: float, low: float, high: float, unit: str) -> float:
    value = table.get(key, default)
    expected = f"a number {unit} from {low:g} to {high:g}"
    # TOML allows inf and nan: neither is a limit anyone means.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(f"{where}.{key}", expected, value)
    if not low <= value <= high:
        raise _fail(f"{where}.{key}", expected, value)
    return float(value)


def _integer(table: dict, key: str, where: str, default: int, low: int, high: int, unit: str) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(f"{where}.{key}", f"a whole number of {unit} from {low:,} to {high:,}", value)
    return value


def _check_keys(table: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _parse_file(raw: object, i: int, contract: Contract, origin: str) -> FileSpec:
    where = f"{origin}.files[{i}]"
    if not isinstance(raw, dict):
        raise _fail(where, "a [[files]] table", raw)
    _check_keys(raw, FILE_KEYS, where)
    role = _text(raw, "role", where, "a short lower-case name such as 'leads'")
    if not role or not PRESET_NAME.match(role):
        raise _fail(f"{where}.role", "a short lower-case name such as 'leads'", raw.get("role"))
    where = f"{origin}.files[{i}] ({role})"
    shape = raw.get("shape")
    if shape not in SHAPES:
        raise _fail(f"{where}.shape", f"one of {list(SHAPES)}", shape)
    event_types = set(contract.stage_keys) | set(contract.exit_keys) | {AMOUNT_EVENT}
    known = ", ".join(contract.stage_keys + contract.exit_keys)

    stage_dates: dict[str, str] = {}
    for key, col in _names(raw, "stage_dates", where, 'a table of stage = "date column"').items():
        if key not in event_types - {AMOUNT_EVENT}:
            raise MappingError(f"{where}.stage_dates.{key}: not a stage or exit in funnel.toml ({known})")
        stage_dates[key] = _text({key: col}, key, f"{where}.stage_dates")
    stage_names: dict[str, str] = {norm(k): k for k in event_types}  # our own keys always match
    for name, key in _names(raw, "stage_names", where, 'a table of "Source name" = "stage key"').items():
        if not isinstance(key, str):
            raise _fail(f"{where}.stage_names.{name!r}", f"a stage or exit key of funnel.toml ({known})", key)
        if key not in event_types:
            raise MappingError(f"{where}.stage_names.{name!r}: {key!r} is not a stage or exit in funnel.toml")
        stage_names[norm(name)] = key
    ignore = _texts(raw, "ignore_stage_names", where, "a list of stage names (text)")

    attributes: dict[str, tuple[str, ...]] = {}
    for fld, cols in _names(raw, "attributes", where, "a table of attribute = column").items():
        if fld not in LEAD_FIELDS:
            raise MappingError(f"{where}.attributes.{fld}: expected one of {list(LEAD_FIELDS)}")
        cols = [cols] if isinstance(cols, str) else cols
        if not isinstance(cols, list) or not cols or not all(isinstance(c, str) and c.strip() for c in cols):
            raise _fail(f"{where}.attributes.{fld}", "a column name or a list of them", cols)
        attributes[fld] = tuple(cols)
    optional = _texts(raw, "optional", where, "a list of column names (text)")

    singles = {k: _text(raw, k, where) for k in COLUMN_KEYS}
    stage_columns = _texts(
        raw, "stage_columns", where, 'a list of header patterns such as "hs_v2_date_entered_*"'
    )
    for pattern in stage_columns:
        if "*" not in pattern:
            raise MappingError(
                f"{where}.stage_columns: {pattern!r} has no '*' (the part of the header that names the stage)"
            )
    aliases: dict[str, str] = {}
    for name, alias in _names(raw, "stage_aliases", where, 'a table of "source name" = "name"').items():
        if not isinstance(alias, str) or not alias.strip():
            raise _fail(f"{where}.stage_aliases.{name!r}", "a stage or status name (text)", alias)
        aliases[norm(name)] = alias
    status_dates: dict[str, str] = {}
    for value, col in _names(raw, "status_dates", where, 'a table of "Status value" = "date column"').items():
        status_dates[value] = _text({value: col}, value, f"{where}.status_dates")
    filters: dict[str, frozenset[str]] = {}
    for col, values in _names(raw, "where", where, 'a table of column = ["value", ...]').items():
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise _fail(f"{where}.where.{col!r}", "a value or a list of values (text)", values)
        filters[col] = frozenset(norm(v) for v in values)
    fallback: dict[str, str] = {}
    for col, other in _names(
        raw, "fallback", where, 'a table of column = "column read when it is empty"'
    ).items():
        fallback[col] = _text({col: other}, col, f"{where}.fallback")
    owner_roles: dict[str, str] = {}
    for role_name, col in _names(raw, "owner_roles", where, 'a table of "Role" = "owner column"').items():
        if not role_name.strip() or len(role_name) > 60:
            raise _fail(f"{where}.owner_roles", "role names of at most 60 characters", role_name)
        owner_roles[role_name.strip()] = _text({role_name: col}, role_name, f"{where}.owner_roles")
    separator = raw.get("list_separator", ";")
    if not isinstance(separator, str) or len(separator) != 1 or separator in '"\r\n':
        raise _fail(f"{where}.list_separator", "one character such as ';' or '|'", separator)
    share = raw.get("max_rejected_share")
    if share is not None and (
        isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1
    ):
        raise _fail(f"{where}.max_rejected_share", "a share between 0 and 1", share)
    target = raw.get("target")
    lookup: dict[str, str] = {}
    if shape == "lookup":
        if target not in LOOKUP_TARGETS:
            raise _fail(f"{where}.target", f"one of {list(LOOKUP_TARGETS)}", target)
        allowed = LOOKUP_TARGETS[target]
        for attr, col in _names(raw, "lookup", where, "a table of attribute = column").items():
            if attr not in allowed:
                raise MappingError(f"{where}.lookup.{attr}: a lookup of {target} sets one of {list(allowed)}")
            lookup[attr] = _text({attr: col}, attr, f"{where}.lookup")
        if not singles["key"] and not singles["name"]:
            raise MappingError(
                f"{where}: a lookup file needs key (the column with the {target[:-1]}'s id) or name "
                f"(the column with its name), or both"
            )
        if not lookup:
            raise MappingError(f"{where}.lookup: name at least one attribute to set ({list(allowed)})")
    elif target is not None or raw.get("lookup"):
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
        if singles[k] and (
            shape not in ("wide", "status") or raw.get("grain", "lead") != "lead" or not singles["created_at"]
        ):
            raise MappingError(f"{where}.{k}: only for a file of lead records (with lead_id and created_at)")
    if singles["contacts"] and (shape not in ("wide", "status") or not singles["deal_id"]):
        raise MappingError(f"{where}.contacts: only for a file of opportunity records (with deal_id)")
    if singles["campaign"] and shape != "touches":
        raise MappingError(f'{where}.campaign: only for touches files (shape = "touches")')
    if singles["name"] and shape != "lookup":
        raise MappingError(f'{where}.name: only for lookup files (shape = "lookup")')
    started_stage = _text(raw, "started_stage", where, "a stage name or key (text)")
    won_values = _texts(raw, "won_values", where, "a list of status values (text)")
    lost_values = _texts(raw, "lost_values", where, "a list of status values (text)")
    grain = raw.get("grain", "lead")
    if grain not in GRAINS:
        raise _fail(f"{where}.grain", f"one of {list(GRAINS)}", grain)
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
    lead_from_deal = raw.get("lead_from_deal", False)
    if not isinstance(lead_from_deal, bool):
        raise _fail(f"{where}.lead_from_deal", "true or false", lead_from_deal)
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
    else:
        for k in ("stage", "time"):
            if not singles[k]:
                raise MappingError(f"{where}.{k}: a long file needs the column holding the {k}")
        if stage_dates:
            raise MappingError(f"{where}.stage_dates: only for wide files")
    amount_on = raw.get("amount_on")
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
        role=role,
        shape=shape,
        key=key,
        lead_id=singles["lead_id"],
        deal_id=singles["deal_id"],
        lead_from_deal=lead_from_deal,
        event_id=singles["event_id"],
        created_at=singles["created_at"],
        stage_dates=stage_dates,
        stage=singles["stage"],
        time=singles["time"],
        stage_names=stage_names,
        ignore_stage_names=frozenset(norm(x) for x in ignore),
        owner=singles["owner"],
        owner_name=singles["owner_name"],
        owner_team=singles["owner_team"],
        team=singles["team"],
        amount=singles["amount"],
        amount_on=amount_on,
        reason=singles["reason"],
        attributes=attributes,
        optional=frozenset(norm(x) for x in optional),
        status=singles["status"],
        started=singles["started"],
        started_stage=started_stage,
        outcome_date=singles["outcome_date"],
        won_values=frozenset(norm(v) for v in won_values),
        lost_values=frozenset(norm(v) for v in lost_values),
        is_won=singles["is_won"],
        is_closed=singles["is_closed"],
        currency=singles["currency"],
        grain=grain,
        contact_role=singles["contact_role"],
        is_primary=singles["is_primary"],
        close_date=singles["close_date"],
        forecast_category=singles["forecast_category"],
        email=singles["email"],
        stage_columns=tuple(stage_columns),
        stage_aliases=aliases,
        status_dates=status_dates,
        where=filters,
        version_active=singles["version_active"],
        version_start=singles["version_start"],
        contacts=singles["contacts"],
        list_separator=separator,
        linked_deal=singles["linked_deal"],
        contact_record=singles["contact_record"],
        converted_account=singles["converted_account"],
        last_changed=singles["last_changed"],
        fallback=fallback,
        owner_roles=owner_roles,
        owner_role=singles["owner_role"],
        max_rejected_share=None if share is None else float(share),
        target=target,
        name=singles["name"],
        lookup=lookup,
        campaign=singles["campaign"],
    )


AUTO_ENCODING = "auto"  # UTF-8 when the file is valid UTF-8 (or has a byte order mark), else cp1252


def _encoding(raw: dict, origin: str) -> str:
    value = raw.get("encoding", "utf-8")
    expected = "a text encoding such as 'utf-8', 'cp1252', 'utf-16' or 'auto'"
    if value == AUTO_ENCODING:
        return value
    if not isinstance(value, str):
        raise _fail(f"{origin}.encoding", expected, value)
    try:
        codecs.lookup(value)
        "".encode(value)  # refuses codecs that are not text encodings (base64, rot13)
    except LookupError:
        raise _fail(f"{origin}.encoding", expected, value) from None
    return value


def parse(text: str, contract: Contract, origin: str = "mapping") -> Mapping:
    """Validate a mapping document and return it typed. Every wrong value raises MappingError
    naming its key and the type expected."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{origin}: not valid TOML: {exc}") from exc
    _check_keys(raw, TOP_KEYS, origin)
    files = raw.get("files")
    if not isinstance(files, list) or not files:
        raise _fail(f"{origin}.files", "at least one [[files]] table", files)
    specs = tuple(_parse_file(f, i, contract, origin) for i, f in enumerate(files, start=1))
    roles = [s.role for s in specs]
    if len(set(roles)) != len(roles):
        raise MappingError(f"{origin}: file roles must be distinct, got {roles}")
    name = _text(raw, "name", origin, "a name (text)") or origin
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise _fail(f"{origin}.description", "text", description)
    tz = raw.get("timezone", "UTC")
    try:
        if not isinstance(tz, str):
            raise TypeError
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise MappingError(
            f"{origin}.timezone: unknown time zone {tz!r} (e.g. 'Europe/Berlin', 'UTC')"
        ) from None
    formats = raw.get("date_formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
        raise _fail(f"{origin}.date_formats", "a list of strptime formats such as '%d/%m/%Y'", formats)
    min_date = raw.get("min_date", dt.date(2000, 1, 1))
    if not isinstance(min_date, dt.date) or isinstance(min_date, dt.datetime):
        raise _fail(f"{origin}.min_date", "a date such as 2000-01-01", min_date)
    share = raw.get("max_rejected_share", 0.1)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise _fail(f"{origin}.max_rejected_share", "a share between 0 and 1", share)
    hours = _number(raw, "max_future_hours", origin, 24, 0, MAX_FUTURE_HOURS, "of hours")
    encoding = _encoding(raw, origin)
    delimiter = raw.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n' or delimiter.isalnum():
        raise _fail(f"{origin}.delimiter", "one character such as ',', ';', '|' or a tab", delimiter)
    decimal = raw.get("decimal_separator")
    if decimal is not None and decimal not in DECIMAL_SEPARATORS:
        raise _fail(f"{origin}.decimal_separator", "'.' (1,500.25) or ',' (1.500,25)", decimal)
    if decimal is not None and decimal == delimiter:
        raise MappingError(
            f"{origin}.decimal_separator: {decimal!r} is also the delimiter; amounts with a decimal "
            "comma need another delimiter (';' is usual)"
        )
    max_line = _integer(raw, "max_line_length", origin, MAX_LINE_LENGTH, 1_000, 64_000_000, "characters")
    max_fields = _integer(raw, "max_fields", origin, MAX_FIELDS, 1, 10_000, "columns")
    max_lines = _integer(raw, "max_lines_per_row", origin, MAX_LINES_PER_ROW, 1, 10_000, "lines")
    currency = raw.get("currency")
    if currency is not None and (not isinstance(currency, str) or not CURRENCY.match(currency)):
        raise _fail(f"{origin}.currency", "an ISO 4217 code such as 'EUR' or 'USD'", currency)
    owner_team = raw.get("owner_team", "sales")
    if not isinstance(owner_team, str) or owner_team not in contract.teams:
        raise _fail(f"{origin}.owner_team", f"one of {list(contract.teams)}", owner_team)
    # Default prefix: the mapping's file name, made a plain key ("My CRM.toml" -> "my_crm").
    default_prefix = re.sub(r"[^a-z0-9_]+", "_", origin.lower()).strip("_")[:40]
    if not PRESET_NAME.match(default_prefix):
        default_prefix = "import"
    prefix = raw.get("event_id_prefix", default_prefix)
    if not isinstance(prefix, str) or not PRESET_NAME.match(prefix):
        raise _fail(f"{origin}.event_id_prefix", "a short lower-case name such as 'crm'", prefix)
    return Mapping(
        name=name,
        description=description,
        files=specs,
        timezone=tz,
        date_formats=tuple(formats),
        min_date=min_date,
        max_future_hours=hours,
        max_rejected_share=float(share),
        encoding=encoding,
        delimiter=delimiter,
        decimal_separator=decimal,
        max_line_length=max_line,
        max_fields=max_fields,
        max_lines_per_row=max_lines,
        event_id_prefix=prefix,
        owner_team=owner_team,
        currency=currency,
        origin=origin,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )

"""Reading one export file: decode, match columns by name, and check every row on its own.

One row in gives either a rejection (the column and the reason) or what it maps to: events,
a lead record, owners, and flags (kept, but worth a look). Checks that need the whole file or
the store (repeats, conflicts with stored events, deals found through an earlier file) are made
in SQL by data/importer.py on the staged rows.

Row numbers are the spreadsheet's: the header is row 1 and blank lines keep their numbers, but a
blank line is no data row. The CSV reader is Python's own, in strict mode: a row it cannot split is a rejected
row with the reason; nothing is skipped silently.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from data.contract import Contract
from data.import_mapping import AMOUNT_EVENT, FileSpec, Mapping, norm

UTC = dt.UTC
MAX_RAW = 300  # characters of a row kept with its rejection
MAX_TEXT = 500  # a text value longer than this is not a CRM field
# 1.23457E+11 and 123456789012.0: an id a spreadsheet turned into a number on the way.
EXCEL_ID = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$|^\d+\.0+$")
PLAIN_AMOUNT = re.compile(r"^\d+(\.\d+)?$")
THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
CURRENCY = str.maketrans("", "", "$€£¥ \u00a0")


class ImportRefused(Exception):
    """The whole file is refused and nothing from it is written; the message names the file and,
    where it applies, the row and column, and says what to do."""


class RowError(Exception):
    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


@dataclass
class Source:
    """An export file to import. `name` is only ever shown (an upload's name is not a path)."""

    name: str
    path: Path | None = None
    data: bytes | None = None

    @classmethod
    def from_path(cls, path: Path | str) -> Source:
        path = Path(path)
        return cls(name=path.name, path=path)

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Source:
        return cls(name=str(name)[:200], data=data)

    def open(self) -> BinaryIO:
        return open(self.path, "rb") if self.path is not None else io.BytesIO(self.data or b"")

    @property
    def size(self) -> int:
        return self.path.stat().st_size if self.path is not None else len(self.data or b"")

    def sha256(self) -> str:
        h = hashlib.sha256()
        with self.open() as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()


class _Counting(io.RawIOBase):
    """Counts the bytes read, for the progress bar."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.n = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.n += len(data)
        return len(data)


@dataclass
class Parsed:
    """What one valid row maps to."""

    key: str
    events: list[tuple] = field(default_factory=list)  # EVENT_COLUMNS
    lead: tuple | None = None  # LEAD_COLUMNS
    owners: list[tuple] = field(default_factory=list)  # (owner_id, owner_name, team)
    flags: list[str] = field(default_factory=list)
    ignored: bool = False  # a stage name the mapping lists as no funnel move

    @property
    def digest(self) -> int:
        """Same content, same digest: tells an identical repeat from a conflicting one."""
        return hash((tuple(self.events), self.lead, self.ignored))


EVENT_COLUMNS = (
    "event_id",
    "lead_id",
    "deal_id",
    "event_type",
    "occurred_at",
    "owner_id",
    "team",
    "reason_code",
    "amount",
)
LEAD_COLUMNS = (
    "lead_id",
    "created_at",
    "lead_name",
    "company",
    "account_id",
    "channel",
    "campaign",
    "region",
    "segment",
    "owner_id",
)


def pick_spec(mapping: Mapping, header: list[str], file_name: str) -> FileSpec:
    """The file spec whose required columns this header has; refuses with what is missing."""
    present = {norm(h) for h in header}
    scored = []
    for spec in mapping.files:
        required = spec.required_columns()
        missing = [c for c in required if norm(c) not in present]
        matched = sum(norm(c) in present for c in spec.columns())
        scored.append((not missing, matched, spec, missing))
    fits = [s for s in scored if s[0]]
    if fits:
        return max(fits, key=lambda s: s[1])[2]
    _, _, spec, missing = max(scored, key=lambda s: (s[1], -len(s[3])))
    shown = ", ".join(repr(h) for h in header[:30])
    hint = ""
    if len(header) == 1 and any(d in header[0] for d in ";\t|"):
        hint = " The header reads as one column: is the file separated by ';' or tabs? Set delimiter in the mapping."
    raise ImportRefused(
        f"{file_name}: missing required column(s) {', '.join(repr(c) for c in missing)} for a "
        f"'{spec.role}' file of mapping '{mapping.origin}' (row 1, the header, has: {shown}). "
        "Export those columns, or write a mapping that names your columns." + hint
    )


class RowParser:
    """Checks rows of one file against one file spec. Columns are found by name in the header."""

    def __init__(
        self,
        mapping: Mapping,
        spec: FileSpec,
        contract: Contract,
        header: list[str],
        file_name: str,
        now: dt.datetime,
    ) -> None:
        self.mapping, self.spec, self.file_name = mapping, spec, file_name
        positions: dict[str, list[int]] = defaultdict(list)
        for i, h in enumerate(header):
            positions[norm(h)].append(i)
        self.index: dict[str, int] = {}
        dups = []
        for col in spec.columns():
            found = positions.get(norm(col), [])
            if len(found) > 1:
                dups.append(f"{col!r} (columns {', '.join(str(p + 1) for p in found)})")
            elif found:
                self.index[col] = found[0]
        if dups:
            raise ImportRefused(
                f"{file_name}: row 1 (the header) names {', '.join(dups)} more than once, so it is "
                "not clear which to read. Remove or rename the repeated column and import again."
            )
        self.n_fields = len(header)
        self.zone = None if mapping.timezone == "UTC" else mapping.zone
        self.min_at = dt.datetime.combine(mapping.min_date, dt.time.min)
        self.max_at = now + dt.timedelta(hours=mapping.max_future_hours)
        self.exits = set(contract.exit_keys)
        self.stage_team = _stage_teams(contract)
        self.teams = set(contract.teams)
        self.reasons: dict[str, str] = {}
        for r in contract.reason_codes:
            self.reasons[r.key] = r.key
            self.reasons[norm(r.key)] = r.key
            self.reasons[norm(r.label)] = r.key
        self.required = set(spec.value_required())
        self._names: dict[str, str] = {}

    # --- single values -------------------------------------------------------------------
    def _get(self, fields: list[str], col: str | None) -> str:
        if not col or col not in self.index:
            return ""
        value = fields[self.index[col]].strip()
        if len(value) > MAX_TEXT:
            raise RowError(col, f"value is longer than {MAX_TEXT} characters")
        if not value and col in self.required:
            raise RowError(col, "required value is missing")
        return value

    def _id(self, fields: list[str], col: str | None) -> str | None:
        value = self._get(fields, col)
        if not value:
            return None
        if ("E" in value or "e" in value or "." in value) and EXCEL_ID.match(value):
            raise RowError(
                col,
                f"id {value!r} looks like a number a spreadsheet rewrote (digits lost): export "
                "again straight from the CRM, or format the column as text before saving",
            )
        return value

    def _time(self, col: str, text: str) -> dt.datetime:
        ts = None
        errors = []
        try:
            ts = dt.datetime.fromisoformat(text)
        except ValueError as exc:
            errors.append(str(exc))
            for fmt in self.mapping.date_formats:
                try:
                    ts = dt.datetime.strptime(text, fmt)
                    break
                except ValueError as exc2:
                    errors.append(str(exc2))
        if ts is None:
            if any("out of range" in e for e in errors):
                raise RowError(col, f"impossible date {text!r} (no such day or time)")
            formats = ", ".join(self.mapping.date_formats) or "none"
            raise RowError(
                col,
                f"{text!r} is not a date: expected ISO 8601 (2025-01-31 14:05) or one of the formats {formats}",
            )
        if ts.tzinfo is not None:
            # An explicit offset wins over the mapping's time zone.
            ts = ts.astimezone(UTC).replace(tzinfo=None)
        elif self.zone is not None:
            ts = ts.replace(tzinfo=self.zone).astimezone(UTC).replace(tzinfo=None)
        if ts < self.min_at:
            raise RowError(col, f"date {text!r} is before {self.mapping.min_date} (far past): a placeholder?")
        if ts > self.max_at:
            raise RowError(
                col,
                f"date {text!r} is in the future (more than {self.mapping.max_future_hours:g} h "
                "after the import)",
            )
        return ts

    def _amount(self, fields: list[str], col: str | None) -> str | None:
        text = self._get(fields, col)
        if not text:
            return None
        value = text.translate(CURRENCY)
        if value.startswith("-") or (value.startswith("(") and value.endswith(")")):
            raise RowError(col, f"negative amount {text!r}: amounts must be 0 or more")
        if THOUSANDS.match(value):
            value = value.replace(",", "")
        if not PLAIN_AMOUNT.match(value):
            raise RowError(col, f"amount {text!r} is not a number")
        if float(value) >= 1e12:
            raise RowError(col, f"amount {text!r} is too large")
        return value

    def _reason(self, fields: list[str], flags: list[str]) -> str | None:
        text = self._get(fields, self.spec.reason)
        if not text:
            return None
        key = self.reasons.get(text)
        if key is None:
            key = self.reasons.get(norm(text))
        if key is None:
            flags.append(f"unknown reason code {text!r} (not in funnel.toml): kept as given")
            return text
        return key

    def _team(self, fields: list[str]) -> str | None:
        text = self._get(fields, self.spec.team)
        if text and text.lower() not in self.teams:
            raise RowError(self.spec.team, f"unknown team {text!r}; expected one of {sorted(self.teams)}")
        return text.lower() or None

    # --- a whole row -------------------------------------------------------------------------
    def parse(self, fields: list[str]) -> Parsed:
        if len(fields) != self.n_fields:
            raise RowError(
                None,
                f"row has {len(fields)} fields but the header has {self.n_fields}: a quote or "
                f"a '{self.mapping.delimiter}' is out of place",
            )
        return self._wide(fields) if self.spec.shape == "wide" else self._long(fields)

    def _owners(self, fields: list[str], owner: str | None) -> list[tuple]:
        if not owner:
            return []
        name = self._get(fields, self.spec.owner_name) or owner
        team = self._get(fields, self.spec.owner_team).lower() or self.mapping.owner_team
        if team not in self.teams:
            raise RowError(
                self.spec.owner_team, f"unknown team {team!r}; expected one of {sorted(self.teams)}"
            )
        return [(owner, name, team)]

    def _wide(self, fields: list[str]) -> Parsed:
        spec, prefix = self.spec, self.mapping.event_id_prefix
        key = self._id(fields, spec.key)
        lead_id = self._id(fields, spec.lead_id)
        deal_id = self._id(fields, spec.deal_id)
        owner = self._id(fields, spec.owner)
        team = self._team(fields)
        flags: list[str] = []
        reason = self._reason(fields, flags)
        amount = self._amount(fields, spec.amount)
        subject = deal_id or lead_id
        events = []
        for etype, col in spec.stage_dates.items():
            text = self._get(fields, col)
            if not text:
                continue
            at = self._time(col, text)
            events.append(
                (
                    f"{prefix}:{subject}:{etype}",
                    lead_id,
                    deal_id,
                    etype,
                    at,
                    owner,
                    team or self.stage_team.get(etype),
                    reason if etype in self.exits else None,
                    amount if etype == spec.amount_on else None,
                )
            )
        if not events and not spec.created_at:
            cols = ", ".join(repr(c) for c in spec.stage_dates.values())
            raise RowError(None, f"no date in any of the stage columns ({cols}): nothing to import")
        if reason and not any(e[3] in self.exits for e in events):
            flags.append("a reason is given but no exit date: the reason is not stored")
        lead = None
        if spec.created_at:
            created = self._time(spec.created_at, self._get(fields, spec.created_at))
            attrs = {
                fld: " ".join(v for c in cols if (v := self._get(fields, c))) or None
                for fld, cols in spec.attributes.items()
            }
            lead = (lead_id, created, *(attrs.get(f) for f in LEAD_COLUMNS[2:9]), owner)
        return Parsed(str(key), events, lead, self._owners(fields, owner), flags)

    def _long(self, fields: list[str]) -> Parsed:
        spec = self.spec
        stage_text = self._get(fields, spec.stage)
        name = self._names.get(stage_text)
        if name is None:  # a file has few distinct stage names: normalise each once
            name = self._names[stage_text] = norm(stage_text)
        lead_id = self._id(fields, spec.lead_id)
        deal_id = self._id(fields, spec.deal_id)
        source_id = self._id(fields, spec.event_id)
        key = self._id(fields, spec.key) if spec.key else None
        at = self._time(spec.time, self._get(fields, spec.time))
        if name in spec.ignore_stage_names:
            return Parsed(str(key or f"{deal_id or lead_id}:{name}:{at.isoformat()}"), ignored=True)
        etype = spec.stage_names.get(name)
        if etype is None:
            raise RowError(
                spec.stage,
                f"unknown stage name {stage_text!r}: add it to stage_names in the mapping "
                "(or to ignore_stage_names if it is no funnel move)",
            )
        owner = self._id(fields, spec.owner)
        team = self._team(fields)
        flags: list[str] = []
        reason = self._reason(fields, flags)
        amount = self._amount(fields, spec.amount)
        if etype == AMOUNT_EVENT and amount is None:
            raise RowError(spec.amount, "an 'amount' event needs an amount")
        event_id = (
            source_id or f"{self.mapping.event_id_prefix}:{deal_id or lead_id}:{etype}:{at.isoformat()}"
        )
        event = (
            event_id,
            lead_id,
            deal_id,
            etype,
            at,
            owner,
            team or self.stage_team.get(etype),
            reason,
            amount,
        )
        return Parsed(str(key or event_id), [event], None, self._owners(fields, owner), flags)


def _stage_teams(contract: Contract) -> dict[str, str]:
    """The team whose work moves a lead into each stage: the owner of the transition into it
    (the first stage is the first owner's). Used when the source does not say."""
    stages = contract.stages
    out = {stages[0].key: stages[0].owner}
    for prev, s in zip(stages, stages[1:], strict=False):
        out[s.key] = prev.owner
    return out


@dataclass
class RowOutcome:
    row_number: int
    raw: str
    parsed: Parsed | None = None
    column: str | None = None
    reason: str | None = None


def read_rows(
    source: Source,
    mapping: Mapping,
    contract: Contract,
    now: dt.datetime,
    progress: Callable[[float], None] | None = None,
    limit: int | None = None,
) -> tuple[FileSpec, Iterator[RowOutcome]]:
    """Open `source`, check its header and return its spec and an iterator over its rows.

    File-level problems raise ImportRefused (before any row for the header; while iterating for
    a decoding error part-way through).
    """
    if source.size == 0:
        raise ImportRefused(
            f"{source.name}: the file is empty. Export again, with a header row and data rows."
        )
    encoding = (
        "utf-8-sig" if mapping.encoding.replace("_", "-").lower() in ("utf-8", "utf8") else mapping.encoding
    )
    raw = source.open()
    counter = _Counting(raw)
    text = io.TextIOWrapper(
        io.BufferedReader(counter, 1 << 16), encoding=encoding, errors="strict", newline=""
    )
    reader = csv.reader(text, delimiter=mapping.delimiter, strict=True)

    def decode_error(row: int, exc: UnicodeDecodeError) -> ImportRefused:
        return ImportRefused(
            f"{source.name}: near row {row}, the bytes are not valid {mapping.encoding} text ({exc.reason}). "
            f"Save the file as UTF-8 (in Excel: CSV UTF-8), or declare its encoding in the mapping "
            '(encoding = "cp1252", say).'
        )

    header_row = 1
    try:
        header = next(reader)
        while not any(h.strip() for h in header):
            header = next(reader)
            header_row += 1
    except StopIteration:
        raw.close()
        raise ImportRefused(f"{source.name}: the file is empty (only blank lines).") from None
    except UnicodeDecodeError as exc:
        raw.close()
        raise decode_error(1, exc) from None
    except csv.Error as exc:
        raw.close()
        raise ImportRefused(f"{source.name}: row 1 (the header) cannot be read as CSV: {exc}.") from None
    spec = pick_spec(mapping, header, source.name)
    parser = RowParser(mapping, spec, contract, header, source.name, now)
    size = max(source.size, 1)

    def rows() -> Iterator[RowOutcome]:
        row_number = header_row
        n_data = 0
        try:
            while limit is None or n_data < limit:
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except UnicodeDecodeError as exc:
                    raise decode_error(row_number + 1, exc) from None
                except csv.Error as exc:
                    row_number += 1
                    n_data += 1
                    yield RowOutcome(row_number, "", reason=f"cannot be read as CSV: {exc}")
                    continue
                row_number += 1  # a spreadsheet numbers blank lines too
                if not fields or not any(f.strip() for f in fields):
                    continue  # but a blank line is not a data row
                n_data += 1
                raw_text = mapping.delimiter.join(fields)[:MAX_RAW]
                try:
                    yield RowOutcome(row_number, raw_text, parsed=parser.parse(fields))
                except RowError as exc:
                    yield RowOutcome(row_number, raw_text, column=exc.column, reason=exc.reason)
                if progress and n_data % 20_000 == 0:
                    progress(counter.n / size)
            if n_data == 0:
                raise ImportRefused(
                    f"{source.name}: the file has a header (row 1) but no data rows. Export again with the records."
                )
        finally:
            raw.close()

    return spec, rows()

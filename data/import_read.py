"""Reading one export file: decode, match columns by name, and check every row on its own.

One row in gives either a rejection (the column and the reason) or what it maps to: events,
a lead record, owners, and flags (kept, but worth a look). Checks that need the whole file or
the store (repeats, conflicts with stored events, deals found through an earlier file) are made
in SQL by data/importer.py on the staged rows.

Row numbers are the file's physical lines, as a text editor numbers them: the header is line 1
and blank lines keep their numbers, but a blank line is no data row. A row whose quoted value
holds line breaks spans several lines; it is numbered by its first and last line.

Records are read by `Records`: Python's CSV parser (strict mode) fed one physical line at a time,
so every record is reconciled with the lines it took. A quote that opens a value and is not closed
within `max_lines_per_row` lines (or by the end of the file), or a multi-line record that does not
split into the header's columns, is a stray quote: its first line is rejected with the reason and
the lines after it are read again as rows of their own. Nothing is skipped silently, and no row
needs more memory than the mapping's `max_line_length`.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, NamedTuple

from data.contract import Contract
from data.import_mapping import (
    AMOUNT_EVENT,
    AMOUNT_ON_STAGES,
    AUTO_ENCODING,
    CURRENCY,
    FileSpec,
    Mapping,
    norm,
    pattern_regex,
)

UTC = dt.UTC
MAX_RAW = 300  # characters of a row kept with its rejection
MAX_TEXT = 500  # a text value longer than this is not a CRM field
# 1.23457E+11 and 123456789012.0: an id a spreadsheet turned into a number on the way.
# How a spreadsheet writes a long number it rewrote: 1.23457E+11 (one digit, a point, a signed
# exponent) or 123456789012.0. A hex id made of digits and one "e" (4e81...) is neither.
EXCEL_ID = re.compile(r"^[+-]?\d(\.\d+)?[eE][+-]\d+$|^\d+\.0+$")
BLOCK = 1 << 18  # bytes read at a time


# --- amounts: one parser for every file shape ---------------------------------------------------

MAX_AMOUNT = Decimal("999999999999.99")  # the largest decimal(14, 2), the events.amount column
_EDGES = re.compile(r"^[\s$€£¥]+|[\s$€£¥]+$")  # currency symbols and spaces around the number
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})  # no-break spaces group thousands too


def _amount_pattern(decimal: str) -> re.Pattern:
    """Digits, optionally grouped by threes with one thousands separator used throughout (the
    other of '.' and ',', a space or an apostrophe), then optionally the decimal separator."""
    thousands = re.escape("," if decimal == "." else ".") + " '"
    return re.compile(
        rf"^(?P<int>\d+|\d{{1,3}}(?P<sep>[{thousands}])\d{{3}}(?:(?P=sep)\d{{3}})*)"
        rf"(?:{re.escape(decimal)}(?P<frac>\d+))?$"
    )


_AMOUNT = {d: _amount_pattern(d) for d in (".", ",")}


def _read_amount(value: str, decimal: str) -> Decimal | None:
    m = _AMOUNT[decimal].match(value)
    if m is None:
        return None
    digits = re.sub(r"\D", "", m["int"])
    return Decimal(f"{digits}.{m['frac'] or '0'}")


def _plain(number: Decimal) -> str:
    return f"{number.normalize():f}"


def parse_amount(text: str, decimal_separator: str | None) -> str:
    """An amount as the store's decimal(14, 2) text ('12000.50'), or ValueError with the reason.

    ASCII digits only; thousands grouped by threes; `decimal_separator` '.' or ','. When the
    mapping declares none, '.' is read, and a value that reads as another number with ',' as the
    decimal separator (`1,500`: 1500 or 1.5?) is refused as ambiguous rather than guessed. At most
    2 decimals (trailing zeros aside): an amount is never rounded.
    """
    value = _EDGES.sub("", text.translate(_SPACES))
    if value[:1] in ("-", "\u2212") or value[-1:] == "-" or (value[:1] == "(" and value[-1:] == ")"):
        raise ValueError(f"negative amount {text!r}: amounts must be 0 or more")
    if not value.isascii():
        odd = next((c for c in value if c.isnumeric()), None)
        if odd is not None:
            raise ValueError(
                f"amount {text!r} has digits other than 0-9 ({odd!r}): export amounts with plain digits"
            )
        raise ValueError(f"amount {text!r} is not a number")
    declared = decimal_separator
    number = _read_amount(value, declared or ".")
    other = "," if (declared or ".") == "." else "."
    as_other = _read_amount(value, other)
    if number is None:
        hint = ""
        if as_other is not None:
            hint = (
                f": it reads as {_plain(as_other)} with {other!r} as the decimal separator; declare "
                f'decimal_separator = "{other}" in the mapping'
                if declared is None
                else f": it reads as a number only with {other!r} as the decimal separator, but the "
                f"mapping declares decimal_separator = {declared!r}"
            )
        raise ValueError(f"amount {text!r} is not a number{hint}")
    if declared is None and as_other is not None and as_other != number:
        raise ValueError(
            f"amount {text!r} is ambiguous: {_plain(number)} with '.' as the decimal separator, {_plain(as_other)} "
            "with ','; declare decimal_separator in the mapping"
        )
    if number != number.quantize(Decimal("0.01")):
        raise ValueError(
            f"amount {text!r} has more than 2 decimals: amounts are stored to the cent and never "
            "rounded silently; round it in the export"
        )
    if number > MAX_AMOUNT:
        raise ValueError(f"amount {text!r} is too large (at most {MAX_AMOUNT:,})")
    return f"{number.quantize(Decimal('0.01')):f}"


TRUE_TEXT = frozenset({"true", "1", "yes", "y", "t", "wahr", "verdadero", "vrai", "sí", "si"})
FALSE_TEXT = frozenset({"false", "0", "no", "n", "f", "falsch", "falso", "faux"})


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


# --- physical lines and CSV records -------------------------------------------------------------


class Line(NamedTuple):
    number: int  # the physical line, from 1
    text: str  # with its line break; for an over-long line only its first MAX_RAW characters
    too_long: bool = False


class Undecodable(Exception):
    """Bytes that are not text in the declared encoding, on physical line `line`."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line, self.reason = line, reason


class PhysicalLines:
    """The lines of a byte stream, decoded and numbered from 1, read BLOCK bytes at a time.

    A line longer than `max_length` characters comes as its first MAX_RAW characters with
    `too_long` set; the rest of it is read and dropped, so at most about `max_length` characters
    are ever held. Lines end with LF or CRLF, or with a lone CR when the file's first line break
    is one (old Mac exports). `n_bytes` counts the bytes read, for the progress bar.
    """

    def __init__(self, stream: BinaryIO, encoding: str, max_length: int) -> None:
        self.stream, self.encoding, self.max_length = stream, encoding, max_length
        self.n_bytes = 0

    def __iter__(self) -> Iterator[Line]:
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        number = 0
        sep: str | None = None  # the line break, decided at the first one
        pending = ""  # the start of the line being read
        skipped: str | None = None  # the head of an over-long line being dropped
        final = False
        while not final:
            block = self.stream.read(BLOCK)
            self.n_bytes += len(block)
            final = not block
            try:
                text = decoder.decode(block, final)
            except UnicodeDecodeError as exc:
                # The line of the bad byte: lines given so far, plus the breaks before it.
                before = pending + bytes(exc.object[: exc.start]).decode(self.encoding, "replace")
                raise Undecodable(number + 1 + before.count(sep or "\n"), exc.reason) from None
            if sep is None:
                lf, cr = text.find("\n"), text.find("\r")
                if cr != -1 and (lf == -1 or cr < lf) and (cr + 1 < len(text) or final):
                    sep = "\n" if text[cr + 1 : cr + 2] == "\n" else "\r"
                elif lf != -1:
                    sep = "\n"
            if skipped is not None:
                cut = text.find(sep) if sep else -1
                if cut == -1:
                    continue  # still inside the over-long line
                number += 1
                yield Line(number, skipped, True)
                skipped, text = None, text[cut + 1 :]
            parts = (pending + text).split(sep) if sep else [pending + text]
            pending = parts.pop()
            max_length, new = self.max_length, tuple.__new__  # Line(...), without its __new__
            for part in parts:
                number += 1
                if len(part) > max_length:
                    yield Line(number, part[:MAX_RAW], True)
                else:
                    yield new(Line, (number, part + sep, False))
            if len(pending) > self.max_length:
                skipped, pending = pending[:MAX_RAW], ""
        if skipped is not None:
            yield Line(number + 1, skipped, True)
        elif pending:
            yield Line(number + 1, pending, False)  # the last line, without a line break


class Record(NamedTuple):
    first: int  # its first and last physical line
    last: int
    raw: str  # its text as read, cut to MAX_RAW characters
    fields: list[str] | None  # None: it cannot be read, see reason
    reason: str | None = None


class _TooLong(Exception):
    pass


class _Runaway(Exception):
    pass


class _Feed:
    """Physical lines for the CSV parser, one at a time, remembering the lines the current record
    took; lines put back (after a stray quote) are given again first."""

    def __init__(self, lines: Iterator[Line], max_length: int, max_lines: int) -> None:
        self.lines, self.max_length, self.max_lines = lines, max_length, max_lines
        self.back: deque[Line] = deque()
        self.taken: list[Line] = []
        self.chars = 0

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        if self.taken and (len(self.taken) >= self.max_lines or self.chars > self.max_length):
            raise _Runaway
        line = self.back.popleft() if self.back else next(self.lines)  # StopIteration: the end
        if line.too_long:
            if self.taken:
                self.back.appendleft(line)
                raise _Runaway
            self.taken.append(line)
            raise _TooLong
        self.taken.append(line)
        self.chars += len(line.text)
        return line.text


def _raw(lines: list[Line]) -> str:
    out, n = [], 0
    for line in lines:
        out.append(line.text)
        n += len(line.text)
        if n >= MAX_RAW:
            break
    return "".join(out)[:MAX_RAW].rstrip("\r\n")


class Records:
    """CSV records over physical lines, each with the lines it took: every line of the file is
    in exactly one record (a blank line is a record with no fields).

    A record is a stray quote when a quoted value opened on its first line is not closed within
    `max_lines` lines or by the end of the file, or when it spans several lines and then cannot be
    split, or splits into another number of fields than the header (`n_fields`, set once the
    header is read). Its first line is then a rejected record and the lines after it are read
    again as records of their own.
    """

    fast_split = True  # split lines without quotes here (False: every line through the parser)

    def __init__(self, lines: Iterator[Line], delimiter: str, max_length: int, max_lines: int) -> None:
        self.feed = _Feed(iter(lines), max_length, max_lines)
        self.reader = csv.reader(self.feed, delimiter=delimiter, strict=True)
        self.max_length, self.max_lines = max_length, max_lines
        self.n_fields: int | None = None
        self.delimiter = delimiter
        # Python's parser refuses a field over its own limit (128 KiB): let the row limit rule.
        csv.field_size_limit(max(csv.field_size_limit(), max_length))

    def _stray(self, why: str) -> Record:
        """Reject the record's first line alone; its other lines are read again. `why` may name
        {first} and {last}, the lines the record took."""
        taken = self.feed.taken
        first, last = taken[0], taken[-1]
        self.feed.back.extendleft(reversed(taken[1:]))
        reason = (
            f"a quote opened on this line {why.format(first=first.number, last=last.number)}: a stray "
            "quote? This line is rejected alone and the lines after it are read as rows of their own"
        )
        return Record(first.number, first.number, _raw([first]), None, reason)

    def __iter__(self) -> Iterator[Record]:
        feed = self.feed
        back, lines, delimiter, max_length = feed.back, feed.lines, self.delimiter, self.max_length
        fast, new = self.fast_split, tuple.__new__
        while True:
            # Most lines hold no quote: split them here, and give the CSV parser only the others.
            try:
                line = back.popleft() if back else next(lines)
            except StopIteration:
                return
            number, text, too_long = line
            # A line with no quote, NUL or line break before its end is the line split on the
            # delimiter, as the CSV parser reads it; a blank one, one over max_length and every
            # other line go to the parser.
            if fast and not too_long and len(text) <= max_length and '"' not in text and "\0" not in text:
                if text[-1:] == "\n":
                    body = text[:-2] if text[-2:-1] == "\r" else text[:-1]
                elif text[-1:] == "\r":
                    body = text[:-1]
                else:
                    body = text
                if body and "\r" not in body and "\n" not in body:
                    # The raw text is the body's start: it holds no line break to strip.
                    yield new(Record, (number, number, body[:MAX_RAW], body.split(delimiter), None))
                    continue
            feed.taken, feed.chars = [], 0
            back.appendleft(line)
            try:
                fields = next(self.reader)
            except StopIteration:
                return
            except _TooLong:
                line = feed.taken[0]
                yield Record(
                    line.number,
                    line.number,
                    line.text,
                    None,
                    f"the line is longer than {self.max_length:,} characters (max_line_length): not read",
                )
                continue
            except _Runaway:
                why = (
                    f"is still open after {len(feed.taken)} lines ({{first}}-{{last}}; max_lines_per_row "
                    f"= {self.max_lines})"
                    if len(feed.taken) >= self.max_lines
                    else f"is still open after {self.max_length:,} characters (lines {{first}}-{{last}}; "
                    "max_line_length)"
                )
                yield self._stray(why)
                continue
            except csv.Error as exc:
                at_end = str(exc) == "unexpected end of data"
                if len(feed.taken) > 1:
                    why = (
                        "is never closed (it runs over lines {first}-{last}, to the end of the file)"
                        if at_end
                        else "runs over lines {first}-{last} and then: "
                        + str(exc).replace("{", "{{").replace("}", "}}")
                    )
                    yield self._stray(why)
                else:
                    line = feed.taken[0]
                    reason = (
                        "a quote opened on this line is never closed (the file ends)"
                        if at_end
                        else f"cannot be read as CSV: {exc}"
                    )
                    yield Record(line.number, line.number, _raw([line]), None, reason)
                continue
            taken = feed.taken
            if len(taken) > 1 and self.n_fields is not None and len(fields) != self.n_fields:
                yield self._stray(
                    "runs over lines {first}-{last}, and the row then has "
                    f"{len(fields)} fields, the header {self.n_fields}"
                )
                continue
            if not taken:  # cannot happen: csv returns a record only after reading a line
                raise AssertionError("a CSV record without a line")
            if feed.chars > self.max_length:
                yield Record(
                    taken[0].number,
                    taken[-1].number,
                    _raw(taken),
                    None,
                    f"the row is longer than {self.max_length:,} characters (max_line_length): not read",
                )
                continue
            yield Record(taken[0].number, taken[-1].number, _raw(taken), fields)


@dataclass(slots=True)
class Parsed:
    """What one valid row maps to."""

    key: str
    events: list[tuple] = field(default_factory=list)  # EVENT_COLUMNS
    lead: tuple | None = None  # LEAD_COLUMNS
    owners: list[tuple] = field(default_factory=list)  # (owner_id, owner_name, team)
    flags: list[str] = field(default_factory=list)
    ignored: bool = False  # a stage name the mapping lists as no funnel move, or a `where` miss
    # An open record with no date at all (UNDATED_COLUMNS): kept as undated open pipeline, in
    # no cohort, never rejected for a missing date.
    undated: tuple | None = None
    opportunity: tuple | None = None  # OPPORTUNITY_COLUMNS: an opportunity's record row
    contacts: list[tuple] = field(default_factory=list)  # CONTACT_COLUMNS: contacts on opportunities
    roles: list[tuple] = field(default_factory=list)  # ROLE_COLUMNS: owners of a record by role
    lookup: tuple | None = None  # LOOKUP_COLUMNS: attributes of an owner, account or product
    touch: tuple | None = None  # TOUCH_COLUMNS: a campaign touch
    # A sync's history mode: (is the current version, when this version started); the settling
    # keeps one version of each row (import_settle.SETTLE_ROWS).
    version: tuple | None = None
    # A status file's exit status without a date of its own: "last_changed" (dated by the
    # record's last change) or "undated" (no date at all: an undated exit); None otherwise.
    exit_dating: str | None = None

    @property
    def digest(self) -> int:
        """Same content, same digest: tells an identical repeat from a conflicting one."""
        return hash(
            (
                tuple(self.events),
                self.lead,
                self.ignored,
                self.undated,
                self.opportunity,
                tuple(self.contacts),
                tuple(self.roles),
                self.lookup,
                self.touch,
            )
        )


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
    "currency",
    "close_date",
    "forecast_category",
)
OPPORTUNITY_COLUMNS = (
    "opportunity_id",
    "name",
    "account_id",
    "created_at",
    "owner_id",
    "channel",
    "campaign",
    "region",
    "segment",
    "currency",
    "amount",
    "close_date",
    "status",
    "company",
    "product",
)
CONTACT_COLUMNS = ("opportunity_id", "lead_id", "role", "is_primary")
UNDATED_COLUMNS = ("lead_id", "status", "stage", "owner_id", "amount", "currency")
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
    "currency",
    "email",
    "contact_id",
    "converted_opportunity_id",
    "converted_account_id",
)
ROLE_COLUMNS = ("record_id", "role", "owner_id")
LOOKUP_COLUMNS = (
    "target",
    "lookup_key",
    "lookup_name",
    "label",
    "manager",
    "office",
    "team",
    "domain",
    "sector",
    "size",
    "family",
)
TOUCH_COLUMNS = ("touch_id", "lead_id", "campaign", "touched_at", "team", "owner_id")
CONVERTED_ROLE = "Converted lead"  # the role of a lead on the opportunity it became
# The end of the id of an exit event dated by its record's last change (a status file's
# `last_changed`): another event of the same record and exit (a LeadHistory row) supersedes it.
LAST_CHANGE_SUFFIX = ":last-change"
# Words of the flags on such rows, which the import report counts (import_settle).
DATED_BY_LAST_CHANGE = "dated by the record's last change"
UNDATED_EXIT = "an undated exit"
_DOMAIN = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,}$")


def _header_text(h: str) -> str:
    return h.replace("\ufeff", "").strip()


def pattern_columns(spec: FileSpec, header: list[str]) -> list[tuple[int, str, str]]:
    """(position, header, stage name) for each header a stage_columns pattern matches, the
    name read through stage_aliases; headers the spec names explicitly are left out."""
    if not spec.stage_columns:
        return []
    explicit = {norm(c) for c in spec.columns()}
    regexes = [pattern_regex(p) for p in spec.stage_columns]
    out = []
    for i, h in enumerate(header):
        text = _header_text(h)
        if norm(text) in explicit:
            continue
        for rx in regexes:
            m = rx.match(text)
            if m and m.group(1).strip():
                captured = m.group(1).strip().strip('"')
                out.append((i, text, spec.stage_aliases.get(norm(captured), captured)))
                break
    return out


def pick_spec(mapping: Mapping, header: list[str], file_name: str) -> FileSpec:
    """The file spec whose required columns this header has; refuses with what is missing."""
    fits, scored = score_specs(mapping, header)
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


def score_specs(mapping: Mapping, header: list[str]) -> tuple[list[tuple], list[tuple]]:
    """(fits, all): for each file spec, (fits, columns matched, spec, missing columns). A spec
    fits when the header has every column it requires and none it never has (`absent`: such a
    header is another file, and never named as the closest one); stage-column patterns count as
    matched."""
    present = {norm(h) for h in header}
    scored = []
    for spec in mapping.files:
        required = spec.required_columns()
        missing = [c for c in required if norm(c) not in present]
        matched = sum(norm(c) in present for c in spec.columns()) + len(pattern_columns(spec, header))
        if any(norm(c) in present for c in spec.absent):
            scored.append((False, -1, spec, missing))
            continue
        scored.append((not missing, matched, spec, missing))
    return [s for s in scored if s[0]], scored


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
        observing: bool = False,
        given_roles: frozenset[str] = frozenset(),
    ) -> None:
        self.mapping, self.spec, self.file_name = mapping, spec, file_name
        # A changes file's stage changes are no move when a file that holds the same moves is
        # imported with it, or was before (spec.stages_only_without).
        self.stages_elsewhere = bool(spec.stages_only_without & given_roles)
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
        # _get's view of each column, found on first use; no column reads as empty.
        self._columns: dict[str | None, tuple] = {
            None: (None, None, None, False),
            "": (None, None, None, False),
        }
        self._stage_keys: dict[str, str | None] = {}  # stage_key's answer per distinct name
        self._names: dict[str, str] = {}
        self._observed: dict[str, str | None] = {}  # observe's stage name per distinct text
        # Stage and status names in the data: the mapping's own, then the contract's keys and
        # labels (the names a contract proposed from the data was made of), then the key a
        # proposal makes of a name (so a relabelled stage is still found by its data's name).
        self.stage_names = {norm(x.label): x.key for x in (*contract.stages, *contract.exits)}
        self.stage_names |= {norm(x.key): x.key for x in (*contract.stages, *contract.exits)}
        self.stage_names |= spec.stage_names
        self.base_keys = {x.key: x.key for x in (*contract.stages, *contract.exits)}
        self.won_key = contract.stages[-1].key
        self.lost_keys = set(contract.exit_keys_of("lost"))
        self.lost_key = next(iter(contract.exit_keys_of("lost")), None)
        self.first_key = contract.stages[0].key
        if spec.started_stage:  # checked where a row needs it (observing a file does not)
            found = self.stage_key(spec.started_stage)
            self.first_key = found if found in contract.stage_keys else None
        self._stage_labels = ", ".join(s.label for s in contract.stages)
        self.status_cols = {norm(name): (name, col) for name, col in spec.status_dates.items()}
        # A column several statuses share (Salesforce's converted statuses, whatever the org
        # calls them) dates only the status a record is in; one of its own dates an entry always.
        uses = defaultdict(int)
        for col in spec.status_dates.values():
            uses[norm(col)] += 1
        self.shared_status_cols = {col for col in spec.status_dates.values() if uses[norm(col)] > 1}
        # Stage date columns found by the spec's patterns: (position, header, name, stage key).
        self.patterns = []
        unknown = []
        for i, text, name in pattern_columns(spec, header):
            if norm(name) in spec.ignore_stage_names:
                continue
            key = self.stage_key(name)
            if key is None and not observing:
                unknown.append((text, name))
            self.patterns.append((i, text, name, key))
        if unknown:
            shown = "; ".join(f"column {t!r} is the stage {n!r}" for t, n in unknown[:10])
            raise ImportRefused(
                f"{file_name}: row 1 (the header): {shown}, which is not a stage or exit of the store's "
                f"contract ({self._stage_labels}). For a new store, review the funnel proposed from the "
                "files (--propose, then --contract); else add it to the contract (python -m data.contract), "
                "name it in the mapping's stage_names or stage_aliases, or list it in ignore_stage_names."
            )
        self._parse_shape = {
            "wide": self._wide,
            "status": self._status,
            "contacts": self._contacts,
            "lookup": self._lookup,
            "touches": self._touch,
            "roles": self._roles_row,
            "changes": self._change,
        }.get(spec.shape, self._long)
        if spec.shape == "lookup":
            known_teams = {norm(t): t for t in contract.teams}
            self.lookup_teams = known_teams

    def stage_key(self, name: str) -> str | None:
        """The contract's stage or exit key for a name in the data (read through the mapping's
        stage_aliases), or None. Found once per distinct name: rows repeat a few."""
        if name not in self._stage_keys:
            self._stage_keys[name] = self._stage_key(name)
        return self._stage_keys[name]

    def _stage_key(self, name: str) -> str | None:
        name = self.spec.stage_aliases.get(norm(name), name)
        key = self.stage_names.get(norm(name))
        if key is None:
            from data.propose import base_key  # a plain function of the same layer

            key = self.base_keys.get(base_key(name))
        return key

    # --- single values -------------------------------------------------------------------
    def _get(self, fields: list[str], col: str | None) -> str:
        # (its position, its fallback's position and name, whether a value is required), found
        # once per column: this runs for several columns of every row.
        try:
            at, other_at, other, required = self._columns[col]
        except KeyError:
            if not col:
                return ""
            other = self.spec.fallback.get(col)
            at, other_at, other, required = self._columns[col] = (
                self.index.get(col),
                self.index.get(other) if other in self.index else None,
                other,
                col in self.required,
            )
        if at is not None:
            value = fields[at].strip()
            if value:  # the common case: the column's own value
                if len(value) > MAX_TEXT:
                    raise RowError(col, f"value is longer than {MAX_TEXT} characters")
                return value
            if other_at is None and not required:  # an empty optional value
                return value
        else:
            value = ""
        read = col
        if other_at is not None:
            read, value = other, fields[other_at].strip()
        elif at is None:
            return ""
        if len(value) > MAX_TEXT:
            raise RowError(read, f"value is longer than {MAX_TEXT} characters")
        if not value and required:
            also = f" (and so is its fallback {other!r})" if other_at is not None else ""
            raise RowError(col, "required value is missing" + also)
        return value

    def _id(self, fields: list[str], col: str | None) -> str | None:
        # _get's common case inline (a column's own value, not too long); _get for the rest.
        found = self._columns.get(col)
        if found is not None and found[0] is not None:
            value = fields[found[0]].strip()
            if not value:
                if found[1] is None and not found[3]:  # empty, optional, no fallback
                    return None
                value = self._get(fields, col)
            elif len(value) > MAX_TEXT:
                value = self._get(fields, col)
        else:
            value = self._get(fields, col)
        if not value:
            return None
        # Only a value that starts with a digit or a sign can be one (EXCEL_ID).
        if (value[0].isdigit() or value[0] in "+-") and EXCEL_ID.match(value):
            raise RowError(
                col,
                f"id {value!r} looks like a number a spreadsheet rewrote (digits lost): export "
                "again straight from the CRM, or format the column as text before saving",
            )
        return value

    def _time(self, col: str, text: str, flags: list[str]) -> dt.datetime:
        try:  # _read_time's first try, here: most times are ISO 8601
            ts = dt.datetime.fromisoformat(text)
        except ValueError:
            ts = self._read_time(col, text)
        if ts.tzinfo is not None:
            # An explicit offset wins over the mapping's time zone.
            ts = ts.astimezone(UTC).replace(tzinfo=None)
        elif self.zone is not None:
            ts = self._from_local(col, text, ts, flags)
        if ts < self.min_at:
            raise RowError(col, f"date {text!r} is before {self.mapping.min_date} (far past): a placeholder?")
        if ts > self.max_at:
            raise RowError(
                col,
                f"date {text!r} is in the future (more than {self.mapping.max_future_hours:g} h "
                "after the import)",
            )
        return ts

    def _day(self, col: str, text: str) -> dt.date:
        """A calendar day a row sets (an expected close date): ISO 8601, one of the mapping's
        date formats, or milliseconds since 1970 (a HubSpot date property). A time with an offset
        is its UTC day; a date or a time without one is the day written (a close date is a day,
        not a moment: it is never moved by the mapping's time zone). Never checked against the
        future: a close date usually is ahead."""
        if text.isdigit() and 11 <= len(text) <= 13:
            day = dt.datetime.fromtimestamp(int(text) / 1000, UTC).date()
        else:
            ts = self._read_time(col, text)
            day = (ts.astimezone(UTC) if ts.tzinfo is not None else ts).date()
        if day < self.mapping.min_date:
            raise RowError(col, f"date {text!r} is before {self.mapping.min_date} (far past): a placeholder?")
        return day

    def _read_time(self, col: str, text: str) -> dt.datetime:
        """A date or time as written (ISO 8601, else the mapping's formats), its offset kept."""
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
        return ts

    def _from_local(self, col: str, text: str, ts: dt.datetime, flags: list[str]) -> dt.datetime:
        """A naive time in the mapping's zone, to UTC. A time the clocks skipped (the spring
        daylight-saving gap) does not exist: rejected, never shifted. A time they passed twice (the
        autumn change) is read as the first and flagged."""
        zone = self.zone
        first = ts.replace(tzinfo=zone, fold=0)
        utc = first.astimezone(UTC)
        if utc.astimezone(zone).replace(tzinfo=None) != ts:
            raise RowError(
                col,
                f"no such local time {text!r} in {self.mapping.timezone}: the clocks skipped it "
                "(daylight saving starts); export the time with its offset, or in UTC",
            )
        second = ts.replace(tzinfo=zone, fold=1)
        if second.utcoffset() != first.utcoffset():
            later = second.astimezone(UTC).replace(tzinfo=None)
            note = (
                f"{col}: {text!r} happened twice in {self.mapping.timezone} (the clocks went back): "
                f"read as the first, {utc.replace(tzinfo=None)} UTC, not {later} UTC"
            )
            if note not in flags:  # a column read twice (a stage date that is also the created date)
                flags.append(note)
        return utc.replace(tzinfo=None)

    def _amount(self, fields: list[str], col: str | None) -> str | None:
        text = self._get(fields, col)
        if not text:
            return None
        try:
            return parse_amount(text, self.mapping.decimal_separator)
        except ValueError as exc:
            raise RowError(col, str(exc)) from None

    def _currency(self, fields: list[str]) -> str | None:
        """The row's currency (ISO 4217, upper case), else the mapping's default."""
        text = self._get(fields, self.spec.currency).upper()
        if text and not CURRENCY.match(text):
            raise RowError(
                self.spec.currency, f"currency {text!r} is not an ISO 4217 code such as EUR or USD"
            )
        return text or self.mapping.currency

    def _flag(self, fields: list[str], col: str | None) -> bool | None:
        """A CRM's true/false column (IsWon, IsClosed): true, false, or None when empty."""
        text = self._get(fields, col).strip().lower()
        if not text:
            return None
        if text in TRUE_TEXT:
            return True
        if text in FALSE_TEXT:
            return False
        raise RowError(col, f"{text!r} is not true or false")

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
        spec = self.spec
        version = self._version(fields) if spec.version_active or spec.version_start else None
        skipped = self._filtered(fields) if spec.where else False
        if skipped:
            # A row the mapping's `where` leaves out (a LeadHistory change of another field, a
            # deleted history row): accepted, no funnel event. Keyed by its whole text, so only
            # an identical repeat is a duplicate.
            return Parsed("where:" + "\x1f".join(fields), ignored=True, version=version)
        parsed = self._parse_shape(fields)
        parsed.version = version
        return parsed

    def _filtered(self, fields: list[str]) -> bool:
        """Whether the row is left out by the mapping's `where` (its value is not one listed)."""
        if not self.spec.where:
            return False
        return any(
            norm(self._get(fields, col)) not in allowed
            for col, allowed in self.spec.where.items()
            if col in self.index  # an optional column the file does not have filters nothing
        )

    def _version(self, fields: list[str]) -> tuple | None:
        spec = self.spec
        if not (spec.version_active or spec.version_start):
            return None
        flags: list[str] = []
        active = self._flag(fields, spec.version_active)
        text = self._get(fields, spec.version_start)
        start = self._time_any(spec.version_start, text, flags) if text else None
        return (active, start)

    def _time_any(self, col: str, text: str, flags: list[str]) -> dt.datetime:
        """A sync's own timestamp (its version start): a date, never checked against min_date
        or the future (a sync's far-future _fivetran_end is 9999-12-31)."""
        try:
            ts = dt.datetime.fromisoformat(text)
        except ValueError:
            raise RowError(col, f"{text!r} is not a timestamp (ISO 8601)") from None
        if ts.tzinfo is not None:
            ts = ts.astimezone(UTC).replace(tzinfo=None)
        return ts

    def _owners(self, fields: list[str], owner: str | None) -> list[tuple]:
        if not owner:
            return []
        spec = self.spec
        name = (self._get(fields, spec.owner_name) if spec.owner_name else "") or owner
        team = (
            self._get(fields, spec.owner_team).lower() if spec.owner_team else ""
        ) or self.mapping.owner_team
        if team not in self.teams:
            raise RowError(
                self.spec.owner_team, f"unknown team {team!r}; expected one of {sorted(self.teams)}"
            )
        return [(owner, name, team)]

    def _record(self, lead_id: str | None, deal_id: str | None) -> str | None:
        """The record a row's roles belong to: the deal for opportunity records, else the lead."""
        return deal_id if self.spec.grain == "opportunity" else (lead_id or deal_id)

    def _role_owners(self, fields: list[str], record: str | None) -> tuple[list[tuple], list[tuple]]:
        """(roles, owners) from the spec's owner_roles columns: one owner per role per record."""
        roles, owners = [], []
        for role, col in self.spec.owner_roles.items():
            owner = self._id(fields, col)
            if owner and record:
                roles.append((record, role, owner))
                owners.append((owner, owner, self.mapping.owner_team))
        return roles, owners

    def _lead(self, fields: list[str], lead_id, owner, currency, flags) -> tuple:
        spec = self.spec
        created = self._time(spec.created_at, self._get(fields, spec.created_at), flags)
        attrs = self._attrs(fields)
        # `email = "Email"` in the file spec, or an `email` attribute: the same column
        email = (self._get(fields, spec.email) or attrs.get("email") or "").lower() or None
        if email and ("@" not in email or len(email) > 254):
            column = spec.email or " ".join(spec.attributes.get("email", ()))
            flags.append(f"{column}: {email!r} is not an email address: not stored")
            email = None
        return (
            lead_id,
            created,
            *(attrs.get(f) for f in LEAD_COLUMNS[2:9]),
            owner,
            currency,
            email,
            self._id(fields, spec.contact_record),
            self._id(fields, spec.linked_deal),
            self._id(fields, spec.converted_account),
        )

    def _links(self, fields: list[str], lead_id, deal_id) -> list[tuple]:
        """Contacts on opportunities a record row names: a lead's converted opportunity
        (linked_deal), or an opportunity's associated contacts (a list in one column)."""
        spec, out = self.spec, []
        linked = self._id(fields, spec.linked_deal)
        if linked and lead_id:
            out.append((linked, lead_id, CONVERTED_ROLE, None))
        text = self._get(fields, spec.contacts)
        if text and deal_id:
            for part in text.split(spec.list_separator):
                contact = part.strip()
                if contact:
                    if EXCEL_ID.match(contact):
                        raise RowError(
                            spec.contacts, f"id {contact!r} looks like a number a spreadsheet rewrote"
                        )
                    out.append((deal_id, contact, None, None))
        return list(dict.fromkeys(out))

    def _dates(self, fields: list[str], flags: list[str]) -> dict[str, tuple[dt.datetime, str]]:
        """A wide row's stage dates: etype -> (when, column). Two columns for one stage (both
        generations of HubSpot's lifecycle dates in one export) give the earlier date."""
        spec, out = self.spec, {}
        columns = [(etype, col, None) for etype, col in spec.stage_dates.items()]
        columns += [(key, header, i) for i, header, _, key in self.patterns]
        for etype, col, pos in columns:
            text = self._get(fields, col) if pos is None else fields[pos].strip()
            if not text:
                continue
            at = self._time(col, text, flags)
            if etype not in out or at < out[etype][0]:
                out[etype] = (at, col)
        return out

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
        currency = self._currency(fields)
        subject = deal_id or lead_id
        # amount_on = "stages": the record's amount and close date are its current ones (a deals
        # export holds no history of them), carried by every stage entry, so the deal is open
        # at that amount in each stage it was in. Otherwise close dates and forecast categories
        # come with a stage history.
        on_stages = spec.amount_on == AMOUNT_ON_STAGES
        close_date = self._date(fields, spec.close_date, flags) if on_stages else None
        events = []
        for etype, (at, _) in self._dates(fields, flags).items():
            carries = (
                etype == spec.amount_on
                or (spec.amount_on == "won" and bool(spec.stage_columns) and etype == self.won_key)
                or (on_stages and etype not in self.exits)
            )
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
                    amount if carries else None,
                    currency if carries and amount is not None else None,
                    close_date if carries else None,
                    None,
                )
            )
        if not events and not spec.created_at:
            cols = ", ".join(
                repr(c) for c in [*spec.stage_dates.values(), *(t for _, t, _, _ in self.patterns)]
            )
            raise RowError(None, f"no date in any of the stage columns ({cols}): nothing to import")
        if reason and not any(e[3] in self.exits for e in events):
            flags.append("a reason is given but no exit date: the reason is not stored")
        lead = None
        opportunity = None
        if spec.grain == "opportunity" and deal_id:
            opportunity = self._opportunity(fields, deal_id, owner, currency, amount, flags)
        elif spec.created_at:
            lead = self._lead(fields, lead_id, owner, currency, flags)
        roles, role_owners = self._role_owners(fields, self._record(lead_id, deal_id))
        return Parsed(
            str(key),
            events,
            lead,
            self._owners(fields, owner) + role_owners,
            flags,
            opportunity=opportunity,
            contacts=self._links(fields, lead_id, deal_id),
            roles=roles,
        )

    def _attrs(self, fields: list[str]) -> dict[str, str | None]:
        return {
            fld: " ".join(v for c in cols if (v := self._get(fields, c))) or None
            for fld, cols in self.spec.attributes.items()
        }

    def _date(self, fields: list[str], col: str | None, flags: list[str]) -> dt.date | None:
        text = self._get(fields, col)
        return self._time(col, text, flags).date() if text else None

    def _opportunity(
        self, fields: list[str], deal_id: str, owner, currency, amount, flags: list[str]
    ) -> tuple:
        """An opportunity's record row (OPPORTUNITY_COLUMNS) from a row of its record file."""
        spec = self.spec
        created_text = self._get(fields, spec.created_at)
        created = self._time(spec.created_at, created_text, flags) if created_text else None
        a = self._attrs(fields)
        status = self._get(fields, spec.status)
        return (
            deal_id,
            a.get("lead_name"),
            a.get("account_id"),
            created,
            owner,
            a.get("channel"),
            a.get("campaign"),
            a.get("region"),
            a.get("segment"),
            currency,
            amount,
            self._date(fields, spec.close_date, flags),
            spec.stage_aliases.get(norm(status), status) or None,
            a.get("company"),
            a.get("product"),
        )

    def _contacts(self, fields: list[str]) -> Parsed:
        """A contact on an opportunity, with its role: one row per pair."""
        spec = self.spec
        deal_id = self._id(fields, spec.deal_id)
        lead_id = self._id(fields, spec.lead_id)
        role = self._get(fields, spec.contact_role) or None
        primary = self._flag(fields, spec.is_primary)
        return Parsed(f"{deal_id}:{lead_id}", contacts=[(deal_id, lead_id, role, primary)])

    def _roles_row(self, fields: list[str]) -> Parsed:
        """An owner of a record in a role (Salesforce OpportunityTeamMember): one row per role."""
        spec = self.spec
        record = self._record(self._id(fields, spec.lead_id), self._id(fields, spec.deal_id))
        owner = self._id(fields, spec.owner)
        role = self._get(fields, spec.owner_role)
        if len(role) > 60:
            raise RowError(spec.owner_role, "a role name is at most 60 characters")
        return Parsed(
            f"{record}:{norm(role)}", owners=self._owners(fields, owner), roles=[(record, role, owner)]
        )

    def _touch(self, fields: list[str]) -> Parsed:
        """A campaign touch of a lead (Salesforce CampaignMember): one row per lead and campaign.
        A touches file that names the opportunity too (Salesforce CampaignInfluence: a campaign's
        influence on one opportunity, through one of its contacts) has a row per opportunity, so
        one row is one touch: rows giving the same touch (the same contact, campaign and date, on
        several opportunities or under several influence models) are duplicates of it."""
        spec, flags = self.spec, []
        lead_id = self._id(fields, spec.lead_id)
        campaign = self._get(fields, spec.campaign)
        at = self._time(spec.time, self._get(fields, spec.time), flags)
        team = self._team(fields) or "marketing"
        owner = self._id(fields, spec.owner)
        touch_id = f"{self.mapping.event_id_prefix}:{lead_id}:{campaign}:{at.isoformat()}"
        return Parsed(
            touch_id if spec.deal_id else f"{lead_id}:{campaign}",
            flags=flags,
            owners=self._owners(fields, owner),
            touch=(touch_id, lead_id, campaign, at, team, owner),
        )

    def _lookup(self, fields: list[str]) -> Parsed:
        """Attributes of an owner, account or product, named by its id (key) or its name."""
        spec, flags = self.spec, []
        key = self._id(fields, spec.key)
        name = self._get(fields, spec.name) or None
        if not key and not name:
            raise RowError(spec.key or spec.name, "neither the id nor the name is given: nothing to join on")
        values = {attr: self._get(fields, col) or None for attr, col in spec.lookup.items()}
        team = values.get("team")
        if team:
            found = self.lookup_teams.get(norm(team))
            if found is None:
                raise RowError(
                    spec.lookup["team"],
                    f"team {team!r} is not a team of the contract ({', '.join(sorted(self.teams))})",
                )
            values["team"] = found
        domain = values.get("domain")
        if domain:
            plain = re.sub(r"^[a-z]+://", "", domain.lower()).removeprefix("www.").split("/")[0]
            if not _DOMAIN.match(plain):
                raise RowError(spec.lookup["domain"], f"{domain!r} is not a web domain such as example.com")
            values["domain"] = plain
        label = values.get("owner_name") or values.get("name")
        row = (
            spec.target,
            key,
            name,
            label,
            values.get("manager"),
            values.get("office"),
            values.get("team"),
            values.get("domain"),
            values.get("sector"),
            values.get("size"),
            values.get("family"),
        )
        return Parsed(key or f"name:{norm(name)}", flags=flags, lookup=row)

    # --- what a row says about stage names, for a proposed contract ---------------------------
    def observe(self, fields: list[str], obs) -> None:
        """Add this row's stage and status names, with their dates and outcomes, to `obs`
        (data.propose.Observations). A row that fails a check adds nothing: the import itself
        reports it."""
        if len(fields) != self.n_fields:
            return
        spec, flags = self.spec, []
        grain = spec.grain
        try:
            if spec.shape in ("contacts", "lookup", "touches", "roles") or (
                spec.where and self._filtered(fields)
            ):
                return
            version = self._version(fields) if spec.version_active or spec.version_start else None
            if version is not None and version[0] is False:
                return  # an earlier version kept by a sync: the current one says it all
            by_lead = grain == "lead" and spec.deal_id and spec.lead_id
            deal_id = self._id(fields, spec.deal_id)
            lead_id = self._id(fields, spec.lead_id) if by_lead or not deal_id else None
            record = deal_id or lead_id
            if not record:
                return
            if by_lead:
                record = lead_id or record
            if spec.shape == "changes" and self._change_target(fields) != "stage":
                return  # an amount or close date, another field: no stage name
            if spec.shape in ("long", "changes"):
                text = self._get(fields, spec.stage if spec.shape == "long" else spec.new_value)
                if not text:
                    return
                # The name it is observed under (None: no stage), found once per distinct text.
                try:
                    observed = self._observed[text]
                except KeyError:
                    name = spec.stage_aliases.get(norm(text), text)
                    mapped = spec.stage_names.get(norm(name))  # the mapping's own word for it wins
                    skip = mapped == AMOUNT_EVENT or norm(name) in spec.ignore_stage_names
                    observed = self._observed[text] = None if skip else (mapped or name)
                if observed is None:
                    return
                at = self._time(spec.time, self._get(fields, spec.time), flags)
                obs.add(record, observed, at, grain=grain)
                return
            status = self._get(fields, spec.status)
            status = spec.stage_aliases.get(norm(status), status)
            won, closed = self._flag(fields, spec.is_won), self._flag(fields, spec.is_closed)
            name = norm(status)
            outcome = None
            if name in spec.won_values or (closed and won):
                outcome = "won"
            elif name in spec.lost_values or (closed and won is False):
                outcome = "lost"
            if spec.shape == "wide":
                for etype, col in spec.stage_dates.items():
                    text = self._get(fields, col)
                    if text:
                        obs.add(record, etype, self._time(col, text, flags), grain=grain)
                for i, text_h, pname, _ in self.patterns:
                    text = fields[i].strip()
                    if text:
                        # The mapping's own word for it wins (as for long files); else the data's.
                        mapped = spec.stage_names.get(norm(pname))
                        obs.add(record, mapped or pname, self._time(text_h, text, flags), grain=grain)
                if status and outcome:
                    obs.mark(status, outcome)
                return
            started = self._get(fields, spec.started)
            if started:
                obs.add(
                    record,
                    spec.started_stage or "Created",
                    self._time(spec.started, started, flags),
                    grain=grain,
                )
            dated = set()
            for pname, col in spec.status_dates.items():
                text = self._get(fields, col)
                pname = spec.stage_aliases.get(norm(pname), pname)
                if text and (col not in self.shared_status_cols or norm(pname) == name):
                    kind = outcome if norm(pname) == name else None
                    obs.add(record, pname, self._time(col, text, flags), kind, grain=grain)
                    dated.add(norm(pname))
            if name in dated:
                return
            when = self._get(fields, spec.outcome_date) if outcome else ""
            at = self._time(spec.outcome_date, when, flags) if when else None
            obs.add(record, status, at, outcome, grain=grain)
        except RowError:
            return

    def _status(self, fields: list[str]) -> Parsed:
        """A record whose stage is its status: the first stage at `started`, each status of
        `status_dates` at its own column, a won or lost status at its status date or else
        `outcome_date`, an open status without a date as where it stands now (no event). A
        record with no date at all is undated open pipeline."""
        spec, prefix = self.spec, self.mapping.event_id_prefix
        key = self._id(fields, spec.key)
        lead_id = self._id(fields, spec.lead_id)
        deal_id = self._id(fields, spec.deal_id)
        owner = self._id(fields, spec.owner)
        team = self._team(fields)
        flags: list[str] = []
        reason = self._reason(fields, flags)
        amount = self._amount(fields, spec.amount)
        currency = self._currency(fields)
        status = self._get(fields, spec.status)
        status = spec.stage_aliases.get(norm(status), status)
        name = norm(status)
        subject = deal_id or lead_id
        won, closed = self._flag(fields, spec.is_won), self._flag(fields, spec.is_closed)
        etype = self.stage_key(status) if status else None
        if name in spec.won_values or (closed and won) or etype == self.won_key:
            outcome = "won"
        elif name in spec.lost_values or (closed and won is False) or etype in self.lost_keys:
            outcome = "lost"
        else:
            outcome = None
        events: dict[str, tuple] = {}

        def event(kind: str, at: dt.datetime, with_amount: bool = False, suffix: str = "") -> None:
            if kind in events and events[kind][4] <= at:
                return
            events[kind] = (
                f"{prefix}:{subject}:{kind}{suffix}",
                lead_id,
                deal_id,
                kind,
                at,
                owner,
                team or self.stage_team.get(kind),
                reason if kind in self.exits else None,
                amount if with_amount else None,
                currency if with_amount and amount is not None else None,
                None,
                None,
            )

        started_text = self._get(fields, spec.started)
        if started_text:
            if self.first_key is None:
                raise ImportRefused(
                    f"{self.file_name}: the mapping's started_stage {spec.started_stage!r} is not a stage "
                    f"of the store's contract ({self._stage_labels}). Name one of them, or apply a "
                    "contract that has it."
                )
            event(self.first_key, self._time(spec.started, started_text, flags))
        outcome_kind = None
        if outcome:
            outcome_kind = (
                self.won_key if outcome == "won" else (etype if etype in self.lost_keys else self.lost_key)
            )
            if outcome_kind is None:
                raise RowError(
                    spec.status,
                    f"{status!r} is a lost outcome but the store's contract has no exit of kind lost: add one",
                )
        # Statuses with their own date column: an entry into each, whatever the row's status now.
        own_date = None
        for sname, col in spec.status_dates.items():
            text = self._get(fields, col)
            is_current = norm(spec.stage_aliases.get(norm(sname), sname)) == name
            if not text or (col in self.shared_status_cols and not is_current):
                continue
            at = self._time(col, text, flags)
            kind = outcome_kind if is_current and outcome_kind else self.stage_key(sname)
            if kind is None:
                raise RowError(
                    col,
                    f"status {sname!r} (dated by this column in status_dates) is not a stage or exit of "
                    f"the store's contract ({self._stage_labels})",
                )
            event(kind, at, with_amount=kind == self.won_key)
            if is_current:
                own_date = at
        # An exit status (won, lost, or an exit of another kind) the row gives no date of its own:
        # dated by the record's last change when the mapping names that column (the latest the
        # status can have been set), flagged; else a won or lost record is rejected, and another
        # exit is flagged as an undated exit. Never an open record without a word.
        exit_kind = outcome_kind if outcome else (etype if etype in self.exits else None)
        exit_dating = None
        if exit_kind is not None and own_date is None:
            when = self._get(fields, spec.outcome_date) if outcome else ""
            changed = self._get(fields, spec.last_changed)
            if when:
                event(outcome_kind, self._time(spec.outcome_date, when, flags), with_amount=outcome == "won")
            elif changed:
                at = self._time(spec.last_changed, changed, flags)
                event(exit_kind, at, with_amount=outcome == "won", suffix=LAST_CHANGE_SUFFIX)
                flags.append(
                    f"{spec.last_changed}: {status!r} has no date of its own; {DATED_BY_LAST_CHANGE}, "
                    "the latest it can have been set"
                )
                exit_dating = "last_changed"
            elif outcome:
                col = self.status_cols.get(name, (None, spec.outcome_date))[1]
                raise RowError(col, f"a {outcome} record ({status!r}) needs the date it closed")
            else:
                also = f" and {spec.last_changed} is empty" if spec.last_changed else ""
                flags.append(
                    f"{spec.status}: {status!r} is an exit but the row gives it no date{also}: "
                    f"{UNDATED_EXIT}, not counted as one (the record counts as open)"
                )
                exit_dating = "undated"
        lead = opportunity = None
        created_text = self._get(fields, spec.created_at)
        if spec.grain == "opportunity" and deal_id:
            opportunity = self._opportunity(fields, deal_id, owner, currency, amount, flags)
        elif created_text:
            lead = self._lead(fields, lead_id, owner, currency, flags)
        undated = None
        if exit_dating == "undated":  # an undated exit: kept with its exit, for data quality
            undated = (subject, status or None, exit_kind, owner, amount, currency)
        elif not events:
            open_key = etype if etype in set(self.stage_team) else None
            undated = (subject, status or None, open_key, owner, amount, currency)
        roles, role_owners = self._role_owners(fields, self._record(lead_id, deal_id))
        return Parsed(
            str(key),
            list(events.values()),
            lead,
            self._owners(fields, owner) + role_owners,
            flags,
            undated=undated,
            opportunity=opportunity,
            contacts=self._links(fields, lead_id, deal_id),
            roles=roles,
            exit_dating=exit_dating,
        )

    def _change_target(self, fields: list[str]) -> str | None:
        """What a changes file's row sets (one of CHANGE_TARGETS), or None: a change of a field
        the mapping does not read, or a stage change read from another file."""
        target = self.spec.changes.get(norm(self._get(fields, self.spec.changed_field)))
        return None if target == "stage" and self.stages_elsewhere else target

    def _change(self, fields: list[str]) -> Parsed:
        """A row of a field history: a stage move (as a long file's row), or a change of the
        deal's amount or close date (an AMOUNT_EVENT carrying the new value from then on)."""
        spec = self.spec
        target = self._change_target(fields)
        if target is None:
            # Another field, or a stage change another file gives: accepted, no event. Keyed by
            # its whole text, so only an identical repeat is a duplicate.
            return Parsed("changes:" + "\x1f".join(fields), ignored=True)
        if target == "stage":
            return self._long(fields, stage_col=spec.new_value)
        lead_id = self._id(fields, spec.lead_id)
        deal_id = self._id(fields, spec.deal_id)
        if not (deal_id or lead_id):
            raise RowError(spec.deal_id or spec.lead_id, "required value is missing (whose field changed)")
        flags: list[str] = []
        at = self._time(spec.time, self._get(fields, spec.time), flags)
        event_id = f"{self.mapping.event_id_prefix}:{deal_id or lead_id}:{target}:{at.isoformat()}"
        text = self._get(fields, spec.new_value)
        if not text:
            # A cleared amount or close date sets nothing: the one before stays in force.
            field_name = self._get(fields, spec.changed_field)
            flags.append(
                f"{spec.new_value}: {field_name} cleared: nothing stored, the value before stays in force"
            )
            return Parsed(event_id, ignored=True, flags=flags)
        amount = currency = close_date = None
        if target == "amount":
            try:
                amount = parse_amount(text, self.mapping.decimal_separator)
            except ValueError as exc:
                raise RowError(spec.new_value, str(exc)) from None
            currency = self._currency(fields)
        else:
            close_date = self._day(spec.new_value, text)
        owner = self._id(fields, spec.owner)
        event = (
            event_id,
            lead_id,
            deal_id,
            AMOUNT_EVENT,
            at,
            owner,
            self._team(fields),
            None,
            amount,
            currency,
            close_date,
            None,
        )
        return Parsed(event_id, [event], None, self._owners(fields, owner), flags)

    def _long(self, fields: list[str], stage_col: str | None = None) -> Parsed:
        spec = self.spec
        stage_col = stage_col or spec.stage
        stage_text = self._get(fields, stage_col)
        name = self._names.get(stage_text)
        if name is None:  # a file has few distinct stage names: normalise each once
            name = self._names[stage_text] = norm(spec.stage_aliases.get(norm(stage_text), stage_text))
        lead_id = self._id(fields, spec.lead_id)
        deal_id = self._id(fields, spec.deal_id)
        source_id = self._id(fields, spec.event_id)
        # The event id column is often the row's key too: read once.
        key = (source_id if spec.key == spec.event_id else self._id(fields, spec.key)) if spec.key else None
        flags: list[str] = []
        at = self._time(spec.time, self._get(fields, spec.time), flags)
        if name in spec.ignore_stage_names:
            return Parsed(str(key or f"{deal_id or lead_id}:{name}:{at.isoformat()}"), ignored=True)
        if not stage_text:
            raise RowError(stage_col, "required value is missing (the new stage)")
        etype = self._stage_keys[name] if name in self._stage_keys else self.stage_key(name)
        if etype is None:
            raise RowError(
                stage_col,
                f"unknown stage name {stage_text!r}: not a stage or exit of the store's contract; add "
                "it to the contract (python -m data.contract), to stage_names in the mapping, or to "
                "ignore_stage_names if it is no funnel move",
            )
        owner = self._id(fields, spec.owner)
        team = self._team(fields)
        reason = self._reason(fields, flags)
        amount = self._amount(fields, spec.amount)
        currency = self._currency(fields) if amount is not None else None
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
            currency,
            self._date(fields, spec.close_date, flags) if spec.close_date else None,
            (self._get(fields, spec.forecast_category) or None) if spec.forecast_category else None,
        )
        if spec.owner_roles:
            roles, role_owners = self._role_owners(fields, self._record(lead_id, deal_id))
        else:
            roles, role_owners = [], []
        return Parsed(
            str(key or event_id), [event], None, self._owners(fields, owner) + role_owners, flags, roles=roles
        )


def _stage_teams(contract: Contract) -> dict[str, str]:
    """The team whose work moves a lead into each stage: the owner of the transition into it
    (the first stage is the first owner's). Used when the source does not say."""
    stages = contract.stages
    out = {stages[0].key: stages[0].owner}
    for prev, s in zip(stages, stages[1:], strict=False):
        out[s.key] = prev.owner
    return out


@dataclass(slots=True)
class RowOutcome:
    row_number: int  # its first physical line
    raw: str
    parsed: Parsed | None = None
    column: str | None = None
    reason: str | None = None
    last_row_number: int | None = None  # its last physical line (a quoted value with line breaks)


# Byte order marks, longest first (UTF-32-LE's begins with UTF-16-LE's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _is_utf8(source: Source) -> bool:
    """Whether the whole file decodes as UTF-8, read a block at a time (a cp1252 export almost
    never does: its accented letters are single bytes that UTF-8 refuses)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with source.open() as f:
        try:
            for block in iter(lambda: f.read(BLOCK), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _decoding(source: Source, mapping: Mapping) -> str:
    """The codec to read `source` with, after checking its byte order mark against the mapping's
    encoding: UTF-16 or UTF-32 without one, or with one that the mapping does not declare, would
    decode to garbage, so the file is refused."""
    with source.open() as f:
        head = f.read(4)
    bom = next((enc for mark, enc in _BOMS if head.startswith(mark)), None)
    if mapping.encoding == AUTO_ENCODING:
        if bom:
            return "utf-8-sig" if bom == "utf-8" else bom
        return "utf-8" if _is_utf8(source) else "cp1252"
    declared = codecs.lookup(mapping.encoding).name  # 'utf-8', 'utf-16', 'utf-16-le', 'cp1252', ...
    if declared in ("utf-16", "utf-32") and bom != declared:
        raise ImportRefused(
            f"{source.name}: the mapping says encoding = {mapping.encoding!r}, but the file does not "
            f"start with a {declared.upper()} byte order mark, so the order of its bytes is unknown and "
            "it would read as garbage. Save the file as CSV UTF-8, or declare the order "
            f"({declared}-le or {declared}-be) in the mapping."
        )
    if bom in ("utf-16", "utf-32") and not declared.startswith(bom):
        raise ImportRefused(
            f"{source.name}: the file is {bom.upper()} text (it starts with a {bom.upper()} byte order "
            f"mark), but the mapping says encoding = {mapping.encoding!r}. Declare encoding = "
            f'"{bom}" in the mapping, or save the file as CSV UTF-8.'
        )
    return "utf-8-sig" if declared == "utf-8" else declared


@dataclass
class OpenFile:
    """A file opened and read up to its header: the spec and parser its rows are checked with,
    and the records after the header, still to be read (`records`, `lines`, `raw`: close it)."""

    source: Source
    mapping: Mapping
    encoding: str
    spec: FileSpec
    parser: RowParser
    header: Record
    records: Records
    lines: PhysicalLines
    raw: BinaryIO
    it: Iterator[Record]

    def undecodable(self, exc: Undecodable) -> ImportRefused:
        return _undecodable(self.source, self.mapping, exc)

    def no_data_rows(self) -> ImportRefused:
        return ImportRefused(
            f"{self.source.name}: the file has a header (row {self.header.first}) but no data rows. "
            "Export again with the records."
        )


def _undecodable(source: Source, mapping: Mapping, exc: Undecodable) -> ImportRefused:
    return ImportRefused(
        f"{source.name}: row {exc.line}, the bytes are not valid {mapping.encoding} text ({exc.reason}). "
        f"Save the file as UTF-8 (in Excel: CSV UTF-8), or declare its encoding in the mapping "
        '(encoding = "cp1252", say).'
    )


def is_blank(fields: list[str]) -> bool:
    """A record with no value at all: a blank line (or one of spaces and delimiters) keeps its
    number but is no data row."""
    return not (fields and fields[0].strip()) and not any(f.strip() for f in fields)


def open_file(
    source: Source,
    mapping: Mapping,
    contract: Contract,
    now: dt.datetime,
    observing: bool = False,
    given_roles: frozenset[str] = frozenset(),
) -> OpenFile:
    """Open `source` and read it up to its header: the file's spec and row parser. File-level
    problems raise ImportRefused (empty, no header, too many columns, a required column missing
    or repeated, bytes before the header that are not text)."""
    if source.size == 0:
        raise ImportRefused(
            f"{source.name}: the file is empty. Export again, with a header row and data rows."
        )
    encoding = _decoding(source, mapping)
    raw = source.open()
    lines = PhysicalLines(raw, encoding, mapping.max_line_length)
    records = Records(lines, mapping.delimiter, mapping.max_line_length, mapping.max_lines_per_row)
    it = iter(records)
    try:
        for header in it:
            if header.fields is None:
                raise ImportRefused(
                    f"{source.name}: row {header.first} (the header) cannot be read: {header.reason}. "
                    "Is this a CSV export?"
                )
            if any(h.strip() for h in header.fields):
                break
        else:
            raise ImportRefused(f"{source.name}: the file is empty (only blank lines).")
        if len(header.fields) > mapping.max_fields:
            raise ImportRefused(
                f"{source.name}: row {header.first} (the header) has {len(header.fields):,} columns, more "
                f"than the mapping's max_fields = {mapping.max_fields:,}. Export only the columns you "
                "need, or raise max_fields in the mapping."
            )
        records.n_fields = len(header.fields)
        spec = pick_spec(mapping, header.fields, source.name)
        parser = RowParser(
            mapping,
            spec,
            contract,
            header.fields,
            source.name,
            now,
            observing=observing,
            given_roles=given_roles,
        )
        stages = set(contract.stage_keys)
        recorded = {k for k, col in spec.stage_dates.items() if k in stages and col in parser.index}
        recorded |= {key for _, _, _, key in parser.patterns if key in stages}
        if spec.shape == "status":
            recorded |= {
                key
                for name, col in spec.status_dates.items()
                if col in parser.index and (key := parser.stage_key(name)) in stages
            }
        spec = dataclasses.replace(spec, recorded=frozenset(recorded))
    except Undecodable as exc:
        raw.close()
        raise _undecodable(source, mapping, exc) from None
    except BaseException:
        raw.close()
        raise
    return OpenFile(source, mapping, encoding, spec, parser, header, records, lines, raw, it)


def read_rows(
    source: Source,
    mapping: Mapping,
    contract: Contract,
    now: dt.datetime,
    progress: Callable[[float], None] | None = None,
    limit: int | None = None,
    observations=None,
    given_roles: frozenset[str] = frozenset(),
) -> tuple[FileSpec, Iterator[RowOutcome]]:
    """Open `source`, check its header and return its spec and an iterator over its rows.

    `given_roles`: the file roles of the other files imported with it and of those the store
    holds already (given_roles()), for a spec whose rows depend on them (stages_only_without).

    With `observations` (data.propose.Observations) the rows are not checked but only observed
    for a proposed contract (RowParser.observe): the iterator yields nothing.

    Streams: reads BLOCK bytes at a time and holds at most one row (bounded by the mapping's
    max_line_length), so `limit` rows (the preview) cost only what they read. File-level problems
    raise ImportRefused (before any row for the header; while iterating for bytes that are not
    text in the declared encoding, naming their line).
    """
    opened = open_file(source, mapping, contract, now, observations is not None, given_roles)
    spec, parser, lines, raw, it = opened.spec, opened.parser, opened.lines, opened.raw, opened.it
    size = max(source.size, 1)

    def rows() -> Iterator[RowOutcome]:
        n_data = 0
        pull, parse, observe = it.__next__, parser.parse, parser.observe
        try:
            while limit is None or n_data < limit:
                try:
                    first, last, text, fields, reason = pull()
                except StopIteration:
                    break
                except Undecodable as exc:
                    raise opened.undecodable(exc) from None
                if fields is not None and is_blank(fields):
                    continue  # a blank line keeps its number but is no data row
                n_data += 1
                if observations is not None:
                    if fields is not None:
                        observe(fields, observations)
                    continue
                # RowOutcome(row_number, raw, parsed, column, reason, last_row_number)
                if fields is None:
                    yield RowOutcome(first, text, None, None, reason, last)
                else:
                    try:
                        parsed = parse(fields)
                    except RowError as exc:
                        yield RowOutcome(first, text, None, exc.column, exc.reason, last)
                    else:
                        yield RowOutcome(first, text, parsed, None, None, last)
                if progress and n_data % 20_000 == 0:
                    progress(lines.n_bytes / size)
            if n_data == 0:
                raise opened.no_data_rows()
        finally:
            raw.close()

    return spec, rows()


def file_role(source: Source, mapping: Mapping) -> str | None:
    """The file role `source`'s header fits best in `mapping`, or None (it fits none, or cannot
    be read: read_rows says why). Reads only up to the header: with encoding = "auto" the header
    is read as Latin-1 unless a byte order mark says otherwise (column names are ASCII, the same
    in UTF-8 and cp1252), so the whole file is not read to tell the two apart."""
    try:
        if source.size == 0:
            return None
        if mapping.encoding == AUTO_ENCODING:
            with source.open() as f:
                head = f.read(4)
            bom = next((enc for mark, enc in _BOMS if head.startswith(mark)), None)
            encoding = ("utf-8-sig" if bom == "utf-8" else bom) if bom else "latin-1"
        else:
            encoding = _decoding(source, mapping)
        with source.open() as raw:
            lines = PhysicalLines(raw, encoding, mapping.max_line_length)
            for rec in Records(lines, mapping.delimiter, mapping.max_line_length, mapping.max_lines_per_row):
                if rec.fields is None:
                    return None
                if any(h.strip() for h in rec.fields):
                    fits, _ = score_specs(mapping, rec.fields)
                    return max(fits, key=lambda s: s[1])[2].role if fits else None
    except (ImportRefused, Undecodable, OSError):
        return None
    return None


def reads_other_roles(mapping: Mapping) -> bool:
    """Whether a file of `mapping` is read differently depending on the other files imported
    with it or stored before (FileSpec.stages_only_without)."""
    return any(s.stages_only_without for s in mapping.files)


def given_roles(
    sources: list[Source], mapping: Mapping, stored: frozenset[str] = frozenset()
) -> frozenset[str]:
    """The roles read_rows is told the files of one import have (`stored`: those of the files
    the store holds already). Only a mapping with a spec that depends on them reads headers for
    it (the other files are not opened twice)."""
    if not reads_other_roles(mapping):
        return frozenset()
    return frozenset(stored) | {r for s in sources if (r := file_role(s, mapping))}

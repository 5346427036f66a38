"""Which shape an export is, from its header (and, for an unknown shape, its first rows).

`detect(source)` returns a Detection: the preset whose file roles the header fits (for
Salesforce objects, say, which object the file is: Lead, OpportunityHistory, ...), the other
presets that fit it too, or, when none does, "unknown shape" with a proposal of which column is
the record's id, which the date, which the stage or status, and which values read as won and
lost, naming each of these it could not decide. Nothing is written and no store is opened: the
command line (`python -m data.importer FILES --detect`) and the Data page call it on an upload.

`detect_files(sources)` does it for several files and names the preset that reads them all.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections import Counter
from dataclasses import dataclass, field

from data import contract as contract_mod
from data import propose
from data.import_mapping import Mapping, MappingError, load, norm, presets
from data.import_read import Source, pattern_columns, score_specs

HEAD_BYTES = 1 << 20  # the start of the file read to detect it (cut after the last whole line)
SAMPLE_ROWS = 2000  # rows looked at to propose a mapping for an unknown shape
VALUES_SHOWN = 50  # distinct values kept per text column of an unknown shape

# What each preset's file roles are, in the vendor's words (the role name otherwise).
ROLE_LABELS = {
    ("salesforce_objects", "leads"): "Salesforce Lead",
    ("salesforce_objects", "lead_history"): "Salesforce LeadHistory",
    ("salesforce_objects", "opportunities"): "Salesforce Opportunity",
    ("salesforce_objects", "opportunity_history"): "Salesforce OpportunityHistory",
    ("salesforce_objects", "opportunity_field_history"): "Salesforce OpportunityFieldHistory",
    ("salesforce_objects", "contact_roles"): "Salesforce OpportunityContactRole",
    ("salesforce_objects", "campaign_members"): "Salesforce CampaignMember",
    ("salesforce_objects", "campaign_influence"): "Salesforce CampaignInfluence",
    ("salesforce_objects", "team_members"): "Salesforce OpportunityTeamMember",
    ("salesforce_opportunities", "opportunities"): "Salesforce Opportunity",
    ("salesforce_opportunities", "opportunity_history"): "Salesforce OpportunityHistory",
    ("salesforce", "leads"): "Salesforce Lead (with MQL_Date__c)",
    ("salesforce", "opportunities"): "Salesforce Opportunity (with Lead_Id__c)",
    ("salesforce", "opportunity_history"): "Salesforce OpportunityHistory",
    ("hubspot_contacts", "contacts"): "HubSpot contacts export (UI labels)",
    ("hubspot_contacts", "contacts_api"): "HubSpot contacts (internal property names)",
    ("hubspot_deals", "deals"): "HubSpot deals export (UI labels)",
    ("hubspot_deals", "deals_api"): "HubSpot deals (internal property names)",
    ("hubspot_deals", "deal_contacts"): "HubSpot deal-contact associations",
    ("hubspot_fivetran", "contact"): "HubSpot sync table contact",
    ("hubspot_fivetran", "contact_property_history"): "HubSpot sync table contact_property_history",
    ("hubspot_fivetran", "deal"): "HubSpot sync table deal",
    ("hubspot_fivetran", "deal_stage"): "HubSpot sync table deal_stage",
    ("hubspot_fivetran", "deal_property_history"): "HubSpot sync table deal_property_history",
    ("hubspot_fivetran", "deal_contact"): "HubSpot sync table deal_contact",
    ("event_log", "events"): "event log",
}


@dataclass(frozen=True)
class Match:
    preset: str  # the preset's name (data/mappings/<preset>.toml)
    mapping_name: str  # its own name, as its messages say
    role: str  # the file role of the mapping the header fits
    label: str  # that role in the vendor's words
    matched: int  # columns of the role found in the header (stage columns included)
    n_stage_columns: int  # headers read as stage columns by the role's patterns
    weak: bool = False  # the role reads stages from date columns the file does not have


@dataclass(frozen=True)
class ShapeProposal:
    """What the first rows of a file of no known shape suggest. A `None` is a choice left open:
    `undecided` says which, and why, in words."""

    shape: str | None  # "long" (a row per move), "status" (a row per record and its status), "wide"
    id_column: str | None
    date_column: str | None
    stage_column: str | None
    amount_column: str | None
    outcome_column: str | None  # a status file's column that dates a won or lost status
    won_values: tuple[str, ...]
    lost_values: tuple[str, ...]
    date_columns: tuple[str, ...]  # every column that reads as dates
    undecided: tuple[str, ...]  # one sentence per choice it could not make
    # The distinct values of each text column in the rows read (most frequent first, at most
    # VALUES_SHOWN): the names a stage or status column could hold, to choose won and lost from.
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def mapping_toml(self, file_name: str) -> str:
        """A draft mapping for this file; the choices left open are marked TODO."""

        def col(value: str | None, what: str) -> str:
            return _toml_str(value) if value else f'""  # TODO: {what}'

        shape = self.shape or "long"
        lines = [
            f"# A draft mapping proposed for {file_name}: check every line, fill each TODO.",
            *(f"# Undecided: {u}" for u in self.undecided),
            'name = "My export"',
            'timezone = "UTC"',
            "",
            "[[files]]",
            'role = "records"',
            f'shape = "{shape}"',
            f"lead_id = {col(self.id_column, 'the column with the record id')}",
        ]
        if shape == "wide":
            lines.append(f"created_at = {col(self.date_column, 'the column with the created date')}")
            lines.append("[files.stage_dates]  # stage key = its date column")
            lines += [f"# TODO = {_toml_str(c)}" for c in self.date_columns]
            return "\n".join(lines) + "\n"
        if shape == "status":
            lines.append(f"status = {col(self.stage_column, 'the column with the status')}")
            lines.append(f"started = {col(self.date_column, 'the column with the created date')}")
            lines.append(f"created_at = {col(self.date_column, 'the column with the created date')}")
            lines.append(
                f"outcome_date = {col(self.outcome_column, 'the column that dates a won or lost status')}"
            )
            lines.append(f"won_values = [{', '.join(_toml_str(v) for v in self.won_values)}]")
            lines.append(f"lost_values = [{', '.join(_toml_str(v) for v in self.lost_values)}]")
        else:
            lines.append(f"stage = {col(self.stage_column, 'the column with the stage name')}")
            lines.append(f"time = {col(self.date_column, 'the column with when it happened')}")
        if self.amount_column:
            lines.append(f"amount = {_toml_str(self.amount_column)}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Detection:
    file_name: str
    encoding: str  # what the start of the file reads as
    header: tuple[str, ...]
    matches: tuple[Match, ...] = ()  # best first; empty: unknown shape
    proposal: ShapeProposal | None = None  # for an unknown shape
    problem: str | None = None  # the file could not be read (empty, not text, no header)

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    @property
    def known(self) -> bool:
        return bool(self.matches)

    def text(self) -> str:
        """The detection in plain words (never Markdown: file text is quoted as is)."""
        if self.problem:
            return f"{self.file_name}: cannot be read: {self.problem}"
        if self.best:
            b = self.best
            stages = f", {b.n_stage_columns} stage date columns" if b.n_stage_columns else ""
            lines = [
                f"{self.file_name}: {b.label}, preset {b.preset} (file role '{b.role}'; "
                f"{b.matched} of its columns found{stages}; read as {self.encoding})"
            ]
            others = [f"{m.preset} ({m.role})" for m in self.matches[1:]]
            if others:
                lines.append("  also fits: " + ", ".join(others))
            return "\n".join(lines)
        p = self.proposal
        lines = [f"{self.file_name}: unknown shape (no preset's file fits its {len(self.header)} columns)"]
        if p is not None:
            lines.append("  proposed: " + _decided(p))
            lines += [f"  undecided: {u}" for u in p.undecided]
        return "\n".join(lines)


@dataclass
class FilesDetection:
    files: list[Detection] = field(default_factory=list)
    preset: str | None = None  # one preset whose roles fit every known file
    n_unknown: int = 0

    def text(self) -> str:
        lines = [d.text() for d in self.files]
        if self.preset and not self.n_unknown:
            lines.append(
                f"One preset reads them all: {self.preset}. Import with "
                f"--mapping {self.preset} (add --propose to see the funnel first)."
            )
        elif self.n_unknown:
            lines.append(
                f"{self.n_unknown} file(s) of unknown shape: save the draft mapping (the Data page offers it, or "
                "copy the closest preset from data/mappings/), fill what is undecided, and import with "
                "--mapping your.toml."
            )
        else:
            lines.append("No one preset reads every file: import them in groups, one preset each.")
        return "\n".join(lines)


def _decided(p: ShapeProposal) -> str:
    parts = [f"shape {p.shape}" if p.shape else None]
    for what, value in (
        ("id", p.id_column),
        ("date", p.date_column),
        ("stage/status", p.stage_column),
        ("amount", p.amount_column),
    ):
        if value:
            parts.append(f"{what} column '{value}'")
    if p.won_values:
        parts.append("won: " + ", ".join(f"'{v}'" for v in p.won_values))
    if p.lost_values:
        parts.append("lost: " + ", ".join(f"'{v}'" for v in p.lost_values))
    shown = [x for x in parts if x]
    return "; ".join(shown) if shown else "nothing"


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- reading the start of a file ---------------------------------------------------------------


def _head(source: Source) -> tuple[str, str]:
    """(text, encoding) of the file's first HEAD_BYTES, cut after the last whole line: UTF-8
    (with or without its byte order mark), UTF-16 with its mark, else cp1252."""
    with source.open() as f:
        data = f.read(HEAD_BYTES)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, enc = data.decode("utf-16", errors="replace"), "utf-16"
    else:
        cut = data if len(data) < HEAD_BYTES else data[: data.rfind(b"\n") + 1] or data
        try:
            text, enc = cut.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            text, enc = cut.decode("cp1252", errors="replace"), "cp1252"
    return text, enc


def _rows(text: str) -> list[list[str]]:
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = []
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        if any(c.strip() for c in row):
            rows.append(row)
        if len(rows) > SAMPLE_ROWS:
            break
    return rows


_mappings: dict[str, Mapping] | None = None


def _presets() -> dict[str, Mapping]:
    global _mappings
    if _mappings is None:
        base = contract_mod.load()
        out = {}
        for name in presets():
            try:
                out[name] = load(name, base)
            except MappingError:
                continue  # a broken preset fits nothing; its own tests say why
        _mappings = out
    return _mappings


def matches(header: list[str], mappings: dict[str, Mapping] | None = None) -> list[Match]:
    """Every (preset, file role) whose required columns the header has, best first: most of
    its columns found, then fewest of the header's columns left unread."""
    out = []
    present = {norm(h) for h in header}
    for name, mapping in (mappings or _presets()).items():
        fits, _ = score_specs(mapping, header)
        for _, matched, spec, _ in fits:
            n_patterns = len(pattern_columns(spec, header))
            # A role whose stages are date columns found by pattern, and the file has none: a
            # weak fit (a contact table without its lifecycle dates), dropped when another fits.
            dated = any(norm(c) in present for c in spec.stage_dates.values())
            weak = spec.shape == "wide" and bool(spec.stage_columns) and not n_patterns and not dated
            # Optional columns the role names but does not read (a sync's bookkeeping) count too.
            matched += len((spec.optional & present) - {norm(c) for c in spec.columns()})
            out.append(
                Match(
                    name,
                    mapping.name,
                    spec.role,
                    ROLE_LABELS.get((name, spec.role), f"{mapping.name}: {spec.role}"),
                    matched,
                    n_patterns,
                    weak,
                )
            )
    if any(not m.weak for m in out):
        out = [m for m in out if not m.weak]
    width = len(header)
    return sorted(out, key=lambda m: (-m.matched, width - m.matched, m.preset, m.role))


def detect(source: Source, mappings: dict[str, Mapping] | None = None) -> Detection:
    """The shape of one file (see the module's docstring). Reads only the file's start."""
    if source.size == 0:
        return Detection(source.name, "", (), problem="the file is empty")
    text, enc = _head(source)
    rows = _rows(text)
    if not rows:
        return Detection(source.name, enc, (), problem="the file holds only blank lines")
    header = [h.replace("\ufeff", "").strip() for h in rows[0]]
    found = matches(header, mappings)
    if found:
        return Detection(source.name, enc, tuple(header), tuple(found))
    return Detection(source.name, enc, tuple(header), proposal=propose_shape(header, rows[1:]))


def detect_files(sources: list[Source], mappings: dict[str, Mapping] | None = None) -> FilesDetection:
    """Each file's shape, and the preset whose roles fit all the known ones (the one fitting
    most of them best, when several do)."""
    out = FilesDetection([detect(s, mappings) for s in sources])
    known = [d for d in out.files if d.known]
    out.n_unknown = len(out.files) - len(known)
    if known:
        common = set.intersection(*({m.preset for m in d.matches} for d in known))
        if common:
            # The preset that is the best match of the most files, then the most columns found.
            score = Counter(d.best.preset for d in known)
            cols = Counter()
            for d in known:
                for m in d.matches:
                    if m.preset in common:
                        cols[m.preset] += m.matched
            out.preset = max(sorted(common), key=lambda p: (score[p], cols[p]))
            # Each file's match under that preset first.
            out.files = [
                d
                if not d.known
                else Detection(
                    d.file_name,
                    d.encoding,
                    d.header,
                    tuple(sorted(d.matches, key=lambda m: m.preset != out.preset)),
                )
                for d in out.files
            ]
    return out


# --- a proposal for a file of no known shape ---------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y")
_ID_WORDS = re.compile(r"(^|\b|_)(id|key|record|number|no|ref|reference)(\b|$|_)|id$", re.IGNORECASE)
_STAGE_WORDS = re.compile(r"stage|status|lifecycle|step|phase|event|state|type", re.IGNORECASE)
_AMOUNT_WORDS = re.compile(r"amount|value|revenue|price|arr|mrr|total", re.IGNORECASE)
_CREATED_WORDS = re.compile(r"creat|start|first|opened", re.IGNORECASE)
_OUTCOME_WORDS = re.compile(r"clos|won|lost|end|decid|outcome|signed", re.IGNORECASE)
# Columns that hold who or where, never a stage: not proposed as the stage unless named like one.
_NOT_STAGE_WORDS = re.compile(
    r"owner|rep\b|user|source|segment|region|country|channel|campaign|name|company|account|email|"
    r"currency|industry|city|office|manager|team|type",
    re.IGNORECASE,
)


def _is_date(text: str) -> bool:
    t = text.strip()
    if not t or not t[:1].isdigit():
        return False
    try:
        dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
        return True
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        for candidate in (t, t[:16], t[:10]):
            try:
                dt.datetime.strptime(candidate, fmt)
                return True
            except ValueError:
                continue
    return False


def _is_number(text: str) -> bool:
    t = re.sub(r"[\s$€£¥,']", "", text.strip())
    return bool(re.fullmatch(r"-?\d+(\.\d+)?", t))


def propose_shape(header: list[str], rows: list[list[str]]) -> ShapeProposal:
    """Which column is the id, the date, the stage or status, the amount, and which stage
    values read as won and lost, from the header and the first rows; what it cannot decide is
    named in `undecided`."""
    n = len(header)
    rows = [r for r in rows if len(r) == n]
    undecided: list[str] = []
    values = [[r[i].strip() for r in rows] for i in range(n)]
    filled = [[v for v in col if v] for col in values]

    def share(i: int, test) -> float:
        return sum(map(test, filled[i])) / len(filled[i]) if filled[i] else 0.0

    dates = [i for i in range(n) if filled[i] and share(i, _is_date) >= 0.9]
    numbers = [i for i in range(n) if filled[i] and i not in dates and share(i, _is_number) >= 0.9]
    texts = [i for i in range(n) if filled[i] and i not in dates and i not in numbers]

    # The id: a column named like one, filled on every row; unique values say a row per record.
    id_like = [i for i in range(n) if _ID_WORDS.search(header[i]) and i not in dates]
    full = [i for i in id_like if len(filled[i]) == len(rows) and rows]
    id_col = full[0] if len(full) == 1 else None
    if id_col is None:
        if len(full) > 1:
            # Several: the first that repeats (a row per move of a record) or else the first.
            undecided.append(
                "which column is the record's id: "
                + ", ".join(f"'{header[i]}'" for i in full)
                + " all look like ids"
            )
        else:
            undecided.append(
                "which column is the record's id: no column is named like an id and filled on every row"
            )
    unique = id_col is not None and len(set(filled[id_col])) == len(filled[id_col])

    # The stage or status: a text column of few distinct names, named like one if several.
    def distinct(i: int) -> int:
        return len(set(filled[i]))

    few = [i for i in texts if i != id_col and 2 <= distinct(i) <= max(2, min(50, len(rows) // 2 + 1))]
    named = [i for i in few if _STAGE_WORDS.search(header[i])]
    few = named or [i for i in few if not _NOT_STAGE_WORDS.search(header[i])]
    stage_col = named[0] if len(named) == 1 else (few[0] if len(few) == 1 else None)
    if stage_col is None:
        if named or few:
            undecided.append(
                "which column holds the stage or status: "
                + ", ".join(f"'{header[i]}'" for i in (named or few))
                + " could each be it"
            )
        elif dates and (len(dates) > 1 or unique):
            undecided.append(
                "which stage each date column dates: no stage or status column, so a row is a record "
                "with a date per stage ("
                + ", ".join(f"'{header[i]}'" for i in dates)
                + "): name the stage each dates"
            )
        else:
            undecided.append("which column holds the stage or status: no column has a few repeated names")

    # The date: the only date column, else the one named like a creation or event time.
    date_col = None
    if len(dates) == 1:
        date_col = dates[0]
    elif dates:
        created = [i for i in dates if _CREATED_WORDS.search(header[i])]
        date_col = created[0] if len(created) == 1 else None
        if date_col is None:
            undecided.append(
                "which date column dates the stage (or the record's start): "
                + ", ".join(f"'{header[i]}'" for i in dates)
            )
    else:
        undecided.append("which column is the date: no column reads as dates")

    amount = [i for i in numbers if _AMOUNT_WORDS.search(header[i]) and i != id_col]
    amount_col = amount[0] if len(amount) == 1 else None

    # Won and lost, from the stage names' own words (any language the proposals know).
    won: list[str] = []
    lost: list[str] = []
    if stage_col is not None:
        for name, _ in Counter(filled[stage_col]).most_common():
            kind = propose.meaning(name)
            if kind == "won":
                won.append(name)
            elif kind == "lost":
                lost.append(name)
        names = ", ".join(f"'{v}'" for v, _ in Counter(filled[stage_col]).most_common(12))
        if not won:
            undecided.append(f"which value of '{header[stage_col]}' is won: none reads as won ({names})")
        if not lost:
            undecided.append(f"which value of '{header[stage_col]}' is lost: none reads as lost ({names})")

    if stage_col is not None:
        shape = "status" if unique else ("long" if id_col is not None else None)
    elif dates and (len(dates) > 1 or unique):
        shape = "wide"  # a date column per stage: which stage each dates is the team's to say
    else:
        shape = None
    outcome_col = None
    if shape == "status":
        later = [i for i in dates if i != date_col and _OUTCOME_WORDS.search(header[i])]
        outcome_col = later[0] if len(later) == 1 else None
        if outcome_col is None:
            others = [f"'{header[i]}'" for i in dates if i != date_col]
            undecided.append(
                "which date column dates a won or lost status: "
                + (", ".join(others) + " could each be it" if others else "no other date column")
            )
    if shape is None:
        undecided.append(
            "the shape: a row per move (long), a row per record with its status, or a date column per stage"
        )

    def name(i: int | None) -> str | None:
        return header[i] if i is not None else None

    return ShapeProposal(
        shape=shape,
        id_column=name(id_col),
        date_column=name(date_col),
        stage_column=name(stage_col),
        amount_column=name(amount_col),
        outcome_column=name(outcome_col),
        won_values=tuple(won),
        lost_values=tuple(lost),
        date_columns=tuple(header[i] for i in dates),
        undecided=tuple(undecided),
        values={header[i]: tuple(v for v, _ in Counter(filled[i]).most_common(VALUES_SHOWN)) for i in texts},
    )

"""The mapping of a file of unknown shape, as plain choices on the Data page: the shape, which
column is the record's id, its date, its stage or status, its amount, which values are won and
lost, and for a date column per stage which stage each dates. Pre-filled from what the file's
first rows suggest (data/detect.py's ShapeProposal); what that left open is an explicit
"choose…" with the reason.

The choices are written as a mapping file (`toml_text`) and read back with the loader the
command line uses (data.import_mapping.parse), so the file offered for download is exactly the
mapping the page imports with: `python -m data.importer FILE --mapping that.toml` reads it the
same way (docs/import.md, "Guided import").

Header names and values come from the upload: they are only ever options of a selectbox or a
multiselect, or st.text, never Markdown (labels, captions and help are our own words).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

import streamlit as st

from data.contract import Contract
from data.detect import Detection
from data.import_mapping import Mapping, MappingError, norm
from data.import_mapping import parse as parse_mapping

SHAPES = {
    "long": "a row per move (a record's stage changes, one per row)",
    "status": "a row per record, with its status",
    "wide": "a row per record, with a date column per stage",
}
GRAINS = {"lead": "a lead or contact (a person)", "opportunity": "an opportunity (a deal)"}
NONE = ""  # the option "no such column" (a header is never empty: detect strips and keeps names)
NOT_A_STAGE = ""
PREFIX = "guided"  # the event id prefix of a guided mapping, whatever its file is called
FILE_NAME = "handoff-mapping.toml"  # the download; the command line names the mapping by its path
ORIGIN = FILE_NAME.removesuffix(".toml")  # as load(path) names it: the file's stem
_OPPORTUNITY_WORDS = re.compile(r"opp|deal", re.IGNORECASE)


@dataclass
class Choices:
    """One file's choices; None is a choice not made yet."""

    shape: str | None
    grain: str
    id_column: str | None
    date_column: str | None  # the record's start (status, wide) or when the move happened (long)
    stage_column: str | None  # the stage (long) or the status (status)
    amount_column: str | None = None
    outcome_column: str | None = None  # status: the column that dates won and lost
    won_values: list[str] = field(default_factory=list)
    lost_values: list[str] = field(default_factory=list)
    stage_dates: dict[str, str | None] = field(default_factory=dict)  # wide: column -> stage key or ""

    def missing(self) -> list[str]:
        """What is still to choose (or chosen twice), in our own words."""
        out = []
        if self.shape is None:
            out.append("the shape of the file")
        if self.id_column is None:
            out.append("the column with the record's id")
        if self.shape == "long" and self.stage_column is None:
            out.append("the column with the stage")
        if self.shape == "long" and self.date_column is None:
            out.append("the column with when each move happened")
        if self.shape == "status" and self.stage_column is None:
            out.append("the column with the status")
        if self.shape == "status" and (self.won_values or self.lost_values) and not self.outcome_column:
            out.append("the column that dates won and lost")
        if self.shape == "status" and set(self.won_values) & set(self.lost_values):
            out.append("values that are won or lost, not both")
        if self.shape == "wide":
            if any(v is None for v in self.stage_dates.values()):
                out.append("the stage each date column dates (or 'not a stage')")
            keys = [v for v in self.stage_dates.values() if v]
            if len(set(keys)) != len(keys):
                out.append("one date column per stage (two date the same stage)")
            if not keys and not self.date_column:
                out.append("at least one date column that dates a stage")
        return out


def _str(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, and DEL is written escaped too."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_text(files: list[Choices], contract: Contract) -> str:
    """The mapping for files of these choices (one [[files]] table each), every choice made (see
    Choices.missing). It names no upload: the same choices make the same mapping."""
    lines = [
        "# A mapping built from choices on Handoff's Data page (docs/import.md, 'Guided import').",
        f"# Import with: python -m data.importer FILE --mapping {FILE_NAME} --propose (then --accept-proposal)",
        'name = "Guided import"',
        'description = "Built on the Data page from the choices for a file of its own shape."',
        'timezone = "UTC"',
        f'event_id_prefix = "{PREFIX}"',
    ]
    for i, c in enumerate(files, start=1):
        ident = "deal_id" if c.grain == "opportunity" else "lead_id"
        lines += ["", "[[files]]", f'role = "records{"" if i == 1 else f"_{i}"}"', f'shape = "{c.shape}"']
        if c.grain == "opportunity":
            lines.append('grain = "opportunity"')
        lines.append(f"{ident} = {_str(c.id_column)}")
        stage_dates = {k: col for col, k in c.stage_dates.items() if k} if c.shape == "wide" else {}
        if c.shape == "long":
            lines.append(f"stage = {_str(c.stage_column)}")
            lines.append(f"time = {_str(c.date_column)}")
        elif c.shape == "status":
            lines.append(f"status = {_str(c.stage_column)}")
            if c.date_column:
                lines.append(f"created_at = {_str(c.date_column)}")
                lines.append(f"started = {_str(c.date_column)}")
            if c.outcome_column and (c.won_values or c.lost_values):
                lines.append(f"outcome_date = {_str(c.outcome_column)}")
            lines.append(f"won_values = [{', '.join(_str(v) for v in c.won_values)}]")
            lines.append(f"lost_values = [{', '.join(_str(v) for v in c.lost_values)}]")
        elif c.date_column:
            lines.append(f"created_at = {_str(c.date_column)}")
        if c.amount_column:
            lines.append(f"amount = {_str(c.amount_column)}")
            if c.shape == "wide" and c.grain != "opportunity" and stage_dates:
                # The amount is a won deal's: the won stage when a column dates it, else the last.
                order = [k for k in contract.stage_keys + contract.exit_keys if k in stage_dates]
                won = contract.stage_keys[-1]
                lines.append(f'amount_on = "{won if won in stage_dates else order[-1]}"')
        if stage_dates:
            lines.append("[files.stage_dates]")
            lines += [f"{k} = {_str(col)}" for k, col in stage_dates.items()]
    return "\n".join(lines) + "\n"


def parse(text: str, contract: Contract) -> Mapping:
    """The mapping text as the command line reads it from FILE_NAME (import_mapping.load)."""
    return parse_mapping(text, contract, origin=ORIGIN)


def proposed(found: Detection, contract: Contract) -> Choices:
    """The choices the file's first rows suggest."""
    p = found.proposal
    grain = "opportunity" if p.id_column and _OPPORTUNITY_WORDS.search(p.id_column) else "lead"
    stage_dates = {}
    if p.shape == "wide":
        stage_dates = {col: _stage_named(col, contract) for col in p.date_columns}
    return Choices(
        shape=p.shape,
        grain=grain,
        id_column=p.id_column,
        date_column=p.date_column,
        stage_column=p.stage_column,
        amount_column=p.amount_column,
        outcome_column=p.outcome_column,
        won_values=list(p.won_values),
        lost_values=list(p.lost_values),
        stage_dates=stage_dates,
    )


def _stage_named(column: str, contract: Contract) -> str | None:
    """The stage or exit whose key or label is a word of the column's name ('MQL Date': mql)."""
    words = f" {norm(column)} "
    for x in (*contract.stages, *contract.exits):
        if f" {norm(x.key)} " in words or f" {norm(x.label)} " in words:
            return x.key
    return None


# --- on the page ---------------------------------------------------------------------------------

# Which undecided sentence (data/detect.py) is the reason for which choice.
_REASONS = {
    "the shape": "shape",
    "which column is the record's id": "id",
    "which column holds the stage or status": "stage",
    "which date column dates the stage": "date",
    "which column is the date": "date",
    "which value of": "values",
    "which date column dates a won or lost status": "outcome",
    "which stage each date column dates": "stages",
}


def _reasons(found: Detection) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for sentence in found.proposal.undecided:
        what = next((w for start, w in _REASONS.items() if sentence.startswith(start)), "other")
        out.setdefault(what, []).append(sentence)
    return out


def _why(reasons: dict[str, list[str]], what: str) -> None:
    for sentence in reasons.get(what, []):
        st.text(f"Left for you to choose: {sentence}")  # quotes the file's headers: plain text


def _column(label: str, options: list[str], value: str | None, key: str, optional: bool = False, **kw):
    """A selectbox of the file's columns; "choose…" when the proposal left it open."""
    opts = ([NONE] if optional else []) + options
    if value not in opts:
        value = NONE if optional else None
    return st.selectbox(
        label,
        opts,
        index=None if value is None else opts.index(value),
        placeholder="choose…",
        format_func=lambda c: kw.get("none", "none") if c == NONE else c,
        key=key,
        help=kw.get("help"),
    )


def edit(found: Detection, contract: Contract, key: str) -> Choices:
    """Draw one file's choices, pre-filled from its proposal; return them as chosen."""
    start = proposed(found, contract)
    reasons = _reasons(found)
    header = list(dict.fromkeys(h for h in found.header if h))
    dates = [c for c in found.proposal.date_columns if c in header]
    prefix = f"{key}-{hashlib.sha256(json.dumps(header).encode()).hexdigest()[:10]}"
    _why(reasons, "other")

    cols = st.columns(2)
    with cols[0]:
        shape = st.selectbox(
            "Each row of the file is",
            list(SHAPES),
            index=None if start.shape is None else list(SHAPES).index(start.shape),
            placeholder="choose…",
            format_func=SHAPES.get,
            key=f"{prefix}-shape",
        )
        _why(reasons, "shape")
    with cols[1]:
        grain = st.selectbox(
            "Each record is",
            list(GRAINS),
            index=list(GRAINS).index(start.grain),
            format_func=GRAINS.get,
            key=f"{prefix}-grain",
            help="What the funnel counts: people, or opportunities each counted once.",
        )
    chosen = Choices(shape=shape, grain=grain, id_column=None, date_column=None, stage_column=None)
    if shape is None:
        return chosen

    cols = st.columns(2)
    with cols[0]:
        chosen.id_column = _column("Column with the record's id", header, start.id_column, f"{prefix}-id")
        _why(reasons, "id")
    with cols[1]:
        date_label = {
            "long": "Column with when each move happened",
            "status": "Column with the record's start (its created date)",
            "wide": "Column with the record's created date",
        }[shape]
        chosen.date_column = _column(
            date_label,
            header,
            start.date_column,
            f"{prefix}-date-{shape}",
            optional=shape != "long",
            none="none: records start at their first stage date" if shape == "wide" else "none",
        )
        _why(reasons, "date")
    cols = st.columns(2)
    if shape in ("long", "status"):
        with cols[0]:
            chosen.stage_column = _column(
                "Column with the stage" if shape == "long" else "Column with the status",
                header,
                start.stage_column,
                f"{prefix}-stage",
            )
            _why(reasons, "stage")
    with cols[1 if shape != "wide" else 0]:
        chosen.amount_column = _column(
            "Column with the amount (optional)",
            header,
            start.amount_column,
            f"{prefix}-amount",
            optional=True,
            none="no amount column",
        )
    if shape == "status":
        _status_values(chosen, start, found, header, dates, reasons, prefix)
    elif shape == "long":
        st.caption(
            "Which stage names are won and lost, and their order, are set in the funnel proposed "
            "from the file (below)."
        )
    else:
        _stage_dates(chosen, start, header, dates, contract, reasons, prefix)
    chosen.date_column = chosen.date_column or None
    chosen.amount_column = chosen.amount_column or None
    return chosen


def _status_values(chosen, start, found, header, dates, reasons, prefix) -> None:
    col = chosen.stage_column
    values = list(found.proposal.values.get(col, ())) if col else []
    same = col == start.stage_column
    tag = hashlib.sha256((col or "").encode()).hexdigest()[:8]  # other column, fresh choices
    cols = st.columns(2)
    with cols[0]:
        chosen.won_values = st.multiselect(
            "Status values that are won",
            values,
            default=[v for v in start.won_values if v in values] if same else [],
            key=f"{prefix}-won-{tag}",
            placeholder="choose…",
            help="Values seen in the file's first rows.",
        )
    with cols[1]:
        chosen.lost_values = st.multiselect(
            "Status values that are lost",
            values,
            default=[v for v in start.lost_values if v in values] if same else [],
            key=f"{prefix}-lost-{tag}",
            placeholder="choose…",
            help="Values seen in the file's first rows. Every other value is an open status.",
        )
    _why(reasons, "values")
    with st.columns(2)[0]:
        chosen.outcome_column = _column(
            "Column that dates a won or lost status",
            dates or header,
            start.outcome_column,
            f"{prefix}-outcome",
            help="For an open record this date is only expected, so it is read for won and lost only.",
        )
        _why(reasons, "outcome")


def _stage_dates(chosen, start, header, dates, contract, reasons, prefix) -> None:
    st.caption("Which stage of the funnel each date column dates:")
    _why(reasons, "stages")
    keys = [NOT_A_STAGE, *contract.stage_keys, *contract.exit_keys]
    labels = {x.key: x.label for x in (*contract.stages, *contract.exits)}
    cols = st.columns(3)
    for i, col in enumerate(dates):
        with cols[i % 3]:
            st.text(col)  # the header: plain text above its choice
            value = start.stage_dates.get(col)
            chosen.stage_dates[col] = st.selectbox(
                "dates the stage",
                keys,
                index=None if value is None else keys.index(value),
                placeholder="choose…",
                format_func=lambda k: "not a stage" if k == NOT_A_STAGE else labels[k],
                key=f"{prefix}-dates-{hashlib.sha256(col.encode()).hexdigest()[:8]}",
            )


@dataclass
class Guided:
    """The mapping the choices make: its text and the mapping read from it, or what is missing."""

    text: str | None = None
    mapping: Mapping | None = None
    missing: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def key(self) -> str:
        return "guided:" + hashlib.sha256((self.text or "").encode("utf-8")).hexdigest()


def guided(names: list[str], found: list[Detection], contract: Contract, key: str = "guided") -> Guided:
    """The choices for each file of unknown shape (one set for files of the same header), and
    the mapping they make, with its download. Files must all be of unknown shape."""
    groups: dict[tuple, list[int]] = {}
    for i, d in enumerate(found):
        groups.setdefault(d.header, []).append(i)
    files: list[Choices] = []
    for n, members in enumerate(groups.values(), start=1):
        d = found[members[0]]
        which = ", ".join(str(i + 1) for i in members)
        st.markdown(f"**How to read file {which}**")
        for i in members:
            st.text(names[i])  # the upload's name: text only
        files.append(edit(d, contract, key=f"{key}-{n}"))
    out = Guided()
    out.missing = [f"file {n}: {m}" for n, c in enumerate(files, start=1) for m in c.missing()]
    if out.missing:
        st.info("Choose " + "; ".join(out.missing) + " to see what the import would add.")
        return out
    out.text = toml_text(files, contract)
    try:
        out.mapping = parse(out.text, contract)
    except MappingError as exc:
        out.error = str(exc)
        st.warning("These choices do not make a mapping yet. What the mapping check said:")
        st.code(out.error, language=None, wrap_lines=True)  # quotes the headers: plain text
        return out
    st.download_button(
        "Download this mapping (.toml)",
        out.text.encode("utf-8"),
        FILE_NAME,
        "text/plain",
        key=f"{key}-download",
        help="The same mapping from the command line: python -m data.importer FILE --mapping "
        f"{FILE_NAME} --propose (docs/import.md).",
    )
    return out

"""Reading an import file in bulk: its plain lines checked column-wise in DuckDB SQL
(data/import_bulk.sql) instead of one row at a time in Python.

Grain: one data row of one file, as data.import_read.read_rows reads it. For a file shape where
SQL can make every check of the per-row parser exactly (`bulk_reason`: a long event log, one
row one event, times in UTC), the lines are read with Arrow (data/import_lines.py) and each
plain line is split and checked in SQL. A row that passes every check is staged from SQL with
the values the parser would give it. Every other row (a check fails, or the SQL does not decide
it: a quote, non-ASCII text, spaces around a value, an offset in a time) goes through the
per-row parser, so it keeps its exact reason, column and physical lines. A file the line reader
cannot prove it splits as the per-row reader does is read by the per-row reader whole.

`stage_file` stages a file for the importer; `observe_file` gathers what a proposal needs
(data.propose.Observations) from the same SQL, grouped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from data.contract import Contract
from data.import_lines import Window, chunks, line_break, plain_tables
from data.import_mapping import AMOUNT_EVENT, FileSpec, Mapping, norm
from data.import_read import (
    EXCEL_ID,
    MAX_RAW,
    MAX_TEXT,
    OpenFile,
    RowError,
    RowOutcome,
    Source,
    Undecodable,
    is_blank,
    open_file,
    read_rows,
)

SQL = Path(__file__).with_name("import_bulk.sql")
AMOUNT_TEXT = {".": r"\d{1,12}(\.\d{1,2})?", ",": r"\d{1,12}(,\d{1,2})?"}  # at most decimal(14, 2)


def _statements() -> dict[str, str]:
    """The named statements of import_bulk.sql."""
    out, name, lines = {}, None, []
    for line in SQL.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- name: "):
            if name:
                out[name] = "\n".join(lines)
            name, lines = line.removeprefix("-- name: ").strip(), []
        elif name:
            lines.append(line)
    if name:
        out[name] = "\n".join(lines)
    return out


STATEMENTS = _statements()


def bulk_reason(mapping: Mapping, spec: FileSpec) -> str | None:
    """Why a file of this spec is read row by row (None: it can be read in bulk)."""
    if spec.shape != "long":
        return f"a {spec.shape!r} file (only long event logs are read in bulk)"
    if mapping.timezone != "UTC":
        return "times in a local time zone (read row by row, for daylight saving)"
    if mapping.delimiter != "\t" and not (len(mapping.delimiter) == 1 and mapping.delimiter.isprintable()):
        return f"the delimiter {mapping.delimiter!r}"
    if mapping.decimal_separator not in (None, ".", ","):
        return f"the decimal separator {mapping.decimal_separator!r}"
    if spec.key not in (None, spec.event_id):
        return "a row key other than the event id"
    others = {
        "fallback": spec.fallback,
        "where": spec.where,
        "owner_roles": spec.owner_roles,
        "version_active": spec.version_active,
        "version_start": spec.version_start,
        "close_date": spec.close_date,
        "forecast_category": spec.forecast_category,
        "currency": spec.currency,
        "owner_name": spec.owner_name,
        "owner_team": spec.owner_team,
        "stage_columns": spec.stage_columns,
    }
    used = [k for k, v in others.items() if v]
    return f"the mapping sets {', '.join(used)}" if used else None


@dataclass
class BulkRead:
    """What reading one file did: its spec, and the rows decided in SQL (0: read row by row,
    `why` says why)."""

    spec: FileSpec
    n_bulk: int = 0
    why: str | None = None


def _params(opened: OpenFile) -> dict:
    """The bound values of the statements: column positions (1-based, 0: absent) and checks."""
    spec, parser, mapping = opened.spec, opened.parser, opened.mapping
    required = parser.required

    def at(col: str | None) -> int:
        return parser.index[col] + 1 if col and col in parser.index else 0

    return {
        "delimiter": mapping.delimiter,
        "n_fields": parser.n_fields,
        "event_id_at": at(spec.event_id),
        "lead_id_at": at(spec.lead_id),
        "deal_id_at": at(spec.deal_id),
        "stage_at": at(spec.stage),
        "time_at": at(spec.time),
        "owner_at": at(spec.owner),
        "team_at": at(spec.team),
        "reason_at": at(spec.reason),
        "amount_at": at(spec.amount),
        "event_id_required": at(spec.event_id) > 0 and spec.event_id in required,
        "lead_id_required": at(spec.lead_id) > 0 and spec.lead_id in required,
        "deal_id_required": at(spec.deal_id) > 0 and spec.deal_id in required,
        "max_text": MAX_TEXT,
        "excel_id": EXCEL_ID.pattern.replace("^", "").replace("$", ""),
        "min_at": parser.min_at,
        "max_at": parser.max_at,
    }


def _stage_table(opened: OpenFile, texts: list[str]) -> pa.Table:
    """Per distinct stage text: the event type and team the parser gives it (None: the row goes
    to the parser), and the name a proposal observes it under (None: none)."""
    spec, parser = opened.spec, opened.parser
    etypes, teams, observed = [], [], []
    for text in texts:
        etype = seen = None
        if text and len(text) <= MAX_TEXT:
            name = norm(spec.stage_aliases.get(norm(text), text))  # as RowParser._long
            if name not in spec.ignore_stage_names:
                etype = parser.stage_key(name)
            alias = spec.stage_aliases.get(norm(text), text)  # as RowParser.observe
            mapped = spec.stage_names.get(norm(alias))
            if not (mapped == AMOUNT_EVENT or norm(alias) in spec.ignore_stage_names):
                seen = mapped or alias
        etypes.append(etype)
        teams.append(parser.stage_team.get(etype) if etype else None)
        observed.append(seen)
    return pa.table(
        {
            "stage_text": pa.array(texts, pa.string()),
            "etype": pa.array(etypes, pa.string()),
            "stage_team": pa.array(teams, pa.string()),
            "observed": pa.array(observed, pa.string()),
        }
    )


def _one_value(opened: OpenFile, col: str, text: str) -> list[str]:
    fields = [""] * opened.parser.n_fields
    fields[opened.parser.index[col]] = text
    return fields


def _team_table(opened: OpenFile, texts: list[str]) -> pa.Table:
    """Per distinct team text: the team the parser reads (None: it rejects the row)."""
    out = []
    for text in texts:
        team = None
        if text and opened.spec.team in opened.parser.index:
            try:
                team = opened.parser._team(_one_value(opened, opened.spec.team, text))
            except RowError:
                team = None
        out.append(team)
    return pa.table({"team_text": pa.array(texts, pa.string()), "team": pa.array(out, pa.string())})


def _reason_table(opened: OpenFile, texts: list[str]) -> pa.Table:
    """Per distinct reason text: the reason code the parser keeps, and its flag (an unknown code)."""
    codes, flags = [], []
    for text in texts:
        code = flag = None
        if text and opened.spec.reason in opened.parser.index:
            noted: list[str] = []
            try:
                code = opened.parser._reason(_one_value(opened, opened.spec.reason, text), noted)
            except RowError:
                code = None
            flag = "; ".join(noted) or None
        codes.append(code)
        flags.append(flag)
    return pa.table(
        {
            "reason_text": pa.array(texts, pa.string()),
            "reason_code": pa.array(codes, pa.string()),
            "flag": pa.array(flags, pa.string()),
        }
    )


def _distinct(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    return [t for (t,) in con.execute(STATEMENTS[name]).fetchall()]


def _check(con: duckdb.DuckDBPyConnection, opened: OpenFile, table: pa.Table, params: dict) -> None:
    """Split and check the plain lines: bulk_values, then the distinct stage, team and reason
    texts decided by the parser's own code, then bulk_checked."""
    con.execute(STATEMENTS["row_hash"])
    con.execute(STATEMENTS["macros"])
    con.register("bulk_lines", table)
    names = ("delimiter", "n_fields")
    positions = {k: v for k, v in params.items() if k.endswith("_at") and k not in ("min_at", "max_at")}
    con.execute(STATEMENTS["values"], {**{k: params[k] for k in names}, **positions})
    con.unregister("bulk_lines")
    con.register("bulk_stages", _stage_table(opened, _distinct(con, "stage_texts")))
    con.register("bulk_teams", _team_table(opened, _distinct(con, "team_texts")))
    con.register("bulk_reasons", _reason_table(opened, _distinct(con, "reason_texts")))


def _drop(con: duckdb.DuckDBPyConnection) -> None:
    for view in ("bulk_stages", "bulk_teams", "bulk_reasons", "bulk_parsed", "bulk_recorded", "bulk_names"):
        con.unregister(view)
    for table in ("bulk_values", "bulk_checked", "bulk_observed", "bulk_owners", "bulk_all_observed"):
        con.execute(f"drop table if exists {table}")  # noqa: S608 (our names)


def _tables(opened: OpenFile, source: Source, newline: str, on_record) -> Iterator[pa.Table]:
    """The chunks of plain lines after the header, the records of the others given to
    `on_record` first (data/import_lines.py)."""
    mapping = opened.mapping
    window = Window(chunks(source, newline, mapping.delimiter, mapping.max_line_length))
    try:
        yield from plain_tables(
            window,
            opened.header.last,  # the file index of the line after the header
            on_record,
            mapping.delimiter,
            mapping.max_line_length,
            mapping.max_lines_per_row,
            opened.parser.n_fields,
        )
    except Undecodable as exc:  # cannot happen: line_break read the file as UTF-8 whole
        raise opened.undecodable(exc) from None


def _opened(
    source: Source,
    mapping: Mapping,
    contract: Contract,
    now: dt.datetime,
    observing: bool,
    given_roles: frozenset[str],
) -> tuple[OpenFile, str | None, str | None]:
    """The file opened up to its header; its line break when it is read in bulk, else why not."""
    opened = open_file(source, mapping, contract, now, observing=observing, given_roles=given_roles)
    opened.raw.close()
    why = bulk_reason(mapping, opened.spec)
    newline = line_break(source, opened.encoding) if why is None else None
    if why is None and newline is None:
        why = "its lines are not UTF-8 text with one kind of line break (LF or CRLF)"
    return opened, newline, why


def stage_file(
    con: duckdb.DuckDBPyConnection,
    stager,
    file_no: int,
    source: Source,
    mapping: Mapping,
    contract: Contract,
    now: dt.datetime,
    progress: Callable[[float], None] | None = None,
    given_roles: frozenset[str] = frozenset(),
) -> BulkRead:
    """Read and check `source` into the staging tables (data.import_settle.STAGING) as file
    `file_no`: in bulk where the file allows, else row by row. The staged rows are those
    read_rows gives, whichever way it is read. Raises ImportRefused as read_rows does (and then
    stages nothing).

    While it stages, DuckDB checkpoints every 64 MB of changes rather than every 16 MB: each
    checkpoint rewrites (compresses) the staged rows so far, so at 16 MB the cost of a batch
    grew with the file; never checkpointing would leave them uncompressed (about 2.5 times the
    memory, through the settling)."""
    ((threshold,),) = con.execute("select current_setting('checkpoint_threshold')").fetchall()
    con.execute("set checkpoint_threshold = '64MB'")
    try:
        return _stage_file(con, stager, file_no, source, mapping, contract, now, progress, given_roles)
    finally:
        con.execute("set checkpoint_threshold = $threshold", {"threshold": threshold})


def _stage_file(
    con: duckdb.DuckDBPyConnection,
    stager,
    file_no: int,
    source: Source,
    mapping: Mapping,
    contract: Contract,
    now: dt.datetime,
    progress: Callable[[float], None] | None,
    given_roles: frozenset[str],
) -> BulkRead:
    opened, newline, why = _opened(source, mapping, contract, now, False, given_roles)
    if newline is None:
        spec, rows = read_rows(source, mapping, contract, now, progress=progress, given_roles=given_roles)
        for outcome in rows:
            stager.add(file_no, outcome)
        return BulkRead(spec, 0, why)
    parser, delimiter = opened.parser, mapping.delimiter
    n_data = n_bulk = 0
    parsed_rows: list[int] = []  # rows the parser gave an event: digested as the bulk rows are

    def add(first: int, last: int, raw: str, fields: list[str] | None, reason: str | None) -> None:
        nonlocal n_data
        if fields is not None and is_blank(fields):
            return  # a blank line keeps its number but is no data row
        n_data += 1
        if fields is None:
            stager.add(file_no, RowOutcome(first, raw, None, None, reason, last))
            return
        try:
            parsed = parser.parse(fields)
        except RowError as exc:
            stager.add(file_no, RowOutcome(first, raw, None, exc.column, exc.reason, last))
        else:
            stager.add(file_no, RowOutcome(first, raw, parsed, None, None, last))
            if parsed.events:
                parsed_rows.append(first)

    def record(rec) -> None:
        add(rec.first, rec.last, rec.raw, rec.fields, rec.reason)

    params = _params(opened)
    checks = (
        "event_id_required",
        "lead_id_required",
        "deal_id_required",
        "max_text",
        "excel_id",
        "min_at",
        "max_at",
    )
    checked = {
        **{k: params[k] for k in checks},
        "amount_text": AMOUNT_TEXT[mapping.decimal_separator or "."],
        "decimal": mapping.decimal_separator or ".",
        "prefix": mapping.event_id_prefix,
        "currency": mapping.currency,
        "owner_team_known": mapping.owner_team in parser.teams,
        "amount_event": AMOUNT_EVENT,
    }
    lines = max(source.size // 60, 1)  # about how many lines, for the progress bar
    try:
        con.execute(STATEMENTS["bulk_owners"])
        for table in _tables(opened, source, newline, record):
            _check(con, opened, table, params)
            con.execute(STATEMENTS["checked"], checked)
            for number, body in con.execute(STATEMENTS["to_parse"]).fetchall():
                add(number, number, body[:MAX_RAW], body.split(delimiter), None)
            ((n,),) = con.execute(STATEMENTS["count_bulk"]).fetchall()
            n_bulk += n
            con.execute(STATEMENTS["stage_rows"], {"file_no": file_no, "max_raw": MAX_RAW})
            con.execute(STATEMENTS["stage_events"], {"file_no": file_no})
            con.execute(STATEMENTS["keep_owners"])
            if progress and len(table):
                progress(min(table["row_number"][-1].as_py() / lines, 0.99))
        if n_data + n_bulk == 0:
            raise opened.no_data_rows()
        stager.flush()
        stager.flush_owners()
        con.execute(STATEMENTS["stage_owners"], {"file_no": file_no, "owner_team": mapping.owner_team})
        if parsed_rows:
            con.register("bulk_parsed", pa.table({"row_number": pa.array(parsed_rows, pa.int64())}))
            con.execute(STATEMENTS["rehash_parsed"], {"file_no": file_no})
    finally:
        _drop(con)
    if progress:
        progress(1.0)
    return BulkRead(opened.spec, n_bulk, None)


class _Recorder:
    """The Observations.add calls of the per-row parser's `observe`, each with the row it came
    from (`row`), to be grouped with the rows observed in SQL."""

    def __init__(self) -> None:
        self.row = 0
        self.rows: list[tuple] = []
        self.marks: list[tuple[str, str]] = []

    def add(self, record, name, at, outcome=None, grain="lead") -> None:
        self.rows.append((self.row, f"{grain}:{record}", name, at, outcome))

    def mark(self, name: str, outcome: str) -> None:
        self.marks.append((name, outcome))


def _add_firsts(observed: pa.Table) -> Callable[[dict], None]:
    """What adds the first entries of the observations `observed` (bulk_seen rows) to
    Observations.firsts, grouped in SQL, as Observations.add would have added them row by row."""

    def add(firsts: dict) -> None:
        with duckdb.connect() as con:
            con.register("bulk_seen", observed)
            table = con.sql(STATEMENTS["seen_firsts"]).to_arrow_table()
        columns = (table.column(c).to_pylist() for c in ("record", "plain", "entered_at"))
        for record, p, at in zip(*columns, strict=True):
            seen = firsts[record]
            if p not in seen or at < seen[p]:
                seen[p] = at

    return add


def observe_file(
    source: Source,
    mapping: Mapping,
    contract: Contract,
    now: dt.datetime,
    obs,
    given_roles: frozenset[str] = frozenset(),
) -> BulkRead:
    """Add what `source` says about its stage names to `obs` (data.propose.Observations), as
    read_rows(observations=obs) does: in bulk where the file allows, grouped in SQL, else row
    by row. Raises ImportRefused as read_rows does."""
    from data.propose import plain  # a plain function of the same layer

    opened, newline, why = _opened(source, mapping, contract, now, True, given_roles)
    spec, parser = opened.spec, opened.parser
    if newline is None:
        _, rows = read_rows(source, mapping, contract, now, observations=obs, given_roles=given_roles)
        for _ in rows:  # observing yields nothing; this drives the reading
            pass
        return BulkRead(spec, 0, why)
    recorder, n_data = _Recorder(), 0

    def observe(first: int, fields: list[str] | None) -> None:
        nonlocal n_data
        if fields is not None and is_blank(fields):
            return
        n_data += 1
        if fields is not None:
            recorder.row = first
            parser.observe(fields, recorder)

    params = _params(opened)
    checks = ("lead_id_required", "deal_id_required", "max_text", "excel_id", "min_at", "max_at")
    observed = {
        **{k: params[k] for k in checks},
        "grain": spec.grain,
        "by_lead": bool(spec.grain == "lead" and spec.deal_id and spec.lead_id),
    }
    con = duckdb.connect()
    try:
        con.execute("set checkpoint_threshold = '64MB'")  # fewer checkpoints (stage_file)
        con.execute(STATEMENTS["all_observed"])
        for table in _tables(opened, source, newline, lambda rec: observe(rec.first, rec.fields)):
            _check(con, opened, table, params)
            con.execute(STATEMENTS["observed"], observed)
            for number, body in con.execute(STATEMENTS["to_observe"]).fetchall():
                observe(number, body.split(mapping.delimiter))
            con.execute(STATEMENTS["keep_observed"])
        ((n_bulk,),) = con.execute("select count(*) from bulk_all_observed").fetchall()
        if n_data + n_bulk == 0:
            raise opened.no_data_rows()
        recorded = list(zip(*recorder.rows, strict=True)) or [[], [], [], [], []]
        con.register(
            "bulk_recorded",
            pa.table(
                {
                    "row_number": pa.array(recorded[0], pa.int64()),
                    "record": pa.array(recorded[1], pa.string()),
                    "name": pa.array(recorded[2], pa.string()),
                    "entered_at": pa.array(recorded[3], pa.timestamp("us")),
                }
            ),
        )
        # Observations.add's reading of a name: stripped, then its plain form (none: not added)
        names = {n: (n or "").strip() for (n,) in con.execute(STATEMENTS["names_seen"]).fetchall()}
        names = {n: (s, plain(s) or s.casefold()) for n, s in names.items() if s}
        con.register(
            "bulk_names",
            pa.table(
                {
                    "name": pa.array(list(names), pa.string()),
                    "stripped": pa.array([s for s, _ in names.values()], pa.string()),
                    "plain": pa.array([p for _, p in names.values()], pa.string()),
                }
            ),
        )
        con.execute(STATEMENTS["seen"])
        grain = spec.grain
        for p, stripped, n_rows in con.execute(STATEMENTS["seen_names"]).fetchall():
            obs.names[p] += n_rows
            if obs.grains.get(p) != "lead":  # as Observations.add: a name of both grains is the lead's
                obs.grains[p] = grain
            obs.spelling[p][stripped] += n_rows
        obs.pending.append(_add_firsts(con.sql("select * from bulk_seen").to_arrow_table()))
        for _, _, name, at, outcome in recorder.rows:  # none for a long file; kept as add keeps them
            if (s := (name or "").strip()) and (outcome or at is None):
                p = plain(s) or s.casefold()
                if outcome:
                    (obs.won if outcome == "won" else obs.lost).add(p)
                if at is None:
                    obs.undated[p] += 1
        for name, outcome in recorder.marks:
            obs.mark(name, outcome)
    finally:
        con.close()
    return BulkRead(spec, n_bulk, None)

"""Referenced SQL: a definition written once, in one file, and expanded into plain SQL before a
query runs. In the spirit of dbt's `ref()` and macros; docs/design.md "Referenced SQL".

Two forms may appear in a file of queries/sql/:

    {{ ref('cohort_rows') }}     a relation: the rows of queries/sql/cohort_rows.sql. Its CTEs
                                 are hoisted in front of the referring file's own, each renamed
                                 `cohort_rows__<name>` so that no two CTEs share a name, and its
                                 final select becomes the CTE `cohort_rows`, which is what the
                                 reference reads. A file that two others both reference is
                                 hoisted once.
    {{ lead_filters('j') }}      a macro: the text of queries/sql/macros/lead_filters.sql with
                                 `{row}` replaced by `j.` (a row alias), or by nothing for
                                 `{{ lead_filters() }}`.
    {{ list_filter_values('t') }}  the one macro written from Python, because it is a list of
                                 the list filters (queries/filters.py LIST_FILTERS): one
                                 `select '<attribute>' as attribute, <column> as value from t`
                                 per filter, joined by `union all`.

The result is one plain statement, `with a as (...), b as (...) select ...`, with no nested
`with` and no engine-specific macro left in it, so it reads the same in DuckDB, ClickHouse or
Spark. Parameters stay `$named` and are bound at run time. Every name here comes from our own
files (checked against KEY), never from input.

The files keep the dbt shape this relies on: an optional header comment, `with`, then
`name as (...)` CTEs separated by commas, then the final select. Inside hoisted CTE bodies a
CTE's name is renamed where it is read as a relation (after `from` or `join`) or as a
qualifier (`name.column`), never as a column or an alias.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent / "sql"
MACRO_DIR = SQL_DIR / "macros"
KEY = re.compile(r"^[a-z_][a-z0-9_]*$")
_CALL = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\(\s*(?:'([a-z_][a-z0-9_]*)')?\s*\)\s*\}\}")
# A call, or a comment (whose text, calls included, stays as written).
_CALL_OR_COMMENT = re.compile(r"--[^\n]*|" + _CALL.pattern)
_COMMENT = re.compile(r"--[^\n]*")
_TOKEN = re.compile(
    r"(?P<comment>--[^\n]*)|(?P<string>'(?:[^']|'')*')|(?P<quoted>\"(?:[^\"]|\"\")*\")"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<space>\s+)|(?P<other>.)",
    re.S,
)


class SqlRefError(ValueError):
    """A query file's references cannot be expanded; the message names the file and why."""


def _check(name: str, what: str) -> str:
    if not KEY.match(name):
        raise SqlRefError(f"{what} {name!r} is not a plain name")
    return name


@functools.cache
def macro_text(name: str) -> str:
    """The body of queries/sql/macros/<name>.sql, its comments left out."""
    path = MACRO_DIR / f"{_check(name, 'macro')}.sql"
    if not path.exists():
        raise SqlRefError(f"no macro named {name!r} (queries/sql/macros/{name}.sql)")
    body = _COMMENT.sub("", path.read_text(encoding="utf-8"))
    return "\n".join(line for line in body.splitlines() if line.strip())


def list_filter_values(relation: str | None) -> str:
    """Every list filter's values in `relation`, one (attribute, value) row per row and filter:
    what the sidebar offers (filter_options.sql). Written from LIST_FILTERS, so a list filter
    added there is offered with no SQL edit; the columns come from the ATTRIBUTES allow-list."""
    from queries.filters import ATTRIBUTES, LIST_FILTERS  # the same layer

    if relation is None:
        raise SqlRefError("list_filter_values() needs the relation to read, e.g. 'journey_leads'")
    # Every name here is ours: the attributes and columns from the allow-lists, checked again,
    # and the relation from our own query file (a plain name, as _CALL reads it).
    for attribute in LIST_FILTERS:
        _check(attribute, "list filter")
        _check(ATTRIBUTES[attribute], "list filter column")
    return "\n    union all\n    ".join(
        f"select '{a}' as attribute, {ATTRIBUTES[a]} as value from {relation}"  # noqa: S608
        for a in LIST_FILTERS
    )


GENERATED = {"list_filter_values": list_filter_values}


def expand_macros(text: str) -> str:
    """`text` with every macro call replaced by the macro's text (a ref() is left in place)."""

    def one(m: re.Match) -> str:
        name, row = m.group(1), m.group(2)
        if name is None or name == "ref":
            return m.group(0)
        if name in GENERATED:
            return GENERATED[name](row)
        return macro_text(name).replace("{row}", f"{row}." if row else "")

    return _CALL_OR_COMMENT.sub(one, text)


def refs(text: str) -> list[str]:
    """The files `text` references with ref(), in order, each once."""
    found = [m.group(2) for m in _CALL_OR_COMMENT.finditer(text) if m.group(1) == "ref"]
    if any(r is None for r in found):
        raise SqlRefError("ref() needs the name of a query file, e.g. {{ ref('cohort_rows') }}")
    return list(dict.fromkeys(found))


def _tokens(text: str) -> list[tuple[str, str]]:
    return [(m.lastgroup, m.group(0)) for m in _TOKEN.finditer(text)]


def _skip(tokens: list[tuple[str, str]], i: int) -> int:
    """The index of the next token that is neither space nor comment."""
    while i < len(tokens) and tokens[i][0] in ("space", "comment"):
        i += 1
    return i


def split_ctes(text: str, where: str) -> tuple[list[tuple[str, str]], str]:
    """A statement `with a as (...), b as (...) select ...` as ([(name, body)], final select);
    a statement without `with` is ([], itself)."""
    tokens = _tokens(text)
    i = _skip(tokens, 0)
    if i >= len(tokens) or tokens[i][1].lower() != "with":
        return [], "".join(t for _, t in tokens[i:])
    ctes: list[tuple[str, str]] = []
    i += 1
    while True:
        i = _skip(tokens, i)
        if i >= len(tokens) or tokens[i][0] != "word":
            raise SqlRefError(f"{where}: expected a CTE name after `with` or `,`")
        name = tokens[i][1].lower()
        i = _skip(tokens, i + 1)
        if i >= len(tokens) or tokens[i][1].lower() != "as":
            raise SqlRefError(f"{where}: expected `as (` after the CTE name {name!r}")
        i = _skip(tokens, i + 1)
        if i >= len(tokens) or tokens[i][1] != "(":
            raise SqlRefError(f"{where}: expected `(` to open the CTE {name!r}")
        depth, start = 1, i + 1
        i += 1
        while i < len(tokens) and depth:
            if tokens[i][1] == "(":
                depth += 1
            elif tokens[i][1] == ")":
                depth -= 1
            i += 1
        if depth:
            raise SqlRefError(f"{where}: the CTE {name!r} is never closed")
        ctes.append((name, "".join(t for _, t in tokens[start : i - 1]).strip("\n")))
        i = _skip(tokens, i)
        if i < len(tokens) and tokens[i][1] == ",":
            i += 1
            continue
        return ctes, "".join(t for _, t in tokens[i:]).strip()


def rename_relation(text: str, old: str, new: str) -> str:
    """`text` with the relation `old` read as `new`: after `from` or `join`, and as a qualifier
    (`old.column`); never inside a string, a quoted name or a comment."""
    tokens = _tokens(text)
    out = []
    for i, (kind, value) in enumerate(tokens):
        if kind == "word" and value.lower() == old:
            before = next((t for k, t in reversed(tokens[:i]) if k not in ("space", "comment")), "")
            after_i = _skip(tokens, i + 1)
            after = tokens[after_i][1] if after_i < len(tokens) else ""
            if before.lower() in ("from", "join") or (after == "." and before != "."):
                value = new
        out.append(value)
    return "".join(out)


def _prefixed(ctes: list[tuple[str, str]], final: str, prefix: str) -> tuple[list[tuple[str, str]], str]:
    """The CTEs renamed `<prefix>__<name>`, and every later read of each renamed with it."""
    names = [n for n, _ in ctes]
    bodies = [b for _, b in ctes]
    for k, name in enumerate(names):
        new = f"{prefix}__{name}"
        for j in range(k + 1, len(bodies)):
            bodies[j] = rename_relation(bodies[j], name, new)
        final = rename_relation(final, name, new)
    return [(f"{prefix}__{n}", b) for n, b in zip(names, bodies, strict=True)], final


def flatten(
    name: str,
    read: Callable[[str], str],
    materialized: frozenset[str] = frozenset(),
    _stack: tuple[str, ...] = (),
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], str]:
    """Query file `name` as (hoisted CTEs, its own CTEs, its final select), each CTE a (name,
    body): macros expanded, every file it references hoisted in front (see the module's
    docstring), except those in `materialized`, which the connection already holds as tables
    of that name. `read(name)` gives a file's text."""
    _check(name, "query")
    if name in _stack:
        raise SqlRefError(f"{name}.sql references itself through {' -> '.join(_stack)}")
    text = expand_macros(read(name))
    hoisted: list[tuple[str, str]] = []
    for ref in refs(text):
        if ref in materialized:
            continue
        theirs, mine, sub_final = flatten(ref, read, materialized, (*_stack, name))
        # A referenced file's own CTEs get its name as a prefix; what it hoisted from further
        # references is unique already.
        renamed, sub_final = _prefixed(mine, sub_final, ref)
        for cte in (*theirs, *renamed, (ref, sub_final)):
            if cte[0] not in {n for n, _ in hoisted}:
                hoisted.append(cte)
    text = _CALL_OR_COMMENT.sub(lambda m: m.group(2) if m.group(1) == "ref" else m.group(0), text)
    ctes, final = split_ctes(text, f"{name}.sql")
    clash = {n for n, _ in ctes} & {n for n, _ in hoisted}
    if clash:
        raise SqlRefError(f"{name}.sql defines {sorted(clash)}, a name its references already use")
    return hoisted, ctes, final


def expand(name: str, read: Callable[[str], str], materialized: frozenset[str] = frozenset()) -> str:
    """Query file `name` as one plain statement (see the module's docstring); the files in
    `materialized` are read as tables of their name."""
    hoisted, own, final = flatten(name, read, materialized)
    ctes = hoisted + own
    header = f"-- queries/sql/{name}.sql, its references expanded (queries/sql_refs.py)\n"
    if not ctes:
        return header + final + "\n"
    body = ",\n\n".join(f"{n} as (\n{b}\n)" for n, b in ctes)
    return f"{header}with\n\n{body}\n\n{final}\n"

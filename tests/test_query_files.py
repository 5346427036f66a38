"""Every query file has a typed function that runs it, a header comment, and only $named values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SQL_FILES = sorted((ROOT / "queries" / "sql").glob("*.sql"))
PY_SOURCES = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "queries").glob("*.py"))
SQL_SOURCES = "\n".join(p.read_text(encoding="utf-8") for p in SQL_FILES)


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.name)
def test_query_file_has_a_function_and_a_header(path):
    name = path.stem
    # Run by a function, or read by other query files through {{ ref('name') }}.
    assert re.search(rf"""["']{re.escape(name)}["']""", PY_SOURCES + SQL_SOURCES), (
        f"no function in queries/ runs {name}.sql and no query file references it"
    )
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith("--"), f"{path.name} needs a header comment: purpose, grain, parameters"
    # Values are bound: no Python formatting placeholders in query text.
    assert not re.search(r"\{[a-z_]+\}|%\(|%s", text), f"{path.name} has a formatting placeholder"


# The constructs that mean another thing (or nothing) on ClickHouse or Spark, each with the
# portable form the SQL says instead (queries/engine_rewrites.py, "No longer here").
NOT_PORTABLE = {
    r"extract\s*\(\s*epoch": "date_diff('microsecond', a, b) for the time between two timestamps",
    r"\bepoch\s*\(": "date_diff('microsecond', a, b) for the time between two timestamps",
    r"\blist_position\s*\(": "nullif(array_position($keys, x), 0) for a position (null when absent)",
    r"\bgenerate_subscripts\s*\(": "one list of rows unnested once ($stage_rows)",
    r"\$[a-z_]+\s*\[": "a parameter of its own, or a join to a list of rows (a computed index is 0-based on Spark)",
    r"\bis\s+null\s+or\s+[a-z_.]+\s*=\s*any\s*\(": "($all_x or list_contains($x, col)) over a list that is never null",
}


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.name)
def test_query_file_is_portable_at_the_source(path):
    code = "\n".join(line.split("--")[0] for line in path.read_text(encoding="utf-8").splitlines())
    for pattern, instead in NOT_PORTABLE.items():
        found = re.search(pattern, code, flags=re.IGNORECASE)
        assert not found, f"{path.name}: {found.group(0)!r} does not mean the same everywhere; use {instead}"
    # Two unnests in one select run side by side on DuckDB and multiply on ClickHouse.
    for select in re.split(r"\bselect\b", code, flags=re.IGNORECASE):
        head = re.split(r"\bfrom\b", select, maxsplit=1, flags=re.IGNORECASE)[0]
        assert len(re.findall(r"\bunnest\s*\(", head, flags=re.IGNORECASE)) <= 1, (
            f"{path.name}: lists unnested side by side; bind one list of rows instead"
        )

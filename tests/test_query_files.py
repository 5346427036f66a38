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

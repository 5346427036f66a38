"""Layers import downwards only (docs/design.md "Layout"): data/ < queries/ < reports/ < ui/ <
pages/ < dashboard.py. Every import counts, at the top of a module or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("data", "queries", "reports", "ui", "pages", "dashboard")
RANK = {name: k for k, name in enumerate(ORDER)}


def _layer(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import of a project layer in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, n.split(".")[0]) for n in names if n.split(".")[0] in RANK]
    return found


def test_no_layer_imports_a_higher_one():
    files = [p for layer in ORDER[:-1] for p in (ROOT / layer).rglob("*.py")] + [ROOT / "dashboard.py"]
    wrong = [
        f"{p.relative_to(ROOT)}:{line} imports {target}"
        for p in files
        for line, target in _imports(p)
        if RANK[target] > RANK[_layer(p)]
    ]
    assert wrong == []


def test_the_check_sees_an_upward_import(tmp_path):
    # The rule above would catch a reader that reached up into a page part.
    probe = ROOT / "queries" / "sql_refs.py"
    assert all(RANK[t] <= RANK["queries"] for _, t in _imports(probe))
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from ui import tables\n", encoding="utf-8")
    assert _imports(bad) == [(2, "ui")]

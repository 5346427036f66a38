"""The `handoff` command: every tool of the product behind one name.

    handoff serve                       the dashboard on http://localhost:8501
    handoff sample [--leads N]          build the sample store
    handoff import FILES --mapping M    load a CRM export (--propose, --contract, --accept-proposal)
    handoff detect FILES                say what kind of export files are and propose a mapping
    handoff contract show|history|propose|apply FILE
    handoff summary [--grain ...]       what the pages show for a view, as JSON
    handoff alerts                      check the contract's alert rules (for a scheduler)
    handoff report [--week 2026-W43]    the weekly report as HTML and Markdown
    handoff rebuild                     rebuild the derived journey tables

Each subcommand is the module of the same job (`python -m data.importer`, ...), which keeps
working on its own; `handoff SUBCOMMAND --help` shows its options. Exit codes are the
subcommand's: 0 done, 1 a file was refused, 2 the arguments, a mapping or a contract are not
valid. Installed by `make run` / `make test` (`pip install -e .`, pyproject.toml).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent

# subcommand -> (module, arguments put before the user's, one line of help)
COMMANDS = {
    "sample": ("data.store", ["sample"], "build the sample store"),
    "rebuild": ("data.store", ["rebuild"], "rebuild the derived journey tables of the store"),
    "import": ("data.importer", [], "load CRM export files into the store"),
    "detect": ("data.importer", ["--detect"], "recognise export files and propose a mapping"),
    "contract": ("data.contract", [], "show, propose or apply the store's funnel contract"),
    "summary": ("reports.summary", ["--json"], "print what the pages show for a view, as JSON"),
    "alerts": ("reports.alerts", [], "check the contract's alert rules and post the ones that fire"),
    "report": ("reports.weekly", [], "write the weekly report as HTML and Markdown"),
}


def usage() -> str:
    width = max(len(n) for n in ("serve", *COMMANDS))
    lines = [f"  {'serve':<{width}}  run the dashboard (streamlit run dashboard.py)"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, _, help_) in COMMANDS.items()]
    return (
        "usage: handoff SUBCOMMAND [options]\n\n"
        + "\n".join(lines)
        + "\n\nhandoff SUBCOMMAND --help for its options."
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__.split("\n\n")[0] + "\n\n" + usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name == "serve":
        command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"), *rest]
        return subprocess.call(command, cwd=ROOT)
    if name not in COMMANDS:
        print(f"handoff: unknown subcommand {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, before, _ = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        print(f"handoff {name}: not available in this version ({exc.name})", file=sys.stderr)
        return 2
    try:
        return int(module.main([*before, *rest]) or 0)
    except SystemExit as exc:  # argparse's --help and usage errors
        return exc.code if isinstance(exc.code, int) else 0


if __name__ == "__main__":
    sys.exit(main())

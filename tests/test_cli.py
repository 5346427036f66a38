"""The `handoff` command: one name for every tool, each subcommand the module of its job."""

from __future__ import annotations

import json

import handoff_cli


def test_help_lists_every_subcommand(capsys):
    assert handoff_cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("serve", "sample", "import", "detect", "contract", "summary", "alerts", "report", "rebuild"):
        assert f"  {name} " in out


def test_a_subcommand_runs_its_module_and_returns_its_exit_code(sample_store, capsys):
    assert handoff_cli.main(["summary", "--db", str(sample_store), "--by", "channel"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["store"]["is_sample"] is True
    assert handoff_cli.main(["contract", "history", "--db", str(sample_store)]) == 0
    assert "default" in capsys.readouterr().out


def test_bad_arguments_and_unknown_subcommands_exit_2(sample_store, capsys):
    assert handoff_cli.main(["summary", "--db", str(sample_store), "--start", "2025-01-01"]) == 2
    assert handoff_cli.main(["frobnicate"]) == 2
    assert "unknown subcommand 'frobnicate'" in capsys.readouterr().err

"""The SDK's commands plug into `hub` through entry points; the hub package never imports connectors."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest
from conftest import ROOT

import hub.cli
from hub.cli import build_parser

SDK_COMMANDS = {"publish", "import", "simulate"}


def _imports_connectors(tree: ast.AST) -> list[int]:
    """Line numbers where a module imports ``connectors`` (statements, importlib or __import__ calls)."""
    hits = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        if any(n == "connectors" or n.startswith("connectors.") for n in names):
            hits.append(node.lineno)
    return hits


def test_the_scan_sees_every_way_of_importing_connectors():
    """The AST scan finds import statements, from-imports and importlib calls of connectors."""
    src = ("import connectors.outbox\nfrom connectors import filedrop\nimport importlib\n"
           "importlib.import_module('connectors.simulator')\n__import__('connectors')\nimport connectorsx\n")
    assert _imports_connectors(ast.parse(src)) == [1, 2, 4, 5]


def test_hub_package_never_imports_connectors():
    """No module under hub/ imports the connectors package: the dependency runs connectors -> hub only."""
    offenders = {}
    for path in sorted((ROOT / "hub").rglob("*.py")):
        lines = _imports_connectors(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        if lines:
            offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}


def test_sdk_commands_are_registered_through_entry_points():
    """publish, import and simulate come from the hub.commands entry points, not from hub's own list."""
    assert {ep.name for ep in hub.cli.plugin_commands()} >= SDK_COMMANDS
    assert not [m for m in hub.cli.COMMANDS if not m.startswith("hub.")]
    assert set(build_parser()._subparsers._group_actions[0].choices) >= SDK_COMMANDS | {"worker", "tail"}


@pytest.mark.parametrize("command", sorted(SDK_COMMANDS))
def test_each_sdk_command_keeps_its_help(command):
    """`hub <command> --help` exits 0 and prints its usage line (the CLI contract)."""
    proc = subprocess.run([sys.executable, "-m", "hub", command, "--help"], cwd=ROOT, capture_output=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().startswith(f"usage: hub {command} ")


def test_a_broken_plugin_is_reported_and_the_other_commands_still_work(monkeypatch, capsys):
    """An entry point that fails to load is named on stderr; `hub` still builds every other command."""
    broken = EntryPoint(name="broken", value="no_such_module_anywhere:register", group=hub.cli.ENTRY_POINT_GROUP)
    monkeypatch.setattr(hub.cli, "plugin_commands", lambda: [broken])
    parser = build_parser()
    assert "command 'broken'" in capsys.readouterr().err
    assert parser.parse_args(["status", "--json"]).command == "status"

"""The layout keeps its promises (docs/architecture.md): small modules, and imports that follow the data flow.

Imports are read from the source (every ``import``/``from`` statement, also inside functions), so a rule
broken by a late import inside a function fails here too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400

# package -> hub packages it must never import (dotted prefixes)
FORBIDDEN = {
    # The engine is the generic transactional loop: it knows no processor, rule or HTTP side.
    "hub/engine": ("hub.processors", "hub.normalize", "hub.analytics", "hub.gateway", "hub.ingest", "hub.read",
                   "hub.dashboard", "hub.admin", "hub.cli"),
    # Operator tools read what the hub wrote (hub status reads the feeds through hub.read), never the server.
    "hub/admin": ("hub.gateway", "hub.ingest", "hub.dashboard", "hub.cli"),
    # Pure rules over feed records.
    "hub/analytics": ("hub.engine", "hub.processors", "hub.gateway", "hub.ingest", "hub.read", "hub.dashboard",
                      "hub.admin", "hub.cli"),
    "hub/contract": ("hub.engine", "hub.processors", "hub.gateway", "hub.ingest", "hub.read", "hub.dashboard",
                     "hub.admin", "hub.cli"),
    "hub/kafka": ("hub.engine", "hub.processors", "hub.gateway", "hub.ingest", "hub.read", "hub.dashboard",
                  "hub.admin", "hub.cli"),
}


def modules(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("folder", ["hub", "connectors"])
def test_no_module_is_over_400_lines(folder):
    long = {str(p.relative_to(ROOT)): n for p in modules(folder)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (does one hold two jobs?): {long}"


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_imports_follow_the_layout(folder):
    broken = {}
    for path in modules(folder):
        bad = sorted(n for n in imported(path) for f in FORBIDDEN[folder] if n == f or n.startswith(f + "."))
        if bad:
            broken[str(path.relative_to(ROOT))] = bad
    assert not broken, broken


def test_the_rule_reader_sees_imports_inside_functions(tmp_path):
    """The reader itself: a function-level import and a from-import both count."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from hub.gateway import app\n    import hub.read.model\n", encoding="utf-8")
    assert {"hub.gateway", "hub.gateway.app", "hub.read.model"} <= imported(source)

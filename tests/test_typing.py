"""mypy over hub/ and connectors/ with the repo's mypy.ini: a type error fails `make test` (hub issue 25)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_reports_no_errors() -> None:
    # From the repo root, so that mypy.ini's `files = hub, connectors` is what is checked; the cache
    # (.mypy_cache) keeps a run after small edits to seconds.
    done = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "mypy.ini")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"mypy exited {done.returncode}:\n{done.stdout}{done.stderr}"
    assert "Success: no issues found" in done.stdout, done.stdout + done.stderr

"""Both wheels install and run from fresh virtual environments outside the repository (issue 25).

The server wheel (pyproject.toml) carries its schemas and reference data and writes under
HUB_DATA_DIR (./var of the working directory), never into site-packages; the SDK wheel
(sdk/pyproject.toml) holds the publisher, outbox and file drop with only the libraries they import.
The wheels are built from a copy of the tree, so the build leaves nothing in the shared checkout.
Installing pulls the dependencies from the package index (pip's cache makes later runs quick).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hub.settings import ROOT

# The server's libraries a commune vendor must not be made to install (issue 25, acceptance).
SERVER_ONLY = {"faust", "faust-streaming", "fastapi", "uvicorn", "aiokafka", "confluent-kafka", "rocksdict"}
INSTALL_TIMEOUT_S = 1200


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 300) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd}: rc {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without HUB_* settings or a virtualenv of the repository leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    src = tmp_path_factory.mktemp("src")
    skip = shutil.ignore_patterns("__pycache__", "*.so", "_compiled.json", "build", "*.egg-info")
    for name in ("hub", "connectors", "sdk"):
        shutil.copytree(ROOT / name, src / name, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheels")
    built = {}
    for what, project in (("server", src), ("sdk", src / "sdk")):
        _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out / what), str(project)], src,
             timeout=INSTALL_TIMEOUT_S)
        [built[what]] = (out / what).glob("*.whl")
    return built


def _venv(base: Path, wheel: Path) -> Path:
    """A fresh venv at ``base`` (outside the repository) with ``wheel`` and its dependencies."""
    _run([sys.executable, "-m", "venv", str(base)], base.parent)
    python = base / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-compile", str(wheel)], base.parent,
         env=_clean_env(), timeout=INSTALL_TIMEOUT_S)
    return python


@pytest.fixture(scope="module")
def server_python(wheels, tmp_path_factory) -> Path:
    return _venv(tmp_path_factory.mktemp("server") / "venv", wheels["server"])


@pytest.fixture(scope="module")
def sdk_python(wheels, tmp_path_factory) -> Path:
    return _venv(tmp_path_factory.mktemp("sdk") / "venv", wheels["sdk"])


def _installed(python: Path) -> set[str]:
    listed = _run([str(python), "-m", "pip", "list", "--format=freeze"], python.parent)
    return {line.split("==")[0].lower() for line in listed.splitlines() if line}


def test_the_server_wheel_runs_from_a_fresh_venv_with_its_schemas_and_data(server_python, tmp_path):
    """`hub --help`, `hub schemas check` on the packaged schemas, and data paths under ./var of the cwd."""
    hub = str(server_python.parent / "hub")
    env = _clean_env(HUB_KAFKA_BOOTSTRAP="127.0.0.1:1")  # nothing here may need a broker
    assert "schemas" in _run([hub, "--help"], tmp_path, env)
    package = Path(_run([str(server_python), "-c", "import hub, os; print(os.path.dirname(hub.__file__))"],
                        tmp_path, env).strip())
    assert package.is_relative_to(server_python.parent.parent) and not package.is_relative_to(ROOT)
    assert (package / "schemas" / "registry.json").is_file()
    assert (package / "data" / "admin_units_2025.csv").is_file()
    # the check names the folder it read: the packaged one (nothing else exists in this cwd)
    checked = _run([hub, "schemas", "check"], tmp_path, env)
    assert checked.startswith("schemas OK:") and checked.rstrip().endswith(f"({package / 'schemas'})"), checked
    shown = dict(line.split("    #", 1)[0].split("=", 1) for line in _run([hub, "settings"], tmp_path, env).splitlines()
                 if line.startswith("HUB_"))
    assert shown["HUB_WORKER_DATA_DIR"] == str(tmp_path / "var" / "worker")
    assert shown["HUB_OUTBOX_PATH"] == str(tmp_path / "var" / "outbox.sqlite3")
    assert shown["HUB_SCHEMAS_DIR"] == str(package / "schemas")
    elsewhere = _run([hub, "settings"], tmp_path, _clean_env(HUB_DATA_DIR=str(tmp_path / "state")))
    assert f"HUB_WORKER_DATA_DIR={tmp_path / 'state' / 'worker'}    #" in elsewhere


def test_the_server_venv_holds_the_server_libraries(server_python):
    """Control for the SDK's check below: the same listing does show them where they belong."""
    assert {"faust-streaming", "fastapi", "uvicorn", "aiokafka", "confluent-kafka", "rocksdict"} <= _installed(
        server_python)


def test_the_sdk_wheel_imports_and_keeps_an_outbox_without_the_server_libraries(sdk_python, tmp_path):
    """Publisher, outbox and file drop import; an event is stored under ./var; no server library installed."""
    assert not (_installed(sdk_python) & SERVER_ONLY)
    assert "commune-hub-sdk" in _installed(sdk_python)
    script = (
        "import connectors.publisher, connectors.outbox, connectors.filedrop, hub, os\n"
        "from hub.settings import Settings\n"
        "box = connectors.outbox.Outbox(Settings.from_env(), 'sdk-test', forward=False)\n"
        "box.publish('dossier', b'{}', format='hub-json', commune='23734', event_id='ev-1')\n"
        "print(box.depth(), box.path, os.path.dirname(hub.__file__))\n"
        "box.close()\n")
    env = _clean_env(HUB_KAFKA_BOOTSTRAP="127.0.0.1:1", HUB_DEV_MODE="1")
    out = _run([str(sdk_python), "-c", script], tmp_path, env)
    depth, path, package = out.splitlines()[-1].split()  # the outbox's log lines come first
    assert depth == "1"
    assert path == str(tmp_path / "var" / "outbox.sqlite3") and Path(path).is_file()
    assert Path(package).is_relative_to(sdk_python.parent.parent)

"""The compiled hot path (hub/_native.py): built by make setup, identical to its sources, never stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hub import _native
from hub.settings import ROOT
from tests import native_outputs


def _outputs(pure: bool) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k != "HUB_PURE_PYTHON"}
    if pure:
        env["HUB_PURE_PYTHON"] = "1"
    run = subprocess.run([sys.executable, "-m", "tests.native_outputs"], cwd=ROOT, env=env, capture_output=True,
                         timeout=600, check=True)
    return [json.loads(line) for line in run.stdout.splitlines()]


def test_make_setup_compiled_the_hot_path_and_the_hub_runs_it():
    """On this machine (gcc, mypy from the native extra) the modules are built from today's sources."""
    assert _native.built(), "run `make setup`: hub/_native.py's compiled modules are missing or stale"
    listed = json.loads((ROOT / "hub" / "_compiled.json").read_text())["modules"]
    assert sorted(listed) == sorted(_native.MODULES)
    for module in _native.MODULES:
        assert list(_native.source(module).parent.glob(module.rsplit(".", 1)[1] + ".cpython-*.so")), module
    assert _native.in_use() is (not _native.pure_python_requested())


def test_compiled_and_pure_python_give_identical_records_and_rejections():
    """Every fixture, the malformed payloads and 400 generated dossiers: same bytes, same reasons."""
    compiled, pure = _outputs(pure=False), _outputs(pure=True)
    assert compiled[0] == {"compiled": True}
    assert pure[0] == {"compiled": False}
    assert len(compiled) == len(pure) == len(native_outputs.inputs()) + 1
    assert compiled[1:] == pure[1:]
    published = sum(len(line["records"]) for line in pure[1:])
    rejected = [line["rejected"][0] for line in pure[1:] if line["rejected"]]
    assert published >= 400  # the generated dossiers alone are 400 records
    assert {"malformed_json", "missing_field", "unknown_status", "bad_date"} <= set(rejected)


@pytest.fixture
def stale_stamp(tmp_path, monkeypatch):
    stamp = tmp_path / "_compiled.json"
    stamp.write_text(json.dumps({"digest": "0" * 64, "modules": list(_native.MODULES)}))
    monkeypatch.setattr(_native, "_STAMP", stamp)
    before = list(sys.meta_path)
    yield stamp
    sys.meta_path[:] = before


def test_a_build_older_than_its_sources_is_not_loaded(stale_stamp):
    """A stamp whose digest differs from the sources makes the hot path load from the .py files."""
    assert not _native.built()
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_SourcesFirst"]
    _native.guard()
    finder = sys.meta_path[0]
    spec = finder.find_spec("hub.normalize.fields")
    assert spec is not None and spec.origin == str(ROOT / "hub" / "normalize" / "fields.py")
    assert finder.find_spec("hub.contract.codec") is None  # not compiled: left to the usual finders


def test_the_digest_covers_every_compiled_source(tmp_path, monkeypatch):
    """Changing any compiled module's source changes the digest the build is checked against."""
    copies = {}
    for module in _native.MODULES:
        copies[module] = tmp_path / (module + ".py")
        copies[module].write_bytes(_native.source(module).read_bytes())
    monkeypatch.setattr(_native, "source", copies.__getitem__)
    baseline = _native.digest()
    for module, copy in copies.items():
        original = copy.read_bytes()
        copy.write_bytes(original + b"\n")
        assert _native.digest() != baseline, module
        copy.write_bytes(original)
    assert _native.digest() == baseline

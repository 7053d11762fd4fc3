"""Acceptance (hub issue 24): FULL_TRANSITIVE feed subjects, so that no change breaks a subscriber.

A subscriber compiles its classes from one schema version and keeps them for years. BACKWARD_TRANSITIVE
alone (the newer version reads older data) let through the two changes that break such a subscriber: a
new enum symbol its version cannot decode, and a removed field its version has no default for. Each
test breaks a copy of the schemas folder (tmp_path) and runs `hub schemas check` as an operator would;
the shipped history must pass as it is.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from avro_samples import SCHEMAS
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.cli import main
from hub.read import registry_api
from hub.settings import Settings

SUBJECT = "feed.dossier.v1-value"
UNUSED_ID = 9001  # far above every id the lock hands out


@pytest.fixture
def folder(tmp_path) -> Path:
    """A temporary copy of schemas/ to break on purpose."""
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    return copy


def _run(folder: Path, capsys) -> tuple[int, list[str]]:
    rc = main(["schemas", "check", "--dir", str(folder)])
    return rc, capsys.readouterr().out.strip().splitlines()


def _append_dossier_version(folder: Path, change) -> int:
    """Append a new DossierEvent version = change(latest version's fields) to the copy's lock; its number."""
    lock = json.loads((folder / "registry.json").read_text(encoding="utf-8"))
    versions = lock["subjects"][SUBJECT]
    latest = versions[-1]
    raw = json.loads((folder / latest["file"]).read_text(encoding="utf-8"))
    change(raw["fields"])
    number = latest["version"] + 1
    name = f"DossierEvent.v{number}.avsc"
    (folder / name).write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    versions.append({"version": number, "id": UNUSED_ID, "file": name})
    (folder / "registry.json").write_text(json.dumps(lock), encoding="utf-8")
    return number


def _field(fields: list[dict], name: str) -> dict:
    return next(f for f in fields if f["name"] == name)


def _older_versions(folder: Path) -> list[int]:
    lock = json.loads((folder / "registry.json").read_text(encoding="utf-8"))
    return [v["version"] for v in lock["subjects"][SUBJECT]][:-1]


def test_shipped_history_is_full_transitive(capsys):
    """The real schemas folder passes: every version pair of every subject reads the other's data."""
    rc, lines = _run(SCHEMAS, capsys)
    assert rc == 0, lines
    subjects = json.loads((SCHEMAS / "registry.json").read_text(encoding="utf-8"))["subjects"].values()
    pairs = sum(len(v) * (len(v) - 1) // 2 for v in subjects)
    assert len(lines) == 1
    assert f"{pairs} version pairs FULL_TRANSITIVE compatible, read both ways" in lines[0]


def test_new_enum_symbol_fails_for_every_older_reader(folder, capsys):
    """A status symbol added in a new version: old readers have no enum default, so each older version
    is named with the subject, the symbol and the field; the newer version itself reads old data fine."""
    new = _append_dossier_version(folder, lambda f: _field(f, "status")["type"]["symbols"].append("TRANSFERRED"))
    older = _older_versions(folder)
    rc, lines = _run(folder, capsys)
    assert rc == 1
    problems = lines[:-1]
    assert len(problems) == len(older), lines
    for version, line in zip(older, problems, strict=True):
        assert line.startswith(f"feed.dossier.v1-value: version {version} cannot read version {new} "
                               f"(subscribers built on version {version} would fail): field 'status': enum "
                               "symbols added that the older version does not know, and it has no enum default "
                               "to read them as: {'TRANSFERRED'} (MISSING_ENUM_SYMBOLS at /fields/"), line
    assert not any(f"version {new} cannot read" in line for line in lines)  # backward is fine
    assert lines[-1].startswith(f"schemas check FAILED: {len(older)} problem(s)")


def test_removed_field_fails_where_older_versions_have_no_default(folder, capsys):
    """dossier_code (no default in any version) removed: every older reader lacks it; the line says so."""
    new = _append_dossier_version(folder, lambda f: f.remove(_field(f, "dossier_code")))
    rc, lines = _run(folder, capsys)
    assert rc == 1
    # dossier_code is field 6 of DossierEvent v1, v2 and v3 (counted in the .avsc files)
    for version in (1, 2, 3):
        assert (f"feed.dossier.v1-value: version {version} cannot read version {new} (subscribers built on "
                f"version {version} would fail): field 'dossier_code' is no longer written and the older "
                "version gives it no default, so its readers fail (READER_FIELD_MISSING_DEFAULT_VALUE at "
                "/fields/6)") in lines
    assert lines[-1].startswith("schemas check FAILED: 3 problem(s)")


def test_removed_field_with_default_in_every_older_version_passes(folder, capsys):
    """procedure_code has a null default in v1..v3: old readers fill it in, so removing it is allowed."""
    _append_dossier_version(folder, lambda f: f.remove(_field(f, "procedure_code")))
    rc, lines = _run(folder, capsys)
    assert rc == 0, lines


def test_new_symbol_passes_when_every_older_version_has_an_enum_default(tmp_path, capsys):
    """The policy refuses what breaks a reader, not enum growth as such: with an enum default in every
    older version (avro reads an unknown symbol as the default), a new symbol is accepted."""
    def version(symbols: list[str]) -> dict:
        return {"type": "record", "name": "Probe", "namespace": "vn.gov.hub", "doc": "A test record.",
                "fields": [{"name": "state", "doc": "A state.",
                            "type": {"type": "enum", "name": "ProbeState", "symbols": symbols, "default": "OTHER"}}]}
    (tmp_path / "Probe.v1.avsc").write_text(json.dumps(version(["OTHER", "OPEN"])), encoding="utf-8")
    (tmp_path / "Probe.v2.avsc").write_text(json.dumps(version(["OTHER", "OPEN", "CLOSED"])), encoding="utf-8")
    (tmp_path / "registry.json").write_text(json.dumps({"subjects": {"feed.probe.v1-value": [
        {"version": 1, "id": 1, "file": "Probe.v1.avsc"}, {"version": 2, "id": 2, "file": "Probe.v2.avsc"}]}}),
        encoding="utf-8")
    rc, lines = _run(tmp_path, capsys)
    assert rc == 0, lines
    assert "1 version pairs FULL_TRANSITIVE compatible" in lines[0]


def test_registry_config_answers_the_policy():
    """GET /registry/config (and per subject) tells Confluent clients the level `hub schemas check` enforces."""
    app = FastAPI()
    app.state.settings = Settings.from_env(env={}, schemas_dir=str(SCHEMAS))
    app.include_router(registry_api.router, prefix="/registry")
    client = TestClient(app)
    assert client.get("/registry/config").json() == {"compatibilityLevel": "FULL_TRANSITIVE"}
    assert client.get(f"/registry/config/{SUBJECT}").json() == {"compatibilityLevel": "FULL_TRANSITIVE"}

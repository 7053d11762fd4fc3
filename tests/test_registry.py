"""hub.contract.registry and `hub schemas check`: the backward half of FULL_TRANSITIVE evolution and the house rules.

The forward half (old readers of new data: subscribers) is tested in tests/test_registry_policy.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from avro_samples import ROOT, SCHEMAS, schema_text

from hub.cli import main
from hub.contract import registry


@pytest.fixture
def folder(tmp_path) -> Path:
    """A temporary copy of schemas/ to break on purpose."""
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    return copy


def _add_dossier_v3(folder: Path, change) -> None:
    """In the copy, make DossierEvent v3 = change(v2) (version 3, id 6), dropping shipped versions after v2."""
    raw = json.loads((folder / "DossierEvent.v2.avsc").read_text(encoding="utf-8"))
    change(raw["fields"])
    (folder / "DossierEvent.v3.avsc").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")

    def edit(subjects: dict) -> None:
        kept = [v for v in subjects["feed.dossier.v1-value"] if v["version"] <= 2]
        for gone in subjects["feed.dossier.v1-value"][len(kept):]:
            if gone["file"] != "DossierEvent.v3.avsc":
                (folder / gone["file"]).unlink()
        subjects["feed.dossier.v1-value"] = [*kept, {"version": 3, "id": 6, "file": "DossierEvent.v3.avsc"}]

    _edit_lock(folder, edit)


def _counts(folder: Path) -> tuple[int, int, int]:
    """(subjects, versions, version pairs) the lock file of ``folder`` holds."""
    subjects = json.loads((folder / "registry.json").read_text(encoding="utf-8"))["subjects"].values()
    return len(subjects), sum(len(v) for v in subjects), sum(len(v) * (len(v) - 1) // 2 for v in subjects)


def _edit_lock(folder: Path, change) -> None:
    lock = json.loads((folder / "registry.json").read_text(encoding="utf-8"))
    change(lock["subjects"])
    (folder / "registry.json").write_text(json.dumps(lock), encoding="utf-8")


def _field(fields: list[dict], name: str) -> dict:
    return next(f for f in fields if f["name"] == name)


def _run(folder: Path, capsys) -> tuple[int, list[str]]:
    rc = main(["schemas", "check", "--dir", str(folder)])
    return rc, capsys.readouterr().out.strip().splitlines()


def test_shipped_schemas_pass():
    """The committed schemas have no problem."""
    problems, counts = registry.check(SCHEMAS)
    assert problems == []
    assert (counts["subjects"], counts["versions"], counts["pairs"]) == _counts(SCHEMAS)


def test_cli_prints_ok_summary(capsys):
    """`hub schemas check` on the shipped folder exits 0 with a one-line summary."""
    rc, lines = _run(SCHEMAS, capsys)
    assert rc == 0
    subjects, versions, _ = _counts(SCHEMAS)
    assert len(lines) == 1 and lines[0].startswith(f"schemas OK: {subjects} subjects, {versions} versions")


def test_v1_and_v2_read_each_other():
    """DossierEvent v2 reads v1 data (backward) and v1 reads v2 data (forward): no incompatibility."""
    v1, v2 = (registry.parse(schema_text(f)) for f in ("DossierEvent.v1.avsc", "DossierEvent.v2.avsc"))
    assert registry.incompatibilities(v2, v1) == []
    assert registry.incompatibilities(v1, v2) == []


def test_new_required_field_fails_naming_it(folder, capsys):
    """A v3 adding a field without default cannot read v1 or v2 data; the line names the field."""
    _add_dossier_v3(folder, lambda fields: fields.insert(27, {
        "name": "xyz", "type": "string", "doc": "A new required field."}))
    rc, lines = _run(folder, capsys)
    assert rc == 1
    assert ("feed.dossier.v1-value: version 3 cannot read version 2: field 'xyz' has no default "
            "(READER_FIELD_MISSING_DEFAULT_VALUE at /fields/27)") in lines
    assert any(line.startswith("feed.dossier.v1-value: version 3 cannot read version 1: field 'xyz'")
               for line in lines)
    assert lines[-1].startswith("schemas check FAILED: 2 problem(s)")


def test_changed_type_fails_naming_it(folder, capsys):
    """Changing a field's type (int to string inside its union) is reported with the field name."""
    _add_dossier_v3(folder, lambda fields: _field(fields, "service_level").update(type=["null", "string"]))
    rc, lines = _run(folder, capsys)
    assert rc == 1
    assert any("version 3 cannot read version 1: field 'service_level'" in line
               and "MISSING_UNION_BRANCH" in line for line in lines)


def test_plain_type_change_fails_naming_it(folder, capsys):
    """A timestamp field changed to string is a TYPE_MISMATCH on that field."""
    _add_dossier_v3(folder, lambda fields: _field(fields, "event_time").update(type="string"))
    rc, lines = _run(folder, capsys)
    assert rc == 1
    assert any("field 'event_time': type changed" in line and "TYPE_MISMATCH" in line for line in lines)


def test_removed_enum_symbol_fails(folder, capsys):
    """Dropping a status symbol breaks reading older data that used it."""
    _add_dossier_v3(folder, lambda fields: _field(fields, "status")["type"]["symbols"].remove("STOPPED"))
    rc, lines = _run(folder, capsys)
    assert rc == 1
    assert any("field 'status'" in line and "STOPPED" in line and "MISSING_ENUM_SYMBOLS" in line
               for line in lines)


def test_optional_field_with_default_passes(folder, capsys):
    """A v3 adding an optional field with a null default is a compatible change."""
    _add_dossier_v3(folder, lambda fields: fields.append({
        "name": "fee_amount_vnd", "type": ["null", "long"], "default": None,
        "doc": "Total fees (lệ phí) in đồng."}))
    rc, lines = _run(folder, capsys)
    assert rc == 0, lines
    _, versions, pairs = _counts(folder)
    assert f"{pairs} version pairs" in lines[-1] and f"{versions} versions" in lines[-1]


def test_house_rules(folder, capsys):
    """Missing docs, a foreign namespace, a reused id, a version gap, a missing and an orphan file."""
    raw = json.loads((folder / "DocumentEvent.v1.avsc").read_text(encoding="utf-8"))
    raw["namespace"] = "com.example"
    del _field(raw["fields"], "subject")["doc"]
    (folder / "DocumentEvent.v1.avsc").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    (folder / "Stray.v1.avsc").write_text("{}", encoding="utf-8")
    _edit_lock(folder, lambda s: s["feed.kpi.commune.v1-value"].append(
        {"version": 5, "id": 1, "file": "CommuneKpi.v4.avsc"}))
    rc, lines = _run(folder, capsys)
    assert rc == 1
    text = "\n".join(lines)
    assert ("feed.document.v1-value: version 1: type com.example.DocumentEvent is not in namespace "
            "vn.gov.hub") in text
    assert "feed.document.v1-value: version 1: field 'subject' has no doc" in text
    assert "feed.kpi.commune.v1-value: versions must be 1..4 without gaps or repeats, found [1, 2, 3, 5]" in text
    assert ("feed.kpi.commune.v1-value: version 5: schema id 1 is already used by "
            "feed.dossier.v1-value version 1") in text
    assert "CommuneKpi.v4.avsc" in text and "cannot read schema file" in text
    assert "Stray.v1.avsc: schema file is not listed in registry.json" in text


def test_invalid_avro_is_reported(folder, capsys):
    """A file that is JSON but not a valid Avro schema is one problem line, not a traceback."""
    (folder / "DirectiveReach.v1.avsc").write_text('{"type": "record", "name": "X", "fields": [{"name": 1}]}',
                                                  encoding="utf-8")
    rc, lines = _run(folder, capsys)
    assert rc == 1
    prefix = "feed.directive.v1-value: version 1 (DirectiveReach.v1.avsc):"
    assert any(line.startswith(prefix) for line in lines)


def test_unreadable_lock_is_reported(folder, capsys):
    """A broken lock file is reported and fails the check."""
    (folder / "registry.json").write_text("{not json", encoding="utf-8")
    rc, lines = _run(folder, capsys)
    assert rc == 1 and "cannot read schema lock" in lines[0]


def test_same_schema_ignores_formatting_but_not_docs():
    """Whitespace and key order do not matter for schema identity; a changed doc does."""
    text = schema_text("DossierEvent.v2.avsc")
    raw = json.loads(text)
    reordered = json.dumps(dict(reversed(list(raw.items()))), indent=4)
    assert registry.same_schema(text, reordered)
    raw["fields"][0]["doc"] = "changed"
    assert not registry.same_schema(text, json.dumps(raw))


def test_command_needs_no_kafka(folder):
    """`python -m hub schemas check` runs with an unreachable broker configured and exits 1 on a bad v3."""
    _add_dossier_v3(folder, lambda fields: fields.append({"name": "xyz", "type": "int", "doc": "Required."}))
    env = {**os.environ, "HUB_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    ok = subprocess.run([sys.executable, "-m", "hub", "schemas", "check"], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run([sys.executable, "-m", "hub", "schemas", "check", "--dir", str(folder)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "field 'xyz' has no default" in bad.stdout

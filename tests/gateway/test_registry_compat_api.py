"""The registry API's compatibility checks (POST /registry/compatibility/...): Confluent's verdicts and levels."""

from __future__ import annotations

import json

import pytest
from avro_samples import DOSSIER, SCHEMAS, schema_text

from hub.contract import codec

CT = "application/vnd.schemaregistry.v1+json"


@pytest.fixture(scope="module")
def client(registry_client):
    return registry_client


def _v3(change) -> str:
    raw = json.loads(schema_text("DossierEvent.v3.avsc"))
    change(raw)
    return json.dumps(raw)


ADDED_REQUIRED = _v3(lambda r: r["fields"].append({"name": "zz", "type": "string", "doc": "new, no default"}))
DROPPED_REQUIRED = _v3(lambda r: r["fields"].pop(0))  # event_id: required in every version, no default


def _compat(client, path: str, schema: str, status: int = 200):
    r = client.post(f"/registry/compatibility/subjects/{path}", json={"schema": schema})
    assert (r.status_code, r.headers["content-type"]) == (status, CT), r.text
    return r.json()


def test_compatibility_verdicts(client):
    """A schema the subject accepts is compatible; one adding a field without default is not, and verbose names
    the field for the version it breaks (the hub's plain words), plus the level."""
    v3 = schema_text("DossierEvent.v3.avsc")
    assert _compat(client, f"{DOSSIER}/versions/latest", v3) == {"is_compatible": True}
    assert _compat(client, f"{DOSSIER}/versions/1", v3) == {"is_compatible": True}
    assert _compat(client, f"{DOSSIER}/versions?verbose=true", v3) == {"is_compatible": True, "messages": []}
    assert _compat(client, f"{DOSSIER}/versions/latest", ADDED_REQUIRED) == {"is_compatible": False}
    verbose = _compat(client, f"{DOSSIER}/versions/2?verbose=True", ADDED_REQUIRED)
    assert verbose == {"is_compatible": False, "messages": [
        "the new schema cannot read version 2 (id 2): field 'zz' has no default "
        "(READER_FIELD_MISSING_DEFAULT_VALUE at /fields/32)", "{compatibility: 'FULL_TRANSITIVE'}"]}
    every = _compat(client, f"{DOSSIER}/versions?verbose=true", ADDED_REQUIRED)["messages"]
    assert [m.split(":")[0] for m in every[:-1]] == [f"the new schema cannot read version {v} (id {i})"
                                                     for v, i in ((1, 1), (2, 2), (3, 6))]


def test_compatibility_edge_cases(client):
    """Unknown subject: 'latest' and all-versions are compatible (nothing to break), a numbered version 40401;
    invalid version 42202, unknown version 40402; an invalid schema 42201, or a verdict with verbose."""
    assert _compat(client, "brand.new-value/versions/latest", ADDED_REQUIRED) == {"is_compatible": True}
    assert _compat(client, "brand.new-value/versions", ADDED_REQUIRED) == {"is_compatible": True}
    assert _compat(client, "brand.new-value/versions/1", ADDED_REQUIRED, 404)["error_code"] == 40401
    assert _compat(client, f"{DOSSIER}/versions/abc", ADDED_REQUIRED, 422)["error_code"] == 42202
    assert _compat(client, "brand.new-value/versions/0", ADDED_REQUIRED, 422)["error_code"] == 42202
    assert _compat(client, f"{DOSSIER}/versions/4", ADDED_REQUIRED, 404) == {"error_code": 40402,
                                                                             "message": "Version 4 not found."}
    assert _compat(client, f"{DOSSIER}/versions/latest", '{"type": "nonsense"}', 422)["error_code"] == 42201
    verbose = _compat(client, f"{DOSSIER}/versions/latest?verbose=true", '{"type": "nonsense"}')
    assert verbose["is_compatible"] is False and verbose["messages"][0].startswith("Invalid schema: ")


@pytest.mark.parametrize(("rule", "added", "dropped"), [
    ("BACKWARD", False, True), ("BACKWARD_TRANSITIVE", False, True), ("FORWARD", True, False),
    ("FULL", False, False), ("FULL_TRANSITIVE", False, False), ("NONE", True, True)])
def test_compatibility_levels(rule, added, dropped):
    """Each Confluent level asks the right direction: a new required field breaks backward (new readers, old
    data), a dropped required field breaks forward (old readers, new data); FULL both, NONE neither."""
    from hub.read import registry_compat

    versions = codec.load(str(SCHEMAS)).subjects[DOSSIER]
    for schema, expected in ((ADDED_REQUIRED, added), (DROPPED_REQUIRED, dropped)):
        raw = json.dumps({"schema": schema}).encode()
        answer = registry_compat.verdict(raw, versions, DOSSIER, None, True, rule)
        assert answer["is_compatible"] is expected, (rule, answer)
    dropped_forward = registry_compat.verdict(json.dumps({"schema": DROPPED_REQUIRED}).encode(), versions[-1:],
                                              DOSSIER, None, True, "FORWARD")["messages"][0]
    assert dropped_forward.startswith("version 3 (id 6) cannot read the new schema: field 'event_id'")

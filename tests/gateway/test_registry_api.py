"""The Confluent-compatible registry API: endpoints, bodies, error codes, content type."""

from __future__ import annotations

import io
import json

import fastavro
import pytest
from avro_samples import DOSSIER, SCHEMAS, as_v1, dossier_v2, plain, schema_text
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub import codec
from hub.gateway import registry_api
from hub.settings import Settings

CT = "application/vnd.schemaregistry.v1+json"


@pytest.fixture(scope="module")
def client() -> TestClient:
    """A bare app with only the registry router, as the gateway mounts it."""
    app = FastAPI()
    app.state.settings = Settings.from_env(env={}, schemas_dir=str(SCHEMAS), topic_prefix="tenant7.")
    app.include_router(registry_api.router, prefix="/registry")
    return TestClient(app)


def _get(client: TestClient, path: str, status: int = 200):
    r = client.get("/registry" + path)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == CT
    return r.json()


def test_subjects(client):
    """GET /subjects lists the seven TopicNameStrategy subjects."""
    assert _get(client, "/subjects") == ["feed.dossier.v1-value", "feed.document.v1-value",
                                         "feed.kpi.commune.v1-value", "feed.directive.v1-value",
                                         "feed.freshness.v1-value", "feed.target.v1-value",
                                         "feed.target.progress.v1-value"]


def test_versions(client):
    """GET /subjects/{s}/versions lists version numbers."""
    assert _get(client, "/subjects/feed.dossier.v1-value/versions") == [1, 2, 3]
    assert _get(client, "/subjects/feed.directive.v1-value/versions") == [1, 2, 3]


@pytest.mark.parametrize(("version", "expected", "schema_id"),
                         [("1", 1, 1), ("2", 2, 2), ("latest", 3, 6), ("-1", 3, 6)])
def test_version(client, version, expected, schema_id):
    """GET /subjects/{s}/versions/{v} gives subject, version, id and the schema as a JSON string."""
    body = _get(client, f"/subjects/{DOSSIER}/versions/{version}")
    assert set(body) == {"subject", "version", "id", "schema"}  # no schemaType for AVRO, like Confluent
    assert (body["subject"], body["version"], body["id"]) == (DOSSIER, expected, schema_id)
    assert json.loads(body["schema"]) == json.loads(schema_text(f"DossierEvent.v{expected}.avsc"))


def test_raw_schema_endpoints(client):
    """The /schema variants return the schema itself, not a string."""
    expected = json.loads(schema_text("CommuneKpi.v2.avsc"))
    assert _get(client, "/subjects/feed.kpi.commune.v1-value/versions/latest/schema") == expected
    assert _get(client, "/schemas/ids/10/schema") == expected
    assert _get(client, "/schemas/ids/4/schema") == json.loads(schema_text("CommuneKpi.v1.avsc"))


def test_schema_by_id(client):
    """GET /schemas/ids/{id} gives the schema string; unknown query parameters are ignored."""
    body = _get(client, "/schemas/ids/3?subject=whatever&format=resolved&fetchMaxId=false")
    assert set(body) == {"schema"}
    assert json.loads(body["schema"]) == json.loads(schema_text("DocumentEvent.v1.avsc"))


def test_id_versions_and_subjects(client):
    """GET /schemas/ids/{id}/versions and /subjects name where an id is used."""
    assert _get(client, "/schemas/ids/2/versions") == [{"subject": DOSSIER, "version": 2}]
    assert _get(client, "/schemas/ids/5/subjects") == ["feed.directive.v1-value"]


def test_config_types_mode(client):
    """Config is BACKWARD_TRANSITIVE globally and per subject; AVRO only; read-only mode."""
    assert _get(client, "/config") == {"compatibilityLevel": "BACKWARD_TRANSITIVE"}
    assert _get(client, f"/config/{DOSSIER}?defaultToGlobal=true") == {
        "compatibilityLevel": "BACKWARD_TRANSITIVE"}
    assert _get(client, "/schemas/types") == ["AVRO"]
    assert _get(client, "/mode") == {"mode": "READONLY"}
    assert _get(client, "/") == {}


@pytest.mark.parametrize(("path", "status", "code", "message"), [
    ("/subjects/x/versions", 404, 40401, "Subject 'x' not found."),
    ("/subjects/x/versions/1", 404, 40401, "Subject 'x' not found."),
    ("/subjects/x/versions/latest/schema", 404, 40401, "Subject 'x' not found."),
    ("/config/x", 404, 40401, "Subject 'x' not found."),
    (f"/subjects/{DOSSIER}/versions/9", 404, 40402, "Version 9 not found."),
    (f"/subjects/{DOSSIER}/versions/9/schema", 404, 40402, "Version 9 not found."),
    ("/schemas/ids/42", 404, 40403, "Schema 42 not found"),
    ("/schemas/ids/42/versions", 404, 40403, "Schema 42 not found"),
    ("/schemas/ids/abc", 404, 40403, "Schema abc not found"),
])
def test_not_found_errors(client, path, status, code, message):
    """Unknown subject, version and id give Confluent error bodies with HTTP 404."""
    assert _get(client, path, status) == {"error_code": code, "message": message}


@pytest.mark.parametrize("version", ["abc", "0", "-2", "99999999999"])
def test_invalid_version(client, version):
    """An invalid version string is 422 with error code 42202."""
    body = _get(client, f"/subjects/{DOSSIER}/versions/{version}", 422)
    assert body["error_code"] == 42202 and version in body["message"]


def test_prefixed_topic_subject_resolves(client):
    """On a deployment with HUB_TOPIC_PREFIX, the subject of the prefixed topic is the contract subject."""
    body = _get(client, "/subjects/tenant7.feed.dossier.v1-value/versions/latest")
    assert (body["subject"], body["id"]) == ("tenant7.feed.dossier.v1-value", 6)
    _get(client, "/subjects/tenant8.feed.dossier.v1-value/versions", 404)


def test_lookup_finds_a_reformatted_schema(client):
    """POST /subjects/{s} with the v1 schema (re-indented) returns its version and id."""
    posted = json.dumps(json.loads(schema_text("DossierEvent.v1.avsc")), indent=2)
    r = client.post(f"/registry/subjects/{DOSSIER}?normalize=false&deleted=true", json={"schema": posted})
    assert r.status_code == 200 and r.headers["content-type"] == CT
    body = r.json()
    assert (body["subject"], body["version"], body["id"]) == (DOSSIER, 1, 1)


def test_lookup_errors(client):
    """A schema not registered is 40403; unknown subject 40401; a non-schema is 42201."""
    raw = json.loads(schema_text("DossierEvent.v2.avsc"))
    raw["fields"].pop()
    r = client.post(f"/registry/subjects/{DOSSIER}", json={"schema": json.dumps(raw)})
    assert (r.status_code, r.json()["error_code"], r.headers["content-type"]) == (404, 40403, CT)
    r = client.post("/registry/subjects/nope", json={"schema": schema_text("DossierEvent.v2.avsc")})
    assert (r.status_code, r.json()["error_code"]) == (404, 40401)
    r = client.post(f"/registry/subjects/{DOSSIER}", json={"schema": "{\"type\": \"nonsense\"}"})
    assert (r.status_code, r.json()["error_code"]) == (422, 42201)
    r = client.post(f"/registry/subjects/{DOSSIER}", content=b"not json")
    assert (r.status_code, r.headers["content-type"]) == (400, CT)


def test_register_is_read_only(client):
    """Registering an existing schema returns its id; a new one is refused with 42205."""
    existing = {"schema": schema_text("DossierEvent.v2.avsc")}
    r = client.post(f"/registry/subjects/{DOSSIER}/versions", json=existing)
    assert (r.status_code, r.json()) == (200, {"id": 2})
    raw = json.loads(schema_text("DossierEvent.v2.avsc"))
    raw["doc"] = "changed"
    r = client.post(f"/registry/subjects/{DOSSIER}/versions", json={"schema": json.dumps(raw)})
    assert (r.status_code, r.json()["error_code"], r.headers["content-type"]) == (422, 42205, CT)


def test_v1_v2_through_the_api(client):
    """Bytes framed by hub.codec decode with schemas fetched over HTTP, v1 and v2 readers both ways."""
    schemas = codec.load(str(SCHEMAS))
    readers = {v: fastavro.parse_schema(json.loads(_get(client, f"{path}/{v}")["schema"]))
               for path in [f"/subjects/{DOSSIER}/versions"] for v in (1, 2)}
    rec = dossier_v2(4)
    v1_rec = as_v1(rec)
    v1_upgraded = {**v1_rec, "digitized_document_count": None}
    for version, data, expected in (
            (1, codec.encode(schemas.version(DOSSIER, 2), rec), v1_rec),
            (2, codec.encode(schemas.version(DOSSIER, 1), v1_rec), v1_upgraded)):
        served = _get(client, f"/schemas/ids/{codec.schema_id(data)}")["schema"]
        writer = fastavro.parse_schema(json.loads(served))
        out = fastavro.schemaless_reader(io.BytesIO(data[5:]), writer, readers[version])
        assert plain(out) == expected


def test_mounted_by_the_gateway_app():
    """create_app serves the router under /registry."""
    from hub.gateway import create_app

    app_client = TestClient(create_app(Settings.from_env(env={}, dev_mode=True, schemas_dir=str(SCHEMAS))))
    r = app_client.get("/registry/subjects/feed.document.v1-value/versions")
    assert (r.status_code, r.json(), r.headers["content-type"]) == (200, [1, 2], CT)

"""The Confluent-compatible registry API: endpoints, bodies, error codes, content type."""

from __future__ import annotations

import io
import json
import re
from urllib.parse import quote

import fastavro
import pytest
from avro_samples import DOSSIER, SCHEMAS, as_v1, dossier_v2, plain, schema_text
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.contract import codec
from hub.gateway.app import tidy_openapi
from hub.read import registry_api
from hub.settings import Settings

CT = "application/vnd.schemaregistry.v1+json"


@pytest.fixture(scope="module")
def client(registry_client) -> TestClient:
    return registry_client


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
    assert _get(client, "/subjects/feed.directive.v1-value/versions") == [1, 2, 3, 4]


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
    expected = json.loads(schema_text("CommuneKpi.v3.avsc"))
    assert _get(client, "/subjects/feed.kpi.commune.v1-value/versions/latest/schema") == expected
    assert _get(client, "/schemas/ids/19/schema") == expected
    assert _get(client, "/schemas/ids/10/schema") == json.loads(schema_text("CommuneKpi.v2.avsc"))
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
    """Config is FULL_TRANSITIVE (what `hub schemas check` enforces) globally and per subject; AVRO only;
    read-only mode."""
    assert _get(client, "/config") == {"compatibilityLevel": "FULL_TRANSITIVE"}
    assert _get(client, "/config/") == {"compatibilityLevel": "FULL_TRANSITIVE"}  # python-schema-registry-client
    assert _get(client, f"/config/{DOSSIER}?defaultToGlobal=true") == {
        "compatibilityLevel": "FULL_TRANSITIVE"}
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
    """Registering an existing schema returns its id; a new one is refused with 42205, and so is an existing schema
    under a subject the hub does not have (RecordNameStrategy): read-only, not "subject not found"."""
    existing = {"schema": schema_text("DossierEvent.v2.avsc")}
    r = client.post(f"/registry/subjects/{DOSSIER}/versions", json=existing)
    assert (r.status_code, r.json()) == (200, {"id": 2})
    raw = json.loads(schema_text("DossierEvent.v2.avsc"))
    raw["doc"] = "changed"
    r = client.post(f"/registry/subjects/{DOSSIER}/versions", json={"schema": json.dumps(raw)})
    assert (r.status_code, r.json()["error_code"], r.headers["content-type"]) == (422, 42205, CT)
    r = client.post("/registry/subjects/vn.gov.hub.DossierEvent/versions", json=existing)
    assert (r.status_code, r.json()) == (422, {"error_code": 42205, "message": (
        "Subject vn.gov.hub.DossierEvent in context . is in read-only mode: schemas change only through "
        "hub/schemas/registry.json and a redeploy.")})


def test_v1_v2_through_the_api(client):
    """Bytes framed by hub.contract.codec decode with schemas fetched over HTTP, v1 and v2 readers both ways."""
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


# --- the rest of Confluent's read API ---------------------------------------------------------------------
def test_subject_prefix_and_paging(client):
    """subjectPrefix filters, offset/limit page, deletedOnly is empty (nothing is ever deleted)."""
    assert _get(client, "/subjects?subjectPrefix=feed.target") == ["feed.target.v1-value",
                                                                   "feed.target.progress.v1-value"]
    assert _get(client, "/subjects?subjectPrefix=nope") == []
    assert _get(client, "/subjects?offset=1&limit=2") == ["feed.document.v1-value", "feed.kpi.commune.v1-value"]
    assert _get(client, "/subjects?deletedOnly=true") == []
    assert _get(client, f"/subjects/{DOSSIER}/versions?offset=1&limit=1") == [2]
    assert _get(client, f"/subjects/{DOSSIER}/versions?limit=-1&offset=x") == [1, 2, 3]


def test_schemas_listing(client):
    """GET /schemas lists every version (subject, version, id, schema), latestOnly the last of each subject."""
    every = _get(client, "/schemas?subjectPrefix=feed.dossier")
    assert [(b["subject"], b["version"], b["id"]) for b in every] == [(DOSSIER, 1, 1), (DOSSIER, 2, 2),
                                                                     (DOSSIER, 3, 6)]
    assert json.loads(every[2]["schema"]) == json.loads(schema_text("DossierEvent.v3.avsc"))
    latest = _get(client, "/schemas?latestOnly=true")
    assert [(b["subject"], b["id"]) for b in latest] == [
        (DOSSIER, 6), ("feed.document.v1-value", 7), ("feed.kpi.commune.v1-value", 19),
        ("feed.directive.v1-value", 20), ("feed.freshness.v1-value", 12), ("feed.target.v1-value", 16),
        ("feed.target.progress.v1-value", 17)]
    assert len(_get(client, "/schemas")) == 15  # 3 dossier + 2 document + 3 kpi + 4 directive + 3 single


def test_metadata_mode_contexts_guid(client):
    """Latest-with-metadata (no metadata asked: the latest; some asked: none has it), per-subject mode, contexts."""
    assert _get(client, f"/subjects/{DOSSIER}/metadata")["id"] == 6
    assert _get(client, f"/subjects/{DOSSIER}/metadata?key=owner&value=x", 404)["error_code"] == 40403
    assert _get(client, "/subjects/nope/metadata", 404)["error_code"] == 40401
    assert _get(client, f"/mode/{DOSSIER}") == {"mode": "READONLY"}
    assert _get(client, "/mode/any.new.subject") == {"mode": "READONLY"}
    assert _get(client, "/contexts") == ["."]
    assert _get(client, "/schemas/guids/0f3e5c1a-0000-4000-8000-000000000000", 404)["error_code"] == 40403


@pytest.mark.parametrize("path", [f"/subjects/{DOSSIER}", f"/subjects/{DOSSIER}/versions",
                                  f"/compatibility/subjects/{DOSSIER}/versions/latest"])
def test_schema_references_are_refused(client, path):
    """Non-empty references are refused (42201), not silently ignored; an empty list is fine."""
    refs = [{"name": "vn.gov.hub.Other", "subject": "other-value", "version": 1}]
    r = client.post("/registry" + path, json={"schema": schema_text("DossierEvent.v3.avsc"), "references": refs})
    assert (r.status_code, r.json()["error_code"], r.headers["content-type"]) == (422, 42201, CT)
    assert "references are not supported" in r.json()["message"]
    r = client.post("/registry" + path, json={"schema": schema_text("DossierEvent.v3.avsc"), "references": []})
    assert r.status_code == 200, r.text


# --- writes and unknown routes ------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "subject"), [
    ("PUT", "/config", None), ("PUT", "/config/", None), ("DELETE", "/config", None),
    ("PUT", f"/config/{DOSSIER}", DOSSIER), ("DELETE", f"/config/{DOSSIER}", DOSSIER),
    ("PUT", "/mode?force=true", None), ("PUT", f"/mode/{DOSSIER}", DOSSIER), ("DELETE", f"/mode/{DOSSIER}", DOSSIER),
    ("DELETE", f"/subjects/{DOSSIER}", DOSSIER), ("DELETE", f"/subjects/{DOSSIER}?permanent=true", DOSSIER),
    ("DELETE", f"/subjects/{DOSSIER}/versions/2", DOSSIER), ("DELETE", "/subjects/unknown-value", "unknown-value"),
    ("DELETE", "/contexts/.ctx", None)])
def test_writes_are_refused_read_only(client, method, path, subject):
    """Every write is 422 / 42205 in Confluent's format, naming the subject as Confluent does."""
    r = client.request(method, "/registry" + path, json={"compatibility": "NONE", "mode": "READWRITE"})
    assert (r.status_code, r.headers["content-type"]) == (422, CT)
    who = f"Subject {subject}" if subject else "The registry"
    assert r.json() == {"error_code": 42205, "message": f"{who} in context . is in read-only mode: schemas "
                                                        "change only through hub/schemas/registry.json and a redeploy."}


def test_unknown_routes_and_methods_in_confluent_format(client):
    """404 and 405 under /registry carry error_code (clients print it); 405 and OPTIONS name every method served."""
    for path in ("/nope", "/subjects/x/versions/1/nope", "/exporters", "/dek-registry/v1/keks"):
        r = client.get("/registry" + path)
        assert (r.status_code, r.headers["content-type"], r.json()) == (
            404, CT, {"error_code": 404, "message": "HTTP 404 Not Found"}), path
    r = client.patch(f"/registry/subjects/{DOSSIER}/versions")
    assert (r.status_code, r.json()) == (405, {"error_code": 405, "message": "HTTP 405 Method Not Allowed"})
    assert r.headers["allow"] == "GET, OPTIONS, POST"
    r = client.options(f"/registry/subjects/{DOSSIER}/versions")
    assert (r.status_code, r.headers["allow"]) == (204, "GET, OPTIONS, POST")
    assert client.options("/registry/config").headers["allow"] == "DELETE, GET, OPTIONS, PUT"
    assert client.options("/registry/nope").status_code == 404


def test_openapi_declares_the_post_bodies():
    """The POST routes' request bodies are in OpenAPI (a generated client can call them); refusals are not."""
    app = FastAPI()
    app.include_router(registry_api.router, prefix="/registry")
    paths = app.openapi()["paths"]
    for path in ("/registry/subjects/{subject}", "/registry/subjects/{subject}/versions",
                 "/registry/compatibility/subjects/{subject}/versions",
                 "/registry/compatibility/subjects/{subject}/versions/{version}"):
        body = paths[path]["post"]["requestBody"]
        assert body["required"] is True
        for media in (CT, "application/json"):
            assert body["content"][media]["schema"]["required"] == ["schema"], path
    assert "put" not in paths["/registry/config"] and "/registry/{rest}" not in paths


# --- the OpenAPI contract: what is declared is what is read and answered ------------------------------------
def _openapi() -> dict:
    """The registry's part of /openapi.json, as the gateway serves it (tidied: no FastAPI phantom 422)."""
    app = FastAPI()
    app.include_router(registry_api.router, prefix="/registry")
    return tidy_openapi(app.openapi())


@pytest.mark.parametrize("version", ["+1", " 1", "1 ", "1_0", "٣", "01", "1\n", "latest\n", "LATEST", "-0",
                                     "2147483648", "9999999999"])
def test_version_is_read_exactly_as_declared(client, version):
    """What int() would take but the declared pattern forbids (sign, spaces, underscores, non-ASCII digits, a
    final newline, past 2^31-1) is 42202, and the declared pattern forbids it too."""
    pattern = _openapi()["paths"]["/registry/subjects/{subject}/versions/{version}"]["get"]["parameters"][1]
    assert pattern["name"] == "version" and not re.fullmatch(pattern["schema"]["pattern"], version)
    r = client.get(f"/registry/subjects/{DOSSIER}/versions/{quote(version)}")
    assert (r.status_code, r.json()["error_code"]) == (422, 42202), r.text


@pytest.mark.parametrize(("version", "status"), [("1", 200), ("latest", 200), ("-1", 200), ("4", 404),
                                                 ("2147483647", 404)])
def test_every_declared_version_is_read(client, version, status):
    """Every version the pattern allows is read: a version the subject has (200) or does not have (40402)."""
    pattern = _openapi()["paths"]["/registry/subjects/{subject}/versions/{version}"]["get"]["parameters"][1]
    assert re.fullmatch(pattern["schema"]["pattern"], version)
    r = client.get(f"/registry/subjects/{DOSSIER}/versions/{version}")
    assert r.status_code == status, r.text
    if status == 404:
        assert r.json()["error_code"] == 40402


@pytest.mark.parametrize(("extra", "status"), [
    ({"metadata": 5}, 422), ({"ruleSet": "x"}, 422), ({"ruleSet": []}, 422), ({"schemaType": None}, 422),
    ({"schemaType": "JSON"}, 422), ({"references": {}}, 422),
    ({"metadata": None, "ruleSet": None, "references": None}, 200), ({"metadata": {"properties": {}}}, 200),
    ({"schemaType": "AVRO", "unknownField": 1}, 200)])
def test_posted_body_is_read_exactly_as_declared(client, extra, status):
    """A body that breaks the declared schema (metadata / ruleSet not an object or null, schemaType other than
    AVRO, references not an empty array or null) is 42201; every body the schema allows is read."""
    r = client.post(f"/registry/subjects/{DOSSIER}", json={"schema": schema_text("DossierEvent.v1.avsc"), **extra})
    assert r.status_code == status, r.text
    if status == 422:
        assert r.json()["error_code"] == 42201


def test_openapi_declares_only_what_each_route_answers():
    """No phantom 400/408/413/422 on the GETs; the POSTs declare their body refusals; each 200 has its model."""
    paths = _openapi()["paths"]

    def declared(path: str, method: str = "get") -> set[str]:
        return set(paths["/registry" + path][method]["responses"])

    assert declared("/subjects") == declared("/config") == declared("/schemas/types") == {"200"}
    assert declared("/subjects/{subject}/versions") == declared("/schemas/ids/{schema_id}") == {"200", "404"}
    assert declared("/subjects/{subject}/versions/{version}") == {"200", "404", "422"}
    assert declared("/subjects/{subject}/versions", "post") == {"200", "400", "408", "413", "422"}
    assert declared("/subjects/{subject}", "post") == {"200", "400", "404", "408", "413", "422"}
    ok = paths["/registry/subjects/{subject}/versions/{version}"]["get"]["responses"]["200"]["content"][CT]["schema"]
    assert ok["$ref"] == "#/components/schemas/SchemaObject"
    error = paths["/registry/subjects/{subject}/versions"]["get"]["responses"]["404"]["content"][CT]["schema"]
    assert error["$ref"] == "#/components/schemas/RegistryError"

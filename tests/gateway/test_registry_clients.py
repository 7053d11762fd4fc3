"""Acceptance: two registry clients nobody here wrote drive the gateway's /registry through every method they offer.

confluent-kafka's ``SchemaRegistryClient`` and python-schema-registry-client's (sync) ``SchemaRegistryClient``
against a running gateway (ServerThread): every read method answers what hub/schemas/registry.json holds, the
compatibility test gives the hub's verdict, and every write method is refused as a read-only Confluent registry
refuses it (422, error code 42205) — the clients see Confluent's error code, never "SR code None".
"""

from __future__ import annotations

import json

import httpx
import pytest
from avro_samples import DOSSIER, schema_text
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry.schema_registry_client import ServerConfig
from schema_registry.client import SchemaRegistryClient as PySchemaRegistryClient
from schema_registry.client import schema as py_schema
from schema_registry.client.errors import ClientError

from hub.gateway.server import ServerThread

SUBJECTS = ["feed.dossier.v1-value", "feed.document.v1-value", "feed.kpi.commune.v1-value", "feed.directive.v1-value",
            "feed.freshness.v1-value", "feed.target.v1-value", "feed.target.progress.v1-value"]
V2 = schema_text("DossierEvent.v2.avsc")
V3 = schema_text("DossierEvent.v3.avsc")
_raw = json.loads(V3)
_raw["fields"].append({"name": "extra_code", "type": "string", "doc": "a new field without a default"})
INCOMPATIBLE = json.dumps(_raw)  # new readers could not read any earlier version's data
_raw = json.loads(V3)
_raw["doc"] = "the same record, another doc: a schema the lock does not have"
NEW_COMPATIBLE = json.dumps(_raw)


@pytest.fixture
def registry_url(make_settings):
    with ServerThread(make_settings()) as srv:
        yield f"{srv.url}/registry"


def _refused(call) -> SchemaRegistryError:
    with pytest.raises(SchemaRegistryError) as caught:
        call()
    return caught.value


def test_confluent_kafka_client_reads(registry_url):
    """Every read method of confluent_kafka.schema_registry.SchemaRegistryClient."""
    sr = SchemaRegistryClient({"url": registry_url, "max.retries": 0})
    assert sr.get_subjects() == SUBJECTS
    assert sr.get_subjects(subject_prefix="feed.target") == ["feed.target.v1-value", "feed.target.progress.v1-value"]
    assert sr.get_subjects(offset=5, limit=1) == ["feed.target.v1-value"]
    assert sr.get_versions(DOSSIER) == [1, 2, 3]
    v2 = sr.get_version(DOSSIER, 2)
    assert (v2.subject, v2.version, v2.schema_id) == (DOSSIER, 2, 2)
    assert json.loads(v2.schema.schema_str) == json.loads(V2)
    latest = sr.get_latest_version(DOSSIER)
    assert (latest.version, latest.schema_id, latest.schema.schema_type) == (3, 6, "AVRO")
    assert sr.get_version(DOSSIER, "latest").schema_id == 6
    assert sr.get_latest_with_metadata(DOSSIER, {}).schema_id == 6
    assert _refused(lambda: sr.get_latest_with_metadata(DOSSIER, {"owner": "x"})).error_code == 40403
    assert sr.get_referenced_by(DOSSIER, 1) == []
    assert json.loads(sr.get_schema(6).schema_str) == json.loads(V3)
    assert sr.get_schema_types() == ["AVRO"]
    assert sr.get_subjects_by_schema_id(7) == ["feed.document.v1-value"]
    assert [(p.subject, p.version) for p in sr.get_schema_versions(2)] == [(DOSSIER, 2)]
    found = sr.lookup_schema(DOSSIER, Schema(json.dumps(json.loads(V2), indent=1), "AVRO"))
    assert (found.subject, found.version, found.schema_id) == (DOSSIER, 2, 2)
    assert sr.register_schema(DOSSIER, Schema(V3, "AVRO")) == 6  # already there: its id (auto.register.schemas)
    assert sr.get_compatibility() == "FULL_TRANSITIVE"
    assert sr.get_compatibility(DOSSIER) == "FULL_TRANSITIVE"
    assert sr.get_config().compatibility_level.value == "FULL_TRANSITIVE"
    assert sr.get_config(DOSSIER).compatibility_level.value == "FULL_TRANSITIVE"
    assert sr.get_global_mode() == "READONLY"
    assert sr.get_mode(DOSSIER) == "READONLY"
    assert sr.get_contexts() == ["."]
    # errors carry Confluent's codes
    assert _refused(lambda: sr.get_versions("nope-value")).error_code == 40401
    assert _refused(lambda: sr.get_version(DOSSIER, 9)).error_code == 40402
    assert _refused(lambda: sr.get_schema(999)).error_code == 40403
    assert _refused(lambda: sr.lookup_schema(DOSSIER, Schema(NEW_COMPATIBLE, "AVRO"))).error_code == 40403
    assert _refused(lambda: sr.get_schema_by_guid("0f3e5c1a-0000-4000-8000-000000000000")).error_code == 40403
    unknown = _refused(lambda: sr.get_associations_by_resource_name("feed.dossier.v1", "-"))
    assert (unknown.http_status_code, unknown.error_code) == (404, 404)  # not served, in Confluent's format


def test_confluent_kafka_client_compatibility(registry_url):
    """test_compatibility (one version) and test_compatibility_all_versions: the hub's verdict."""
    sr = SchemaRegistryClient({"url": registry_url, "max.retries": 0})
    assert sr.test_compatibility(DOSSIER, Schema(V3, "AVRO")) is True
    assert sr.test_compatibility(DOSSIER, Schema(NEW_COMPATIBLE, "AVRO"), version=1) is True
    assert sr.test_compatibility(DOSSIER, Schema(INCOMPATIBLE, "AVRO")) is False
    assert sr.test_compatibility(DOSSIER, Schema(INCOMPATIBLE, "AVRO"), version=1, verbose=True) is False
    assert sr.test_compatibility_all_versions(DOSSIER, Schema(NEW_COMPATIBLE, "AVRO")) is True
    assert sr.test_compatibility_all_versions(DOSSIER, Schema(INCOMPATIBLE, "AVRO")) is False
    assert sr.test_compatibility("brand.new-value", Schema(INCOMPATIBLE, "AVRO")) is True  # nothing to break
    assert _refused(lambda: sr.test_compatibility(DOSSIER, Schema('{"type": "nope"}', "AVRO"))).error_code == 42201
    assert _refused(lambda: sr.test_compatibility(DOSSIER, Schema(V3, "AVRO"), version=7)).error_code == 40402


def test_confluent_kafka_client_writes_are_refused(registry_url):
    """Every write method: 422 with 42205, and the registry unchanged afterwards."""
    sr = SchemaRegistryClient({"url": registry_url, "max.retries": 0})
    writes = {
        "register_schema new": lambda: sr.register_schema(DOSSIER, Schema(NEW_COMPATIBLE, "AVRO")),
        "register_schema RecordNameStrategy": lambda: sr.register_schema("vn.gov.hub.DossierEvent",
                                                                         Schema(V3, "AVRO")),
        "register_schema_full_response": lambda: sr.register_schema_full_response(DOSSIER,
                                                                                  Schema(INCOMPATIBLE, "AVRO")),
        "delete_subject": lambda: sr.delete_subject(DOSSIER),
        "delete_subject permanent": lambda: sr.delete_subject(DOSSIER, permanent=True),
        "delete_version": lambda: sr.delete_version(DOSSIER, 3),
        "delete_version permanent": lambda: sr.delete_version(DOSSIER, 1, permanent=True),
        "set_compatibility global": lambda: sr.set_compatibility(level="NONE"),
        "set_compatibility subject": lambda: sr.set_compatibility(DOSSIER, "NONE"),
        "set_config global": lambda: sr.set_config(config=ServerConfig(compatibility_group="x")),
        "set_config subject": lambda: sr.set_config(DOSSIER, ServerConfig(compatibility_group="application.version")),
        "delete_config global": lambda: sr.delete_config(),
        "delete_config subject": lambda: sr.delete_config(DOSSIER),
        "update_mode": lambda: sr.update_mode(DOSSIER, "READWRITE"),
        "delete_mode": lambda: sr.delete_mode(DOSSIER),
        "update_global_mode": lambda: sr.update_global_mode("READWRITE", force=True),
    }
    for name, call in writes.items():
        refused = _refused(call)
        assert (refused.http_status_code, refused.error_code) == (422, 42205), name
        assert "is in read-only mode" in refused.error_message, name
    sr.clear_caches()
    assert sr.get_versions(DOSSIER) == [1, 2, 3]
    assert sr.get_compatibility() == "FULL_TRANSITIVE" and sr.get_global_mode() == "READONLY"


def test_python_schema_registry_client(registry_url):
    """Every method of python-schema-registry-client's sync client: reads answer, writes are refused (42205)."""
    sr = PySchemaRegistryClient(url=registry_url)
    assert sr.get_subjects() == SUBJECTS
    assert sr.get_versions(DOSSIER) == [1, 2, 3]
    assert sr.get_versions("nope-value") == []  # the client's answer to 40401
    v2 = sr.get_schema(DOSSIER, 2)
    assert (v2.subject, v2.version, v2.schema_id) == (DOSSIER, 2, 2)
    assert v2.schema.raw_schema == json.loads(V2)
    assert sr.get_schema(DOSSIER).schema_id == 6  # latest
    assert sr.get_schema(DOSSIER, 9) is None
    assert sr.get_by_id(7).raw_schema == json.loads(schema_text("DocumentEvent.v2.avsc"))
    assert sr.get_by_id(999) is None
    assert [(p.subject, p.version) for p in sr.get_schema_subject_versions(1)] == [(DOSSIER, 1)]
    found = sr.check_version(DOSSIER, py_schema.AvroSchema(json.loads(V2)))
    assert (found.schema_id, found.version) == (2, 2)
    assert sr.check_version(DOSSIER, py_schema.AvroSchema(json.loads(NEW_COMPATIBLE))) is None
    assert sr.register(DOSSIER, py_schema.AvroSchema(json.loads(V3))) == 6  # already there: its id
    assert sr.get_compatibility() == "FULL_TRANSITIVE"  # asks GET config/ (trailing slash)
    assert sr.get_compatibility(DOSSIER) == "FULL_TRANSITIVE"
    assert sr.test_compatibility(DOSSIER, V3) is True
    assert sr.test_compatibility(DOSSIER, NEW_COMPATIBLE, version=1) is True
    assert sr.test_compatibility(DOSSIER, INCOMPATIBLE) is False
    verbose = sr.test_compatibility(DOSSIER, INCOMPATIBLE, version=2, verbose=True)
    assert verbose["is_compatible"] is False
    assert verbose["messages"][0].startswith("the new schema cannot read version 2 (id 2): field 'extra_code' has "
                                             "no default")
    # writes: the client raises ClientError carrying Confluent's body, or (delete_version) answers None
    for name, call in {
        "register": lambda: sr.register(DOSSIER, py_schema.AvroSchema(json.loads(INCOMPATIBLE))),
        "register RecordNameStrategy": lambda: sr.register("vn.gov.hub.DossierEvent", V3),
        "delete_subject": lambda: sr.delete_subject(DOSSIER),
        "update_compatibility global": lambda: sr.update_compatibility("NONE"),
        "update_compatibility subject": lambda: sr.update_compatibility("BACKWARD", DOSSIER),
    }.items():
        with pytest.raises(ClientError) as caught:
            call()
        assert (caught.value.http_code, caught.value.server_traceback["error_code"]) == (422, 42205), name
    assert sr.delete_version(DOSSIER, 3) is None  # the client swallows 4xx here: the version is still served
    assert sr.get_versions(DOSSIER) == [1, 2, 3]


def test_unknown_routes_and_methods_over_http(registry_url):
    """Through the whole gateway (its middlewares and error handlers): 404 and 405 in Confluent's format, and
    OPTIONS naming every method served."""
    with httpx.Client(timeout=30) as http:
        r = http.get(f"{registry_url}/exporters")
        assert (r.status_code, r.json()) == (404, {"error_code": 404, "message": "HTTP 404 Not Found"})
        assert r.headers["content-type"] == "application/vnd.schemaregistry.v1+json"
        r = http.put(f"{registry_url}/subjects/{DOSSIER}/versions", json={"schema": V3})
        assert (r.status_code, r.json()["error_code"], r.headers["allow"]) == (405, 405, "GET, OPTIONS, POST")
        r = http.options(f"{registry_url}/subjects/{DOSSIER}/versions")
        assert (r.status_code, r.headers["allow"]) == (204, "GET, OPTIONS, POST")

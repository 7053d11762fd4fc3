"""Confluent-compatible schema-registry API (read-only) over the committed schema lock.

Standard Kafka tooling (confluent-kafka's SchemaRegistryClient, python-schema-registry-client, Kafka Connect's
AvroConverter, the Maven plugin, kcat, Kafka UI...) points at ``/registry``: every read call of Confluent's REST API
that they make is answered here, the compatibility test (hub.read.registry_compat) by the hub's own rules
(hub.contract.registry). Schemas change only through ``hub/schemas/registry.json`` and a redeploy, so the registry
is in mode READONLY and every write is refused the way Confluent refuses it (422, 42205;
hub.read.registry_writes) — except re-registering a schema that is already under the subject, answered with its
id (serializers with ``auto.register.schemas`` ask that before their first write). Every error under ``/registry``,
unknown routes and methods included, is Confluent's ``{"error_code": int, "message": str}``. Query parameters a
read-only registry without deleted schemas can ignore (``deleted``, ``format``, ``normalize``...) are ignored.

The POST routes (lookup, register, compatibility) read their body under a bound of their own,
HUB_GATEWAY_REGISTRY_MAX_BODY_BYTES (256 KiB; the hub's schemas are under 32 KiB), and the body deadline, bound
the posted schema's shape and parse it on a thread of its own (hub.read.registry_core): a key-less client
posting megabytes of schema cannot stall ingest, the dashboard or /healthz. They need no key, like every route
here: they disclose nothing beyond what ``GET /schemas/ids/{id}`` serves to any subscriber's tooling, and they
change nothing.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Request

from hub.contract import codec
from hub.errors import SchemaError
from hub.read import registry_compat, registry_writes
from hub.read.registry_core import (
    CONTEXT,
    MAX_SCHEMA_DEPTH,
    MAX_SCHEMA_NODES,
    MEDIA_TYPE,
    POSTED,
    SCHEMA_BODY,
    WORKER,
    CompatibilityLevel,
    Empty,
    Mode,
    RegisteredId,
    RegistryError,
    RegistryJSON,
    SchemaObject,
    SchemaText,
    SubjectVersion,
    Version,
    answers,
    canonical,
    describe,
    error,
    flag,
    page,
    parse_posted,
    pick,
    posted_text,
    read_only,
    read_posted,
    schemas,
    subject_not_found,
    versions,
)

__all__ = ["MAX_SCHEMA_DEPTH", "MAX_SCHEMA_NODES", "MEDIA_TYPE", "RegistryError", "RegistryJSON", "router"]

router = APIRouter(tags=["registry"], default_response_class=RegistryJSON)
# An Avro schema itself is a JSON object, array (a union) or string (a primitive type's name).
AVRO_SCHEMA = dict[str, Any] | list[Any] | str
READONLY = {"mode": "READONLY"}


@router.get("/", responses=answers(Empty))
def root() -> dict[str, Any]:
    """Confluent answers the root with an empty object (a liveness probe for clients)."""
    return {}


@router.get("/subjects", responses=answers(list[str]))
def list_subjects(request: Request) -> list[str]:
    """Subject names (TopicNameStrategy: ``<topic>-value``); ``subjectPrefix``, ``offset``, ``limit`` as in
    Confluent (``deletedOnly=true``: none, nothing is ever deleted)."""
    if flag(request, "deletedOnly"):
        return []
    prefix = request.query_params.get("subjectPrefix", "")
    return page([s for s in schemas(request).subjects if s.startswith(prefix)], request)


@router.get("/subjects/{subject}/versions", responses=answers(list[int], 404))
def list_versions(subject: str, request: Request) -> Any:
    """Version numbers registered under a subject (``offset``, ``limit``)."""
    found = versions(request, subject)
    if found is None:
        return subject_not_found(subject)
    return [] if flag(request, "deletedOnly") else page([sv.version for sv in found], request)


@router.get("/subjects/{subject}/versions/{version}", responses=answers(SchemaObject, 404, 422))
def get_version(subject: str, version: Version, request: Request) -> Any:
    """One version (a number, ``latest`` or ``-1``): subject, version, id and schema text."""
    found = versions(request, subject)
    if found is None:
        return subject_not_found(subject)
    sv = pick(found, version)
    return sv if isinstance(sv, RegistryJSON) else describe(subject, sv)


@router.get("/subjects/{subject}/versions/{version}/schema", responses=answers(AVRO_SCHEMA, 404, 422))
def get_version_schema(subject: str, version: Version, request: Request) -> Any:
    """The schema of one version itself, not wrapped in a string."""
    found = versions(request, subject)
    if found is None:
        return subject_not_found(subject)
    sv = pick(found, version)
    return sv if isinstance(sv, RegistryJSON) else json.loads(sv.text)


@router.get("/subjects/{subject}/versions/{version}/referencedby", responses=answers(list[int], 404, 422))
def referenced_by(subject: str, version: Version, request: Request) -> Any:
    """Ids of schemas referencing this one: none, the hub's schemas are self-contained."""
    found = versions(request, subject)
    if found is None:
        return subject_not_found(subject)
    sv = pick(found, version)
    return sv if isinstance(sv, RegistryJSON) else []


@router.get("/subjects/{subject}/metadata", responses=answers(SchemaObject, 404))
def latest_with_metadata(subject: str, request: Request) -> Any:
    """The latest version whose metadata has every ``key``/``value`` pair asked: the hub's schemas carry no
    metadata (data contracts are not served), so the latest version when none is asked, else 40403."""
    found = versions(request, subject)
    if found is None:
        return subject_not_found(subject)
    if request.query_params.getlist("key"):
        return error(404, 40403, "Schema not found")
    return describe(subject, found[-1])


@router.get("/schemas", responses=answers(list[SchemaObject]))
def list_schemas(request: Request) -> list[dict[str, Any]]:
    """Every version of every subject (``subjectPrefix``, ``latestOnly``, ``offset``, ``limit``)."""
    prefix, latest_only = request.query_params.get("subjectPrefix", ""), flag(request, "latestOnly")
    out = [describe(subject, sv) for subject, found in schemas(request).subjects.items() if subject.startswith(prefix)
           for sv in (found[-1:] if latest_only else found)]
    return page(out, request)


def _schema_by_id(request: Request, schema_id: str) -> codec.SchemaVersion | RegistryJSON:
    try:
        return schemas(request).get(int(schema_id))
    except (ValueError, SchemaError):
        return error(404, 40403, f"Schema {schema_id} not found")


@router.get("/schemas/ids/{schema_id}", responses=answers(SchemaText, 404))
def get_schema(schema_id: str, request: Request) -> Any:
    """The schema text with this id (what deserializers fetch for the id in each record)."""
    sv = _schema_by_id(request, schema_id)
    return sv if isinstance(sv, RegistryJSON) else {"schema": sv.text}


@router.get("/schemas/ids/{schema_id}/schema", responses=answers(AVRO_SCHEMA, 404))
def get_schema_raw(schema_id: str, request: Request) -> Any:
    """The schema with this id itself, not wrapped in a string."""
    sv = _schema_by_id(request, schema_id)
    return sv if isinstance(sv, RegistryJSON) else json.loads(sv.text)


@router.get("/schemas/ids/{schema_id}/versions", responses=answers(list[SubjectVersion], 404))
def get_schema_versions(schema_id: str, request: Request) -> Any:
    """Subject-version pairs using this id."""
    sv = _schema_by_id(request, schema_id)
    return sv if isinstance(sv, RegistryJSON) else page([{"subject": sv.subject, "version": sv.version}], request)


@router.get("/schemas/ids/{schema_id}/subjects", responses=answers(list[str], 404))
def get_schema_subjects(schema_id: str, request: Request) -> Any:
    """Subjects using this id."""
    sv = _schema_by_id(request, schema_id)
    return sv if isinstance(sv, RegistryJSON) else page([sv.subject], request)


@router.get("/schemas/guids/{guid}", responses={404: answers(Empty, 404)[404]})
def get_schema_by_guid(guid: str) -> Any:
    """Schemas are known by id only: the hub's framing carries the id (magic byte 0), never a guid."""
    return error(404, 40403, f"Schema {guid[:100]} not found")


@router.get("/schemas/types", responses=answers(list[str]))
def schema_types() -> list[str]:
    """Schema formats this registry serves."""
    return ["AVRO"]


@router.get("/config", responses=answers(CompatibilityLevel))
def config() -> dict[str, str]:
    """Global compatibility level (what ``hub schemas check`` enforces in CI)."""
    return {"compatibilityLevel": registry_compat.level(None)}


# python-schema-registry-client asks ``config/{subject}`` with no subject for the global level
router.add_api_route("/config/", config, methods=["GET"], include_in_schema=False)


@router.get("/config/{subject}", responses=answers(CompatibilityLevel, 404))
def subject_config(subject: str, request: Request) -> Any:
    """Compatibility level of a subject."""
    if versions(request, subject) is None:
        return subject_not_found(subject)
    return {"compatibilityLevel": registry_compat.level(subject)}


@router.get("/mode", responses=answers(Mode))
def mode() -> dict[str, str]:
    """The registry is read-only: schemas change through the committed lock file."""
    return READONLY


@router.get("/mode/{subject}", responses=answers(Mode))
def subject_mode(subject: str) -> dict[str, str]:
    """Every subject, registered or not, is read-only: writes to any subject are refused (42205)."""
    return READONLY


@router.get("/contexts", responses=answers(list[str]))
def contexts(request: Request) -> list[str]:
    """Only Confluent's default context."""
    return page([CONTEXT], request)


def _match(raw: bytes, found: list[codec.SchemaVersion] | None, subject: str) -> codec.SchemaVersion | RegistryJSON:
    """Everything CPU-bound about a posted schema, run on the registry thread: bounded by the body's size
    (HUB_GATEWAY_REGISTRY_MAX_BODY_BYTES) and the schema's shape, so one request costs bounded CPU."""
    text = posted_text(raw)
    if isinstance(text, RegistryJSON):
        return text
    if found is None:
        return subject_not_found(subject)
    for sv in found:  # byte-identical: what serializers re-post most of the time, no parsing needed
        if text == sv.text:
            return sv
    try:
        posted = parse_posted(text).to_json()
    except SchemaError as exc:
        return error(422, 42201, f"Invalid schema: {str(exc)[:300]}")
    for sv in found:
        if canonical(sv.text) == posted:
            return sv
    return error(404, 40403, "Schema not found")


async def _posted_match(subject: str, request: Request) -> tuple[str, codec.SchemaVersion] | RegistryJSON:
    """The registered version whose schema equals the posted one, or the Confluent error."""
    raw = await read_posted(request)
    if isinstance(raw, RegistryJSON):
        return raw
    found = await asyncio.get_running_loop().run_in_executor(WORKER, _match, raw, versions(request, subject), subject)
    return found if isinstance(found, RegistryJSON) else (subject, found)


@router.post("/subjects/{subject}", openapi_extra=SCHEMA_BODY, responses=answers(SchemaObject, *POSTED, 404))
async def lookup(subject: str, request: Request) -> Any:
    """Is this schema registered under the subject? Its version and id if so."""
    found = await _posted_match(subject, request)
    return found if isinstance(found, RegistryJSON) else describe(*found)


@router.post("/subjects/{subject}/versions", openapi_extra=SCHEMA_BODY, responses=answers(RegisteredId, *POSTED))
async def register(subject: str, request: Request) -> Any:
    """Registering is refused (read-only, 42205) unless the schema is already under the subject: then its id.
    A subject the hub does not have (e.g. RecordNameStrategy's) is refused like any new schema."""
    found = await _posted_match(subject, request)
    if isinstance(found, RegistryJSON):
        if found.status_code == 404:  # 40401 unknown subject, 40403 a schema it does not have
            return read_only(request, subject)
        return found
    return {"id": found[1].id}


router.include_router(registry_compat.router)
router.include_router(registry_writes.router)  # last: its catch-all answers what no route above does

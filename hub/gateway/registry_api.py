"""Confluent-compatible schema-registry API (read-only) over the committed schema lock.

Standard Kafka tooling (confluent-kafka's SchemaRegistryClient, kcat, Kafka UI...) points at
``/registry`` and decodes the feeds. Schemas change only through ``schemas/registry.json`` and a
redeploy, so every write is refused except re-registering a schema that is already there, which
Confluent answers with the existing id (serializers with ``auto.register.schemas`` rely on it).
Unknown query parameters (``subject``, ``format``, ``deleted``...) are ignored, as clients send them.

The two POST routes (lookup and register) read their body under a bound of their own,
HUB_GATEWAY_REGISTRY_MAX_BODY_BYTES (256 KiB; the hub's schemas are under 32 KiB), and the body deadline
(413 / 408 as soon as crossed); the posted schema's shape is bounded (MAX_SCHEMA_NODES, MAX_SCHEMA_DEPTH)
before avro parses it, and all parsing runs on a thread of its own, never on the event loop: a key-less
client posting megabytes of schema cannot stall ingest, the dashboard or /healthz. They need no key, like
every route here: they disclose
nothing beyond what ``GET /schemas/ids/{id}`` serves to any subscriber's tooling, and they change
nothing — register only answers the id of a schema that is already in the lock file (what
serializers with ``auto.register.schemas`` ask before their first write) and refuses anything new
with 42205.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hub import codec, log, registry
from hub.errors import SchemaError
from hub.gateway.limits import CLOSE, BodyRefused, read_body

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
MAX_SCHEMA_NODES = 2000  # JSON objects and arrays in a posted schema (~0.1 s of avro parsing at most)
MAX_SCHEMA_DEPTH = 64
# One thread of its own: a burst of schema posts queues here and never holds up ingest parsing (limits._PARSERS)
# nor the event loop (/healthz, ingest, dashboard).
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-registry")


class RegistryJSON(JSONResponse):
    media_type = MEDIA_TYPE


class RegistryError(BaseModel):
    """Confluent's error body."""

    error_code: int
    message: str
    error: str | None = None  # the hub's reason code, on 408 and 413


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": RegistryError, "description": "Body is not JSON"},
    408: {"model": RegistryError, "description": "The body did not arrive within HUB_GATEWAY_BODY_TIMEOUT_MS"},
    413: {"model": RegistryError, "description": "The body is larger than HUB_GATEWAY_REGISTRY_MAX_BODY_BYTES"},
    404: {"model": RegistryError, "description": "40401 unknown subject, 40402 unknown version, "
                                                 "40403 unknown schema"},
    422: {"model": RegistryError, "description": "42201 invalid schema, 42202 invalid version, "
                                                 "42205 read-only"},
}
router = APIRouter(tags=["registry"], default_response_class=RegistryJSON, responses=_ERRORS)


def _error(status: int, code: int, message: str) -> RegistryJSON:
    return RegistryJSON({"error_code": code, "message": message}, status_code=status)


def _subject_not_found(subject: str) -> RegistryJSON:
    return _error(404, 40401, f"Subject '{subject}' not found.")


def _schemas(request: Request) -> codec.Schemas:
    return codec.load(request.app.state.settings.schemas_dir)


def _versions(request: Request, subject: str) -> list[codec.SchemaVersion] | None:
    """Versions of ``subject``; a subject named after a prefixed topic (TopicNameStrategy on a
    deployment with HUB_TOPIC_PREFIX) resolves to its contract subject."""
    subjects = _schemas(request).subjects
    if subject in subjects:
        return subjects[subject]
    prefix = request.app.state.settings.topic_prefix
    if prefix and subject.startswith(prefix):
        return subjects.get(subject[len(prefix):])
    return None


def _pick(versions: list[codec.SchemaVersion], version: str) -> codec.SchemaVersion | RegistryJSON:
    if version in ("latest", "-1"):
        return versions[-1]
    try:
        number = int(version)
    except ValueError:
        number = 0
    if not 1 <= number <= 2**31 - 1:
        return _error(422, 42202, f"The specified version '{version}' is not a valid version id. Allowed "
                                  "values are between [1, 2^31-1] and the string \"latest\"")
    for sv in versions:
        if sv.version == number:
            return sv
    return _error(404, 40402, f"Version {number} not found.")


def _describe(subject: str, sv: codec.SchemaVersion) -> dict[str, Any]:
    # Confluent omits schemaType for AVRO, its default.
    return {"subject": subject, "version": sv.version, "id": sv.id, "schema": sv.text}


@router.get("/")
def root() -> dict[str, Any]:
    """Confluent answers the root with an empty object (a liveness probe for clients)."""
    return {}


@router.get("/subjects")
def list_subjects(request: Request) -> list[str]:
    """Subject names (TopicNameStrategy: ``<topic>-value``)."""
    return list(_schemas(request).subjects)


@router.get("/subjects/{subject}/versions")
def list_versions(subject: str, request: Request) -> Any:
    """Version numbers registered under a subject."""
    versions = _versions(request, subject)
    if versions is None:
        return _subject_not_found(subject)
    return [sv.version for sv in versions]


@router.get("/subjects/{subject}/versions/{version}")
def get_version(subject: str, version: str, request: Request) -> Any:
    """One version (a number, ``latest`` or ``-1``): subject, version, id and schema text."""
    versions = _versions(request, subject)
    if versions is None:
        return _subject_not_found(subject)
    sv = _pick(versions, version)
    return sv if isinstance(sv, RegistryJSON) else _describe(subject, sv)


@router.get("/subjects/{subject}/versions/{version}/schema")
def get_version_schema(subject: str, version: str, request: Request) -> Any:
    """The schema of one version itself, not wrapped in a string."""
    versions = _versions(request, subject)
    if versions is None:
        return _subject_not_found(subject)
    sv = _pick(versions, version)
    return sv if isinstance(sv, RegistryJSON) else json.loads(sv.text)


@router.get("/subjects/{subject}/versions/{version}/referencedby")
def referenced_by(subject: str, version: str, request: Request) -> Any:
    """Ids of schemas referencing this one: none, the hub's schemas are self-contained."""
    versions = _versions(request, subject)
    if versions is None:
        return _subject_not_found(subject)
    sv = _pick(versions, version)
    return sv if isinstance(sv, RegistryJSON) else []


def _schema_by_id(request: Request, schema_id: str) -> codec.SchemaVersion | RegistryJSON:
    try:
        return _schemas(request).get(int(schema_id))
    except (ValueError, SchemaError):
        return _error(404, 40403, f"Schema {schema_id} not found")


@router.get("/schemas/ids/{schema_id}")
def get_schema(schema_id: str, request: Request) -> Any:
    """The schema text with this id (what deserializers fetch for the id in each record)."""
    sv = _schema_by_id(request, schema_id)
    return sv if isinstance(sv, RegistryJSON) else {"schema": sv.text}


@router.get("/schemas/ids/{schema_id}/schema")
def get_schema_raw(schema_id: str, request: Request) -> Any:
    """The schema with this id itself, not wrapped in a string."""
    sv = _schema_by_id(request, schema_id)
    return sv if isinstance(sv, RegistryJSON) else json.loads(sv.text)


@router.get("/schemas/ids/{schema_id}/versions")
def get_schema_versions(schema_id: str, request: Request) -> Any:
    """Subject-version pairs using this id."""
    sv = _schema_by_id(request, schema_id)
    return sv if isinstance(sv, RegistryJSON) else [{"subject": sv.subject, "version": sv.version}]


@router.get("/schemas/ids/{schema_id}/subjects")
def get_schema_subjects(schema_id: str, request: Request) -> Any:
    """Subjects using this id."""
    sv = _schema_by_id(request, schema_id)
    return sv if isinstance(sv, RegistryJSON) else [sv.subject]


@router.get("/schemas/types")
def schema_types() -> list[str]:
    """Schema formats this registry serves."""
    return ["AVRO"]


@router.get("/config")
def config() -> dict[str, str]:
    """Global compatibility level (what ``hub schemas check`` enforces in CI)."""
    return {"compatibilityLevel": registry.COMPATIBILITY}


@router.get("/config/{subject}")
def subject_config(subject: str, request: Request) -> Any:
    """Compatibility level of a subject: the global one."""
    if _versions(request, subject) is None:
        return _subject_not_found(subject)
    return {"compatibilityLevel": registry.COMPATIBILITY}


@router.get("/mode")
def mode() -> dict[str, str]:
    """The registry is read-only: schemas change through the committed lock file."""
    return {"mode": "READONLY"}


def _bounded_schema(text: str) -> Any:
    """The posted schema as JSON, refused (SchemaError) past MAX_SCHEMA_DEPTH or MAX_SCHEMA_NODES.

    avro's parser is recursive and slows down quadratically with the number of fields (20,000 fields: ~5 s,
    100,000: minutes), so the shape is checked, iteratively, before it ever sees the text.
    """
    try:
        doc = json.loads(text)
    except RecursionError:
        raise SchemaError(f"nested deeper than {MAX_SCHEMA_DEPTH} levels") from None
    except ValueError as exc:
        raise SchemaError(f"not JSON: {str(exc)[:120]}") from None
    stack, nodes = [(doc, 1)], 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            nodes += 1
            if nodes > MAX_SCHEMA_NODES or depth > MAX_SCHEMA_DEPTH:
                raise SchemaError(f"more than {MAX_SCHEMA_NODES} JSON objects and arrays, or nested deeper than "
                                  f"{MAX_SCHEMA_DEPTH} levels (the hub's schemas have under 100, 8 deep)")
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return doc


@lru_cache(maxsize=64)
def _canonical(text: str) -> Any:
    """A registered schema's canonical form (the lock's texts: a handful, parsed once per process)."""
    return registry.parse(text).to_json()


def _match(raw: bytes, versions: list[codec.SchemaVersion] | None, subject: str) -> codec.SchemaVersion | RegistryJSON:
    """Everything CPU-bound about a posted schema, run on the registry thread: bounded by the body's size
    (HUB_GATEWAY_REGISTRY_MAX_BODY_BYTES) and the schema's shape, so one request costs bounded CPU."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return _error(400, 400, "Request body is not valid JSON.")
    if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
        return _error(422, 42201, "Invalid schema: the body must be an object with a 'schema' string.")
    if body.get("schemaType", "AVRO") != "AVRO":
        return _error(422, 42201, f"Invalid schema: schemaType {str(body['schemaType'])[:40]!r} is not "
                                  "supported (only AVRO).")
    if versions is None:
        return _subject_not_found(subject)
    text = body["schema"]
    for sv in versions:  # byte-identical: what serializers re-post most of the time, no parsing needed
        if text == sv.text:
            return sv
    try:
        _bounded_schema(text)
        posted = registry.parse(text).to_json()
    except SchemaError as exc:
        return _error(422, 42201, f"Invalid schema: {str(exc)[:300]}")
    except RecursionError:  # avro's recursive parser, on a schema within the bounds but still too deep for it
        return _error(422, 42201, "Invalid schema: nested too deeply")
    for sv in versions:
        if _canonical(sv.text) == posted:
            return sv
    return _error(404, 40403, "Schema not found")


async def _posted_match(subject: str, request: Request) -> tuple[str, codec.SchemaVersion] | RegistryJSON:
    """The registered version whose schema equals the posted one, or the Confluent error."""
    try:
        raw = await read_body(request, request.app.state.settings.gateway_registry_max_body_bytes,
                              "HUB_GATEWAY_REGISTRY_MAX_BODY_BYTES")
    except BodyRefused as exc:
        return RegistryJSON({"error_code": exc.http_status, "message": exc.message, "error": exc.reason},
                            status_code=exc.http_status, headers=CLOSE)
    versions = _versions(request, subject)
    found = await asyncio.get_running_loop().run_in_executor(_WORKER, _match, raw, versions, subject)
    return found if isinstance(found, RegistryJSON) else (subject, found)


@router.post("/subjects/{subject}")
async def lookup(subject: str, request: Request) -> Any:
    """Is this schema registered under the subject? Its version and id if so."""
    found = await _posted_match(subject, request)
    return found if isinstance(found, RegistryJSON) else _describe(*found)


@router.post("/subjects/{subject}/versions")
async def register(subject: str, request: Request) -> Any:
    """Registering is refused (read-only) unless the schema is already there: then its id."""
    found = await _posted_match(subject, request)
    if isinstance(found, RegistryJSON):
        if found.status_code == 404 and b"40403" in found.body:
            log.get().info("registry_write_refused", reason="read_only", subject=subject)
            return _error(422, 42205, f"Subject '{subject}' is in read-only mode: new schemas are added to "
                                      "schemas/registry.json and deployed.")
        return found
    return {"id": found[1].id}

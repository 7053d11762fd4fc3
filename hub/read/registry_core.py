"""What the registry API's routes share (hub.read.registry_api, registry_compat, registry_writes): Confluent's media
type and error body, subject and version resolution over the committed schema lock, paging, and the bounded
reading and parsing of a posted schema.

Posted bodies are read under HUB_GATEWAY_REGISTRY_MAX_BODY_BYTES and the body deadline (413 / 408 as soon as
crossed); a posted schema's shape is bounded (MAX_SCHEMA_NODES, MAX_SCHEMA_DEPTH) before avro parses it, and all
parsing runs on WORKER, never on the event loop.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Annotated, Any

import avro.schema
from fastapi import Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub import log
from hub.contract import codec, registry
from hub.errors import SchemaError
from hub.gateway.limits import CLOSE, BodyRefused, read_body

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
CONTEXT = "."  # Confluent's default context, the only one the hub has
MAX_SCHEMA_NODES = 2000  # JSON objects and arrays in a posted schema (~0.1 s of avro parsing at most)
MAX_SCHEMA_DEPTH = 64
# One thread of its own: a burst of schema posts queues here and never holds up ingest parsing (limits._PARSERS)
# nor the event loop (/healthz, ingest, dashboard).
WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-registry")


class RegistryJSON(JSONResponse):
    media_type = MEDIA_TYPE


class RegistryError(BaseModel):
    """Confluent's error body."""

    error_code: int
    message: str
    error: str | None = None  # the hub's reason code, on 408 and 413


class SchemaObject(BaseModel):
    """One version of a subject, as Confluent describes it (``schemaType`` omitted for AVRO, its default)."""

    model_config = ConfigDict(populate_by_name=True)
    subject: str
    version: int
    id: int
    schema_: str = Field(alias="schema", description="The Avro schema, as a JSON string")
    schemaType: str | None = None


class SchemaText(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    schema_: str = Field(alias="schema", description="The Avro schema, as a JSON string")


class SubjectVersion(BaseModel):
    subject: str
    version: int


class RegisteredId(BaseModel):
    id: int


class CompatibilityLevel(BaseModel):
    compatibilityLevel: str


class Mode(BaseModel):
    mode: str


class Empty(BaseModel):
    """Confluent's root answer: an empty object."""

    model_config = ConfigDict(extra="forbid")


_ERROR_TEXT = {
    400: "Body is not JSON",
    404: "40401 unknown subject, 40402 unknown version, 40403 unknown schema",
    408: "The body did not arrive within HUB_GATEWAY_BODY_TIMEOUT_MS",
    413: "The body is larger than HUB_GATEWAY_REGISTRY_MAX_BODY_BYTES",
    422: "42201 invalid schema or body, 42202 invalid version, 42205 read-only",
}
# The statuses a posted body can draw before the route looks at it (hub.gateway.limits.read_body, posted_text).
POSTED = (400, 408, 413, 422)


def answers(ok: Any, *statuses: int, ok_text: str = "Successful Response") -> dict[int | str, dict[str, Any]]:
    """A route's ``responses``: its 200 model and exactly the Confluent errors it answers."""
    out: dict[int | str, dict[str, Any]] = {200: {"model": ok, "description": ok_text}}
    for status in sorted(set(statuses)):
        out[status] = {"model": RegistryError, "description": _ERROR_TEXT[status]}
    return out


# What the routes read (``pick``): a version number in [1, 2^31-1], ``latest`` or ``-1``, nothing else (no sign,
# spaces, underscores or non-ASCII digits, which int() would take). Anything else: 42202, as Confluent answers.
VERSION_PATTERN = ("^(latest|-1|[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}"
                   "|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}"
                   "|21474836[0-3][0-9]|214748364[0-7])$")
_VERSION = re.compile(VERSION_PATTERN)
# Declared, not checked by FastAPI (its refusal would be the hub's 400): ``pick`` answers Confluent's 42202.
Version = Annotated[str, Path(description="A version number in [1, 2^31-1], `latest` or `-1` (the latest); "
                                          "anything else: 422, 42202", json_schema_extra={"pattern": VERSION_PATTERN})]


# The body of the POST routes, declared for OpenAPI (the routes read it raw, under their own bound).
_SCHEMA_REQUEST = {
    "type": "object",
    "required": ["schema"],
    "properties": {
        "schema": {"type": "string", "description": "The Avro schema, as a JSON string"},
        "schemaType": {"type": "string", "enum": ["AVRO"], "default": "AVRO"},
        "references": {"type": ["array", "null"], "maxItems": 0, "items": {"type": "object"},
                       "description": "Absent, null or empty: the hub's schemas are self-contained (42201 "
                                      "otherwise)"},
        "metadata": {"type": ["object", "null"], "description": "Ignored (data contracts are not served)"},
        "ruleSet": {"type": ["object", "null"], "description": "Ignored (data contracts are not served)"},
    },
    "example": {"schema": '{"type": "record", "name": "Probe", "namespace": "vn.gov.hub", '
                          '"fields": [{"name": "a", "type": "string", "doc": "a"}]}'},
}
SCHEMA_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    media: {"schema": _SCHEMA_REQUEST} for media in (MEDIA_TYPE, "application/json")}}}


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> RegistryJSON:
    return RegistryJSON({"error_code": code, "message": message}, status_code=status, headers=headers)


def subject_not_found(subject: str) -> RegistryJSON:
    return error(404, 40401, f"Subject '{subject}' not found.")


def read_only(request: Request, subject: str | None) -> RegistryJSON:
    """Confluent's answer to a write on a subject (or, ``None``, the registry) in READONLY mode: 422, 42205."""
    log.get().info("registry_write_refused", reason="read_only", method=request.method,
                   subject=(subject or "")[:200])
    who = f"Subject {subject}" if subject else "The registry"
    return error(422, 42205, f"{who} in context {CONTEXT} is in read-only mode: schemas change only through "
                             "hub/schemas/registry.json and a redeploy.")


def schemas(request: Request) -> codec.Schemas:
    return codec.load(request.app.state.settings.schemas_dir)


def versions(request: Request, subject: str) -> list[codec.SchemaVersion] | None:
    """Versions of ``subject``; a subject named after a prefixed topic (TopicNameStrategy on a
    deployment with HUB_TOPIC_PREFIX) resolves to its contract subject."""
    subjects = schemas(request).subjects
    if subject in subjects:
        return subjects[subject]
    prefix = request.app.state.settings.topic_prefix
    if prefix and subject.startswith(prefix):
        return subjects.get(subject[len(prefix):])
    return None


def invalid_version(version: str) -> RegistryJSON:
    return error(422, 42202, f"The specified version '{version}' is not a valid version id. Allowed "
                             "values are between [1, 2^31-1] and the string \"latest\"")


def pick(found: list[codec.SchemaVersion], version: str) -> codec.SchemaVersion | RegistryJSON:
    """The version named ``latest``, ``-1`` or a number in ``found``, or Confluent's 42202 / 40402."""
    if not _VERSION.fullmatch(version):
        return invalid_version(version[:100])
    if version in ("latest", "-1"):
        return found[-1] if found else error(404, 40402, "Version latest not found.")
    number = int(version)
    for sv in found:
        if sv.version == number:
            return sv
    return error(404, 40402, f"Version {number} not found.")


def describe(subject: str, sv: codec.SchemaVersion) -> dict[str, Any]:
    # Confluent omits schemaType for AVRO, its default.
    return {"subject": subject, "version": sv.version, "id": sv.id, "schema": sv.text}


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter as clients send it (``true``, ``True``: confluent-kafka formats Python bools)."""
    return request.query_params.get(name, "").lower() == "true"


def page(items: list[Any], request: Request) -> list[Any]:
    """Confluent's ``offset`` / ``limit`` paging (a negative or absent limit: everything); unparseable values are
    ignored, like the other unknown parameters clients send."""
    def number(name: str, default: int) -> int:
        try:
            return int(request.query_params.get(name, default))
        except ValueError:
            return default
    offset, limit = max(number("offset", 0), 0), number("limit", -1)
    return items[offset:] if limit < 0 else items[offset:offset + limit]


def bounded_schema(text: str) -> Any:
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


def parse_posted(text: str) -> avro.schema.Schema:
    """A posted schema text, bounded then parsed by avro (SchemaError when it is not a valid one). Run on WORKER."""
    bounded_schema(text)
    try:
        return registry.parse(text)
    except RecursionError:  # avro's recursive parser, on a schema within the bounds but still too deep for it
        raise SchemaError("nested too deeply") from None


@lru_cache(maxsize=64)
def parsed(text: str) -> avro.schema.Schema:
    """A registered schema, parsed (the lock's texts: a handful, parsed once per process)."""
    return registry.parse(text)


@lru_cache(maxsize=64)
def canonical(text: str) -> Any:
    """A registered schema's canonical form."""
    return parsed(text).to_json()


def posted_text(raw: bytes) -> str | RegistryJSON:
    """The ``schema`` string of a posted body, or Confluent's refusal of the body (400, 42201)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return error(400, 400, "Request body is not valid JSON.")
    if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
        return error(422, 42201, "Invalid schema: the body must be an object with a 'schema' string.")
    if body.get("schemaType", "AVRO") != "AVRO":
        return error(422, 42201, f"Invalid schema: schemaType {str(body['schemaType'])[:40]!r} is not "
                                 "supported (only AVRO).")
    for name in ("metadata", "ruleSet"):  # ignored, but as declared: an object or null
        if body.get(name) is not None and not isinstance(body[name], dict):
            return error(422, 42201, f"Invalid schema: '{name}' must be an object.")
    references = body.get("references")
    if references is not None and references != []:
        # Resolving them would mean trusting types from subjects the hub does not have; its own schemas never
        # reference others. Silently ignoring them would compare a different schema than the client meant.
        return error(422, 42201, "Invalid schema: schema references are not supported: the hub's schemas are "
                                 "self-contained (post the schema with its referenced types inlined).")
    return str(body["schema"])


async def read_posted(request: Request) -> bytes | RegistryJSON:
    """The body of a registry POST, or its 413 / 408 refusal (Confluent's body, the hub's reason, connection
    closed: the rest of the body is not read)."""
    try:
        return await read_body(request, request.app.state.settings.gateway_registry_max_body_bytes,
                               "HUB_GATEWAY_REGISTRY_MAX_BODY_BYTES")
    except BodyRefused as exc:
        return RegistryJSON({"error_code": exc.http_status, "message": exc.message, "error": exc.reason},
                            status_code=exc.http_status, headers=CLOSE)

"""``POST /v1/events/{dossier,document,target}``: authenticate, validate, write raw bytes, answer after the ack.

The gateway normalizes every event with the worker's own code (``hub.normalize.normalize``)
before writing, so that a publisher learns at once that an event is invalid (422) or outside its
scope (403) — every record an event yields is checked, not only the first. What it writes is
still the raw bytes, with identity in headers, so the worker remains the single place that
produces canonical records. A batch is all or nothing: one bad element and nothing is written.

Kafka key (a partitioning device only, never routing input): the commune when every record of
the event belongs to one commune, else the source system id. ``hub.commune`` is written only
when the request named the commune explicitly (``X-Hub-Commune``).
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from hub import log
from hub.contract import headers as h
from hub.contract import signatures, topics
from hub.errors import REASONS, Rejected
from hub.gateway.auth import SECURITY, authenticate, log_context
from hub.gateway.limits import off_loop_if_large, read_body
from hub.ingest import bodies
from hub.normalize import Context, Envelope, normalize
from hub.settings import Settings
from hub.systems import PUBLISHER, System, SystemsSnapshot

router = APIRouter(tags=["ingest"])
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_TRACE_ID = re.compile(h.TRACE_ID_PATTERN)  # the worker's ingest rule: a valid X-Trace-Id travels unchanged
_SYSTEMS_REASONS = frozenset({"unknown_organ", "commune_not_in_scope", "unknown_system"})


class AcceptedEvent(BaseModel):
    """One canonical record the accepted request will produce (an event may yield several)."""

    index: int  # position of the raw event in the request (0 for a single object or XML document)
    event_id: str
    source_event_id: str
    trace_id: str
    commune_code: str
    topic: str
    partition: int
    offset: int  # where the raw event was written; records of one raw event share it


class Accepted(BaseModel):
    accepted: list[AcceptedEvent]


# Every reason code the gateway answers is a key of hub.errors.REASONS (Rejected refuses any other): the
# document lists them, so a client can switch on them. Built from REASONS, so a new reason is declared with it.
if TYPE_CHECKING:
    Reason = str  # a type checker cannot follow a Literal built at run time; pydantic reads the one below
else:
    Reason = Literal[tuple(sorted(REASONS))]


class ErrorBody(BaseModel):
    error: Reason = Field(description="The reason code (README, reason table)")
    message: str
    stage: str | None = None
    field: str | None = None
    index: int | None = None
    trace_id: str | None = None


_ERRORS = {
    400: "Malformed body: `malformed_json`, `malformed_xml`, `bad_encoding` or `unknown_format`; or an "
         "X-Hub-Commune / event id that breaks the ingest header rules (`bad_header`)",
    401: "Missing, malformed, unknown or revoked bearer key (`unauthorized`)",
    403: "Commune or kind outside the system's registration (`commune_not_in_scope`, `kind_not_allowed`), "
         "or a reader key (`role_not_allowed`)",
    408: "The body did not arrive within HUB_GATEWAY_BODY_TIMEOUT_MS (`request_timeout`)",
    413: "Body over HUB_GATEWAY_MAX_BODY_BYTES or event over HUB_MAX_PAYLOAD_BYTES (`payload_too_large`), or "
         "too many events (`batch_too_large`)",
    415: "Content type is neither JSON nor XML (`unsupported_media_type`)",
    422: "Well-formed but invalid (`missing_field`, `invalid_value`, `bad_date`, `unknown_commune`, ...)",
    503: "Kafka did not acknowledge within HUB_GATEWAY_DELIVERY_TIMEOUT_MS or the systems list is unreadable "
         "(`unavailable`), or the gateway is at HUB_GATEWAY_MAX_IN_FLIGHT (`overloaded`); nothing was accepted. "
         "Retry-After says when to retry",
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in _ERRORS.items()}

_EXAMPLES = {
    "dossier": {"MaHoSo": "G22.52.23734-250801-0001", "MaTTHC": "1.001612", "TrangThaiHoSo": "2",
                "KenhThucHien": "2", "NgayTiepNhan": "20250801083000", "NgayHenTra": "20250805170000",
                "MaXa": "23734"},
    "target": {"record_type": "PROGRESS_REPORTED", "commune_code": "23734", "year": 2025, "program": "NTM",
               "indicator_code": "VON_DTPT", "unit": "VND", "actual_value": "1.234.567.000", "as_of": "30/06/2025"},
}


def request_body(kind: str) -> dict:
    """OpenAPI requestBody: a JSON object, a JSON array of objects, or (documents) an XML document."""
    obj = {"type": "object", "additionalProperties": True,
           "description": "One event in the chosen format (default dvcqg-json for dossiers, hub-json for "
                          "documents and targets). `event_id` (optional) is the publisher's own id."}
    content: dict = {"application/json": {
        "schema": {"oneOf": [obj, {"type": "array", "items": obj, "minItems": 1}]},
        **({"example": _EXAMPLES[kind]} if kind in _EXAMPLES else {}),
    }}
    if kind == "document":
        xml = {"schema": {"type": "string", "description": "edXML (QCVN 102:2016) or eDoc document"}}
        content["application/xml"] = xml
        content["text/xml"] = xml
    return {"requestBody": {"required": True, "content": content}}


def _check_header_id(source_event_id: str | None, index: int | None) -> None:
    """400 ``bad_header`` for an id the worker would dead-letter as hub.source_event_id (same rule, early)."""
    if source_event_id is None or h.valid_source_event_id(source_event_id):
        return
    exc = Rejected("bad_header", f"the event id (payload event_id or Idempotency-Key / X-Hub-Event-Id) becomes "
                   f"{h.SOURCE_EVENT_ID}: 1-{h.SOURCE_EVENT_ID_MAX} printable ASCII characters without spaces",
                   stage="parse", field=h.SOURCE_EVENT_ID)
    if index is not None:
        exc.index = index
    raise exc


def _commune_header(value: str | None) -> str | None:
    """X-Hub-Commune becomes hub.commune: 400 ``bad_header`` unless it is 5 digits (the worker's rule)."""
    commune = (value or "").strip() or None
    if commune is not None and h.header_problem(h.COMMUNE, commune) is not None:
        raise Rejected("bad_header", "X-Hub-Commune must be 5 digits (a commune code)", stage="parse",
                       field="x-hub-commune")
    return commune


def _trace_id(traceparent: str | None, x_trace_id: str | None) -> str:
    if traceparent and (m := _TRACEPARENT.match(traceparent.strip().lower())):
        return m.group(1)
    if x_trace_id and _TRACE_ID.match(x_trace_id.strip()):
        return x_trace_id.strip()
    return uuid.uuid4().hex


@dataclass(slots=True)
class _Checked:
    raw: bytes
    source_event_id: str | None
    records: list[tuple[str, str, str]]  # (event_id, source_event_id, commune) of each canonical record
    key: bytes


class Validator:
    """A validation context per systems snapshot, built once and reused by every request until the
    follower swaps the snapshot. Its pseudonym key is throw-away: the canonical records are
    discarded, so the gateway never needs the deployment's secret."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._for: SystemsSnapshot | None = None
        self._ctx: Context | None = None

    def context(self, snapshot: SystemsSnapshot) -> Context:
        if snapshot is not self._for or self._ctx is None:
            self._ctx = Context.from_settings(self.settings, organs=snapshot.organs, scope_of=snapshot.scope,
                                              validate_only=True)
            self._for = snapshot
        return self._ctx


def check_all(events: list[bodies.RawEvent], kind: str, fmt: str, system: System, trace_id: str,
              commune_header: str | None, ctx: Context) -> list[_Checked]:
    """Normalize every event as the worker will (same envelope); :class:`Rejected` names the first failure."""
    now = int(time.time() * 1000)
    out = []
    for i, ev in enumerate(events):
        env = Envelope(kind=kind, format=fmt, source_system=system.id, trace_id=trace_id, ingest_time_ms=now,
                       commune_hint=commune_header, source_event_id=ev.source_event_id)
        try:
            records = normalize(ev.raw, env, ctx)
        except Rejected as exc:
            if len(events) > 1:
                exc.index = i
            raise
        communes = {r["commune_code"] for r in records}
        key = next(iter(communes)) if len(communes) == 1 else system.id
        out.append(_Checked(ev.raw, ev.source_event_id,
                            [(r["event_id"], r["source_event_id"], r["commune_code"]) for r in records],
                            key.encode()))
    return out


async def _ingest(kind: str, request: Request, system: System, fmt_query: str | None, fmt_header: str | None,
                  commune: str | None, event_id: str | None, trace_id: str) -> Response:
    state = request.app.state
    settings: Settings = state.settings
    if kind not in system.kinds:
        raise Rejected("kind_not_allowed", f"system {system.id!r} is not registered for {kind} events",
                       stage="auth")
    media = bodies.media_type(request.headers.get("content-type"))
    raw = await read_body(request)
    explicit = (fmt_query or fmt_header or "").strip() or None
    header_id = (event_id or "").strip() or None
    commune_header = _commune_header(commune)

    def check(ctx: Context) -> tuple[str, list[_Checked]]:
        fmt, events = bodies.split(raw, media, kind, explicit_format=explicit,
                                   max_batch=settings.gateway_max_batch, header_id=header_id)
        log_context(request).update(format=fmt)
        return fmt, check_all(events, kind, fmt, system, trace_id, commune_header, ctx)

    try:
        fmt, checked = await off_loop_if_large(len(raw), check, state.validator.context(state.systems.snapshot))
    except Rejected as exc:
        if exc.reason not in _SYSTEMS_REASONS:
            raise
        # An OrganId or a scope onboarded a moment ago may not have reached this gateway yet: re-read the
        # systems list once (shared and rate-limited, like an unknown key) and validate again.
        await state.keys.refresh()
        fmt, checked = await off_loop_if_large(len(raw), check, state.validator.context(state.systems.snapshot))
    topic = settings.topic(topics.INGEST_BY_KIND[kind])
    # Signed with the hash of the key this request authenticated with: the worker verifies gateway
    # records exactly like SDK records (hub.contract.signatures).
    signing_key = bytes.fromhex(system.key_hash)
    items = []
    for i, c in enumerate(checked):
        _check_header_id(c.source_event_id, i if len(checked) > 1 else None)
        hdrs = {h.SOURCE: system.id, h.FORMAT: fmt, h.COMMUNE: commune_header, h.SOURCE_EVENT_ID: c.source_event_id,
                h.TRACE_ID: trace_id}
        hdrs[h.SIGNATURE] = signatures.sign(signing_key, kind, hdrs, c.raw)
        items.append((c.key, c.raw, h.from_dict(hdrs)))
    started = time.perf_counter()
    written = await state.writer.write(topic, items)
    state.metrics.kafka_write.observe(time.perf_counter() - started)
    accepted = [{"index": i, "event_id": eid, "source_event_id": sid, "trace_id": trace_id, "commune_code": code,
                 "topic": w.topic, "partition": w.partition, "offset": w.offset}
                for i, (c, w) in enumerate(zip(checked, written, strict=True)) for eid, sid, code in c.records]
    state.metrics.accepted.labels(kind=kind).inc(len(accepted))
    # One line per request (the decision); the event ids are in the response and on the records.
    single = accepted[0] if len(accepted) == 1 else {}
    log.get().info("gateway_accepted", source_system=system.id, kind=kind, trace_id=trace_id, format=fmt,
                   events=len(checked), records=len(accepted), topic=written[0].topic,
                   partition=written[0].partition, offset=written[0].offset,
                   commune_code=single.get("commune_code"), event_id=single.get("event_id"))
    return Response(orjson.dumps({"accepted": accepted}), status_code=202, media_type="application/json")


_FORMAT_DOC = ("Dialect of the body, e.g. dvcqg-json, hub-json, edxml, edoc-go (default: dvcqg-json for JSON "
               "dossiers, hub-json for JSON documents and targets, detected by namespace for XML)")


# Optional request parameters, read by hand: FastAPI's per-parameter validation cost more than the
# rest of a single-event request. (location, name, max length, description) — also the OpenAPI doc.
_PARAMS = [
    ("query", "format", 64, _FORMAT_DOC),
    ("header", "X-Hub-Format", 64, "Same as ?format="),
    ("header", "X-Hub-Commune", 16, "Commune code (5 digits) for events whose payload carries none; written as "
                                    "the hub.commune header"),
    ("header", "Idempotency-Key", 128, "Your source event id (array elements get #index appended)"),
    ("header", "X-Hub-Event-Id", 128, "= Idempotency-Key"),
    ("header", "traceparent", 128, "W3C trace context: its trace id becomes the event's trace_id"),
    ("header", "X-Trace-Id", 64, "A trace id, if no traceparent"),
]
_OPENAPI_PARAMS = [{"name": name, "in": where, "required": False, "description": doc,
                    "schema": {"type": "string", "maxLength": size}} for where, name, size, doc in _PARAMS]


def _params(request: Request) -> dict[str, str | None]:
    """The optional parameters by lower-case name; longer than documented is 422 invalid_value."""
    out: dict[str, str | None] = {}
    headers, query = request.headers, request.query_params
    for where, name, size, _doc in _PARAMS:
        key = name.lower()
        value = query.get(name) if where == "query" else headers.get(key)
        if value is not None and len(value) > size:
            raise Rejected("invalid_value", f"{where}.{key}: String should have at most {size} characters",
                           stage="parse")
        out[key] = value
    return out


def _route(kind: str):
    async def endpoint(request: Request) -> Response:
        system = await authenticate(request, PUBLISHER)
        # The trace starts as soon as a publisher is known, so that every refusal from here on (a
        # malformed parameter included) names it in its log line and body.
        headers = request.headers
        trace_id = _trace_id(headers.get("traceparent"), headers.get("x-trace-id"))
        log_context(request).update(trace_id=trace_id)
        p = _params(request)
        return await _ingest(kind, request, system, p["format"], p["x-hub-format"], p["x-hub-commune"],
                             p["idempotency-key"] or p["x-hub-event-id"], trace_id)

    endpoint.__name__ = f"post_{kind}_events"
    router.add_api_route(
        f"/v1/events/{kind}", endpoint, methods=["POST"], status_code=202, response_model=Accepted,
        responses=RESPONSES, openapi_extra={**request_body(kind), **SECURITY, "parameters": _OPENAPI_PARAMS},
        summary=f"Publish {kind} events",
        description=f"One {kind} event as a JSON object, a batch as a JSON array"
                    + (", or one edXML / eDoc document as XML" if kind == "document" else "")
                    + ". Answers 202 only after Kafka acknowledged every event; a batch is all or nothing. The "
                    "body lists every canonical record the request will produce, in request order: an event "
                    "that yields several (an edXML directive to N communes) has N entries sharing its `index`, "
                    "topic, partition and offset.")


for _kind in topics.KINDS:
    _route(_kind)

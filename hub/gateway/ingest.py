"""``POST /v1/events/{dossier,document}``: authenticate, validate synchronously, write raw bytes.

The gateway normalizes every event before writing so that a publisher learns at once that an
event is invalid (422) or outside its scope (403); what it writes is still the raw bytes, with
identity in headers, so the worker remains the single place that produces canonical records.
A batch is all or nothing: one bad element and nothing is written.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hub import headers as h
from hub import log, topics
from hub.errors import Rejected, TransientError
from hub.gateway import bodies
from hub.gateway.auth import current_system, log_context
from hub.normalize import Context, Envelope, normalize
from hub.settings import Settings
from hub.systems import System, SystemsRegistry

router = APIRouter(tags=["ingest"])
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_TRACE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SEND_TIMEOUT_S = 30.0


class KafkaWriter:
    """One idempotent producer per app, created on first use (its constructor blocks on bootstrap)."""

    def __init__(self, settings: Settings, *, connect_timeout_s: float = 10.0) -> None:
        self.settings = settings
        self.connect_timeout_ms = int(connect_timeout_s * 1000)
        self._producer = None
        self._lock = threading.Lock()

    def producer(self):
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        with self._lock:
            if self._producer is None:
                try:
                    self._producer = KafkaProducer(
                        bootstrap_servers=self.settings.kafka_bootstrap,
                        client_id=f"{self.settings.app_id}-gateway",
                        acks="all", enable_idempotence=True, linger_ms=2, max_block_ms=10_000,
                        request_timeout_ms=15_000, delivery_timeout_ms=int(SEND_TIMEOUT_S * 1000),
                        bootstrap_timeout_ms=self.connect_timeout_ms,
                        max_request_size=max(1_048_576, self.settings.max_payload_bytes + 65_536))
                except KafkaError as exc:
                    raise TransientError(f"cannot reach Kafka at {self.settings.kafka_bootstrap}: "
                                         f"{exc}") from exc
            return self._producer

    def write(self, topic: str, items: list[tuple[bytes, bytes, h.Headers]]) -> list:
        """Send (key, value, headers) records and wait for every acknowledgement."""
        from kafka.errors import KafkaError

        producer = self.producer()
        deadline = time.monotonic() + SEND_TIMEOUT_S
        try:
            futures = [producer.send(topic, key=k, value=v, headers=hd) for k, v, hd in items]
            return [f.get(timeout=max(0.1, deadline - time.monotonic())) for f in futures]
        except (KafkaError, OSError) as exc:
            raise TransientError(f"Kafka did not acknowledge the write: {type(exc).__name__}: {exc}; nothing "
                                 "is accepted, retry the whole request (events already written are "
                                 "deduplicated by event id)") from exc

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=10)
                self._producer = None


class AcceptedEvent(BaseModel):
    event_id: str
    source_event_id: str
    trace_id: str
    commune_code: str
    topic: str
    partition: int
    offset: int


class Accepted(BaseModel):
    accepted: list[AcceptedEvent]


class ErrorBody(BaseModel):
    error: str
    message: str
    stage: str | None = None
    field: str | None = None
    index: int | None = None
    trace_id: str | None = None


_ERRORS = {
    400: "Malformed body: `malformed_json`, `malformed_xml`, `bad_encoding` or `unknown_format`",
    401: "Missing, malformed, unknown or revoked bearer key (`unauthorized`)",
    403: "Commune or kind outside the system's registration (`commune_not_in_scope`, `kind_not_allowed`)",
    413: "Body or event too large (`payload_too_large`) or too many events (`batch_too_large`)",
    415: "Content type is neither JSON nor XML (`unsupported_media_type`)",
    422: "Well-formed but invalid (`missing_field`, `invalid_value`, `bad_date`, `unknown_commune`, ...)",
    503: "Kafka or the systems registry is unreachable (`unavailable`); nothing was accepted",
}
RESPONSES = {code: {"model": ErrorBody, "description": text} for code, text in _ERRORS.items()}

_DOSSIER_EXAMPLE = {"MaHoSo": "G22.52.23734-250801-0001", "MaTTHC": "1.001612", "TrangThaiHoSo": "2",
                    "KenhThucHien": "2", "NgayTiepNhan": "20250801083000", "NgayHenTra": "20250805170000",
                    "MaXa": "23734"}


def request_body(kind: str) -> dict:
    """OpenAPI requestBody: a JSON object, a JSON array of objects, or (documents) an XML document."""
    obj = {"type": "object", "additionalProperties": True,
           "description": "One event in the chosen format (default dvcqg-json for dossiers, hub-json for "
                          "documents). `event_id` (optional) is the publisher's own id."}
    content: dict = {"application/json": {
        "schema": {"oneOf": [obj, {"type": "array", "items": obj, "minItems": 1}]},
        **({"example": _DOSSIER_EXAMPLE} if kind == "dossier" else {}),
    }}
    if kind == "document":
        xml = {"schema": {"type": "string", "description": "edXML (QCVN 102:2016) or eDoc document"}}
        content["application/xml"] = xml
        content["text/xml"] = xml
    return {"requestBody": {"required": True, "content": content}}


def _trace_id(traceparent: str | None, x_trace_id: str | None) -> str:
    if traceparent and (m := _TRACEPARENT.match(traceparent.strip().lower())):
        return m.group(1)
    if x_trace_id and _TRACE_ID.match(x_trace_id.strip()):
        return x_trace_id.strip()
    return uuid.uuid4().hex


@dataclass
class _Checked:
    raw: bytes
    envelope: Envelope
    commune: str
    event_id: str
    source_event_id: str


def _check_all(events: list[bodies.RawEvent], kind: str, fmt: str, system: System, trace_id: str,
               commune_header: str | None, settings: Settings, reg: SystemsRegistry) -> list[_Checked]:
    # The canonical records are discarded here, so a random pseudonym key is enough: the gateway
    # never needs the deployment's secret.
    ctx = Context.from_settings(settings, organs=reg.organs(), scope_of=reg.scope, validate_only=True)
    # The same hint the worker will see: what was used here must resolve identically there, even if
    # the registration changes between now and then.
    hint = commune_header or (next(iter(system.communes)) if len(system.communes) == 1 else None)
    now = int(time.time() * 1000)
    out = []
    for i, ev in enumerate(events):
        env = Envelope(kind=kind, format=fmt, source_system=system.id, trace_id=trace_id, ingest_time_ms=now,
                       commune_hint=hint, source_event_id=ev.source_event_id)
        try:
            records = normalize(ev.raw, env, ctx)
        except Rejected as exc:
            if len(events) > 1:
                exc.index = i  # type: ignore[attr-defined]
            raise
        first = records[0]
        out.append(_Checked(ev.raw, env, first["commune_code"], first["event_id"], first["source_event_id"]))
    return out


async def _read_body(request: Request, limit: int) -> bytes:
    bodies.check_length(request.headers.get("content-length"), limit)
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:  # a lying or absent Content-Length: stop reading at the bound
            raise Rejected("payload_too_large", f"body exceeds the limit of {limit} bytes", stage="parse")
    return bytes(buf)


async def _ingest(kind: str, request: Request, system: System, fmt_query: str | None, fmt_header: str | None,
                  commune: str | None, event_id: str | None, traceparent: str | None,
                  x_trace_id: str | None) -> JSONResponse:
    app = request.app
    settings: Settings = app.state.settings
    trace_id = _trace_id(traceparent, x_trace_id)
    log_context(request).update(trace_id=trace_id)
    if kind not in system.kinds:
        raise Rejected("kind_not_allowed", f"system {system.id!r} is not registered for {kind} events",
                       stage="auth")
    media = bodies.media_type(request.headers.get("content-type"))
    raw = await _read_body(request, bodies.body_limit(media, settings.max_payload_bytes,
                                                      settings.gateway_max_batch))
    explicit = (fmt_query or fmt_header or "").strip() or None
    header_id = (event_id or "").strip() or None
    fmt, events = bodies.split(raw, media, kind, explicit_format=explicit,
                               max_batch=settings.gateway_max_batch, header_id=header_id)
    log_context(request).update(format=fmt)
    commune_header = (commune or "").strip() or None
    checked = await run_in_threadpool(_check_all, events, kind, fmt, system, trace_id, commune_header,
                                      settings, app.state.registry)
    topic = settings.topic(topics.INGEST_BY_KIND[kind])
    items = []
    for c in checked:
        hdrs = h.from_dict({h.SOURCE: system.id, h.FORMAT: fmt, h.COMMUNE: c.envelope.commune_hint,
                            h.SOURCE_EVENT_ID: c.envelope.source_event_id, h.TRACE_ID: trace_id})
        items.append((c.commune.encode(), c.raw, hdrs))
    started = time.perf_counter()
    metadata = await run_in_threadpool(app.state.writer.write, topic, items)
    app.state.metrics.kafka_write.observe(time.perf_counter() - started)
    app.state.metrics.accepted.labels(kind=kind).inc(len(items))
    logger = log.get()
    accepted = []
    for c, md in zip(checked, metadata, strict=True):
        accepted.append({"event_id": c.event_id, "source_event_id": c.source_event_id, "trace_id": trace_id,
                         "commune_code": c.commune, "topic": md.topic, "partition": md.partition,
                         "offset": md.offset})
        logger.info("gateway_accepted", source_system=system.id, kind=kind, commune_code=c.commune,
                    trace_id=trace_id, event_id=c.event_id, topic=md.topic, partition=md.partition,
                    offset=md.offset, format=fmt)
    return JSONResponse({"accepted": accepted}, status_code=202)


_FORMAT_DOC = ("Dialect of the body, e.g. dvcqg-json, hub-json, edxml, edoc-go (default: dvcqg-json for JSON "
               "dossiers, hub-json for JSON documents, detected by namespace for XML)")


def _route(kind: str):
    async def endpoint(
        request: Request,
        system: Annotated[System, Depends(current_system)],
        format: Annotated[str | None, Query(max_length=64, description=_FORMAT_DOC)] = None,
        x_hub_format: Annotated[str | None, Header(max_length=64, description="Same as ?format=")] = None,
        x_hub_commune: Annotated[str | None, Header(max_length=16, description="Commune code (5 digits) "
                                                    "for events whose payload carries none")] = None,
        idempotency_key: Annotated[str | None, Header(max_length=128, description="The publisher's event id "
                                                      "(array elements get #index appended)")] = None,
        x_hub_event_id: Annotated[str | None, Header(max_length=128, description="= Idempotency-Key")] = None,
        traceparent: Annotated[str | None, Header(max_length=128, description="W3C trace context")] = None,
        x_trace_id: Annotated[str | None, Header(max_length=64, description="If no traceparent")] = None,
    ) -> JSONResponse:
        return await _ingest(kind, request, system, format, x_hub_format, x_hub_commune,
                             idempotency_key or x_hub_event_id, traceparent, x_trace_id)

    endpoint.__name__ = f"post_{kind}_events"
    router.add_api_route(
        f"/v1/events/{kind}", endpoint, methods=["POST"], status_code=202, response_model=Accepted,
        responses=RESPONSES, openapi_extra=request_body(kind), summary=f"Publish {kind} events",
        description=f"One {kind} event as a JSON object, a batch as a JSON array"
                    + (", or one edXML / eDoc document as XML" if kind == "document" else "")
                    + ". Answers 202 only after Kafka acknowledged every event; a batch is all or nothing.")


for _kind in topics.KINDS:
    _route(_kind)

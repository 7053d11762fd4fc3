"""Operations endpoints: ``GET /healthz`` (liveness), ``GET /readyz`` (readiness), ``GET /metrics``."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.ingest.writer import cancel

router = APIRouter(tags=["operations"])


class Metrics:
    """Prometheus metrics of one app, on their own registry (several apps can live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("hub_gateway_requests", "HTTP requests by route template, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.accepted = Counter("hub_gateway_events_accepted", "Events written to ingest topics",
                                ["kind"], registry=self.registry)
        self.rejected = Counter("hub_gateway_events_rejected", "Requests refused, by reason code",
                                ["kind", "reason"], registry=self.registry)
        self.kafka_write = Histogram(
            "hub_gateway_kafka_write_seconds", "First send to last broker acknowledgement of one request",
            registry=self.registry, buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class MetricsMiddleware:
    """Counts every HTTP response by its route template (never the raw path: bounded label values)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(route=route, method=scope["method"], status=str(status)).inc()


class Readiness:
    """Broker state kept by a background check, so that ``/readyz`` answers from memory.

    Every ``interval_s`` the shared producer's client asks a broker for the metadata of the ingest
    topics (not of every topic: on a shared cluster that answer is megabytes), with a deadline;
    the outcome is what ``/readyz`` reports.
    """

    def __init__(self, writer, topics: list[str], *, interval_s: float = 2.0, timeout_s: float = 2.0) -> None:
        self.writer = writer
        self.topics = topics
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.kafka: dict = {"reachable": False, "error": "not checked yet"}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="gateway-readiness")

    async def check(self) -> dict:
        producer = self.writer.producer
        if producer is None:
            self.kafka = {"reachable": False, "error": self.writer.last_error or "connecting"}
            return self.kafka
        from aiokafka.protocol.metadata import MetadataRequest

        try:
            client = producer.client
            nodes = [b.nodeId for b in client.cluster.brokers()]
            if not nodes:
                raise ConnectionError("no broker known")
            answer = await asyncio.wait_for(client.send(nodes[0], MetadataRequest(self.topics)), self.timeout_s)
            missing = sorted(t[1] for t in answer.topics if t[0] != 0)  # (error code, name, ...)
            if missing:
                raise LookupError(f"topics not available: {', '.join(missing)}")
            self.kafka = {"reachable": True, "brokers": len(answer.brokers), "checked_ms": _now_ms()}
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable", reported not raised
            self.kafka = {"reachable": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}",
                          "checked_ms": _now_ms()}
        return self.kafka

    async def _loop(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.interval_s)

    async def close(self) -> None:
        await cancel(self._task)
        self._task = None


def _now_ms() -> int:
    return int(time.time() * 1000)


class Live(BaseModel):
    status: Literal["ok"]
    time_ms: int


class KafkaStatus(BaseModel):
    reachable: bool
    brokers: int | None = None
    error: str | None = None
    checked_ms: int | None = None


class SystemsStatus(BaseModel):
    loaded: bool
    count: int
    last_refresh_ms: int | None = None
    error: str | None = None


class ReadModelStatus(BaseModel):
    caught_up: bool
    rows: int
    last_read_ms: int | None = None
    error: str | None = None


class Ready(BaseModel):
    status: Literal["ok", "unavailable"]
    kafka: KafkaStatus
    systems: SystemsStatus
    read_model: ReadModelStatus
    time_ms: int


@router.get("/healthz", response_model=Live, summary="Liveness: the process serves HTTP",
            description="Never touches Kafka or the systems list, so a broker outage does not make a "
                        "liveness probe restart a healthy gateway. Readiness is `/readyz`.")
async def healthz() -> Response:
    return Response(b'{"status":"ok","time_ms":%d}' % _now_ms(), media_type="application/json")


@router.get("/readyz", response_model=Ready,
            summary="Readiness: Kafka reachable, systems list loaded, read model caught up with the feeds",
            description="Answers from state kept by background checks (every ~2 s), never waiting on Kafka.",
            responses={503: {"model": Ready, "description": "Kafka unreachable, systems list not loaded, or the "
                                                           "read model has not read the KPI, directive and "
                                                           "freshness feeds to their end yet"}})
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    kafka = dict(state.readiness.kafka)
    follower = state.systems
    systems = {"loaded": follower.loaded, "count": len(follower.snapshot.systems),
               "last_refresh_ms": follower.last_ok_ms, "error": follower.last_error}
    read_model = state.read_model.status()
    ok = kafka["reachable"] and follower.loaded and state.writer.ready and read_model["caught_up"]
    body = {"status": "ok" if ok else "unavailable", "kafka": kafka, "systems": systems, "read_model": read_model,
            "time_ms": _now_ms()}
    return JSONResponse(body, status_code=200 if ok else 503, headers=None if ok else {"Retry-After": "5"})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

"""Operations endpoints: ``GET /healthz`` (Kafka reachability) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

import contextlib
import threading
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.settings import Settings

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


class KafkaHealth:
    """A long-lived admin client asked for the cluster description; recreated after a failure."""

    def __init__(self, settings: Settings, timeout_s: float = 5.0) -> None:
        self.settings = settings
        self.timeout_ms = int(timeout_s * 1000)
        self._admin = None
        self._lock = threading.Lock()

    def check(self) -> dict:
        from kafka.admin import KafkaAdminClient

        with self._lock:
            try:
                if self._admin is None:
                    self._admin = KafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap,
                                                   client_id=f"{self.settings.app_id}-gateway-health",
                                                   request_timeout_ms=self.timeout_ms,
                                                   bootstrap_timeout_ms=self.timeout_ms)
                cluster = self._admin.describe_cluster()
                return {"reachable": True, "brokers": len(cluster.get("brokers", []))}
            except Exception as exc:  # noqa: BLE001 - any failure means "not reachable", reported not raised
                self.close_locked()
                return {"reachable": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}

    def close_locked(self) -> None:
        if self._admin is not None:
            with contextlib.suppress(Exception):  # best effort on a broken client
                self._admin.close()
            self._admin = None

    def close(self) -> None:
        with self._lock:
            self.close_locked()


class KafkaStatus(BaseModel):
    reachable: bool
    brokers: int | None = None
    error: str | None = None


class SystemsStatus(BaseModel):
    loaded: bool
    count: int
    last_refresh_ms: int | None = None


class Health(BaseModel):
    status: str
    kafka: KafkaStatus
    systems: SystemsStatus


@router.get("/healthz", response_model=Health, summary="Liveness and Kafka reachability",
            responses={503: {"model": Health, "description": "Kafka is unreachable"}})
async def healthz(request: Request) -> JSONResponse:
    kafka = await run_in_threadpool(request.app.state.kafka_health.check)
    reg = request.app.state.registry
    systems = {"loaded": reg.loaded, "count": len(reg.list()), "last_refresh_ms": reg.last_refresh_ms}
    ok = kafka["reachable"]
    body = {"status": "ok" if ok else "unavailable", "kafka": kafka, "systems": systems,
            "time_ms": int(time.time() * 1000)}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

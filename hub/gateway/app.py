"""The FastAPI application: one router per concern, mounted here, and JSON errors everywhere."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub import clock, log
from hub.contract import topics
from hub.errors import REASONS, Rejected, TransientError
from hub.gateway.limits import CLOSE, BodyRefused
from hub.settings import Settings

_BY_STATUS = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
              415: "unsupported_media_type", 401: "unauthorized", 408: "request_timeout"}
RETRY_AFTER_S = "2"  # a broker outage is usually short; the publisher's retry backs off beyond this


def _kind(request: Request) -> str:
    tail = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    return tail if tail in ("dossier", "document") else "-"


def _rejected_log(request: Request, reason: str, status: int, **extra) -> None:
    ctx = dict(getattr(request.state, "log", None) or {})
    if request.url.path.startswith("/v1/events/"):
        request.app.state.metrics.rejected.labels(kind=_kind(request), reason=reason).inc()
        log.get().info("gateway_rejected", reason=reason, status=status, kind=_kind(request), **ctx, **extra)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Rejected)
    async def rejected(request: Request, exc: Rejected) -> JSONResponse:
        body = exc.as_dict()
        index = getattr(exc, "index", None)
        if index is not None:
            body["index"] = index
        trace_id = (getattr(request.state, "log", None) or {}).get("trace_id")
        if trace_id:  # lets a publisher quote the trace when it asks the operators about a refusal
            body["trace_id"] = trace_id
        headers = {"WWW-Authenticate": 'Bearer realm="hub"'} if exc.http_status == 401 else None
        if isinstance(exc, BodyRefused):  # the rest of the body is not read: this connection is done
            headers = CLOSE
        _rejected_log(request, exc.reason, exc.http_status, **({"index": index} if index is not None else {}))
        return JSONResponse(body, status_code=exc.http_status, headers=headers)

    @app.exception_handler(TransientError)
    async def transient(request: Request, exc: TransientError) -> JSONResponse:
        _rejected_log(request, "unavailable", 503)
        log.get().warning("gateway_unavailable", error=str(exc)[:300],
                          **(getattr(request.state, "log", None) or {}))
        return JSONResponse({"error": "unavailable", "message": str(exc)}, status_code=503,
                            headers={"Retry-After": RETRY_AFTER_S})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A parameter FastAPI itself checked: the hub's 400 bad_parameter, as the read API's own checks answer
        # (and as /openapi.json declares: no route answers FastAPI's 422 "Validation Error").
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ())]
        where = ".".join(loc)
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
        body = {"error": "bad_parameter", "message": message, "stage": "parse"}
        if loc:
            body["field"] = loc[-1]
        _rejected_log(request, "bad_parameter", 400)
        return JSONResponse(body, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.detail, dict):  # a router that shapes its own body (e.g. Confluent's error_code)
            return JSONResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
        reason = _BY_STATUS.get(exc.status_code, "invalid_value" if exc.status_code < 500 else "unavailable")
        return JSONResponse({"error": reason, "message": str(exc.detail)}, status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not a client error: say so in JSON and keep the stack trace in the log.
        log.get().exception("gateway_error", error_class=type(exc).__name__,
                            **(getattr(request.state, "log", None) or {}))
        reason = "internal_error" if "internal_error" in REASONS else "unavailable"
        return JSONResponse({"error": reason, "message": "the gateway failed unexpectedly; nothing was "
                             "accepted"}, status_code=500)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    settings.organ_map()  # a malformed HUB_ORGANS fails at start-up, not as a 500 on every document
    from hub.dashboard import export as dashboard_export
    from hub.dashboard import pages as dashboard
    from hub.dashboard import sessions
    from hub.gateway import docs, ops
    from hub.gateway.auth import KeyCheck
    from hub.gateway.limits import InFlightLimit
    from hub.gateway.ops_listener import OpsSplit
    from hub.ingest import routes as ingest
    from hub.ingest.fast import IngestFastPath
    from hub.ingest.writer import KafkaWriter
    from hub.read import api as read_api
    from hub.read import registry_api
    from hub.read import targets as read_targets
    from hub.read.model import ReadModel
    from hub.systems import SystemsFollower

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Nothing here waits for Kafka beyond HUB_SYSTEMS_REFRESH_TIMEOUT_MS: a broker that is down at
        # start-up is not fatal (/healthz answers, /readyz and writes say 503 until it is back).
        state = app.state
        state.writer.start()
        state.readiness.start()
        state.read_model.start()  # reads the feeds in its own thread: start-up does not wait for it
        await asyncio.to_thread(state.systems.start)
        log.get().info("gateway_started", topic=state.systems.topic, systems=len(state.systems.snapshot.systems),
                       loaded=state.systems.loaded)
        try:
            yield
        finally:
            await state.readiness.close()
            await state.writer.close()
            await asyncio.to_thread(state.systems.stop)
            await asyncio.to_thread(state.read_model.stop)
            users_reader = getattr(state, "users_reader", None)  # made at the first person's request
            if users_reader is not None:
                await asyncio.to_thread(users_reader.close)

    # FastAPI's OpenTelemetry hooks are off: the hub has its own metrics (/metrics) and decision logs, and the
    # hooks' per-request provider lookups cost more than a /healthz answer.
    # docs_url/redoc_url None: FastAPI's pages load unpinned scripts from a CDN; hub.gateway.docs serves /docs
    # from the installed package instead.
    app = FastAPI(title="Commune Interconnection Hub", version="1", lifespan=lifespan, docs_url=None,
                  redoc_url=None, swagger_ui_oauth2_redirect_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
                  description="Ingest for commune systems (publisher keys), the province's KPIs, directive "
                              "reach and freshness (reader keys), Confluent-compatible schema registry (read-only), "
                              "health and metrics. Every error is a JSON body `{\"error\": <reason code>, "
                              "\"message\": ...}`.")
    state = app.state
    state.settings = settings
    state.systems = SystemsFollower(settings)
    state.keys = KeyCheck(state.systems)
    state.read_model = ReadModel(settings)
    state.sessions = sessions.Sessions(settings.session_key, settings.session_hours)
    state.now = clock.from_setting(settings.clock)  # "now" of the read API and dashboard (current periods)
    state.writer = KafkaWriter(settings)
    state.readiness = ops.Readiness(state.writer, [settings.topic(topics.INGEST_BY_KIND[k]) for k in topics.KINDS])
    state.validator = ingest.Validator(settings)
    state.metrics = ops.Metrics()
    # Innermost first: the ingest fast path runs inside the in-flight limit and the metrics.
    app.add_middleware(IngestFastPath, fastapi_app=app, routes=ingest.router.routes)
    app.add_middleware(InFlightLimit, limit=settings.gateway_max_in_flight)
    app.add_middleware(ops.MetricsMiddleware, metrics=state.metrics)  # also counts the 503s above
    app.add_middleware(OpsSplit, ops_port=settings.gateway_ops_port)  # outermost: a wrong-port path is a plain 404
    _install_error_handlers(app)
    app.include_router(ingest.router)
    app.include_router(ops.router)
    app.include_router(registry_api.router, prefix="/registry")
    app.include_router(read_api.router)
    app.include_router(read_targets.router)
    app.include_router(dashboard.router)
    app.include_router(dashboard.directives.router)
    app.include_router(dashboard_export.router)
    docs.mount(app, settings.gateway_docs)
    _customise_openapi(app)
    return app


def _customise_openapi(app: FastAPI) -> None:
    """/openapi.json as the gateway answers: :func:`tidy_openapi` of FastAPI's document."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = tidy_openapi(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema


_NULL = {"type": "null"}


def _validated(param: dict) -> bool:
    """Whether FastAPI itself can refuse this parameter (RequestValidationError, answered 400): a required
    query or header parameter, or one of a type other than string. A path parameter is always there."""
    schema = param.get("schema", {})
    branches = [b for b in schema.get("anyOf", [schema]) if b != _NULL]
    return (param.get("required", False) and param.get("in") != "path") or any(
        set(b) - {"type", "title", "description"} or b.get("type") != "string" for b in branches)


def tidy_openapi(spec: dict) -> dict:
    """FastAPI's document made the contract the gateway keeps.

    - FastAPI's 422 "Validation Error" (``HTTPValidationError``) is dropped from every operation: no route
      answers it (a parameter FastAPI rejects is the hub's 400 ``bad_parameter``, declared instead).
    - A query, path or header parameter's ``anyOf: [X, null]`` becomes X: a URL has no null, an absent
      parameter is how a client says "none"; the route's own keys (``enum``, ``pattern``, an ``integer`` or
      ``boolean`` type) override X's.
    - The bearer scheme is named: the ingest routes check keys themselves (see auth.authenticate).
    """
    from hub.gateway.auth import bearer
    from hub.ingest.routes import ErrorBody

    phantom = "#/components/schemas/HTTPValidationError"
    for operations in spec.get("paths", {}).values():
        for op in operations.values():
            responses = op.get("responses", {})
            schema = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") == phantom:
                del responses["422"]
                # The registry checks its own parameters and answers in Confluent's format (declared per route).
                if "registry" not in op.get("tags", ()) and any(_validated(p) for p in op.get("parameters", [])):
                    responses.setdefault("400", {
                        "description": "A parameter cannot be read (`bad_parameter`)",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
            for param in op.get("parameters", []):
                schema = param.get("schema", {})
                branches = [b for b in schema.get("anyOf", ()) if b != _NULL]
                if len(branches) == 1 and len(schema["anyOf"]) == 2:
                    rest = {k: v for k, v in schema.items() if k != "anyOf"}
                    param["schema"] = {**branches[0], **rest}
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    if phantom not in repr(spec.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema())
    scheme = bearer.model.model_dump(mode="json", by_alias=True, exclude_none=True)
    components.setdefault("securitySchemes", {}).setdefault(bearer.scheme_name, scheme)
    return spec

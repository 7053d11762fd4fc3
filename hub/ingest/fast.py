"""The ingest POSTs served straight from the ASGI scope, ahead of FastAPI's routing.

A single-event POST is the gateway's most frequent request, and FastAPI's route matching,
dependency solving and exception middlewares cost a sizeable share of it (docs/benchmarks.md).
This layer sits inside the metrics and in-flight middlewares and hands ``POST /v1/events/{kind}``
to the very endpoint functions the FastAPI routes declare; those routes stay registered (they are
the OpenAPI description, and what another method or path variant reaches). Errors go through the
application's own exception handlers: status codes, bodies and log lines are the same either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class IngestFastPath:
    def __init__(self, app: ASGIApp, fastapi_app: FastAPI, routes: list) -> None:
        self.app = app
        self._fastapi = fastapi_app
        self._table: dict[str, tuple[APIRoute, Endpoint]] = {
            r.path: (r, r.endpoint) for r in routes if isinstance(r, APIRoute) and "POST" in (r.methods or ())}
        self._paths = frozenset(self._table)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self._paths:
            await self.app(scope, receive, send)
            return
        route, endpoint = self._table[scope["path"]]
        scope["route"] = route  # what the metrics label requests by, as FastAPI's router would set it
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:  # noqa: BLE001 - the application's handlers decide, Exception's included
            response = await self._handler(exc)(request, exc)
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Callable:
        handlers = self._fastapi.exception_handlers
        for cls in type(exc).__mro__:
            if cls in handlers:
                return handlers[cls]
        raise exc

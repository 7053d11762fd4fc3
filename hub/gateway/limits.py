"""What keeps one request from hurting the others: a streamed body bound with a read deadline,
parsing of large bodies off the event loop, and a cap on requests handled at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.errors import Rejected
from hub.ingest.bodies import SMALL_BODY, check_length

T = TypeVar("T")
# Two threads: the machine's cores. A large body costs at most ~24x its size while it is parsed,
# so this also bounds that memory to two bodies at a time.
_PARSERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gateway-parse")
CLOSE = {"Connection": "close"}  # after refusing a body half-read, the connection cannot be reused


class BodyRefused(Rejected):
    """413 or 408 while the body was still arriving: answered with ``Connection: close``."""


async def read_body(request: Request, limit: int | None = None,
                    setting: str = "HUB_GATEWAY_MAX_BODY_BYTES") -> bytes:
    """The request body, refused (413) as soon as it crosses ``limit`` (default HUB_GATEWAY_MAX_BODY_BYTES;
    ``setting`` names where a smaller bound comes from) — whatever Content-Length says, chunked bodies
    included — and (408) when it is not complete within HUB_GATEWAY_BODY_TIMEOUT_MS."""
    settings = request.app.state.settings
    limit = settings.gateway_max_body_bytes if limit is None else min(limit, settings.gateway_max_body_bytes)
    try:
        check_length(request.headers.get("content-length"), limit)
    except Rejected as exc:
        message = exc.message if setting == "HUB_GATEWAY_MAX_BODY_BYTES" else f"{exc.message} ({setting})"
        raise BodyRefused(exc.reason, message, stage="parse") from None
    timeout_s = settings.gateway_body_timeout_ms / 1000
    buf = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                buf += chunk
                if len(buf) > limit:
                    raise BodyRefused("payload_too_large", f"body exceeds the limit of {limit} bytes "
                                      f"({setting})", stage="parse")
    except TimeoutError:
        raise BodyRefused("request_timeout", f"the body did not arrive within {timeout_s:g}s "
                          "(HUB_GATEWAY_BODY_TIMEOUT_MS)", stage="parse") from None
    except ClientDisconnect:  # nobody will read the answer; end the request like any refused body
        raise BodyRefused("request_timeout", "the client closed the connection before its body was complete",
                          stage="parse") from None
    return bytes(buf)


async def off_loop_if_large(size: int, fn: Callable[..., T], *args) -> T:
    """``fn(*args)`` on the event loop for small bodies (cheaper than a thread hop), else on a parser thread."""
    if size <= SMALL_BODY:
        return fn(*args)
    return await asyncio.get_running_loop().run_in_executor(_PARSERS, fn, *args)


class InFlightLimit:
    """At most ``limit`` HTTP requests inside the app at once; the next ones get 503 at once.

    Queueing them instead would only make every client wait longer and hold more memory; a 503
    with Retry-After lets a load balancer or the publisher's retry send it elsewhere or later.
    ``/healthz`` is exempt, so a busy gateway is not mistaken for a dead one.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/healthz":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            body = orjson.dumps({"error": "overloaded", "message": f"the gateway already handles {self.limit} "
                                 "requests (HUB_GATEWAY_MAX_IN_FLIGHT); nothing was accepted, retry later"})
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

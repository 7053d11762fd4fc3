"""The operator listener: ``/metrics`` and ``/docs`` on their own address (``HUB_GATEWAY_OPS_HOST``/``_PORT``).

Metrics name routes, reasons and volumes, and ``/docs`` is a tool for operators: neither belongs on the port
publishers and the internet reach. With ``HUB_GATEWAY_OPS_PORT`` set, one uvicorn server listens on both
sockets (one app, one lifespan, one Kafka producer) and this middleware tells them apart by the local port a
connection arrived on: operator paths answer only there (404 on the public port), and the operator port
answers nothing else but the probes and ``/openapi.json`` (which ``/docs`` loads). With the port unset (the
default) everything is served on the public listener, as before — fine while ``HUB_GATEWAY_HOST`` is a loopback
address, which is why it is the default; the gateway logs a warning when it is not.
"""

from __future__ import annotations

import ipaddress
import socket

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.errors import ConfigError
from hub.settings import Settings

OPS_ONLY = ("/metrics", "/docs")  # and everything under /docs/
ON_BOTH = frozenset({"/healthz", "/readyz", "/openapi.json"})


def is_ops_path(path: str) -> bool:
    return path in OPS_ONLY or path.startswith("/docs/")


class OpsSplit:
    """404 for operator paths on the public port and for public paths on the operator port."""

    def __init__(self, app: ASGIApp, ops_port: int) -> None:
        self.app = app
        self.ops_port = ops_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.ops_port:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        on_ops = (scope.get("server") or (None, None))[1] == self.ops_port
        allowed = (is_ops_path(path) or path in ON_BOTH) if on_ops else not is_ops_path(path)
        if allowed:
            await self.app(scope, receive, send)
            return
        where = "the public listener" if not on_ops else "the operator listener (HUB_GATEWAY_OPS_PORT)"
        body = orjson.dumps({"error": "not_found", "message": f"{path[:100]} is not served on {where}"})
        await send({"type": "http.response.start", "status": 404,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def check(settings: Settings, public_port: int) -> None:
    """The operator port must differ from the public one: the two are told apart by port alone."""
    if settings.gateway_ops_port and settings.gateway_ops_port == public_port:
        raise ConfigError(f"HUB_GATEWAY_OPS_PORT={settings.gateway_ops_port} is the public port; choose another "
                          "port, or 0 to serve /metrics and /docs on the public listener")


def exposed(settings: Settings, host: str) -> bool:
    """Operator paths on a public listener that is not loopback-only (worth a warning at start)."""
    if settings.gateway_ops_port:
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host != "localhost"


def bind(host: str, port: int) -> socket.socket:
    """A bound TCP socket for uvicorn (IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted connections)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock

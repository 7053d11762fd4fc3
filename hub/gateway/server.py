"""Run the gateway with uvicorn: in the foreground (``hub gateway``) or in a background thread (tests).

Every uvicorn/h11 limit is set here explicitly rather than inherited from defaults, and a header
deadline is added (uvicorn has none: a client may otherwise dribble a request's headers forever).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from hub import log
from hub.gateway import ops_listener
from hub.gateway.app import create_app
from hub.settings import Settings

_Fast: type[asyncio.Protocol] | None
try:  # the C parser when it is installed (several times cheaper per request than pure-Python h11)
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    _Fast = HttpToolsProtocol
except ImportError:  # pragma: no cover - depends on the environment
    _Fast = None

MAX_HEADER_BYTES = 32 * 1024  # largest request line + headers; more is 431 (h11 itself: 400)
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this
BACKLOG = 1024
CONNECTIONS_PER_IN_FLIGHT = 16  # open connections allowed per request slot (idle keep-alive ones are cheap)


def _raw_response(status: bytes, body: bytes) -> bytes:
    """A complete JSON response written straight to the socket (no request cycle exists yet)."""
    return (b"HTTP/1.1 %s\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: %d\r\n\r\n%s" % (status, len(body), body))


_LATE = _raw_response(b"408 Request Timeout", b'{"error":"request_timeout","message":"the request headers did not '
                                               b'arrive within HUB_GATEWAY_HEADER_TIMEOUT_MS"}')
_INVALID = _raw_response(b"400 Bad Request", b'{"error":"invalid_value","message":"the request is not valid HTTP/1.1"}')
_TOO_BIG = _raw_response(b"431 Request Header Fields Too Large",
                         b'{"error":"payload_too_large","message":"the request line and headers exceed %d bytes"}'
                         % MAX_HEADER_BYTES)


class _HeadersTooLarge(Exception):
    pass


if TYPE_CHECKING:
    class _UvicornHttp(H11Protocol):
        """What the mixin below uses of its uvicorn base: h11's protocol plus httptools' parser callbacks."""

        def on_message_begin(self) -> None: ...
        def on_url(self, url: bytes) -> None: ...
        def on_header(self, name: bytes, value: bytes) -> None: ...
else:
    _UvicornHttp = object  # at run time the mixin is combined with the real protocol in _protocol()


class HeaderDeadline(_UvicornHttp):
    """Mixed into a uvicorn HTTP protocol: a deadline for a request's headers, from the connection's
    start or the end of the previous response; past it the client gets a JSON 408 and the connection
    closes. (Both of uvicorn's protocols start a new ``cycle`` when a request's headers are complete.)"""

    header_timeout_s = 10.0  # replaced per server by a subclass (see _protocol)
    _header_timer: asyncio.TimerHandle | None = None
    _head_bytes = 0  # bytes received while waiting for a request's headers (h11 bounds this itself)

    def _arm(self) -> None:
        self._disarm()
        self._head_bytes = 0
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn's own
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        super().data_received(data)
        if self.cycle is not before:  # a complete request line and headers arrived
            self._disarm()

    # httptools has no header bound of its own (h11 has h11_max_incomplete_event_size): count here.
    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEADER_BYTES:
            raise _HeadersTooLarge  # the parser stops; uvicorn calls send_400_response

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse, as a JSON body like every other 4xx."""
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_TOO_BIG if self._head_bytes > MAX_HEADER_BYTES else _INVALID)
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
            return  # a request is being answered: its body has its own deadline in the app
        self.transport.write(_LATE)
        self.transport.close()


def _protocol(settings: Settings, fast: bool = True) -> type:
    base = _Fast if fast and _Fast is not None else H11Protocol
    timeout_s = settings.gateway_header_timeout_ms / 1000
    return type("GatewayProtocol", (HeaderDeadline, base), {"header_timeout_s": timeout_s})


def _config(settings: Settings, host: str, port: int) -> uvicorn.Config:
    # log_config=None: uvicorn keeps its hands off logging, so its lines go through hub.log as JSON.
    return uvicorn.Config(
        create_app(settings), host=host, port=port, log_config=None, lifespan="on", server_header=False,
        proxy_headers=False, access_log=False, http=_protocol(settings), loop="auto",
        h11_max_incomplete_event_size=MAX_HEADER_BYTES, timeout_keep_alive=KEEP_ALIVE_S, backlog=BACKLOG,
        limit_concurrency=settings.gateway_max_in_flight * CONNECTIONS_PER_IN_FLIGHT, timeout_graceful_shutdown=10)


def run(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGINT/SIGTERM; with HUB_GATEWAY_OPS_PORT also on the operator listener."""
    host, port = host or settings.gateway_host, port or settings.gateway_port
    ops_listener.check(settings, port)
    if ops_listener.exposed(settings, host):
        log.get().warning("gateway_ops_on_public_listener", host=host, port=port,
                          message="/metrics and /docs are served on a non-loopback address; set "
                                  "HUB_GATEWAY_OPS_PORT to move them to the operator listener")
    server = uvicorn.Server(_config(settings, host, port))
    if not settings.gateway_ops_port:
        server.run()
        return
    sockets = [ops_listener.bind(host, port), ops_listener.bind(settings.gateway_ops_host, settings.gateway_ops_port)]
    log.get().info("gateway_ops_listener", host=settings.gateway_ops_host, port=settings.gateway_ops_port)
    try:
        server.run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()


class ServerThread:
    """The gateway on 127.0.0.1 and a free port, in a daemon thread; ``with`` starts and stops it."""

    def __init__(self, settings: Settings, *, timeout_s: float = 60.0):
        self.settings = settings
        self.timeout_s = timeout_s
        # Binding here (port 0) and handing the socket to uvicorn avoids a pick-then-bind race.
        # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then,
        # and without it Nagle + delayed ACKs add ~40 ms to every response.
        self._sock = ops_listener.bind("127.0.0.1", 0)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._sockets = [self._sock]
        self.ops_url = None  # with HUB_GATEWAY_OPS_PORT: the operator listener's base URL
        if settings.gateway_ops_port:
            ops_listener.check(settings, self.port)
            self._sockets.append(ops_listener.bind(settings.gateway_ops_host, settings.gateway_ops_port))
            self.ops_url = f"http://{settings.gateway_ops_host}:{settings.gateway_ops_port}"
        self.server = uvicorn.Server(_config(settings, "127.0.0.1", self.port))
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": self._sockets},
                                        name=f"gateway-{self.port}", daemon=True)

    @property
    def app(self):
        return self.server.config.app

    def start(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + self.timeout_s
        while not self.server.started:  # set by uvicorn once lifespan start-up ran and it listens
            if not self._thread.is_alive():
                raise RuntimeError("the gateway thread exited during start-up")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"gateway not ready within {self.timeout_s}s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

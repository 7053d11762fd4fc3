"""Run the gateway with uvicorn: in the foreground (``hub gateway``) or in a background thread (tests).

Every uvicorn/h11 limit is set here explicitly rather than inherited from defaults, and a header
deadline is added (uvicorn has none: a client may otherwise dribble a request's headers forever).
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from hub.gateway.app import create_app
from hub.settings import Settings

MAX_HEADER_BYTES = 32 * 1024  # h11: largest request line + headers; more is 400
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this
BACKLOG = 1024
CONNECTIONS_PER_IN_FLIGHT = 16  # open connections allowed per request slot (idle keep-alive ones are cheap)


def _timeout_response() -> bytes:
    body = (b'{"error":"request_timeout","message":"the request headers did not arrive within '
            b'HUB_GATEWAY_HEADER_TIMEOUT_MS"}')
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body))


class HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol with a deadline for a request's headers, from the connection's start or
    the end of the previous response: past it the client gets a JSON 408 and the connection closes."""

    header_timeout_s = 10.0  # replaced per server by a subclass (see _protocol)
    _header_timer = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a complete request line and headers arrived
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
            return  # a request is being answered: its body has its own deadline in the app
        self.transport.write(_timeout_response())
        self.transport.close()


def _protocol(settings: Settings) -> type[HeaderDeadline]:
    return type("GatewayProtocol", (HeaderDeadline,), {"header_timeout_s": settings.gateway_header_timeout_ms / 1000})


def _config(settings: Settings, host: str, port: int) -> uvicorn.Config:
    # log_config=None: uvicorn keeps its hands off logging, so its lines go through hub.log as JSON.
    return uvicorn.Config(
        create_app(settings), host=host, port=port, log_config=None, lifespan="on", server_header=False,
        proxy_headers=False, access_log=False, http=_protocol(settings), loop="auto",
        h11_max_incomplete_event_size=MAX_HEADER_BYTES, timeout_keep_alive=KEEP_ALIVE_S, backlog=BACKLOG,
        limit_concurrency=settings.gateway_max_in_flight * CONNECTIONS_PER_IN_FLIGHT, timeout_graceful_shutdown=10)


def run(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGINT/SIGTERM."""
    uvicorn.Server(_config(settings, host or settings.gateway_host, port or settings.gateway_port)).run()


class ServerThread:
    """The gateway on 127.0.0.1 and a free port, in a daemon thread; ``with`` starts and stops it."""

    def __init__(self, settings: Settings, *, timeout_s: float = 60.0):
        self.settings = settings
        self.timeout_s = timeout_s
        # Binding here (port 0) and handing the socket to uvicorn avoids a pick-then-bind race.
        # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then,
        # and without it Nagle + delayed ACKs add ~40 ms to every response.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(_config(settings, "127.0.0.1", self.port))
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._sock]},
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
        self._sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

"""Run the gateway with uvicorn: in the foreground (``hub gateway``) or in a background thread (tests)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from hub.gateway.app import create_app
from hub.settings import Settings


def _config(settings: Settings, host: str, port: int) -> uvicorn.Config:
    # log_config=None: uvicorn keeps its hands off logging, so its lines go through hub.log as JSON.
    return uvicorn.Config(create_app(settings), host=host, port=port, log_config=None, lifespan="on",
                          server_header=False, proxy_headers=False)


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

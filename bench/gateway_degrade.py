"""How fast the gateway degrades: a broker stopped under it, a stalled body. Prints measured times.

    python -m bench.gateway_degrade            # own broker on free ports, started and stopped here

Measured (not asserted in tests, which check only status codes and bodies):
  * POST while the broker is down: 503 + Retry-After within HUB_GATEWAY_DELIVERY_TIMEOUT_MS + 1 s;
  * GET /healthz while the broker is down: within 100 ms;
  * a body that stalls: 408 within HUB_GATEWAY_BODY_TIMEOUT_MS (+ scheduling slack).

``OwnBroker`` is also what the fault-injection tests use: a single-node broker from
ops/kafka/kafka.sh with its own HUB_KAFKA_HOME and ports, never the shared one.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

from hub import systems
from hub.contract import topics
from hub.settings import ROOT, Settings
from hub.testing import KAFKA_SH, free_port, wait_for

DOSSIER = {"MaHoSo": "D-1", "TrangThaiHoSo": "2", "MaXa": "23734", "NgayTiepNhan": "20250801083000"}


class OwnBroker:
    """A broker on free ports under ``home`` (jars shared with var/kafka when they are there)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port, self.controller_port = free_port(), free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        shared = ROOT / "var" / "kafka" / "libs"
        home.mkdir(parents=True, exist_ok=True)
        if (shared / ".complete").exists() and not (home / "libs").exists():
            (home / "libs").symlink_to(shared)  # no second Maven download

    def _run(self, action: str) -> None:
        env = {**os.environ, "HUB_KAFKA_HOME": str(self.home), "HUB_KAFKA_PORT": str(self.port),
               "HUB_KAFKA_CONTROLLER_PORT": str(self.controller_port), "HUB_KAFKA_HEAP": "256m"}
        proc = subprocess.run([str(KAFKA_SH), action], env=env, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"kafka.sh {action} failed:\n{proc.stdout}\n{proc.stderr}")

    def up(self) -> OwnBroker:
        self._run("up")
        return self

    def down(self) -> None:
        self._run("down")

    def __enter__(self) -> OwnBroker:
        return self.up()

    def __exit__(self, *exc) -> None:
        self.down()


def _ms(fn) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    r = fn()
    return (time.perf_counter() - start) * 1000, r


def stalled_body_ms(port: int, path: str, key: str) -> tuple[float, int]:
    """Send headers and 10 of 100 declared body bytes; (ms until the answer, its status)."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        start = time.perf_counter()
        sock.sendall(head + b'{"MaHoSo":')
        first = sock.recv(64)
        return (time.perf_counter() - start) * 1000, int(first.split()[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=5, help="requests per measurement while the broker is down")
    args = ap.parse_args(argv)
    from hub.gateway.server import ServerThread

    with tempfile.TemporaryDirectory(prefix="hub-degrade-") as tmp, OwnBroker(Path(tmp) / "kafka") as broker:
        s = Settings.from_env(kafka_bootstrap=broker.bootstrap, topic_prefix=f"deg{uuid.uuid4().hex[:6]}.",
                              dev_mode=True)
        topics.create(s)
        key = systems.add(s, "ialy", ["23734"], ["dossier"])
        auth = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        with ServerThread(s) as srv, httpx.Client(base_url=srv.url, timeout=120) as client:
            wait_for(lambda: client.get("/readyz").status_code == 200, timeout_s=60, what="gateway ready")
            up_ms, r = _ms(lambda: client.post("/v1/events/dossier", content=orjson.dumps(DOSSIER), headers=auth))
            assert r.status_code == 202, r.text
            stall_ms, stall_status = stalled_body_ms(srv.port, "/v1/events/dossier", key)
            broker.down()
            post, health = [], []
            for _ in range(args.samples):
                ms, r = _ms(lambda: client.post("/v1/events/dossier", content=orjson.dumps(DOSSIER), headers=auth))
                post.append((ms, r.status_code, r.headers.get("retry-after")))
                ms, r = _ms(lambda: client.get("/healthz"))
                health.append((ms, r.status_code))
            ready_ms, ready = _ms(lambda: client.get("/readyz"))
            broker.up()  # leave it as found, so the context manager's down() has something to stop
    timeout = s.gateway_delivery_timeout_ms
    print(f"delivery timeout {timeout} ms, body timeout {s.gateway_body_timeout_ms} ms")
    print(f"broker up:    POST 202 in {up_ms:.0f} ms; stalled body -> {stall_status} in {stall_ms:.0f} ms")
    print(f"broker down:  POST -> {sorted({p[1] for p in post})} Retry-After {sorted({str(p[2]) for p in post})}; "
          f"ms median {statistics.median(p[0] for p in post):.0f}, max {max(p[0] for p in post):.0f} "
          f"(bound {timeout + 1000})")
    print(f"broker down:  /healthz -> {sorted({h[1] for h in health})}; ms median "
          f"{statistics.median(h[0] for h in health):.1f}, max {max(h[0] for h in health):.1f} (bound 100)")
    print(f"broker down:  /readyz -> {ready.status_code} in {ready_ms:.1f} ms: {ready.json()['kafka']}")
    ok = (all(p[1] == 503 and p[0] <= timeout + 1000 for p in post) and all(h[0] <= 100 for h in health)
          and stall_status == 408)
    print("within bounds" if ok else "OUT OF BOUNDS")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

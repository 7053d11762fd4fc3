"""``gateway``: the HTTP gateway as its own process under 16 concurrent keep-alive clients (no worker).

The gateway runs as ``python -m hub gateway`` so that its CPU time is read from ``/proc/<pid>/stat``
apart from the load generator's. The load generator is a raw asyncio HTTP/1.1 client (requests
pre-built as bytes, responses parsed by status line and Content-Length), so that it costs a small
fraction of the gateway's CPU on a 2-core machine.

Cases (each for ``--seconds``): 100-event DVCQG batches (events/s accepted: a 202 comes after the
broker acknowledged every write), single events (requests/s), ``GET /healthz`` (the HTTP floor).
Reported: rates, gateway CPU µs per accepted event (per request for /healthz), the load
generator's own CPU, and with ``--profile`` a cProfile run of the gateway: its top entries.

    python -m bench.gateway_bench [--seconds 10] [--clients 16] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pstats
import resource
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from bench import kafka_env
from bench.measure import RATE, Row, Stat
from bench.records import communes, dvcqg
from hub import systems
from hub.contract import topics
from hub.settings import ROOT, Settings
from hub.testing import free_port, subprocess_env, wait_for

SYSTEM = "bench-gateway"
BATCH = 100
CLIENTS = 16
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _request(path: str, host: str, body: bytes | None, key: str) -> bytes:
    if body is None:
        return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _client(port: int, requests: list[bytes], stop_at: float, counts: list[int], offset: int) -> None:
    """One keep-alive connection sending ``requests`` round-robin until ``stop_at``; counts 2xx and others."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.monotonic() < stop_at:
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            if 200 <= status < 300:
                counts[0] += 1
            else:
                counts[1] += 1
                if counts[1] == 1:
                    print(f"bench: gateway answered {status}: {body[:300]!r}", file=sys.stderr)
    finally:
        writer.close()


@dataclass
class Measured:
    ok: int
    failed: int
    seconds: float
    gateway_cpu_s: float
    loadgen_cpu_s: float


def drive(pid: int, port: int, requests: list[bytes], seconds: float, clients: int = CLIENTS) -> Measured:
    """Run ``clients`` connections for ``seconds``; the gateway's and this process's CPU over the run."""
    counts = [0, 0]

    async def main() -> None:
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(_client(port, requests, stop_at, counts, i) for i in range(clients)))

    cpu0, self0, t0 = _cpu_s(pid), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    asyncio.run(main())
    wall, self1, cpu1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF), _cpu_s(pid)
    own = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
    return Measured(counts[0], counts[1], wall, cpu1 - cpu0, own)


class Gateway:
    """``python -m hub gateway`` on a free port (optionally under cProfile), stopped with SIGTERM."""

    def __init__(self, s: Settings, log_path: Path, profile: Path | None = None) -> None:
        import subprocess

        self.port = free_port()
        pre = ["-m", "cProfile", "-o", str(profile)] if profile else []
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        env = {**subprocess_env(s), "HUB_LOG_LEVEL": "WARNING"}
        self.popen = subprocess.Popen([sys.executable, *pre, "-m", "hub", "gateway", "--port", str(self.port)],
                                      env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        wait_for(lambda: self._ready(), timeout_s=60, what="gateway ready")

    def _ready(self) -> bool:
        if self.popen.poll() is not None:
            raise RuntimeError(f"the gateway exited with {self.popen.returncode}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        # SIGINT, not SIGTERM: uvicorn re-raises the signal it caught once it has shut down, and only
        # KeyboardInterrupt lets cProfile write its file on the way out.
        self.popen.send_signal(signal.SIGINT)
        self.popen.wait(timeout=60)
        self._log.close()


def _bodies(codes: list[str], n: int, variants: int = 20) -> list[bytes]:
    """``variants`` distinct request bodies of ``n`` DVCQG events (one object when n == 1)."""
    out = []
    for v in range(variants):
        items = [dvcqg(v * n + j, codes[j % len(codes)], salt="G") for j in range(n)]
        out.append(orjson.dumps(items[0] if n == 1 else items))
    return out


CASES = ("batch", "single", "health")


def measure(seconds: float, clients: int = CLIENTS, profile: Path | None = None,
            log_dir: Path | None = None, bootstrap: str | None = None,
            cases: tuple[str, ...] = CASES) -> dict[str, Measured]:
    """One gateway process, the three cases in a row; returns the measurements by case."""
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    with contextlib.nullcontext(bootstrap) if bootstrap else kafka_env.broker() as bootstrap:
        s = Settings.from_env(kafka_bootstrap=bootstrap, topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
                              dev_mode=True, gateway_max_in_flight=max(64, clients * 2))
        try:
            topics.create(s)
            codes = communes(s.province)
            key = systems.add(s, SYSTEM, codes, ["dossier"])
            gw = Gateway(s, log_dir / "gateway.log", profile)
            try:
                host = f"127.0.0.1:{gw.port}"
                batch = [_request("/v1/events/dossier", host, b, key) for b in _bodies(codes, BATCH)]
                single = [_request("/v1/events/dossier", host, b, key) for b in _bodies(codes, 1, 200)]
                health = [_request("/healthz", host, None, key)]
                drive(gw.popen.pid, gw.port, batch + single, min(2.0, seconds), clients)  # warm-up
                requests = {"batch": batch, "single": single, "health": health}
                return {case: drive(gw.popen.pid, gw.port, requests[case], seconds, clients) for case in cases}
            finally:
                gw.stop()
        finally:
            kafka_env.delete_prefixed(s)


def run(*, quick: bool, runs: int) -> list[Row]:
    """For ``python -m bench``: medians over ``runs`` runs; baseline = GET /healthz on the same process."""
    seconds = 3.0 if quick else 10.0
    got = [measure(seconds) for _ in range(runs)]

    def rate(case: str, per: int = 1) -> Stat:
        return Stat("events/s" if per > 1 else "req/s", [m[case].ok * per / m[case].seconds for m in got])

    def cpu_us(case: str, per: int = 1) -> list[float]:
        return [m[case].gateway_cpu_s * 1e6 / max(1, m[case].ok * per) for m in got]

    extra = {"clients": CLIENTS, "seconds": seconds, "batch_size": BATCH,
             "gateway_cpu_us_per_event_batch": cpu_us("batch", BATCH), "gateway_cpu_us_per_event_single":
             cpu_us("single"), "gateway_cpu_us_per_healthz": cpu_us("health"),
             "failed": {c: [m[c].failed for m in got] for c in ("batch", "single", "health")}}
    return [
        Row("gateway", f"POST {BATCH}-event batches, {CLIENTS} clients", rate("batch", BATCH), "GET /healthz",
            rate("health"), RATE, extra),
        Row("gateway", f"POST 1 event, {CLIENTS} clients", rate("single"), "GET /healthz", rate("health"), RATE),
    ]


def _top(profile: Path, count: int = 25) -> str:
    import io

    out = io.StringIO()
    stats = pstats.Stats(str(profile), stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(count)
    stats.sort_stats("cumulative").print_stats(count)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each case")
    ap.add_argument("--clients", type=int, default=CLIENTS, help="concurrent keep-alive connections")
    ap.add_argument("--profile", action="store_true", help="run the gateway under cProfile; print its top entries")
    ap.add_argument("--case", action="append", choices=CASES, help="run only this case (repeatable)")
    ap.add_argument("--own-broker", action="store_true", help="start a broker of its own on free ports (a shared "
                    "development broker with thousands of test topics is slow to answer metadata)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp, contextlib.ExitStack() as stack:
        bootstrap = None
        if args.own_broker:
            from bench.gateway_degrade import OwnBroker

            bootstrap = stack.enter_context(OwnBroker(Path(tmp) / "kafka")).bootstrap
        profile = Path(tmp) / "gateway.prof" if args.profile else None
        got = measure(args.seconds, args.clients, profile, Path(tmp), bootstrap, tuple(args.case or CASES))
        load = os.getloadavg()
        print(f"{args.clients} keep-alive clients, {args.seconds:g} s per case, load average before end "
              f"{load[0]:.2f}; {os.cpu_count()} cores")
        for case, per, unit in (("batch", BATCH, "events"), ("single", 1, "requests"), ("health", 1, "requests")):
            if case not in got:
                continue
            m = got[case]
            print(f"{case:7} {m.ok * per / m.seconds:10,.0f} {unit}/s accepted  ({m.failed} non-2xx)   gateway CPU "
                  f"{m.gateway_cpu_s * 1e6 / max(1, m.ok * per):7.1f} µs per {unit[:-1]}   "
                  f"({m.gateway_cpu_s / m.seconds:.0%} of a core; load generator {m.loadgen_cpu_s / m.seconds:.0%})")
        if profile is not None:
            print("\ncProfile of the gateway process over the cases run (top by own time):")
            print(_top(profile))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

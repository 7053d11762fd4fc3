"""Chaos: an SDK outbox holds events through a broker outage and drains, its publisher SIGKILLed while forwarding.

Runs its own broker (tests/chaos/broker.py): the shared one is never stopped. Size: 2,000 events
and one kill by default; ``HUB_CHAOS_SCALE=N`` multiplies the events by N and kills the
forwarding publisher N times (at most 10).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from conftest import ROOT

from chaos.broker import LocalBroker
from chaos.checker import check
from hub.contract import topics
from hub.settings import Settings
from hub.testing import read_topic, subprocess_env, wait_for

pytestmark = pytest.mark.integration

SCALE = max(1.0, float(os.environ.get("HUB_CHAOS_SCALE", "1")))
N = int(2000 * SCALE)
KILLS = min(10, int(SCALE))
BATCH = 25  # small forwarding batches: many round trips, so a kill lands while rows are in flight
SYSTEM = "chaos-sdk"
COMMUNES = ["23734", "23728", "23722", "23749", "23767"]

# mode "publish": store N events (a third before the outage gate opens, the rest during the outage)
# and keep forwarding; mode "forward": only forward what the outbox holds. Killed by the test.
_PUBLISHER = """
import pathlib, sys, time
from hub import log
from hub.settings import Settings
from connectors.outbox import Outbox
log.configure("INFO")
mode, n, batch, gate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), pathlib.Path(sys.argv[4])
communes, system = sys.argv[5].split(","), sys.argv[6]
box = Outbox(Settings.from_env(), system, batch_size=batch, backoff_max_s=0.5)

def event(i):
    c = communes[i % len(communes)]
    body = b'{"seq": %d, "commune_code": "%s", "dossier_code": "HS-%d", "status": 2}' % (i, c.encode(), i)
    return "dossier", body, {"format": "hub-json", "commune": c, "event_id": f"ev-{i}"}

def store(lo, hi):
    for start in range(lo, hi, 50):  # one transaction per 50 events, as a busy one-stop system would
        box.publish_many([event(i) for i in range(start, min(start + 50, hi))])

if mode == "publish":
    store(0, n // 3)
    print("BEFORE_OUTAGE", flush=True)
    while not gate.exists():
        time.sleep(0.01)
    store(n // 3, n)
    print("STORED", n, flush=True)
while True:
    time.sleep(1)
"""


def _depth(path: Path) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    finally:
        db.close()


class _Publisher:
    def __init__(self, mode: str, s: Settings, gate: Path, log_path: Path):
        self.log_path = log_path
        with open(log_path, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-c", _PUBLISHER, mode, str(N), str(BATCH), str(gate),
                                          ",".join(COMMUNES), SYSTEM], env=subprocess_env(s), cwd=ROOT, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def _kill_while_forwarding(pub: _Publisher, path: Path) -> tuple[int, int]:
    """SIGKILL the publisher once it acknowledged a batch and while at least two remain; (depth before, after)."""
    before = _depth(path)
    try:
        wait_for(lambda: before - _depth(path) >= BATCH and _depth(path) >= 2 * BATCH, timeout_s=60,
                 interval_s=0.002, what=f"forwarding under way ({pub.log_path})")
    finally:
        pub.kill()
    return before, _depth(path)


def test_outbox_holds_events_through_an_outage_and_survives_sigkill_while_forwarding(tmp_path, record_property):
    """Every stored event reaches the ingest topic, in per-commune order; copies from resends are counted."""
    path, gate = tmp_path / "outbox.sqlite3", tmp_path / "outage-started"
    publishers: list[_Publisher] = []
    with LocalBroker(tmp_path / "kafka") as broker:
        s = Settings.from_env(env={}, kafka_bootstrap=broker.bootstrap, topic_prefix="chaos.", partitions=3,
                              dev_mode=True, outbox_path=str(path))
        topics.create(s)
        try:
            first = _Publisher("publish", s, gate, tmp_path / "publisher-0.log")
            publishers.append(first)
            wait_for(lambda: "BEFORE_OUTAGE" in first.output(), timeout_s=60, what="first third stored")
            wait_for(lambda: _depth(path) == 0, timeout_s=60, what="first third forwarded")

            broker.stop()  # the outage: the publisher keeps storing, the forwarder retries
            gate.touch()
            wait_for(lambda: f"STORED {N}" in first.output(), timeout_s=120, what="all events stored")
            held = _depth(path)
            assert held == N - N // 3, "the outbox holds what was stored during the outage"

            broker.start()
            kills = []
            for round_ in range(KILLS):
                pub = first if round_ == 0 else _Publisher("forward", s, gate, tmp_path / f"publisher-{round_}.log")
                publishers.append(pub)
                kills.append(_kill_while_forwarding(pub, path))
                if _depth(path) < 4 * BATCH:
                    break
            assert all(0 < after < before for before, after in kills), kills
        finally:
            for pub in publishers:
                pub.kill()

        drain = subprocess.run([sys.executable, "-m", "hub", "publish", "--drain", "--system", SYSTEM,
                                "--timeout", "120"], env=subprocess_env(s), cwd=ROOT, capture_output=True,
                               timeout=180)
        assert drain.returncode == 0, drain.stdout.decode()[-2000:] + drain.stderr.decode()[-2000:]
        assert _depth(path) == 0
        records = read_topic(s, s.topic(topics.INGEST_DOSSIER), timeout_s=60)

    stored = {c: [f"ev-{i}" for i in range(N) if COMMUNES[i % len(COMMUNES)] == c] for c in COMMUNES}
    delivered = [(r.key.decode(), r.headers["hub.source_event_id"])
                 for r in sorted(records, key=lambda r: (r.partition, r.offset))]
    report = check(stored, delivered)
    record_property("chaos_outbox", report.line())
    print(f"chaos outbox ({len(kills)} kill(s) while forwarding): {report.line()}")
    assert report.ok, report.line()
    # Copies are resends of one stored row: same key, same headers (trace id included), same bytes.
    by_id: dict[str, set] = {}
    for r in records:
        by_id.setdefault(r.headers["hub.source_event_id"], set()).add(
            (r.key, r.value, r.headers["hub.trace_id"], r.headers["hub.source"]))
    assert all(len(v) == 1 for v in by_id.values())
    assert all(orjson.loads(r.value)["commune_code"] == r.key.decode() for r in records)

"""The durable outbox: survives SIGKILL and broker outage, keeps order, bounds its disk."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import orjson
import pytest
from conftest import ROOT, settings_env
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from connectors.outbox import Outbox
from connectors.publisher import Publisher
from hub import systems
from hub.contract import codec, topics
from hub.errors import OutboxFull
from hub.testing import read_topic, wait_for

pytestmark = pytest.mark.integration

COMMUNES = ["23734", "23728", "23722", "23749", "23767"]

_PUBLISH_10K = """
import sys, time
from hub import log
from hub.settings import Settings
from connectors.outbox import Outbox
log.configure("INFO")
communes = sys.argv[1].split(",")
box = Outbox(Settings.from_env(), "outbox-test", backoff_max_s=2.0)
for i in range(10_000):
    c = communes[i % len(communes)]
    body = b'{"seq": %d, "commune": "%s", "commune_code": "%s", "dossier_code": "HS-%d", "status": 2}' % (
        i, c.encode(), c.encode(), i)
    box.publish("dossier", body, format="hub-json", commune=c, event_id=f"ev-{i}")
print("STORED", box.depth(), flush=True)
while True:  # the forwarder keeps retrying against the dead broker until we are killed
    time.sleep(1)
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rows(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    finally:
        db.close()


def _assert_in_order(records, n: int) -> None:
    by_commune: dict[str, list[int]] = defaultdict(list)
    for r in records:
        body = orjson.loads(r.value)
        assert r.key.decode() == body["commune"]
        by_commune[body["commune"]].append(body["seq"])
    for commune, seqs in by_commune.items():
        assert seqs == sorted(seqs), f"commune {commune} out of order"
    assert sum(len(v) for v in by_commune.values()) == n


def test_10k_events_survive_sigkill_and_outage(make_settings, tmp_path, hub_process):
    """10,000 events stored while Kafka is unreachable survive SIGKILL, arrive once each in order, feed once."""
    path = tmp_path / "outbox.sqlite3"
    up = make_settings(outbox_path=str(path))
    down = make_settings(create_topics=False, kafka_bootstrap=f"127.0.0.1:{_closed_port()}",
                         topic_prefix=up.topic_prefix, outbox_path=str(path))
    out = tmp_path / "publisher.log"
    with open(out, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-c", _PUBLISH_10K, ",".join(COMMUNES)],
                                env=settings_env(down), stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT,
                                start_new_session=True)
        try:
            wait_for(lambda: "STORED 10000" in out.read_text(), timeout_s=120, what="10,000 events stored")
            wait_for(lambda: "outbox_retry" in out.read_text(), timeout_s=60, what="an outbox_retry line")
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _rows(path) == 10_000
    assert read_topic(up, up.topic(topics.INGEST_DOSSIER), timeout_s=10) == []

    drain = subprocess.run([sys.executable, "-m", "hub", "publish", "--drain", "--system", "outbox-test",
                            "--timeout", "180"], env=settings_env(up), cwd=ROOT, capture_output=True,
                           timeout=240)
    assert drain.returncode == 0, drain.stdout.decode()[-2000:] + drain.stderr.decode()[-2000:]
    assert _rows(path) == 0

    records = read_topic(up, up.topic(topics.INGEST_DOSSIER), expect=10_000, timeout_s=120)
    ids = [r.headers["hub.source_event_id"] for r in records]
    assert len(ids) == 10_000
    assert set(ids) == {f"ev-{i}" for i in range(10_000)}
    assert {r.headers["hub.source"] for r in records} == {"outbox-test"}
    _assert_in_order(records, 10_000)

    # The worker turns them into exactly one feed record each.
    systems.add(up, "outbox-test", COMMUNES, ["dossier"])
    hub_process(["worker"], up)
    feed = read_topic(up, up.topic(topics.FEED_DOSSIER), expect=10_000, timeout_s=240, idle_s=3)
    schemas = codec.load(up.schemas_dir)
    dossiers = [codec.decode(schemas, r.value)["dossier_code"] for r in feed]
    assert sorted(dossiers) == sorted(f"HS-{i}" for i in range(10_000))


def test_threads_publish_in_order_and_resume(make_settings, tmp_path):
    """Events stored by four threads, then forwarded by a new Outbox, keep per-commune order."""
    s = make_settings(outbox_path=str(tmp_path / "o.sqlite3"))
    with Outbox(s, "threads", forward=False) as box:
        def work(commune: str) -> None:
            for i in range(300):
                box.publish("document", orjson.dumps({"seq": i, "commune": commune}), format="hub-json",
                            commune=commune)

        threads = [threading.Thread(target=work, args=(c,)) for c in COMMUNES[:4]]
        before = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = time.time()
        assert box.depth() == 1200
        # the oldest record was stored between before and after: its age is bounded by both (seconds, not ms)
        asked = time.time()
        age = box.oldest_age_s()
        assert asked - after - 0.01 <= age <= time.time() - before + 0.01
    with Outbox(s, "threads", batch_size=97) as box:
        assert box.flush(60)
        assert box.depth() == 0 and box.oldest_age_s() == 0
    records = read_topic(s, s.topic(topics.INGEST_DOCUMENT), expect=1200, timeout_s=60)
    assert len({r.headers["hub.source_event_id"] for r in records}) == 1200
    _assert_in_order(records, 1200)


def test_full_outbox_refuses_without_storing(make_settings, tmp_path):
    """Past HUB_OUTBOX_MAX_BYTES publish raises OutboxFull and stores nothing."""
    s = make_settings(create_topics=False, outbox_path=str(tmp_path / "o.sqlite3"), outbox_max_bytes=200_000)
    with Outbox(s, "full", forward=False) as box:
        stored = 0
        with pytest.raises(OutboxFull, match="HUB_OUTBOX_MAX_BYTES"):
            for _ in range(1000):
                box.publish("dossier", b"x" * 4000, format="dvcqg-json", commune="23734")
                stored += 1
        assert 0 < stored < 1000
        assert box.depth() == stored
        with pytest.raises(OutboxFull):
            box.publish("dossier", b"x" * 4000, format="dvcqg-json")
        assert box.depth() == stored


def test_publish_validates_and_returns_given_id(make_settings, tmp_path):
    """A given event id is kept; without one, a retry of the same payload gets the same derived id."""
    s = make_settings(create_topics=False, outbox_path=str(tmp_path / "o.sqlite3"))
    with Outbox(s, "ids", forward=False) as box:
        assert box.publish("dossier", b"{}", format="dvcqg-json", event_id="mine-1") == "mine-1"
        body = b'{"MaHoSo": "HS-1", "TrangThaiHoSo": "2", "NgayCapNhat": "20251120080000"}'
        generated = box.publish("dossier", body, format="dvcqg-json")
        assert generated.startswith("dvcqg-json-") and len(generated) == len("dvcqg-json-") + 32
        assert box.publish("dossier", body.replace(b", ", b","), format="dvcqg-json") == generated
        assert box.publish("dossier", body.replace(b'"2"', b'"4"'), format="dvcqg-json") != generated
        with pytest.raises(ValueError):
            box.publish("report", b"{}", format="dvcqg-json")
        with pytest.raises(ValueError):
            box.publish("dossier", b"{}", format="")
        with pytest.raises(ValueError, match="trace_id"):
            box.publish("dossier", b"{}", format="dvcqg-json", trace_id="not a trace id\n")
        assert box.depth() == 4


def test_copies_of_an_event_without_commune_meet_on_one_partition(make_settings, tmp_path):
    """Without a commune the key is the source system id, so a retry lands on the partition of the first copy."""
    s = make_settings(partitions=6, outbox_path=str(tmp_path / "o.sqlite3"))
    bodies = [orjson.dumps({"dossier_code": f"HS-{i}", "status": 2, "event_time": "2025-11-20T08:00:00+07:00"})
              for i in range(3)]
    with Outbox(s, "sys-without-commune") as box:
        for body in bodies + bodies:  # the caller retries everything, without ids
            box.publish("dossier", body, format="hub-json")
        assert box.flush(60)
    with Publisher("pub-without-commune", s) as pub:
        for body in bodies + bodies:
            pub.send("dossier", body, format="hub-json")
    records = read_topic(s, s.topic(topics.INGEST_DOSSIER), expect=12, timeout_s=60)
    assert len(records) == 12
    for system in ("sys-without-commune", "pub-without-commune"):
        mine = [r for r in records if r.headers["hub.source"] == system]
        assert {r.key for r in mine} == {system.encode()}
        assert "hub.commune" not in mine[0].headers
        copies: dict[str, set[int]] = defaultdict(set)
        for r in mine:
            copies[r.headers["hub.source_event_id"]].add(r.partition)
        assert len(copies) == 3 and all(len(p) == 1 for p in copies.values())


def test_stats_and_metrics_come_from_the_outbox_object(make_settings, tmp_path):
    """stats() and the host's own CollectorRegistry show depth, age and totals; nothing lands in the global registry."""
    s = make_settings(outbox_path=str(tmp_path / "o.sqlite3"))
    host = CollectorRegistry()
    with Outbox(s, "metrics", forward=False, metrics_registry=host) as box:
        for i in range(3):
            box.publish("dossier", b'{"n": %d}' % i, format="hub-json", commune="23734")
        stats = box.stats()
        assert (stats.depth, stats.stored_total, stats.forwarded_total, stats.forwarding) == (3, 3, 0, False)
        assert 0 <= stats.oldest_age_s < 3600  # seconds since the first publish of this test, not milliseconds
        assert _samples(host) == {"hub_outbox_depth": 3.0, "hub_outbox_forwarded_total": 0.0,
                                  "hub_outbox_retries_total": 0.0}
    assert _samples(host) == {}, "closing the outbox unregisters its collector"
    with Outbox(s, "metrics", metrics_registry=host) as box:
        assert box.flush(60)
        wait_for(lambda: box.stats().forwarded_total == 3, timeout_s=10, what="forwarded total")
        assert box.stats().depth == 0 and box.stats().forwarding
        assert _samples(host) == {"hub_outbox_depth": 0.0, "hub_outbox_forwarded_total": 3.0,
                                  "hub_outbox_retries_total": 0.0}
    assert not [m for m in REGISTRY.collect() if m.name.startswith("hub_outbox")]


def _samples(registry: CollectorRegistry) -> dict[str, float]:
    """Parsed Prometheus text of the host registry (the oldest-age gauge varies, so it is left out)."""
    text = generate_latest(registry).decode()
    return {s.name: s.value for fam in text_string_to_metric_families(text) for s in fam.samples
            if s.name != "hub_outbox_oldest_age_seconds"}


def _log_lines(text: str) -> list[dict]:
    return [orjson.loads(x) for x in text.splitlines() if x.startswith("{")]


def test_hub_publish_logs_the_trace_id_the_ingest_record_carries(make_settings, tmp_path):
    """`hub publish` logs publish_stored/publish_forwarded with the trace id on the record; a given one is kept."""
    s = make_settings(outbox_path=str(tmp_path / "o.sqlite3"))
    payload = tmp_path / "dossier.json"
    payload.write_bytes(b'{"MaHoSo": "HS-7", "TrangThaiHoSo": "2", "NgayCapNhat": "20251120080000"}')
    runs = []
    for extra in ([], ["--trace-id", "caller-trace.01"]):
        proc = subprocess.run([sys.executable, "-m", "hub", "publish", "--system", "cli-trace", "--kind", "dossier",
                               "--format", "dvcqg-json", "--timeout", "60", *extra, str(payload)],
                              env=settings_env(s), cwd=ROOT, capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stdout.decode()[-2000:] + proc.stderr.decode()[-2000:]
        runs.append(_log_lines(proc.stdout.decode()))
    records = read_topic(s, s.topic(topics.INGEST_DOSSIER), expect=2, timeout_s=30)
    assert len(records) == 2
    for lines, record in zip(runs, sorted(records, key=lambda r: r.offset), strict=True):
        stored = [x for x in lines if x["event"] == "publish_stored"]
        forwarded = [x for x in lines if x["event"] == "publish_forwarded"]
        assert len(stored) == 1 and len(forwarded) == 1
        assert stored[0]["trace_id"] == forwarded[0]["trace_id"] == record.headers["hub.trace_id"]
        assert stored[0]["source_event_id"] == record.headers["hub.source_event_id"]
        assert (forwarded[0]["partition"], forwarded[0]["offset"]) == (record.partition, record.offset)
        assert [x["depth"] for x in lines if x["event"] == "outbox_status"][-1] == 0
    assert records[1].headers["hub.trace_id"] == "caller-trace.01"
    assert records[0].headers["hub.trace_id"] != records[1].headers["hub.trace_id"]
    # Re-running the same command is the caller's retry: same source event id, same partition.
    assert records[0].headers["hub.source_event_id"] == records[1].headers["hub.source_event_id"]
    assert records[0].partition == records[1].partition and records[0].key == records[1].key == b"cli-trace"

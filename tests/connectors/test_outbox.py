"""The durable outbox: survives SIGKILL and broker outage, keeps order, bounds its disk."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import orjson
import pytest
from conftest import ROOT, settings_env

from connectors.outbox import Outbox
from hub import codec, systems, topics
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
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert box.depth() == 1200
        assert box.oldest_age_s() >= 0
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
    """A given event id is kept; an unknown kind or missing format is refused before storing."""
    s = make_settings(create_topics=False, outbox_path=str(tmp_path / "o.sqlite3"))
    with Outbox(s, "ids", forward=False) as box:
        assert box.publish("dossier", b"{}", format="dvcqg-json", event_id="mine-1") == "mine-1"
        generated = box.publish("dossier", b"{}", format="dvcqg-json")
        assert len(generated) == 32
        with pytest.raises(ValueError):
            box.publish("report", b"{}", format="dvcqg-json")
        with pytest.raises(ValueError):
            box.publish("dossier", b"{}", format="")
        assert box.depth() == 2

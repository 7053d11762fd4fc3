"""No record can hold a partition forever (hub issue 21): poisoned records of every kind are dead-lettered
without a manual step and the events after them flow; a partition that cannot move is an alert."""

from __future__ import annotations

import hashlib
import random
import string
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from confluent_kafka import Producer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from connectors.publisher import Publisher
from hub import systems
from hub.contract import codec, topics
from hub.contract import headers as h
from hub.testing import free_port, read_topic, wait_for
from tests.pipeline import payloads

pytestmark = pytest.mark.integration

POISON_COMMUNE = "23734"
OTHERS = ["23728", "23722", "23749", "23767"]  # Gia Lai communes without poison
PER_COMMUNE = 250  # 4 x 250 = 1,000 normal events
SYSTEM = "onestop-gialai"


def _alter(s, topic: str, **configs: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap, client_id="test-alter")
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                            configs={k.replace("_", "."): v for k, v in configs.items()})])
    finally:
        admin.close()


def _attacker(s) -> Producer:
    """A publisher that compresses and raises its own limit: the broker takes what it compresses small."""
    return Producer({"bootstrap.servers": s.kafka_bootstrap, "compression.type": "zstd",
                     "message.max.bytes": 20_000_000, "linger.ms": 0})


def _hdrs(event_id: str, commune: str) -> list[tuple[str, bytes]]:
    return [(h.SOURCE, SYSTEM.encode()), (h.FORMAT, b"dvcqg-json"), (h.COMMUNE, commune.encode()),
            (h.SOURCE_EVENT_ID, event_id.encode())]


def _lines(proc) -> list[dict]:
    return [orjson.loads(line) for line in proc.output().splitlines() if line.startswith("{")]


def test_poisoned_records_of_every_kind_are_dead_lettered_and_1000_events_after_them_flow(make_settings,
                                                                                          hub_process):
    s = make_settings(worker_processors="normalize,kpi", clock="2025-12-10T05:00:00Z")
    ingest, feed, dlq = s.topic(topics.INGEST_DOSSIER), s.topic(topics.FEED_DOSSIER), s.topic(topics.DLQ)
    systems.add(s, SYSTEM, [POISON_COMMUNE, *OTHERS], ["dossier"])
    _alter(s, feed, max_message_bytes="200000")  # the feed refuses one record over 200 kB, takes the others

    huge = b'{"MaHoSo": "' + b"A" * 1_300_000 + b'"}'  # 1.3 MB, compressed by zstd to a few kB
    many_headers = _hdrs("poison-headers", POISON_COMMUNE) + [(f"x-junk-{i}", b"j" * 100_000) for i in range(12)]
    rng = random.Random(5)
    long_name = " ".join("".join(rng.choices(string.ascii_lowercase, k=8)) for _ in range(35_000))  # ~315 kB
    big_feed = payloads.dossier(90_001)  # received 2026-01-21: in the past, never refused as event_in_future
    big_feed["TenTTHC"] = long_name  # a valid dossier whose canonical record is larger than the feed takes
    attacker = _attacker(s)
    attacker.produce(ingest, value=huge, key=b"23734", headers=_hdrs("poison-value", POISON_COMMUNE))
    attacker.produce(ingest, value=b"{not json", key=b"23734", headers=many_headers)
    attacker.produce(ingest, value=payloads.encode(big_feed), key=b"23734",
                     headers=_hdrs("poison-feed", POISON_COMMUNE))
    assert attacker.flush(30) == 0

    received: dict[str, int] = dict.fromkeys(OTHERS, 0)  # what the KPI rows count (docs/kpi.md)
    with Publisher(SYSTEM, s) as pub:
        for n, commune in enumerate(OTHERS):
            for i in range(PER_COMMUNE):
                # received in November 2025 (Vietnam time): base + index minutes, at most 21 days
                rec = payloads.dossier(n * 10_000 + i, base=datetime(2025, 11, 1, 1, 0, tzinfo=UTC))
                # a dossier only registered online (status 1) is not received until accepted
                received[commune] += rec["TrangThaiHoSo"] not in ("1", "3")
                pub.send_async("dossier", payloads.encode(rec), format="dvcqg-json", commune=commune,
                               event_id=f"ok-{commune}-{i}")
        pub.flush()
    worker = hub_process(["worker"], s)

    records = read_topic(s, feed, expect=4 * PER_COMMUNE, timeout_s=240, idle_s=3)
    schemas = codec.load(s.schemas_dir)
    ids = sorted(codec.decode(schemas, r.value)["source_event_id"] for r in records)
    assert ids == sorted(f"ok-{c}-{i}" for c in OTHERS for i in range(PER_COMMUNE))

    dead = {r.headers.get(h.SOURCE_EVENT_ID): r for r in read_topic(s, dlq, expect=3, timeout_s=120)}
    assert set(dead) == {"poison-value", "poison-headers", "poison-feed"}
    value = dead["poison-value"]
    assert value.headers[h.ERR_REASON] == "payload_too_large"
    assert len(value.value) == 262_144 and value.value == huge[:262_144]
    assert value.headers["hub.error.truncated"] == "value"
    assert value.headers["hub.error.original.size"] == str(len(huge))
    assert value.headers["hub.error.original.sha256"] == hashlib.sha256(huge).hexdigest()
    junk = dead["poison-headers"]
    assert junk.headers[h.ERR_REASON] in ("bad_header", "malformed_json") and junk.value == b"{not json"
    assert junk.headers["hub.error.truncated"] == "headers"
    assert "x-junk-0:100000" in junk.headers["hub.error.headers.cut"]
    assert sum(len(k) + len(v) for k, v in junk.headers.items() if k.startswith("x-junk")) <= 16_384
    refused = dead["poison-feed"]
    assert refused.headers[h.ERR_REASON] == "unwritable"
    assert "MSG_SIZE_TOO_LARGE" in refused.headers[h.ERR_MESSAGE] and feed in refused.headers[h.ERR_MESSAGE]
    assert refused.headers[h.ERR_OFFSET] == "2"

    # The KPI rows of the month count every normal dossier of each commune.
    def kpis() -> dict | None:
        rows = {r.key.decode(): codec.decode_plain(schemas, r.value)
                for r in read_topic(s, s.topic(topics.FEED_KPI), timeout_s=30)}
        got = {c: (rows.get(f"{c}|month|2025-11") or {}).get("dossiers_received") for c in OTHERS}
        return got if got == received else None

    try:
        wait_for(kpis, timeout_s=180, interval_s=2, what="month KPI rows of the four communes")
    except TimeoutError:
        rows = {r.key.decode(): codec.decode_plain(schemas, r.value)
                for r in read_topic(s, s.topic(topics.FEED_KPI), timeout_s=30)}
        raise AssertionError({k: v.get("dossiers_received") for k, v in rows.items() if "|month|" in k}) from None
    lines = _lines(worker)
    isolated = [ln for ln in lines if ln.get("event") == "record_dead_lettered"]
    assert [(ln["reason"], ln["offset"]) for ln in isolated] == [("unwritable", 2)]
    assert not [ln for ln in lines if ln.get("event") in ("engine_failed", "worker_crashed", "partition_stuck")]


def test_a_partition_that_cannot_move_is_stuck_in_the_log_readyz_and_hub_status(make_settings, hub_process, cli):
    port = free_port()
    s = make_settings(worker_processors="normalize", partition_stuck_s=3, worker_metrics_port=port)
    ingest, feed = s.topic(topics.INGEST_DOSSIER), s.topic(topics.FEED_DOSSIER)
    systems.add(s, SYSTEM, [POISON_COMMUNE], ["dossier"])
    _alter(s, feed, max_message_bytes="100")  # every feed record is refused: the fault is the topic's
    with Publisher(SYSTEM, s) as pub:
        for i in range(5):
            pub.send_async("dossier", payloads.encode(payloads.dossier(i)), format="dvcqg-json",
                           commune=POISON_COMMUNE, event_id=f"held-{i}")
        pub.flush()
    worker = hub_process(["worker"], s)

    stuck_line = wait_for(lambda: next((ln for ln in _lines(worker) if ln.get("event") == "partition_stuck"), None),
                          timeout_s=120, what="a partition_stuck line")
    assert stuck_line["topic"] == ingest and stuck_line["offset"] == 0 and stuck_line["since"]

    def readyz() -> dict | None:
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        except httpx.HTTPError:
            return None
        return r.json() if r.status_code == 503 and r.json().get("partition_stuck") else None

    body = wait_for(readyz, timeout_s=60, what="/readyz 503 naming the stuck partition")
    assert body["status"] == "stuck"
    assert {(e["topic"], e["partition"], e["offset"]) for e in body["partition_stuck"]} == {
        (ingest, stuck_line["partition"], 0)}

    def status() -> tuple[int, dict] | None:
        rc, out, _err = cli(s, "status", "--json", "--lag-sample", "1")
        report = orjson.loads(out)
        stuck = [r for r in report["verdict"]["reasons"] if r["code"] == "partition_stuck"]
        return (rc, stuck) if stuck else None

    rc, reasons = wait_for(status, timeout_s=120, interval_s=1, what="hub status naming partition_stuck")
    assert rc == 1
    assert f"{ingest} partition {stuck_line['partition']} stuck at offset 0 since {stuck_line['since']}" in \
        reasons[0]["message"]
    assert read_topic(s, s.topic(topics.DLQ), timeout_s=10) == [], "a topic's refusal is not the records' fault"

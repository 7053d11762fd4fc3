"""The reference datasets through a real worker and a real gateway, for the read API and browser tests.

Dossiers (tests/analytics/datasets.py DOSSIER_EVENTS) go in as a publisher sends them (hub-json
through the SDK) and through normalize; the directive to five communes (DIRECTIVE_EVENTS) is
written as canonical records on feed.document.v1, where the worker's directive processor reads
it. "Now" is frozen at the KPI dataset's NOW (2025-12-10 12:00 Vietnam time) in the worker and the
gateway alike, so every number is the hand-computed one of tests/analytics/reference.md.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from kafka import KafkaProducer

from hub import systems
from hub.contract import codec, topics
from hub.gateway.server import ServerThread
from hub.settings import Settings
from hub.testing import delete_prefixed, read_topic, wait_for
from tests.analytics.datasets import (
    COMMUNE,
    DIRECTIVE_EVENTS,
    DOSSIER_EVENTS,
    EDOC,
    NOW,
    ONESTOP,
    PERIODS,
    PROVINCE_ORGAN,
    RECIPIENTS,
)
from tests.analytics.test_kpi import EXPECTED
from tests.conftest import KEEP_FIXTURE_TIMES, ROOT, Proc
from tests.pipeline.test_analytics import AVRO_NAME, _publish

READER = "province-office"


@dataclass(frozen=True)
class Scenario:
    settings: Settings
    url: str
    reader_key: str
    publisher_key: str
    gateway: ServerThread


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _write_documents(s: Settings) -> None:
    """DIRECTIVE_EVENTS as DocumentEvent records (latest schema) on feed.document.v1, keyed by commune."""
    writer = codec.load(s.schemas_dir).latest(topics.FEED_DOCUMENT + "-value")
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    try:
        for rec in DIRECTIVE_EVENTS:
            doc = {k: v for k, v in rec.items() if k != "attachment_names"}
            doc.update(subject_withheld=False, attachments=[])
            producer.send(s.topic(topics.FEED_DOCUMENT), key=rec["commune_code"].encode(),
                          value=codec.encode(writer, doc), timestamp_ms=rec["ingest_time"])
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def latest(s: Settings, feed: str) -> dict[str, dict]:
    """Key -> the latest decoded row of a feed (read_committed, to its end)."""
    schemas = codec.load(s.schemas_dir)
    return {r.key.decode(): codec.decode_plain(schemas, r.value) for r in read_topic(s, s.topic(feed), timeout_s=30)}


def _worker_done(s: Settings) -> bool:
    """The KPI rows of the reference periods, the five directive rows and the freshness rows are written."""
    kpi = latest(s, topics.FEED_KPI)
    for kind, at in PERIODS.items():
        row = kpi.get(f"{COMMUNE}|{kind}|{at}", {})
        if any(row.get(AVRO_NAME[k]) != v for k, v in EXPECTED[kind].items()):
            return False
    reach = latest(s, topics.FEED_DIRECTIVE)
    if len(reach) < len(RECIPIENTS) or not all(r["computed_at"] == NOW for r in reach.values()):
        return False
    fresh = latest(s, topics.FEED_FRESHNESS)
    return set(RECIPIENTS) <= set(fresh)


@contextlib.contextmanager
def province(kafka_bootstrap: str, log_dir: Path) -> Iterator[Scenario]:
    """The datasets through a worker, then a gateway serving the read API and the dashboard."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    s = Settings.from_env(env={}, kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, partitions=3, dev_mode=True,
                          worker_data_dir=str(ROOT / "var" / "test-worker" / prefix), worker_store="memory://",
                          worker_metrics_port=0, clock=_iso(NOW), analytics_timer_s=1,
                          **KEEP_FIXTURE_TIMES)
    worker = None
    try:
        topics.create(s)
        systems.add(s, ONESTOP, [COMMUNE], ["dossier"])
        # it sends as the province (from_organ_id of the directive): only then is it the province's directive
        publisher_key = systems.add(s, EDOC, list(RECIPIENTS), ["document"], [PROVINCE_ORGAN])
        reader_key = systems.add(s, READER, role="reader")
        _publish(s, DOSSIER_EVENTS)
        _write_documents(s)
        worker = Proc(["worker"], s, log_dir / "worker.log")
        wait_for(lambda: _worker_done(s), timeout_s=300, interval_s=1, what="the worker's KPI, directive and "
                 "freshness rows")
        with ServerThread(s) as gateway:
            wait_for(lambda: httpx.get(f"{gateway.url}/readyz", timeout=10).status_code == 200, timeout_s=60,
                     what="gateway ready (read model caught up)")
            yield Scenario(s, gateway.url, reader_key, publisher_key, gateway)
    finally:
        if worker is not None:
            worker.stop()
        delete_prefixed(s)

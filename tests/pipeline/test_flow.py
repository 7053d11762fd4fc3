"""End-to-end on a real broker: DVCQG dossiers through the Publisher and a worker to the feed and DLQ."""

from __future__ import annotations

import dataclasses
import io
import json
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fastavro
import pytest
from prometheus_client.parser import text_string_to_metric_families

from connectors.publisher import Publisher
from hub import systems
from hub.contract import headers as h
from hub.contract import topics
from hub.testing import free_port, read_topic, wait_for
from tests.pipeline import payloads

pytestmark = pytest.mark.integration
SCHEMAS = Path(__file__).resolve().parents[2] / "hub" / "schemas"


def _writer_schemas() -> dict[int, dict]:
    """Schema id -> parsed schema, straight from the committed lock and .avsc files."""
    lock = json.loads((SCHEMAS / "registry.json").read_text())
    return {v["id"]: fastavro.parse_schema(json.loads((SCHEMAS / v["file"]).read_text()))
            for versions in lock["subjects"].values() for v in versions}


def test_thousand_dossiers_reach_the_feed_and_ten_malformed_the_dlq(make_settings, hub_process):
    """1,000 valid DVCQG payloads give exactly 1,000 feed records; 10 malformed give 10 dead letters."""
    s = make_settings()
    systems.add(s, "onestop-ialy", ["23734"], ["dossier"])
    base = datetime(2025, 11, 20, 1, 0, tzinfo=UTC)
    sent = {}
    with Publisher("onestop-ialy", s) as pub:
        for i in range(1000):
            p = payloads.dossier(i, base=base)
            sent[p["MaHoSo"]] = p
            pub.send_async("dossier", payloads.encode(p), format="dvcqg-json", commune="23734")
        for raw, _reason in payloads.MALFORMED:
            pub.send_async("dossier", raw, format="dvcqg-json", commune="23734")
        pub.flush()
    port = free_port()
    worker = hub_process(["worker"], dataclasses.replace(s, worker_metrics_port=port))

    feed = read_topic(s, s.topic(topics.FEED_DOSSIER), expect=1000, timeout_s=180)
    dlq = read_topic(s, s.topic(topics.DLQ), expect=10, timeout_s=60)
    assert len(feed) == 1000, worker.output()[-3000:]
    assert len(dlq) == 10

    writers = _writer_schemas()
    seen = set()
    for rec in feed:
        assert rec.value[0] == 0
        schema_id = int.from_bytes(rec.value[1:5], "big")
        value = fastavro.schemaless_reader(io.BytesIO(rec.value[5:]), writers[schema_id])
        src = sent[value["dossier_code"]]
        i = int(value["dossier_code"].rsplit("-", 1)[1])
        # NgayTiepNhan is UTC+7 local time; the feed carries the same instant in UTC.
        assert value["received_at"] == base + timedelta(minutes=i)
        assert value["due_at"] == base + timedelta(minutes=i, days=3)
        assert value["status"] == payloads.STATUS_NAMES[src["TrangThaiHoSo"]]
        assert value["commune_code"] == "23734" and rec.key == b"23734"
        assert value["procedure_name"] == src["TenTTHC"]
        assert rec.headers[h.EVENT_ID] == value["event_id"]
        seen.add(value["dossier_code"])
    assert seen == set(sent)

    originals = {raw: reason for raw, reason in payloads.MALFORMED}
    for rec in dlq:
        assert rec.value in originals, "a dead letter must keep the original bytes"
        assert rec.headers[h.ERR_REASON] == originals[rec.value]
        assert rec.headers[h.ERR_STAGE] in {"parse", "validate", "auth"}
        assert rec.headers[h.ERR_TOPIC] == s.topic(topics.INGEST_DOSSIER)
        assert rec.headers[h.SOURCE] == "onestop-ialy"
        assert rec.headers[h.ERR_MESSAGE]
    assert {r.value for r in dlq} == set(originals)

    # The worker's /metrics say the same, by kind and reason (counted after each committed batch).
    expected_rejects = Counter(reason for _raw, reason in payloads.MALFORMED)

    def counters() -> dict:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        out: dict = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return out

    def settled() -> dict | None:
        c = counters()
        out = ("hub_worker_events_out_total", (("kind", "dossier"), ("source_system", "onestop-ialy")))
        return c if c.get(out) == 1000 else None

    got = wait_for(settled, timeout_s=30, what="worker counters")
    assert got[("hub_worker_events_in_total", (("kind", "dossier"), ("source_system", "onestop-ialy")))] == 1010
    rejected = {dict(labels)["reason"]: v for (name, labels), v in got.items()
                if name == "hub_worker_events_rejected_total"}
    assert rejected == dict(expected_rejects)

"""The ingest gateway on a real broker: accepted requests (202), exact bodies and what reaches Kafka; 503 when
Kafka does not acknowledge. Refusals (4xx) are in test_ingest_refusals.py."""

from __future__ import annotations

import orjson
import pytest

from hub.contract import signatures, topics
from hub.errors import TransientError
from tests.gateway.ingest_gateway import DOSSIER, FIXTURES


def test_202_single_event_writes_original_bytes_with_headers(gateway):
    """One dossier is acknowledged after Kafka wrote its exact bytes, keyed by commune, with hub.* headers."""
    gw = gateway()
    raw = b'{ "MaHoSo":"H-1",  "TrangThaiHoSo":"2", "MaXa":"23734", "NgayTiepNhan":"20250801083000" }'
    r = gw.post(
        "dossier",
        content=raw,
        headers={"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01", "Idempotency-Key": "ialy-evt-1"},
    )
    assert r.status_code == 202, r.text
    [acc] = r.json()["accepted"]
    assert acc["trace_id"] == "ab" * 16 and acc["commune_code"] == "23734"
    assert acc["source_event_id"] == "ialy-evt-1" and len(acc["event_id"]) == 32 and acc["index"] == 0
    [rec] = gw.ingest(expect=1)
    assert rec.value == raw and rec.key == b"23734"
    assert (rec.partition, rec.offset) == (acc["partition"], acc["offset"])
    # Signed with the key the request authenticated with (the worker checks it: hub.contract.signatures).
    assert signatures.valid(signatures.key_of(gw.keys["ialy"]), "dossier", rec.headers, raw)
    assert not signatures.valid(signatures.key_of(gw.keys["multi"]), "dossier", rec.headers, raw)
    # No hub.commune: the request did not name one (X-Hub-Commune).
    assert {k: v for k, v in rec.headers.items() if k != "hub.signature"} == {
        "hub.source": "ialy",
        "hub.format": "dvcqg-json",
        "hub.source_event_id": "ialy-evt-1",
        "hub.trace_id": "ab" * 16,
    }


def test_202_batch_lands_exactly_n_records(gateway):
    """A batch of N lands N records, each element re-serialized on its own, keys per commune."""
    gw = gateway()
    batch = [
        {**DOSSIER, "MaHoSo": "B-1"},
        {**DOSSIER, "MaHoSo": "B-2", "MaXa": "23728", "event_id": "own-2"},
        {**DOSSIER, "MaHoSo": "B-3"},
    ]
    r = gw.post(
        "dossier", batch, system="multi", headers={"X-Trace-Id": "trace-batch-1", "X-Hub-Event-Id": "batch9"}
    )
    assert r.status_code == 202, r.text
    accepted = r.json()["accepted"]
    assert [a["commune_code"] for a in accepted] == ["23734", "23728", "23734"]
    assert [a["source_event_id"] for a in accepted] == ["batch9#0", "own-2", "batch9#2"]
    records = gw.ingest(expect=3)
    assert len(records) == 3
    by_value = {r.value: r for r in records}
    for item, acc in zip(batch, accepted, strict=True):
        rec = by_value[orjson.dumps(item)]
        assert rec.key == item["MaXa"].encode()
        assert (rec.partition, rec.offset) == (acc["partition"], acc["offset"])
        assert rec.headers["hub.trace_id"] == "trace-batch-1" and rec.headers["hub.source"] == "multi"
        assert rec.headers["hub.source_event_id"] == acc["source_event_id"]
        assert "hub.commune" not in rec.headers  # multi-commune system, no X-Hub-Commune: payload decides


def test_single_commune_registration_is_the_fallback(gateway):
    """Without MaXa or header, a single-commune system's events belong to its commune; no hub.commune header."""
    gw = gateway()
    event = {k: v for k, v in DOSSIER.items() if k != "MaXa"}
    r = gw.post("dossier", event)
    assert r.status_code == 202, r.text
    assert r.json()["accepted"][0]["commune_code"] == "23734"
    [rec] = gw.ingest(expect=1)
    assert rec.key == b"23734" and "hub.commune" not in rec.headers and "hub.source_event_id" not in rec.headers


def test_x_hub_commune_header_names_the_commune(gateway):
    """A multi-commune system names the commune with X-Hub-Commune; without it the event is 422."""
    gw = gateway()
    event = {k: v for k, v in DOSSIER.items() if k != "MaXa"}
    r = gw.post("dossier", event, system="multi", headers={"X-Hub-Commune": "23728"})
    assert r.status_code == 202, r.text
    assert r.json()["accepted"][0]["commune_code"] == "23728"
    missing = gw.post("dossier", event, system="multi")
    assert missing.status_code == 422
    assert missing.json()["error"] == "missing_commune"
    [rec] = gw.ingest(expect=1)
    assert rec.key == b"23728" and rec.headers["hub.commune"] == "23728"


def test_202_edxml_document_routed_by_organ(gateway):
    """An edXML package from a registered organ is accepted for that organ's commune, bytes untouched."""
    gw = gateway()
    raw = (FIXTURES / "edxml" / "outgoing_report_from_commune.xml").read_bytes()
    r = gw.post("document", content=raw, system="vanban", content_type="application/xml")
    assert r.status_code == 202, r.text
    assert {a["commune_code"] for a in r.json()["accepted"]} == {"23749"}
    [rec] = gw.ingest("document", expect=1)
    assert rec.value == raw and rec.key == b"23749" and rec.headers["hub.format"] == "edxml"


def test_202_target_report_in_hub_json_by_default(gateway):
    """POST /v1/events/target takes hub-json target events of a system registered for targets, validated as the
    worker will (an ambiguous amount is 422); a system without the kind is 403."""
    gw = gateway()
    report = {"commune_code": "23734", "year": 2025, "program": "Nông thôn mới", "indicator_code": "VON_DTPT",
              "unit": "đồng", "actual_value": "1.234.567.000", "as_of": "20/10/2025"}
    r = gw.post("target", report, system="baocao", headers={"Idempotency-Key": "bc-10"})
    assert r.status_code == 202, r.text
    [acc] = r.json()["accepted"]
    assert (acc["commune_code"], acc["source_event_id"]) == ("23734", "bc-10")
    [rec] = gw.ingest("target", expect=1)
    assert rec.value == orjson.dumps(report) and rec.key == b"23734" and rec.headers["hub.format"] == "hub-json"
    ambiguous = gw.post("target", {**report, "actual_value": "1.234"}, system="baocao")
    assert ambiguous.status_code == 422 and ambiguous.json()["error"] == "ambiguous_number"
    assert ambiguous.json()["field"] == "actual_value"
    refused = gw.post("target", report, system="ialy")
    assert refused.status_code == 403 and refused.json()["error"] == "kind_not_allowed"
    assert len(gw.ingest("target")) == 1


def test_503_when_kafka_does_not_acknowledge(gateway):
    """A failed write is a JSON 503 and never an acceptance."""
    gw = gateway()

    async def failing(topic, items):
        raise TransientError("Kafka did not acknowledge the write: KafkaTimeoutError")

    gw.server.app.state.writer.write = failing
    r = gw.post("dossier", DOSSIER)
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.json() == {
        "error": "unavailable",
        "message": "Kafka did not acknowledge the write: KafkaTimeoutError",
    }


def test_writer_reports_unreachable_broker(make_settings):
    """The real writer turns an unreachable broker into TransientError (the 503 path), not a hang or crash."""
    import asyncio

    from hub.ingest.writer import KafkaWriter

    s = make_settings(create_topics=False, kafka_bootstrap="127.0.0.1:9", gateway_delivery_timeout_ms=1000)

    async def attempt():
        writer = KafkaWriter(s)
        writer.start()
        try:
            await asyncio.sleep(0.5)
            await writer.write(s.topic(topics.INGEST_DOSSIER), [(b"23734", b"{}", [])])
        finally:
            await writer.close()

    with pytest.raises(TransientError, match="not connected to Kafka"):
        asyncio.run(attempt())

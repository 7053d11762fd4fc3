"""The ingest gateway on a real broker: every status code, exact bodies, and what reaches Kafka."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest

from hub import signatures, systems, topics
from hub.errors import TransientError
from hub.gateway.server import ServerThread
from hub.settings import Settings
from hub.testing import read_topic, wait_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DOSSIER = {
    "MaHoSo": "G22.52.23734-250801-0001",
    "MaTTHC": "1.001612",
    "TrangThaiHoSo": "2",
    "KenhThucHien": "2",
    "NgayTiepNhan": "20250801083000",
    "NgayHenTra": "20250805170000",
    "MaXa": "23734",
}


@dataclass
class Gateway:
    server: ServerThread
    settings: Settings
    keys: dict[str, str]

    def post(
        self,
        kind: str,
        body=None,
        *,
        system: str | None = "ialy",
        content: bytes | None = None,
        content_type: str = "application/json",
        headers: dict | None = None,
    ) -> httpx.Response:
        hdrs = {"content-type": content_type, **(headers or {})}
        if system:
            hdrs["authorization"] = f"Bearer {self.keys[system]}"
        data = content if content is not None else orjson.dumps(body)
        return httpx.post(f"{self.server.url}/v1/events/{kind}", content=data, headers=hdrs, timeout=60)

    def ingest(self, kind: str = "dossier", expect: int | None = None):
        topic = self.settings.topic(topics.INGEST_BY_KIND[kind])
        return read_topic(self.settings, topic, expect=expect, timeout_s=30, idle_s=1.0)


@pytest.fixture
def gateway(make_settings):
    """Factory: a gateway thread with systems ialy (23734, dossier+document), multi (23734+23728,
    dossier), vanban (23749, document, organ 000.23.749.H41) and baocao (23734, target)."""
    started: list[ServerThread] = []

    def make(**overrides) -> Gateway:
        s = make_settings(**{"organs": "000.00.00.H41=52", **overrides})
        keys = {
            "ialy": systems.add(s, "ialy", ["23734"], ["dossier", "document"]),
            "multi": systems.add(s, "multi", ["23734", "23728"], ["dossier"]),
            "vanban": systems.add(s, "vanban", ["23749"], ["document"], ["000.23.749.H41"]),
            "baocao": systems.add(s, "baocao", ["23734"], ["target"]),
        }
        srv = ServerThread(s).start()
        started.append(srv)
        return Gateway(srv, s, keys)

    yield make
    for srv in started:
        srv.stop()


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
    # Signed with the key the request authenticated with (the worker checks it: hub.signatures).
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


def test_403_commune_outside_scope_writes_nothing(gateway):
    """Ia Ly's system posting for Ia Khươl (23728) gets 403 and Kafka receives nothing, even in a batch."""
    gw = gateway()
    r = gw.post("dossier", {**DOSSIER, "MaXa": "23728"}, headers={"X-Trace-Id": "t403"})
    assert r.status_code == 403
    assert r.json() == {
        "error": "commune_not_in_scope",
        "message": "system 'ialy' is not registered for commune 23728",
        "stage": "auth",
        "field": "commune_code",
        "trace_id": "t403",
    }
    batch = gw.post("dossier", [DOSSIER, {**DOSSIER, "MaXa": "23728"}], headers={"X-Trace-Id": "t403b"})
    assert batch.status_code == 403
    assert batch.json() == {
        "error": "commune_not_in_scope",
        "message": "system 'ialy' is not registered for commune 23728",
        "stage": "auth",
        "field": "commune_code",
        "index": 1,
        "trace_id": "t403b",
    }
    header = gw.post(
        "dossier", {k: v for k, v in DOSSIER.items() if k != "MaXa"}, headers={"X-Hub-Commune": "23728"}
    )
    assert header.status_code == 403 and header.json()["error"] == "commune_not_in_scope"
    assert gw.ingest() == []


def test_403_kind_not_allowed(gateway):
    """A document-only system may not publish dossiers."""
    gw = gateway()
    r = gw.post("dossier", DOSSIER, system="vanban", headers={"X-Trace-Id": "tk"})
    assert r.status_code == 403
    assert r.json() == {
        "error": "kind_not_allowed",
        "message": "system 'vanban' is not registered for dossier events",
        "stage": "auth",
        "trace_id": "tk",
    }
    assert gw.ingest() == []


def test_400_malformed_bodies(gateway):
    """Invalid JSON, invalid XML and non-UTF-8 bytes are 400 with their reason codes."""
    gw = gateway()
    h = {"X-Trace-Id": "t400"}
    bad_json = gw.post("dossier", content=b'{"MaHoSo": ', headers=h)
    assert bad_json.status_code == 400
    assert bad_json.json()["error"] == "malformed_json" and bad_json.json()["stage"] == "parse"
    assert bad_json.json()["message"].startswith("body is not valid JSON: ")
    bad_xml = gw.post(
        "document", content=b"<edXML><unclosed></edXML>", content_type="application/xml", headers=h
    )
    assert bad_xml.status_code == 400
    assert bad_xml.json()["error"] == "malformed_xml"
    assert bad_xml.json()["message"].startswith("body is not well-formed XML: ")
    dtd = gw.post(
        "document",
        content=b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
        content_type="text/xml",
        headers=h,
    )
    assert dtd.status_code == 400 and dtd.json()["error"] == "malformed_xml"
    bad_utf8 = gw.post("dossier", content=b'{"MaHoSo": "\xff\xfe"}', headers=h)
    assert bad_utf8.status_code == 400
    assert bad_utf8.json() == {
        "error": "bad_encoding",
        "message": "body is not UTF-8 (invalid byte at offset 12)",
        "stage": "parse",
        "trace_id": "t400",
    }
    not_objects = gw.post("dossier", [DOSSIER, 5], headers=h)
    assert not_objects.status_code == 400
    assert not_objects.json() == {
        "error": "malformed_json",
        "message": "element 1 is a int, not an object",
        "stage": "parse",
        "index": 1,
        "trace_id": "t400",
    }
    unknown = gw.post("dossier", DOSSIER, headers={**h, "X-Hub-Format": "nope"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "unknown_format"
    assert gw.ingest() == [] and gw.ingest("document") == []


def test_401_missing_bad_and_revoked_keys(gateway):
    """No key, an unknown key and a revoked key are 401 with WWW-Authenticate: Bearer."""
    gw = gateway()
    missing = gw.post("dossier", DOSSIER, system=None)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json() == {
        "error": "unauthorized",
        "message": "missing or malformed Authorization header; expected 'Authorization: Bearer <key>'",
        "stage": "auth",
    }
    basic = httpx.post(
        f"{gw.server.url}/v1/events/dossier", json=DOSSIER, headers={"authorization": "Basic eDp5"}
    )
    assert basic.status_code == 401 and basic.json()["error"] == "unauthorized"
    gw.keys["forged"] = "hubk_" + "A" * 43
    bad = gw.post("dossier", DOSSIER, system="forged")
    assert bad.status_code == 401 and bad.headers["www-authenticate"].startswith("Bearer")
    assert bad.json() == {
        "error": "unauthorized",
        "message": "the bearer key is unknown or has been revoked",
        "stage": "auth",
    }
    systems.revoke(gw.settings, "ialy")  # another process revokes; the gateway follows the topic
    revoked = wait_for(
        lambda: (r := gw.post("dossier", DOSSIER)).status_code == 401 and r,
        timeout_s=30,
        what="gateway sees the revocation",
    )
    assert revoked.json() == bad.json()


def test_413_too_large(gateway):
    """A body over HUB_GATEWAY_MAX_BODY_BYTES, an event over HUB_MAX_PAYLOAD_BYTES and a batch over
    HUB_GATEWAY_MAX_BATCH are 413 and nothing is written."""
    gw = gateway(max_payload_bytes=400, gateway_max_batch=2, gateway_max_body_bytes=800)
    big = {**DOSSIER, "TrichYeuHoSo": "x" * 900}
    r = gw.post("dossier", big, headers={"X-Trace-Id": "t413"})
    assert r.status_code == 413 and r.headers["connection"] == "close"
    assert r.json() == {
        "error": "payload_too_large",
        "message": f"body of {len(orjson.dumps(big))} bytes exceeds the limit of 800 bytes",
        "stage": "parse",
        "trace_id": "t413",
    }
    one_big = gw.post("dossier", {**DOSSIER, "TrichYeuHoSo": "x" * 500})
    assert one_big.status_code == 413 and one_big.json()["error"] == "payload_too_large"
    assert one_big.json()["message"].endswith("the limit is 400")
    xml = gw.post("document", content=b"<a>" + b"x" * 900 + b"</a>", content_type="application/xml")
    assert xml.status_code == 413 and xml.json()["message"].endswith("exceeds the limit of 800 bytes")
    small = {"MaHoSo": "S", "TrangThaiHoSo": "2"}
    batch = gw.post("dossier", [small, small, small], headers={"X-Trace-Id": "t413b"})
    assert batch.status_code == 413
    assert batch.json() == {
        "error": "batch_too_large",
        "message": "the array holds 3 events; the limit is 2",
        "stage": "parse",
        "trace_id": "t413b",
    }

    def chunks():  # no Content-Length: the bound is enforced while reading
        for _ in range(10):
            yield b" " * 100

    streamed = httpx.post(
        f"{gw.server.url}/v1/events/dossier",
        content=chunks(),
        headers={"authorization": f"Bearer {gw.keys['ialy']}", "content-type": "application/json"},
    )
    assert streamed.status_code == 413 and streamed.json()["error"] == "payload_too_large"
    assert gw.ingest() == []


def test_415_wrong_content_type(gateway):
    """Bodies that are neither JSON nor XML are 415; dossiers are JSON only."""
    gw = gateway()
    r = gw.post("dossier", content=b"MaHoSo=1", content_type="text/plain", headers={"X-Trace-Id": "t415"})
    assert r.status_code == 415
    assert r.json() == {
        "error": "unsupported_media_type",
        "message": "content type 'text/plain' is not accepted; "
        "send application/json (one object or an array of objects) or application/xml "
        "(edXML / eDoc)",
        "stage": "parse",
        "trace_id": "t415",
    }
    xml_dossier = gw.post("dossier", content=b"<a/>", content_type="application/xml")
    assert xml_dossier.status_code == 415 and xml_dossier.json()["error"] == "unsupported_media_type"


def test_422_valid_syntax_invalid_content(gateway):
    """Well-formed events that fail validation are 422 with the reason and field."""
    gw = gateway()
    r = gw.post(
        "dossier", {k: v for k, v in DOSSIER.items() if k != "TrangThaiHoSo"}, headers={"X-Trace-Id": "t"}
    )
    assert r.status_code == 422
    assert r.json() == {
        "error": "missing_field",
        "message": "TrangThaiHoSo is required",
        "stage": "validate",
        "field": "TrangThaiHoSo",
        "trace_id": "t",
    }
    late = gw.post("dossier", [DOSSIER, {**DOSSIER, "NgayHenTra": "20250701000000"}])
    assert late.status_code == 422
    assert late.json()["error"] == "due_before_received" and late.json()["index"] == 1
    foreign = gw.post("document", content=b"<root xmlns='urn:x'/>", content_type="application/xml")
    assert foreign.status_code == 422 and foreign.json()["error"] == "unknown_document_root"
    header = gw.post("dossier", DOSSIER, headers={"X-Hub-Commune": "2" * 40})
    assert header.status_code == 422 and header.json()["error"] == "invalid_value"
    assert header.json()["message"].startswith("header.x-hub-commune")
    assert gw.ingest() == []


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

    from hub.gateway.writer import KafkaWriter

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


def test_404_and_405_are_json(gateway):
    """Unknown routes and wrong methods answer JSON error bodies too."""
    gw = gateway()
    nf = httpx.get(f"{gw.server.url}/v1/nope")
    assert nf.status_code == 404 and nf.json() == {"error": "not_found", "message": "Not Found"}
    na = httpx.get(f"{gw.server.url}/v1/events/dossier")
    assert na.status_code == 405 and na.json() == {
        "error": "method_not_allowed",
        "message": "Method Not Allowed",
    }
    assert "POST" in na.headers["allow"]

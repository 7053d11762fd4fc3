"""Refused ingest requests on a real broker: each 4xx status with its exact JSON body, and nothing on Kafka."""

from __future__ import annotations

import httpx
import orjson

from hub import systems
from hub.testing import wait_for
from tests.gateway.ingest_gateway import DOSSIER


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

"""Health and metrics endpoints of the gateway."""

from __future__ import annotations

import httpx
import orjson
import pytest

from hub.gateway.ops import KafkaHealth
from hub.gateway.server import ServerThread
from hub.systems import SystemsRegistry

DOSSIER = {"MaHoSo": "M-1", "TrangThaiHoSo": "2", "MaXa": "23734"}


@pytest.fixture
def served(make_settings):
    """A gateway thread with one system (ialy: 23734, dossier) and its key."""
    s = make_settings()
    key = SystemsRegistry(s).add("ialy", ["23734"], ["dossier"])
    with ServerThread(s) as srv:
        yield srv, key


def test_healthz_reports_kafka_and_registry(served):
    """/healthz is 200 with the broker count and the loaded registry."""
    srv, _key = served
    r = httpx.get(f"{srv.url}/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["kafka"]["reachable"] is True and body["kafka"]["brokers"] >= 1
    assert body["systems"]["loaded"] is True and body["systems"]["count"] == 1


def test_healthz_is_503_when_kafka_is_unreachable(served, make_settings):
    """/healthz answers 503 with the error when the broker cannot be reached."""
    srv, _key = served
    dead = make_settings(create_topics=False, kafka_bootstrap="127.0.0.1:9")
    srv.app.state.kafka_health = KafkaHealth(dead, timeout_s=1.0)
    r = httpx.get(f"{srv.url}/healthz", timeout=30)
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable" and body["kafka"]["reachable"] is False and body["kafka"]["error"]


def test_metrics_count_requests_events_and_write_latency(served):
    """/metrics exposes requests by route template and status, events by outcome and Kafka latency."""
    srv, key = served
    auth = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    assert (
        httpx.post(
            f"{srv.url}/v1/events/dossier", content=orjson.dumps([DOSSIER, DOSSIER]), headers=auth
        ).status_code
        == 202
    )
    assert httpx.post(f"{srv.url}/v1/events/dossier", content=b"{", headers=auth).status_code == 400
    assert httpx.get(f"{srv.url}/no/such/path").status_code == 404
    r = httpx.get(f"{srv.url}/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'hub_gateway_requests_total{method="POST",route="/v1/events/dossier",status="202"} 1.0' in text
    assert 'hub_gateway_requests_total{method="POST",route="/v1/events/dossier",status="400"} 1.0' in text
    assert 'hub_gateway_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert "/no/such/path" not in text
    assert 'hub_gateway_events_accepted_total{kind="dossier"} 2.0' in text
    assert 'hub_gateway_events_rejected_total{kind="dossier",reason="malformed_json"} 1.0' in text
    assert "hub_gateway_kafka_write_seconds_count 1.0" in text


def test_openapi_documents_bodies_and_errors(served):
    """/openapi.json lists JSON and XML request bodies and an error schema for every 4xx."""
    srv, _key = served
    spec = httpx.get(f"{srv.url}/openapi.json").json()
    doc = spec["paths"]["/v1/events/document"]["post"]
    assert {"application/json", "application/xml", "text/xml"} <= set(doc["requestBody"]["content"])
    for code in ("202", "400", "401", "403", "413", "415", "422", "503"):
        assert code in doc["responses"], code
    assert doc["responses"]["403"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert spec["components"]["securitySchemes"]["systemKey"]["scheme"] == "bearer"
    assert {"/healthz", "/metrics"} <= set(spec["paths"])

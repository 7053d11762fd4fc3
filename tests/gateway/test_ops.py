"""Liveness, readiness and metrics endpoints of the gateway."""

from __future__ import annotations

import httpx
import orjson
import pytest

from hub import systems
from hub.gateway.server import ServerThread
from hub.testing import free_port, wait_for

DOSSIER = {"MaHoSo": "M-1", "TrangThaiHoSo": "2", "MaXa": "23734"}


@pytest.fixture
def served(make_settings):
    """A gateway thread with one system (ialy: 23734, dossier) and its key."""
    s = make_settings()
    key = systems.add(s, "ialy", ["23734"], ["dossier"])
    with ServerThread(s) as srv:
        yield srv, key


def test_healthz_is_liveness_only(served):
    """/healthz is 200 with a tiny body that says nothing about Kafka (it never touches it)."""
    srv, _key = served
    r = httpx.get(f"{srv.url}/healthz")
    assert r.status_code == 200
    assert set(r.json()) == {"status", "time_ms"} and r.json()["status"] == "ok"


def test_readyz_reports_kafka_and_systems(served):
    """/readyz is 200 once the background check reached the broker and the systems list is loaded."""
    srv, _key = served
    r = wait_for(lambda: (r := httpx.get(f"{srv.url}/readyz")).status_code == 200 and r, timeout_s=30,
                 what="gateway ready")
    body = r.json()
    assert body["status"] == "ok" and body["kafka"]["reachable"] is True and body["kafka"]["brokers"] >= 1
    assert body["systems"]["loaded"] is True and body["systems"]["count"] == 1


def test_without_a_broker_healthz_is_200_and_readyz_503(make_settings):
    """With no broker at all the gateway still starts: /healthz 200, /readyz 503 saying why, POST 503."""
    s = make_settings(create_topics=False, kafka_bootstrap=f"127.0.0.1:{free_port()}",
                      systems_refresh_timeout_ms=1000)
    with ServerThread(s) as srv:
        assert httpx.get(f"{srv.url}/healthz", timeout=5).status_code == 200
        r = httpx.get(f"{srv.url}/readyz", timeout=5)
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        body = r.json()
        assert body["status"] == "unavailable" and body["kafka"]["reachable"] is False and body["kafka"]["error"]
        assert body["systems"]["loaded"] is False and body["systems"]["error"]
        post = httpx.post(f"{srv.url}/v1/events/dossier", json=DOSSIER, headers={"authorization": "Bearer x"})
        assert post.status_code == 503 and post.json()["error"] == "unavailable"


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
    for code in ("202", "400", "401", "403", "408", "413", "415", "422", "503"):
        assert code in doc["responses"], code
    assert doc["responses"]["403"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert spec["components"]["securitySchemes"]["systemKey"]["scheme"] == "bearer"
    assert {"/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    for path in ("/registry/subjects/{subject}", "/registry/subjects/{subject}/versions"):
        assert {"408", "413"} <= set(spec["paths"][path]["post"]["responses"]), path

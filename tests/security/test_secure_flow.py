"""Secure mode end to end over TLS: SDK publisher, gateway and worker, each as its own principal, on a broker
with SASL_SSL + ACLs; a publisher posing as another system reaches the DLQ (bad_signature), never the feed."""

from __future__ import annotations

import httpx
import pytest
from kafka import KafkaProducer

from connectors.publisher import Publisher
from hub import systems
from hub.contract import codec, topics
from hub.contract import headers as h
from hub.gateway.server import ServerThread
from hub.kafka import config as kafka_config
from hub.testing import read_topic, wait_for
from tests.pipeline import payloads

pytestmark = pytest.mark.integration


def test_worker_gateway_and_sdk_work_in_secure_mode_and_sources_cannot_be_forged(deployment, hub_process):
    """Over SASL_SSL: A's signed SDK record and B's gateway request reach the feed (read by a subscriber); A's
    records naming B (signed with A's key, or unsigned) are dead-lettered as bad_signature."""
    op = deployment.as_operator(tls=True)
    key_a = systems.add(op, "onestop-a", ["23734"], ["dossier"])
    key_b = systems.add(op, "onestop-b", ["23728"], ["dossier"])
    worker = deployment.grant("worker", tls=True)
    gateway = deployment.grant("gateway", tls=True)
    pub_a = deployment.grant("publisher", "onestop-a", tls=True, system_key=key_a)
    subscriber = deployment.grant("subscriber", "dashboard", tls=True)
    proc = hub_process(["worker"], worker)

    with Publisher("onestop-a", pub_a) as pub:  # signs with HUB_SYSTEM_KEY = A's key
        pub.send("dossier", payloads.encode(payloads.dossier(1)), format="dvcqg-json", commune="23734",
                 event_id="a-own")
    with Publisher("onestop-b", pub_a) as pub:  # A's credentials and key, B's name
        pub.send("dossier", payloads.encode(payloads.dossier(2)), format="dvcqg-json", commune="23734",
                 event_id="a-as-b-signed")
    raw = KafkaProducer(**kafka_config.kafka_python(pub_a), acks="all")
    raw.send(pub_a.topic(topics.INGEST_DOSSIER), key=b"23734", value=payloads.encode(payloads.dossier(3)),
             headers=[(h.SOURCE, b"onestop-b"), (h.FORMAT, b"dvcqg-json"), (h.COMMUNE, b"23734"),
                      (h.SOURCE_EVENT_ID, b"a-as-b-unsigned")]).get(timeout=30)
    raw.close()

    with ServerThread(gateway) as srv:
        def post() -> httpx.Response:
            return httpx.post(f"{srv.url}/v1/events/dossier", content=payloads.encode(payloads.dossier(4)),
                              headers={"authorization": f"Bearer {key_b}", "content-type": "application/json",
                                       "idempotency-key": "b-gateway"}, timeout=30)
        resp = wait_for(lambda: (r := post()).status_code == 202 and r, timeout_s=90, what="gateway accepts")
        assert resp.json()["accepted"][0]["commune_code"] == "23728"

    feed = read_topic(subscriber, subscriber.topic(topics.FEED_DOSSIER), expect=2, timeout_s=180)
    schemas = codec.load(subscriber.schemas_dir)
    got = sorted((r.headers[h.SOURCE], codec.decode(schemas, r.value)["commune_code"]) for r in feed)
    assert got == [("onestop-a", "23734"), ("onestop-b", "23728")], proc.output()[-3000:]
    dlq = read_topic(op, op.topic(topics.DLQ), expect=2, timeout_s=60)
    assert sorted((r.headers[h.SOURCE_EVENT_ID], r.headers["hub.error.reason"]) for r in dlq) == [
        ("a-as-b-signed", "bad_signature"), ("a-as-b-unsigned", "bad_signature")]
    assert all(r.headers["hub.error.stage"] == "auth" for r in dlq)

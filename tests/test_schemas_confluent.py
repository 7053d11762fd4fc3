"""Acceptance: confluent-kafka, a client nobody here wrote, decodes feed.dossier.v1 through /registry.

Records are framed by hub.contract.codec (v2, plus some v1) and produced with kafka-python to a real
broker; confluent-kafka's Consumer + SchemaRegistryClient + AvroDeserializer read them back.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import uvicorn
from avro_samples import DOSSIER, as_v1, dossier_v2, plain, schema_text
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from kafka import KafkaProducer

from hub.contract import codec, topics
from hub.gateway import create_app
from hub.settings import Settings

V1_EVERY = 4  # every 4th record is written with DossierEvent v1, the rest with v2


@pytest.fixture
def served_gateway(make_settings) -> Iterator[tuple[Settings, str]]:
    """The gateway app served by uvicorn in a thread on 127.0.0.1 (free port); yields settings and URL."""
    settings = make_settings()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield settings, f"http://127.0.0.1:{port}/registry"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _produce(settings: Settings, count: int) -> list[tuple[int, dict]]:
    """Write ``count`` dossier events framed by hub.contract.codec; returns (writer version, record) in order."""
    schemas = codec.load(settings.schemas_dir)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, client_id="confluent-acceptance")
    written = []
    try:
        for i in range(count):
            version = 1 if i % V1_EVERY == 0 else 2
            rec = as_v1(dossier_v2(i)) if version == 1 else dossier_v2(i)
            producer.send(settings.topic(topics.FEED_DOSSIER), key=rec["commune_code"].encode(),
                          value=codec.encode(schemas.version(DOSSIER, version), rec))
            written.append((version, rec))
        producer.flush(timeout=30)
    finally:
        producer.close()
    return written


def _consume(settings: Settings, count: int, deserializers: dict[str, AvroDeserializer],
             timeout_s: float = 60.0) -> dict[str, dict[str, dict]]:
    """Read ``count`` records with confluent-kafka; decode each with every deserializer, by event id."""
    topic = settings.topic(topics.FEED_DOSSIER)
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap,
                         "group.id": f"{settings.topic_prefix}confluent-{uuid.uuid4().hex[:8]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    out: dict[str, dict[str, dict]] = {name: {} for name in deserializers}
    seen = 0
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout_s
        while seen < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            ctx = SerializationContext(topic, MessageField.VALUE)
            for name, deserialize in deserializers.items():
                rec = deserialize(msg.value(), ctx)
                out[name][rec["event_id"]] = rec
            seen += 1
    finally:
        consumer.close()
    assert seen == count, f"read {seen} of {count} records before the deadline"
    return out


def test_confluent_consumer_decodes_feed(served_gateway):
    """AvroDeserializer via the hub's /registry returns what was written, v1 and v2 readers both ways."""
    settings, url = served_gateway
    written = _produce(settings, 40)
    client = SchemaRegistryClient({"url": url})
    decoded = _consume(settings, len(written), {
        # writer schema only, fetched by the id in each record
        "writer": AvroDeserializer(client),
        # an application compiled against v1 reads v2 data
        "v1_reader": AvroDeserializer(client, schema_str=schema_text("DossierEvent.v1.avsc")),
        # reader = latest version of the subject: older data upgraded to it (lookup + versions endpoints)
        "latest": AvroDeserializer(client, conf={"use.latest.version": True}),
    })
    for _version, rec in written:
        eid = rec["event_id"]
        got = decoded["writer"][eid]
        assert got["event_time"].tzinfo is not None  # timestamp-millis decode as aware datetimes
        assert plain(got) == rec
        assert plain(decoded["v1_reader"][eid]) == as_v1(rec)
        # the latest reader (v3) gives v1/v2 records its defaults: digitized_document_count, key ids = null
        assert plain(decoded["latest"][eid]) == {"digitized_document_count": None, "applicant_pseudonym_key_id": None,
                                                 "handler_pseudonym_key_id": None, **rec}
    assert sum(1 for v, _ in written if v == 1) == 10
    assert all("digitized_document_count" in decoded["latest"][r["event_id"]] for _, r in written)


def test_confluent_client_sees_registry_errors(served_gateway):
    """SchemaRegistryClient surfaces the hub's Confluent error codes for unknown ids and subjects."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    _settings, url = served_gateway
    client = SchemaRegistryClient({"url": url})
    assert client.get_subjects() == ["feed.dossier.v1-value", "feed.document.v1-value",
                                     "feed.kpi.commune.v1-value", "feed.directive.v1-value",
                                     "feed.freshness.v1-value", "feed.target.v1-value",
                                     "feed.target.progress.v1-value"]
    assert client.get_latest_version(DOSSIER).schema_id == 6  # DossierEvent v3
    with pytest.raises(SchemaRegistryError) as unknown_id:
        client.get_schema(4242)
    assert (unknown_id.value.http_status_code, unknown_id.value.error_code) == (404, 40403)
    with pytest.raises(SchemaRegistryError) as unknown_subject:
        client.get_versions("feed.nothing.v1-value")
    assert (unknown_subject.value.http_status_code, unknown_subject.value.error_code) == (404, 40401)

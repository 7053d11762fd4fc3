"""Secure mode against a real broker (SASL/SCRAM + ACLs): who may read and write what, deny by default."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError
from confluent_kafka import TopicPartition as ConfluentPartition
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import (
    GroupAuthorizationFailedError,
    KafkaTimeoutError,
    TopicAuthorizationFailedError,
)

from hub import systems
from hub.contract import topics
from hub.errors import TransientError
from hub.kafka import config as kafka_config
from hub.settings import Settings
from hub.testing import read_topic, wait_for

pytestmark = pytest.mark.integration
FORBIDDEN_TO_WRITE = {
    "publisher": (topics.FEED_DOSSIER, topics.FEED_KPI, topics.SYSTEMS, topics.DLQ),
    "subscriber": (topics.INGEST_DOSSIER, topics.FEED_DOSSIER, topics.SYSTEMS, topics.DLQ),
    "gateway": (topics.FEED_DOSSIER, topics.SYSTEMS, topics.DLQ),
    "worker": (topics.SYSTEMS, topics.INGEST_DOSSIER),
}


def producer(s: Settings) -> KafkaProducer:
    """A plain (non-idempotent) producer: a refused topic fails its own send with the topic's error (not
    retriable); retries (up to ~20 s) cover leaders still being elected right after topic creation."""
    return KafkaProducer(**kafka_config.kafka_python(s), acks="all", enable_idempotence=False, retries=40,
                         retry_backoff_ms=500, max_block_ms=15_000, request_timeout_ms=15_000)


def write(s: Settings, topic: str, value: bytes = b"x") -> None:
    p = producer(s)
    try:
        p.send(s.topic(topic), key=b"k", value=value).get(timeout=40)
    finally:
        p.close(timeout=5)


def read_attempt(s: Settings, topic: str) -> tuple[list[bytes], set[int]]:
    """Fetch partition 0 from offset 0 for 10 s with librdkafka (it reports a refused Fetch as a message
    error): the values read and the error codes met."""
    c = Consumer(kafka_config.librdkafka(s, {"group.id": f"{s.kafka_username}.probe", "enable.auto.commit": False}))
    values: list[bytes] = []
    errors: set[int] = set()
    try:
        c.assign([ConfluentPartition(s.topic(topic), 0, 0)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and KafkaError.TOPIC_AUTHORIZATION_FAILED not in errors:
            m = c.poll(0.5)
            if m is not None:
                if m.error() is None:
                    values.append(m.value())
                else:
                    errors.add(m.error().code())
        return values, errors
    finally:
        c.close()


def assert_cannot_read(s: Settings, operator: Settings, topic: str) -> None:
    """The operator puts a record on partition 0; ``s`` gets none of it, and the broker refuses either the
    Fetch (the principal may describe the topic) or the offset lookup (it may not even see the topic)."""
    p = producer(operator)
    try:
        p.send(operator.topic(topic), key=b"k", value=b"not for you", partition=0).get(timeout=40)
    finally:
        p.close(timeout=5)
    values, errors = read_attempt(s, topic)
    assert values == [], topic
    if KafkaError.TOPIC_AUTHORIZATION_FAILED not in errors:
        with pytest.raises(TopicAuthorizationFailedError):
            end_offsets(s, topic)


def end_offsets(s: Settings, topic: str) -> dict:
    c = KafkaConsumer(**kafka_config.kafka_python(s), enable_auto_commit=False, request_timeout_ms=15_000)
    try:
        return c.end_offsets([TopicPartition(s.topic(topic), 0)])
    finally:
        c.close()


def test_anonymous_and_wrongly_authenticated_clients_are_refused(deployment):
    """A client without SASL, and one with a wrong password, cannot even bootstrap: nothing they try lands."""
    anonymous = Settings.from_env(env={}, kafka_bootstrap=deployment.broker.bootstrap,
                                  topic_prefix=deployment.prefix)
    wrong = deployment.broker.settings(deployment.prefix, "hub-operator", "not-the-password-at-all")
    for s in (anonymous, wrong):
        with pytest.raises(KafkaTimeoutError):
            KafkaProducer(**kafka_config.kafka_python(s), bootstrap_timeout_ms=5_000, max_block_ms=5_000)
        with pytest.raises(KafkaTimeoutError):
            KafkaConsumer(**kafka_config.kafka_python(s), bootstrap_timeout_ms=5_000)
    assert read_topic(deployment.operator, deployment.operator.topic(topics.INGEST_DOSSIER)) == []


@pytest.mark.parametrize("role", sorted(FORBIDDEN_TO_WRITE))
def test_each_role_is_refused_writes_outside_its_acls(deployment, role):
    """Publisher, subscriber, gateway and worker each get TopicAuthorizationFailed on topics they may not
    write — above all hub.systems.v1, which only the operator writes; nothing they tried is stored."""
    s = deployment.grant(role, "acl-test" if role in ("publisher", "subscriber") else None)
    for topic in FORBIDDEN_TO_WRITE[role]:
        with pytest.raises(TopicAuthorizationFailedError):
            write(s, topic)
    for topic in FORBIDDEN_TO_WRITE[role]:
        assert read_topic(deployment.operator, deployment.operator.topic(topic)) == [], topic


def test_a_publisher_writes_ingest_but_reads_nothing(deployment):
    """A publisher's write to ingest.* is acknowledged; reading ingest.*, feed.* or hub.systems.v1 is refused
    (so it never sees other systems' raw records, nor the key hashes it would need to sign as them)."""
    pub = deployment.grant("publisher", "onestop-a")
    write(pub, topics.INGEST_DOSSIER, b"raw")
    assert [r.value for r in read_topic(deployment.operator, pub.topic(topics.INGEST_DOSSIER))] == [b"raw"]
    for topic in (topics.INGEST_DOSSIER, topics.FEED_DOSSIER, topics.SYSTEMS, topics.DLQ):
        assert_cannot_read(pub, deployment.operator, topic)
    with pytest.raises(TransientError):  # the systems list is not readable as a publisher
        systems.read(pub, timeout_s=5)


def test_a_subscriber_reads_feeds_with_its_own_groups_only(deployment):
    """A subscriber consumes feed.* in a group named after itself; another group, ingest.*, the DLQ and the
    systems list are refused."""
    sub = deployment.grant("subscriber", "dashboard")
    write(deployment.operator, topics.FEED_DOSSIER, b"feed-record")
    own = KafkaConsumer(sub.topic(topics.FEED_DOSSIER), **kafka_config.kafka_python(sub),
                        group_id=f"{sub.kafka_username}.kpi", auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        got: list[bytes] = []
        wait_for(lambda: got.extend(m.value for ms in own.poll(timeout_ms=500).values() for m in ms) or got,
                 timeout_s=60, what="subscriber reads the feed")
        assert got == [b"feed-record"]
    finally:
        own.close()
    other = KafkaConsumer(sub.topic(topics.FEED_DOSSIER), **kafka_config.kafka_python(sub),
                          group_id=f"{deployment.prefix}hub-kpi", enable_auto_commit=False)
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            other.poll(timeout_ms=10_000)
    finally:
        other.close()
    for topic in (topics.INGEST_DOSSIER, topics.DLQ, topics.SYSTEMS):
        assert_cannot_read(sub, deployment.operator, topic)


def test_only_the_operator_changes_the_systems_list(deployment):
    """`hub systems add` as the gateway or the worker is refused by the broker; as the operator it lands, and
    the gateway's follower (which may read the list) sees exactly the operator's record."""
    gateway, worker = deployment.grant("gateway"), deployment.grant("worker")
    for s in (gateway, worker):
        with pytest.raises(TransientError, match="TopicAuthorizationFailed"):
            systems.add(s, "intruder", ["23734"], ["dossier"], current=systems.SystemsSnapshot())
    systems.add(deployment.operator, "onestop-ialy", ["23734"], ["dossier"], current=systems.SystemsSnapshot())
    listed = systems.read(gateway).list()
    assert [s.id for s in listed] == ["onestop-ialy"]

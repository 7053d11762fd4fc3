"""Revoking a system takes away its Kafka login (hub issue 21 item 6), and a missing ACL is reported as such
(item 8): a principal that may not read a topic is told "not authorized", not "does not exist"."""

from __future__ import annotations

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError

from hub import systems
from hub.admin import security
from hub.contract import topics
from hub.errors import HubError
from hub.kafka import config as kafka_config
from hub.kafka import read as kafka_read
from hub.read import model as read_model
from hub.settings import Settings
from hub.testing import read_topic
from tests.security.test_acls import write

pytestmark = pytest.mark.integration


def cannot_write(s: Settings, topic: str) -> str:
    """Try one acknowledged write with a fresh client; the name of the error that stopped it."""
    try:
        p = KafkaProducer(**kafka_config.kafka_python(s), acks="all", enable_idempotence=False, retries=0,
                          bootstrap_timeout_ms=8_000, max_block_ms=8_000, request_timeout_ms=8_000)
    except KafkaError as exc:  # authentication failed: the client never bootstraps
        return type(exc).__name__
    try:
        p.send(s.topic(topic), key=b"k", value=b"after revoke").get(timeout=20)
    except KafkaError as exc:
        return type(exc).__name__
    finally:
        p.close(timeout=5)
    raise AssertionError(f"{s.kafka_username} could still write {topic}")


def test_revoking_a_system_deletes_its_kafka_login(deployment, cli):
    """A granted publisher writes ingest.*; `hub systems revoke` (as the operator) marks it revoked AND deletes
    pub.<id>'s ACLs and SCRAM credential: the same login can no longer write any ingest topic, and nothing it
    tried after the revocation was stored."""
    op = deployment.operator
    rc, key, _err = cli(op, "systems", "add", "--id", "onestop-rv", "--communes", "23734", "--kinds", "dossier")
    assert rc == 0 and key.startswith("hubk_")
    pub = deployment.grant("publisher", "onestop-rv")
    write(pub, topics.INGEST_DOSSIER, b"before")
    assert f"User:{deployment.prefix}pub.onestop-rv" in security.describe(op)

    rc, _out, err = cli(op, "systems", "revoke", "--id", "onestop-rv")
    assert rc == 0, err
    assert "revoked and its Kafka login deleted" in err
    assert not systems.read(op).get("onestop-rv").active
    assert f"User:{deployment.prefix}pub.onestop-rv" not in security.describe(op)
    for topic in (topics.INGEST_DOSSIER, topics.INGEST_DOCUMENT, topics.INGEST_TARGET):
        assert cannot_write(pub, topic) in ("KafkaTimeoutError", "NoBrokersAvailable",
                                            "TopicAuthorizationFailedError", "SaslAuthenticationFailedError",
                                            "AuthenticationFailedError"), topic
    assert [r.value for r in read_topic(op, op.topic(topics.INGEST_DOSSIER))] == [b"before"]
    for topic in (topics.INGEST_DOCUMENT, topics.INGEST_TARGET):
        assert read_topic(op, op.topic(topic)) == [], topic

    rc, _out, err = cli(op, "systems", "revoke", "--id", "onestop-rv")  # again: idempotent, still no login
    assert rc == 0, err
    assert f"User:{deployment.prefix}pub.onestop-rv" not in security.describe(op)


def test_re_registering_a_publisher_says_how_to_rotate_its_kafka_password(deployment, cli):
    """`hub systems add` again (a new key) in secure mode tells the operator that the Kafka password is a
    separate secret, with the command that rotates it; the key alone is on stdout."""
    op = deployment.operator
    args = ("systems", "add", "--id", "onestop-rot", "--communes", "23734", "--kinds", "dossier")
    rc, _key, err = cli(op, *args)
    assert rc == 0 and "hub security grant publisher onestop-rot --password-file PATH" in err
    rc, key, err = cli(op, *args)
    assert rc == 0 and key.strip().startswith("hubk_") and len(key.strip().splitlines()) == 1
    assert "keeps its old password: rotate it too" in err
    assert "hub security grant publisher onestop-rot --password-file PATH" in err


def test_a_missing_acl_is_reported_as_not_authorized_naming_principal_and_topic(deployment):
    """A publisher may not read feed.kpi.commune.v1: the reader says the principal is not authorized to read
    the topic (the topic exists), instead of telling the operator to create it."""
    pub = deployment.grant("publisher", "reader-probe")
    topic = pub.topic(topics.FEED_KPI)
    with pytest.raises(HubError) as caught:
        kafka_read.end_offsets(pub, topic, timeout_s=10)
    message = str(caught.value)
    assert f"principal {deployment.prefix}pub.reader-probe is not authorized to read topic {topic}" in message
    assert "does not exist" not in message
    with pytest.raises(HubError, match="does not exist"):  # a topic that really is missing stays that
        kafka_read.end_offsets(deployment.operator, deployment.operator.topic("feed.nothing.v1"), timeout_s=10)


def test_the_gateway_principal_reads_every_feed_of_its_read_model(deployment):
    """With the plan's ACLs the gateway's read model reads all four feeds to their end (the target progress
    feed was missing, so the read model never caught up and /readyz stayed 503)."""
    gateway = deployment.grant("gateway")
    for topic in read_model.FEEDS.values():
        assert kafka_read.end_offsets(gateway, gateway.topic(topic), timeout_s=15) == {0: 0, 1: 0}, topic
    snapshot = read_model.load(gateway, timeout_s=15)
    assert snapshot.rows == 0 and snapshot.targets == {}


def test_in_plaintext_mode_revoking_says_there_is_no_kafka_login(make_settings, cli):
    """On the plain development broker there is no principal to delete: one log line says so, and the
    command still revokes the key."""
    s = make_settings()
    assert cli(s, "systems", "add", "--id", "plain-rv", "--communes", "23734", "--kinds", "dossier")[0] == 0
    rc, _out, err = cli(s, "systems", "revoke", "--id", "plain-rv")
    assert rc == 0 and "system plain-rv revoked\n" in err
    assert [line for line in err.splitlines() if '"kafka_login_none"' in line and "plain-rv" in line], err
    assert not systems.read(s).get("plain-rv").active

"""Bounded topic reads: committed records only, up to the end offsets, past transaction markers."""

from __future__ import annotations

import orjson
import pytest
from kafka import KafkaProducer

from hub.admin import dlq
from hub.contract import headers as h
from hub.contract import topics
from hub.errors import HubError
from hub.kafka import read as kafka_read
from hub.testing import read_topic

pytestmark = pytest.mark.integration


def _send(producer: KafkaProducer, topic: str, partition: int, values: list[bytes], reason: str) -> None:
    producer.begin_transaction()
    for v in values:
        producer.send(topic, key=b"23734", value=v, partition=partition, headers=h.from_dict({h.ERR_REASON: reason}))
    producer.flush()


def _transactions(s, topic: str) -> KafkaProducer:
    """Partition 0: 3 committed, 2 aborted; partition 1: 2 committed; partition 2: 1 left in an open transaction."""
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, transactional_id=f"{s.topic_prefix}txn-test")
    producer.init_transactions()
    _send(producer, topic, 0, [b"committed-0", b"committed-1", b"committed-2"], "missing_field")
    producer.commit_transaction()
    _send(producer, topic, 0, [b"aborted-0", b"aborted-1"], "bad_date")
    producer.abort_transaction()
    _send(producer, topic, 1, [b"committed-p1-0", b"committed-p1-1"], "missing_field")
    producer.commit_transaction()
    _send(producer, topic, 2, [b"open"], "open")
    return producer  # the caller aborts the open transaction when done


def test_read_committed_skips_aborted_and_open_transactions_and_reaches_the_end(make_settings):
    """kafka_read.read returns the 5 committed records, stops at the end offsets and never waits on the open one."""
    s = make_settings(partitions=3)
    topic = s.topic(topics.DLQ)
    producer = _transactions(s, topic)
    try:
        ends = kafka_read.end_offsets(s, topic, timeout_s=10)
        # Committed records plus one commit marker each; partition 2's open transaction is not stable yet.
        assert ends == {0: 3 + 1 + 2 + 1, 1: 2 + 1, 2: 0}
        values = sorted(m.value for m in kafka_read.read(s, topic, timeout_s=10))
        assert values == [b"committed-0", b"committed-1", b"committed-2", b"committed-p1-0", b"committed-p1-1"]
        everything = kafka_read.read(s, topic, timeout_s=10, isolation_level=kafka_read.READ_UNCOMMITTED)
        assert len(list(everything)) == 8
        # A second read starting at the end offsets finds nothing, and returns at once.
        assert list(kafka_read.read(s, topic, ends, starts=ends, timeout_s=10)) == []
        # The test helper and the DLQ listing read committed records only.
        assert len(read_topic(s, topic, timeout_s=10)) == 5
        summary = dlq.list_letters(s, timeout_s=10)
        assert summary.total == 5 and set(summary.by_reason) == {"missing_field"}
    finally:
        producer.abort_transaction()
        producer.close()


def test_reader_follows_new_records_after_reading_to_the_end(make_settings):
    """A Reader reads to the end, then read_to_end again returns only what was added since."""
    s = make_settings(partitions=2)
    topic = s.topic(topics.INGEST_DOSSIER)
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap)
    try:
        for i in range(4):
            producer.send(topic, value=orjson.dumps(i), partition=i % 2)
        producer.flush()
        with kafka_read.Reader(s, topic, client="test") as reader:
            assert sorted(orjson.loads(m.value) for m in reader.read_to_end(timeout_s=10)) == [0, 1, 2, 3]
            producer.send(topic, value=orjson.dumps(4), partition=1).get(timeout=10)
            assert [orjson.loads(m.value) for m in reader.read_to_end(timeout_s=10)] == [4]
            assert list(reader.read_to_end(timeout_s=10)) == []
    finally:
        producer.close()


def test_missing_topic_is_a_hub_error_and_an_empty_test_read(make_settings):
    """Reading a topic that does not exist says so; the test helper returns no records."""
    s = make_settings(create_topics=False)
    with pytest.raises(HubError, match="does not exist"):
        list(kafka_read.read(s, s.topic(topics.DLQ), timeout_s=5))
    assert read_topic(s, s.topic(topics.DLQ), timeout_s=5) == []


def test_hub_tail_prints_committed_records_only(make_settings, cli):
    """`hub tail --from-beginning` prints one line per committed feed record and none of the aborted or open ones."""
    s = make_settings(partitions=3)
    producer = _transactions(s, s.topic(topics.FEED_DOSSIER))
    try:
        rc, out, _err = cli(s, "tail", topics.FEED_DOSSIER, "--from-beginning", "--timeout", "2")
    finally:
        producer.abort_transaction()
        producer.close()
    assert rc == 0
    lines = [orjson.loads(x) for x in out.splitlines()]
    assert sorted((x["partition"], x["offset"]) for x in lines) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]

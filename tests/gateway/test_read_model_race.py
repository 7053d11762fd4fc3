"""The read model never loses a row written while it reads (hub issue 21 item 7).

A round takes a feed's end offsets, then polls; the broker answers a poll with whatever the partition
holds by then, rows written after the end offsets included. The round leaves those for the next one,
which must start from the end offset it read up to, not from the consumer's position (already past
them). Both tests write at that exact point (the ``on_ends`` seam) and compare the model with a fresh,
full read of the topics made after the writes stopped.
"""

from __future__ import annotations

import random

import pytest
from confluent_kafka import Producer

from hub.contract import codec, topics
from hub.read.model import FeedReaders, FeedSnapshot, ReadModel, apply
from hub.testing import read_topic, wait_for
from tests.gateway.test_read_model import _freshness, _kpi

pytestmark = pytest.mark.integration

_, KPI_ROW = _kpi("month", "2025-11")
FRESHNESS_ROW = next(iter(_freshness().values()))


def _producer(s, **config) -> Producer:
    return Producer({"bootstrap.servers": s.kafka_bootstrap, "acks": "all", **config})


def _write(producer: Producer, topic: str, partition: int, key: str, value: bytes) -> None:
    producer.produce(topic, value, key=key.encode(), partition=partition)
    assert producer.flush(30) == 0


def _fresh(s) -> dict[str, dict[str, bytes | None]]:
    """{feed: {key: latest value}} of a full read from the beginning (no writer left)."""
    out: dict[str, dict[str, bytes | None]] = {}
    for name, topic in (("kpi", topics.FEED_KPI), ("freshness", topics.FEED_FRESHNESS)):
        out[name] = {r.key.decode(): r.value for r in read_topic(s, s.topic(topic))}
    return out


def test_a_row_written_during_every_read_reaches_the_next_round(make_settings):
    """Twenty rounds; before each one a row waits in KPI partition 0, and while the round reads that partition
    (end offsets taken, nothing polled yet) another row lands there. All 40 rows are in the model."""
    s = make_settings()
    kpi_topic = s.topic(topics.FEED_KPI)
    producer = _producer(s)
    written: list[str] = []
    rounds = {"n": 0, "during": True}

    def during_the_read(topic: str, ends: dict[int, int]) -> None:
        if topic == kpi_topic and rounds["during"]:
            key = f"23734|day|during-{rounds['n']:02d}"
            _write(producer, kpi_topic, 0, key, KPI_ROW)
            written.append(key)

    readers = FeedReaders(s, timeout_s=30, on_ends=during_the_read)
    seen: dict[str, bytes | None] = {}
    try:
        for n in range(20):
            rounds["n"] = n
            key = f"23734|day|before-{n:02d}"
            _write(producer, kpi_topic, 0, key, KPI_ROW)
            written.append(key)
            changes, unreadable = readers.read_round()
            assert unreadable == 0
            seen.update(changes["kpi"])
        rounds["during"] = False
        changes, _ = readers.read_round()  # the last round picks up the row written during the 20th
        seen.update(changes["kpi"])
    finally:
        readers.close()
        producer.flush(10)
    expected = {f"23734|day|{when}-{n:02d}" for n in range(20) for when in ("before", "during")}
    assert set(written) == expected and len(expected) == 40
    assert set(seen) == expected
    assert seen == _fresh(s)["kpi"]


def test_random_writes_during_reads_leave_the_model_equal_to_a_fresh_read(make_settings):
    """While the follower runs, each time it takes a feed's end offsets 0-3 rows land on random partitions of
    the KPI and freshness feeds: plain writes, committed transactions and aborted ones (never visible).
    Once the writes stop, the model holds exactly what a fresh read of the topics holds."""
    s = make_settings()
    rng = random.Random(20251121)
    names = {s.topic(topics.FEED_KPI): "kpi", s.topic(topics.FEED_FRESHNESS): "freshness"}
    plain = _producer(s)
    txn = _producer(s, **{"transactional.id": f"{s.topic_prefix}race-writer"})
    txn.init_transactions(30)
    budget = {"rows": 300}
    counts = {"kpi": 0, "freshness": 0, "aborted": 0}

    def write_some(topic: str, ends: dict[int, int]) -> None:
        name = names.get(topic)
        if name is None or budget["rows"] <= 0:
            return
        for _ in range(min(rng.randint(0, 3), budget["rows"])):
            budget["rows"] -= 1
            n = 300 - budget["rows"]
            key = f"23734|day|r{n:03d}" if name == "kpi" else f"2{n:04d}"
            value = KPI_ROW if name == "kpi" else FRESHNESS_ROW
            how = rng.choice(("plain", "plain", "commit", "abort"))
            if how == "plain":
                _write(plain, topic, rng.randrange(len(ends)), key, value)
            else:
                txn.begin_transaction()
                txn.produce(topic, value, key=(key + "-aborted" if how == "abort" else key).encode(),
                            partition=rng.randrange(len(ends)))
                (txn.commit_transaction if how == "commit" else txn.abort_transaction)(30)
            counts["aborted" if how == "abort" else name] += 1

    model = ReadModel(s, interval_s=0.02, on_ends=write_some).start()
    try:
        wait_for(lambda: budget["rows"] <= 0, timeout_s=120, what="300 rows written during reads")
        fresh = _fresh(s)
        # some rows were written during the last round: the model gets them in the next one
        wait_for(lambda: model.snapshot.rows == len(fresh["kpi"]) + len(fresh["freshness"]), timeout_s=60,
                 what="the model catching up with the last writes")
    finally:
        model.stop()
        plain.flush(10)
    assert len(fresh["kpi"]) == counts["kpi"] and len(fresh["freshness"]) == counts["freshness"]
    assert counts["kpi"] + counts["freshness"] + counts["aborted"] == 300 and counts["aborted"] > 0
    assert not [k for k in fresh["kpi"] if k.endswith("-aborted")]
    expected = apply(FeedSnapshot(codec.load(s.schemas_dir)), {"kpi": fresh["kpi"], "freshness": fresh["freshness"]})
    snap = model.snapshot
    assert snap.kpi == expected.kpi and snap.freshness == expected.freshness

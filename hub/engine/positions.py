"""Where the engine's consumer stands: the offsets a batch commits, how far each partition is behind, where an
aborted batch rewinds to, and how many partitions a topic has."""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import Consumer, KafkaException, TopicPartition

from hub.engine.processor import TP


def after(messages: list) -> list[TopicPartition]:
    """The offsets to commit for ``messages``: per partition, the one after its last record."""
    last: dict[TP, int] = {}
    for m in messages:
        last[(m.topic(), m.partition())] = m.offset()
    return [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]


def behind(consumer: Consumer, assignment: list[TP]) -> dict[TP, int] | None:
    """Records not yet consumed per assigned partition (cached high watermark minus position); None when
    the positions cannot be read now. Call it from the consumer's own thread (librdkafka's rule)."""
    try:
        positions = consumer.position([TopicPartition(t, p) for t, p in assignment])
    except KafkaException:
        return None
    out: dict[TP, int] = {}
    for tp in positions:
        try:
            _low, high = consumer.get_watermark_offsets(tp, cached=True)
        except KafkaException:
            continue
        if high is not None and high >= 0 and tp.offset is not None and tp.offset >= 0:
            out[(tp.topic, tp.partition)] = max(0, high - tp.offset)
    return out


def rewind(consumer: Consumer, messages: list, skipped: Callable[[str, int, str], None]) -> None:
    """Seek each partition of ``messages`` back to its first record (a batch that did not commit is read
    again). A partition revoked meanwhile cannot be sought: its new owner resumes it from the committed
    offset, and ``skipped(topic, partition, error)`` says so."""
    first: dict[TP, int] = {}
    for m in messages:
        first.setdefault((m.topic(), m.partition()), m.offset())
    for (topic, partition), offset in first.items():
        try:
            consumer.seek(TopicPartition(topic, partition, offset))
        except KafkaException as exc:
            skipped(topic, partition, str(exc)[:200])


def partition_count(consumer: Consumer, topic: str, timeout_s: float = 10.0) -> int | None:
    """``topic``'s partitions from the consumer's metadata (no extra connection); None when unknown."""
    md = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
    return None if md is None or md.error is not None else len(md.partitions)

"""Where the engine's consumer stands: the offsets a batch commits, and how far each partition is behind."""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaException, TopicPartition

from hub.stream.processor import TP


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

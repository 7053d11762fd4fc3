"""Which partition an ingest record must sit in, so that one event meets one dedupe state.

Dedupe state is per ingest partition (``hub.processors.normalize``): the same record written to two
partitions would pass twice. So the worker holds every keyed ingest record to the partition a
default Kafka producer chooses for its key — murmur2 of the key bytes, made positive, modulo the
topic's partition count (Java's default partitioner, kafka-python's and aiokafka's
``DefaultPartitioner``, librdkafka's ``murmur2_random``) — and to a key that is its commune or its
``hub.source`` (what the SDK and the gateway write); anything else is a ``wrong_partition`` dead letter.

Measured on this broker (48 keys, 6 partitions, 2026-12): kafka-python (SDK, outbox, file drop,
simulator, ``hub dlq replay``) and aiokafka (gateway) put 48/48 keys where :func:`murmur2` says;
confluent-kafka / librdkafka with its *default* partitioner (``consistent_random``: CRC32) only 9/48.
A publisher that writes with librdkafka must set ``partitioner=murmur2_random`` (README, "Ways in").

Records without a key are refused too (``wrong_partition``): every writer the hub ships keys its
records, and an unkeyed record may land on any partition, which is the very hole this closes.

What stays open: an event sent once keyed by its commune and once keyed by its system id lands on two
partitions, both legitimate (the SDK keys by system id when the caller names no commune; the gateway
by commune). So a publisher can make at most two copies of *its own* event pass; closing that needs
dedupe keyed by event id across partitions (a repartition step), not a check on one record.

Adding partitions to an ingest topic moves keys: records written with the old count are dead-lettered
as ``wrong_partition`` until producers see the new count; ``hub dlq replay --reason wrong_partition``
re-injects them where they now belong (replay keys them with a murmur2 producer).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hub import log

_REFRESH_S = 60.0  # partitions may be added to a topic while the worker runs

logger = log.get("hub.processors")


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as an unsigned 32-bit value."""
    length = len(data)
    m, seed = 0x5BD1E995, 0x9747B28C
    h = (seed ^ length) & 0xFFFFFFFF
    end = length - length % 4
    for i in range(0, end, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    rest = length % 4
    if rest == 3:
        h ^= data[end + 2] << 16
    if rest >= 2:
        h ^= data[end + 1] << 8
    if rest >= 1:
        h ^= data[end]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def partition_of(key: bytes, partitions: int) -> int:
    """The partition a default (murmur2) producer writes ``key`` to: ``toPositive(murmur2) % n``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class PartitionCounts:
    """Partition counts of the ingest topics, read from the worker's own consumer connection.

    ``lookup(topic) -> int | None`` is set once the processor runs under the engine; until then (the
    in-memory test batches) :meth:`get` answers None and the partition check is skipped. A lookup that
    fails is logged and skipped too: a metadata hiccup must not stall ingest.
    """

    def __init__(self, lookup: Callable[[str], int | None] | None = None) -> None:
        self.lookup = lookup
        self._known: dict[str, tuple[int, float]] = {}

    def get(self, topic: str, partition: int) -> int | None:
        if self.lookup is None:
            return None
        now = time.monotonic()
        known = self._known.get(topic)
        if known is not None and partition < known[0] and now - known[1] < _REFRESH_S:
            return known[0]
        try:
            count = self.lookup(topic)
        except Exception as exc:  # noqa: BLE001 - any metadata failure: skip the check, say so
            logger.warning("partition_check_skipped", topic=topic, partition=partition, error=str(exc)[:200])
            return known[0] if known is not None and partition < known[0] else None
        if count:
            self._known[topic] = (count, now)
        return count or None

"""Deduplication on (source system, source event id), across restarts and rebalances.

Two layers, because at-least-once delivery leaves one gap a table alone cannot close:

* a faust windowed table (``dedupe-<kind>``) backed by its compacted changelog holds every
  event id seen in the last ``HUB_DEDUPE_WINDOW_HOURS`` (tumbling windows of that size,
  expiring after two, so memory and changelog stay bounded);
* after every partition assignment, the ids already on the feed in the last few minutes are
  read back from the feed's ``hub.dedupe`` headers. That covers a worker killed after its
  feed write was acknowledged but before its changelog write was: the re-processed record
  is then found on the feed itself.
"""

from __future__ import annotations

import time
from datetime import timedelta

from kafka import KafkaConsumer, TopicPartition

from hub import headers as h
from hub.settings import Settings

RECOVERY_WINDOW_S = 600  # far above faust's commit interval (2.8 s) and producer linger


def make_table(app, kind: str, settings: Settings):
    window = timedelta(hours=settings.dedupe_window_hours)
    return (app.Table(f"dedupe-{kind}", default=int, partitions=settings.partitions, key_type=str,
                      value_type=int, help="event ids already published")
            .tumbling(window, expires=window * 2)
            .relative_to_now())


def seen(table, event_id: str, window_s: float) -> bool:
    """True when ``event_id`` was marked in the current or the previous wall-clock window."""
    entry = table[event_id]
    if entry.now():
        return True
    # delta() would be relative to the *event's* timestamp; a backlog must compare to now.
    return any(entry[r] for r in table.table.window.ranges(time.time() - window_s))


def mark(table, event_id: str) -> None:
    table[event_id] = 1


def recent_feed_ids(settings: Settings, topic: str, window_s: float = RECOVERY_WINDOW_S) -> set[str]:
    """Event ids of records written to ``topic`` in the last ``window_s`` seconds (blocking)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             client_id=f"{settings.app_id}-dedupe-recovery", consumer_timeout_ms=500)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not tps:
            return set()
        since = int((time.time() - window_s) * 1000)
        starts = consumer.offsets_for_times({tp: since for tp in tps})
        ends = consumer.end_offsets(tps)
        todo = [tp for tp in tps if starts.get(tp) is not None and starts[tp].offset < ends[tp]]
        ids: set[str] = set()
        if not todo:
            return ids
        consumer.assign(todo)
        for tp in todo:
            consumer.seek(tp, starts[tp].offset)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(consumer.position(tp) < ends[tp] for tp in todo):
            for msgs in consumer.poll(timeout_ms=500).values():
                for m in msgs:
                    for k, v in m.headers or ():
                        if k == h.EVENT_ID:
                            ids.add(v.decode())
        return ids
    finally:
        consumer.close()

"""Stores of newly assigned partitions: opened empty, then filled from their changelog topics.

A store's local data is a cache (``rocksdb://`` wipes it on open): the changelog, written in the
same transactions as the outputs, is the truth, read back ``read_committed`` to its end before the
partition's first batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from hub.contract import topics
from hub.engine import changelog
from hub.engine.processor import TP, StoreSpec
from hub.engine.store import Store, open_backend
from hub.settings import Settings

_RESTORE_TIMEOUT_S = 600.0
_APPLY_EVERY = 10_000  # records buffered per partition before they are written to the store


def open_stores(settings: Settings, processor: str, specs: tuple[StoreSpec, ...], tps: list[TP],
                stores: dict[str, dict[TP, Store]]) -> dict[TP, Store]:
    """Open a fresh store per spec and assigned partition (closing any previous one in ``stores``,
    which is updated); returns them by (changelog topic, partition), the partitions to read."""
    wanted: dict[TP, Store] = {}
    for spec in specs:
        if spec.copartitioned:
            targets = {("*", p): topics.changelog(settings, processor, spec.name) for _t, p in tps}
        else:
            targets = {(t, p): topics.changelog(settings, processor, spec.name, t) for t, p in tps}
        for tp, log_topic in targets.items():
            partition = tp[1]
            name = f"{processor}/{spec.name}/{log_topic}/{partition}"
            backend = open_backend(settings.worker_store, settings.worker_data_dir, name, ttl_ms=spec.retention_ms)
            old = stores[spec.name].pop(tp, None)
            if old is not None:
                old.close()
            store = Store(spec.name, log_topic, partition, backend, batched=spec.batched)
            stores[spec.name][tp] = store
            wanted[(log_topic, partition)] = store
    return wanted


def read_changelogs(consumer: Consumer, wanted: dict[TP, Store], tick: Callable[[], None] = lambda: None) -> int:
    """Read every wanted changelog partition from its beginning to its end (EOF), into its store;
    ``tick()`` after each read (a long restore is progress, not a stall)."""
    assign = [TopicPartition(t, p, -2) for (t, p) in wanted]  # -2 = OFFSET_BEGINNING, the earliest kept
    consumer.assign(assign)
    pending: dict[TP, dict[bytes, bytes | None]] = {tp: {} for tp in wanted}
    open_ = set(wanted)
    count = 0
    deadline = time.monotonic() + _RESTORE_TIMEOUT_S
    try:
        while open_:
            if time.monotonic() > deadline:
                raise TimeoutError(f"changelog restore did not reach the end of {sorted(open_)} "
                                   f"within {_RESTORE_TIMEOUT_S:.0f} s")
            msgs = consumer.consume(1000, 0.5)
            tick()
            for m in msgs:
                # both set on every record and on a partition's EOF event; other errors are raised below
                tp = cast(TP, (m.topic(), m.partition()))
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        open_.discard(tp)
                        continue
                    raise KafkaException(err)
                if changelog.is_batch(m.headers()):
                    count += changelog.unpack(m.value() or b"", pending[tp])
                else:
                    pending[tp][cast(bytes, m.key())] = m.value()  # changelog records always have a key
                    count += 1
                if len(pending[tp]) >= _APPLY_EVERY:
                    wanted[tp].restore(pending[tp])
                    pending[tp] = {}
    finally:
        consumer.unassign()
    for tp, writes in pending.items():
        if writes:
            wanted[tp].restore(writes)
    return count

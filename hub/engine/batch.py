"""One transaction's outputs, as a processor sees them (:class:`hub.engine.processor.Batch`).

The batch holds narrow collaborators the engine hands it, never the engine itself: ``produce`` (the
transactional producer's send), the per-partition stores, and two read-only views a processor may
consult — ``lag`` (records not yet consumed per partition) and ``partition_count`` (a topic's
partitions from the consumer's metadata). Callbacks registered with ``after_commit`` run once the
transaction committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping

from hub.engine.processor import TP, Headers
from hub.engine.store import Store

Produce = Callable[..., None]  # (topic, key, value, headers, *, on_delivery=None)


def _no_lag() -> dict[TP, int]:
    return {}


def _no_count(_topic: str) -> int | None:
    return None


class TxnBatch:
    """One transaction's outputs, as the processor sees them."""

    __slots__ = ("messages", "sent", "lag", "partition_count", "_after", "_produce", "_stores", "_copartitioned")

    def __init__(self, messages: list, *, produce: Produce, stores: Mapping[str, dict[TP, Store]],
                 copartitioned: Collection[str] = (), lag: Callable[[], dict[TP, int]] = _no_lag,
                 partition_count: Callable[[str], int | None] = _no_count) -> None:
        self.messages = messages
        self.sent: dict[str, int] = defaultdict(int)
        self.lag = lag
        self.partition_count = partition_count
        self._after: list[Callable[[], None]] = []
        self._produce, self._stores, self._copartitioned = produce, stores, copartitioned

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction committed (log lines that must not precede the fact)."""
        self._after.append(callback)

    def committed(self) -> None:
        """The transaction committed: run the ``after_commit`` callbacks (the engine calls this)."""
        for callback in self._after:
            callback()

    def send(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers | None = None, *,
             on_delivery: Callable | None = None) -> None:
        self._produce(topic, key, value, headers, on_delivery=on_delivery)
        self.sent[topic] += 1

    def store(self, name: str, tp: TP) -> Store:
        if name in self._copartitioned:
            tp = ("*", tp[1])
        return self._stores[name][tp]

    def stores(self, name: str) -> dict[TP, Store]:
        return self._stores[name]

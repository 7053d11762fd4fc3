"""One transaction's outputs, as a processor sees them (:class:`hub.stream.processor.Batch`).

Sends go straight to the engine's transactional producer; stores are the engine's per-partition
stores; callbacks registered with ``after_commit`` run once the transaction committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from hub.stream.processor import TP, Headers
from hub.stream.store import Store

if TYPE_CHECKING:
    from hub.stream.engine import Engine


class TxnBatch:
    """One transaction's outputs, as the processor sees them."""

    __slots__ = ("engine", "messages", "sent", "_after")

    def __init__(self, engine: Engine, messages: list) -> None:
        self.engine = engine
        self.messages = messages
        self.sent: dict[str, int] = defaultdict(int)
        self._after: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction committed (log lines that must not precede the fact)."""
        self._after.append(callback)

    def send(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers | None = None, *,
             on_delivery: Callable | None = None) -> None:
        self.engine._produce(topic, key, value, headers, on_delivery=on_delivery)
        self.sent[topic] += 1

    def store(self, name: str, tp: TP) -> Store:
        if name in self.engine._copartitioned:
            tp = ("*", tp[1])
        return self.engine._stores[name][tp]

    def stores(self, name: str) -> dict[TP, Store]:
        return self.engine._stores[name]

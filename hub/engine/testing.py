"""Helpers to test a processor without a broker: messages, a batch and its stores, as the engine gives them.

``FakeBatch`` keeps the records a processor sends (``sent``) and runs ``after_commit`` callbacks on
``commit()``, which also commits the stores — the engine's order, minus Kafka.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hub.engine.processor import TP, Headers
from hub.engine.store import MemoryBackend, Store


@dataclass
class FakeMessage:
    """The parts of a confluent_kafka.Message that processors read."""

    _topic: str
    _value: bytes | None
    _key: bytes | None = None
    _headers: Headers = field(default_factory=list)
    _partition: int = 0
    _offset: int = 0
    _timestamp_ms: int = 0

    def topic(self) -> str:
        return self._topic

    def value(self) -> bytes | None:
        return self._value

    def key(self) -> bytes | None:
        return self._key

    def headers(self) -> Headers:
        return list(self._headers)

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return (1, self._timestamp_ms)


class FakeBatch:
    """One transaction's view: the messages, memory stores per (name, tp), the records sent."""

    def __init__(self, messages: list | None = None, stores: dict[tuple[str, TP], Store] | None = None) -> None:
        self.messages = list(messages or [])
        self._stores = stores if stores is not None else {}
        self.sent: list[tuple[str, bytes | None, bytes | None, Headers | None]] = []
        self._after: list[Callable[[], None]] = []

    def send(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers | None = None, *,
             on_delivery: Callable | None = None) -> None:
        self.sent.append((topic, key, value, headers))

    def store(self, name: str, tp: TP) -> Store:
        if (name, tp) not in self._stores:
            self._stores[(name, tp)] = Store(name, f"{name}-changelog", tp[1], MemoryBackend())
        return self._stores[(name, tp)]

    def stores(self, name: str) -> dict[TP, Store]:
        return {tp: st for (n, tp), st in self._stores.items() if n == name}

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after.append(callback)

    def next(self, messages: list | None = None) -> FakeBatch:
        """The following batch over the same stores."""
        return FakeBatch(messages, self._stores)

    def commit(self) -> None:
        for st in self._stores.values():
            st.commit()
        for callback in self._after:
            callback()

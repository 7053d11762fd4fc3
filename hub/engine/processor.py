"""What a processor is to the engine: inputs, stores, and callbacks that see one batch.

A processor is plain code over one batch at a time. It reads the batch's messages, reads and
writes its stores, and sends output records; the engine wraps all of that in one Kafka
transaction together with the consumed offsets. Every piece of state that must survive a crash
lives in stores, never only in attributes: an aborted batch is replayed, and a partition that
moves to another worker takes its stores along through their changelogs. Attributes may hold
caches derived from stores (rebuilt in ``assigned``, dropped in ``aborted``/``revoked``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

Headers = list[tuple[str, bytes]]
TP = tuple[str, int]  # (topic, partition)


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """A store a processor keeps per input partition, changelogged to its own compacted topic."""

    name: str
    retention_ms: int | None = None  # also delete changelog records older than this (expiring stores)
    # One store per partition NUMBER shared by all inputs (the engine then assigns with the range
    # strategy, so partition p of every input goes to the same worker).
    copartitioned: bool = False
    # One changelog record per transaction holding all its writes (hub.engine.changelog), not one per key.
    batched: bool = False

    @classmethod
    def of(cls, st) -> StoreSpec:
        """From a :class:`hub.contract.topics.StateStore` declaration."""
        return cls(st.name, st.retention_ms, st.copartitioned, st.batched)


class Batch(Protocol):
    """The processor's view of one transaction."""

    messages: list[Any]  # confluent_kafka.Message objects without errors, in partition order

    def send(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers | None = None, *,
             on_delivery: Callable | None = None) -> None: ...

    def store(self, name: str, tp: TP) -> Any: ...

    def after_commit(self, callback: Callable[[], None]) -> None: ...

    def stores(self, name: str) -> dict[TP, Any]: ...


class Processor(Protocol):
    name: str  # consumer group suffix, transactional id and changelog names
    inputs: tuple[str, ...]  # full topic names
    stores: tuple[StoreSpec, ...]
    punctuate_every_s: float | None  # None: no timer

    def process(self, batch: Batch) -> None: ...

    def punctuate(self, batch: Batch, now_ms: int) -> None: ...

    def assigned(self, tps: list[TP], batch: Batch) -> None: ...

    def revoked(self, tps: list[TP]) -> None: ...

    def aborted(self) -> None: ...


class BaseProcessor:
    """Defaults for the optional callbacks."""

    stores: tuple[StoreSpec, ...] = ()
    punctuate_every_s: float | None = None

    def punctuate(self, batch: Batch, now_ms: int) -> None:
        return None

    def assigned(self, tps: list[TP], batch: Batch) -> None:
        return None

    def revoked(self, tps: list[TP]) -> None:
        return None

    def aborted(self) -> None:
        return None

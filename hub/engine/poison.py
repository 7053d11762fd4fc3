"""No record can hold a partition forever; a partition that cannot move is an alert.

The engine commits a batch whole or not at all, and retries a failed batch from its first records.
That is right for a broker fault (it passes; nothing may be skipped) and wrong for a record that can
never be written: a dead letter larger than the producer's limit, an output the topic refuses as too
large or invalid, a processor bug one record triggers. Retried as it is, such a batch fails forever
and holds every partition of the engine (hub issue 21: one 1.3 MB record stopped all ingest).

**Isolation** (:class:`Isolation`). A transaction that fails for a reason of the records
(:data:`RECORD_ERRORS`, or an exception raised by processor code) is retried at once in halves,
down to the single record that fails. That record, alone in its transaction, gets
``HUB_WORKER_POISON_ATTEMPTS`` tries (default 3, with the engine's backoff between them). Then:

- a refusal raised by ``produce`` itself (the record exceeds the producer's ``message.max.bytes``)
  or a processor exception is the record's own: it is dead-lettered at once;
- a refusal reported by the broker may be the topic's fault (a ``max.message.bytes`` set too low
  refuses every record, tests/pipeline/test_write_failures.py): the engine *probes* — it processes
  the records that follow in a transaction it always aborts, and only if the topic that refused the
  record accepted one of theirs is the record to blame. Otherwise the partition waits (and becomes
  ``partition_stuck``) until the topic is fixed: nothing is dead-lettered for a fault of the hub's.

Dead-lettering writes a bounded dead letter (:func:`hub.bounded.letter`; reason ``unwritable`` or
``internal_error``, the error named in ``hub.error.message``) and the record's next offset in one
transaction: the partition moves on, and whatever the processor did for that record (outputs, store
writes) was aborted with its last try. Transient faults (broker down, timeouts, fencing, leader and
coordinator moves) are never in :data:`RECORD_ERRORS` and never skip anything.

**Stuck partitions** (:class:`StuckWatch`). A partition whose records the engine tried and could
not commit, and whose committed offset has not moved for ``HUB_PARTITION_STUCK_S``, is stuck: one
``partition_stuck`` log line (topic, partition, offset, since — the engine's own clock, never record
timestamps), the ``hub_worker_partition_stuck`` gauge, worker ``/readyz`` 503 naming it, and a mark in
the consumer group's committed offset metadata (the same offset, ``{"stuck_since": ms, ...}``) that
``hub status`` reads and reports as ``partition_stuck``. The next commit that moves the partition
clears all of it (``partition_unstuck``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson
from confluent_kafka import KafkaException, TopicPartition

from hub import bounded, log
from hub.contract import headers as h
from hub.contract import topics
from hub.engine.processor import TP

if TYPE_CHECKING:
    from hub.engine.engine import Engine

logger = log.get("hub.engine")
# Refusals that say something about the records, not about the broker's health: retrying the same
# bytes can never succeed.
RECORD_ERRORS = frozenset({"MSG_SIZE_TOO_LARGE", "RECORD_LIST_TOO_LARGE", "INVALID_RECORD", "INVALID_MSG",
                           "INVALID_MSG_SIZE", "INVALID_TIMESTAMP", "_INVALID_ARG", "_INVALID_TYPE"})
_PROBE_MAX = 200  # records of the rest of the batch processed by a probe
STUCK_MARK = "stuck_since"  # key of the committed-offset metadata hub status reads


@dataclass(slots=True)
class Failure:
    """Why the last transaction failed, as far as the engine saw it."""

    name: str  # KafkaError name, or the exception class of processor code
    message: str
    exception: bool = False  # raised by processor code
    local: bool = False  # raised by produce() itself, before anything reached the broker
    refused: set[str] = field(default_factory=set)  # topics whose deliveries failed with a record error
    txn_failed: bool = False  # produce() said the transaction had already failed (cause in a delivery report)

    @property
    def records_fault(self) -> bool:
        return self.exception or self.name in RECORD_ERRORS or bool(self.refused)


class Isolation:
    """Bisects a failing batch down to the record that fails, and dead-letters that record."""

    def __init__(self, engine: Engine) -> None:
        self.e = engine
        self.attempts = max(1, engine.settings.worker_poison_attempts)
        self.cap: int | None = None  # most records per transaction while isolating
        self.window: dict[TP, int] = {}  # last offset per partition of the batch that failed first
        self.strikes: dict[tuple[str, int, int], int] = {}
        self.ok: set[str] = set()  # topics that acknowledged a delivery (observed while isolating)
        self.refused: set[str] = set()  # topics that refused a delivery of the current transaction
        self.dlq = engine.settings.topic(topics.DLQ)

    @property
    def observing(self) -> bool:
        return self.cap is not None

    def size(self, chunk: int) -> int:
        return chunk if self.cap is None else min(chunk, self.cap)

    def observer(self, topic: str, inner: Callable | None) -> Callable:
        """A delivery callback noting whether ``topic`` took the record (and calling the processor's)."""
        def done(err, msg) -> None:
            if err is None:
                self.ok.add(topic)
            elif err.name() in RECORD_ERRORS:
                self.refused.add(topic)
            if inner is not None:
                inner(err, msg)
        return done

    def committed(self, data: list) -> None:
        if self.cap is None:
            return
        for m in data:
            self.strikes.pop((m.topic(), m.partition(), m.offset()), None)
        self.cap *= 2  # grow back as the records after the culprit go through
        last = {(m.topic(), m.partition()): m.offset() for m in data}
        self.window = {tp: o for tp, o in self.window.items() if last.get(tp, -1) < o}
        if not self.window:
            self.cap = None
            self.strikes.clear()

    def forget(self, tps: list[TP]) -> None:
        for tp in tps:
            self.window.pop(tp, None)
        self.strikes = {k: n for k, n in self.strikes.items() if (k[0], k[1]) not in set(tps)}
        if not self.window:
            self.cap = None

    def failed(self, chunk: list, rest: list, failure: Failure | None) -> str:
        """What to do after ``chunk`` failed: ``"retry"`` at once (smaller), ``"moved"`` (a record was
        dead-lettered) or ``"backoff"`` (retry the same after the engine's backoff)."""
        if failure is not None and failure.txn_failed and not failure.refused and self.cap is None and chunk:
            # The cause is in a delivery report nobody listened to: observe the next try of the same chunk.
            self.cap, self.window = len(chunk), {(m.topic(), m.partition()): m.offset() for m in chunk}
            return "backoff"
        if failure is None or not failure.records_fault or not chunk:
            return "backoff"
        if len(chunk) > 1:
            if self.cap is None:
                self.window = {}
                for m in chunk:
                    self.window[(m.topic(), m.partition())] = m.offset()
            self.cap = max(1, len(chunk) // 2)
            self.e._log.warning("batch_isolating", reason=failure.name, records=len(chunk), next_chunk=self.cap)
            return "retry"
        m = chunk[0]
        key = (m.topic(), m.partition(), m.offset())
        self.strikes[key] = n = self.strikes.get(key, 0) + 1
        if self.cap is None:
            self.cap, self.window = 1, {(m.topic(), m.partition()): m.offset()}
        if n < self.attempts:
            return "backoff"
        if not (failure.exception or failure.local) and not self._probe(failure, rest):
            self.e._log.error("record_unproven", reason=failure.name, topic=m.topic(), partition=m.partition(),
                              offset=m.offset(), refused=sorted(failure.refused), attempts=n,
                              error="the topic that refused it accepted no other record: waiting")
            return "backoff"
        if self._dead_letter(m, failure, n):
            self.strikes.pop(key, None)
            return "moved"
        return "backoff"

    def _probe(self, failure: Failure, rest: list) -> bool:
        """Whether a topic that refused the record accepts the records after it (in a transaction that
        is always aborted: nothing of the probe is visible to read_committed readers)."""
        others = rest[:_PROBE_MAX]
        if not failure.refused or not others:
            return False
        e = self.e
        producer = e._producer
        assert producer is not None  # isolating records of a running engine
        self.ok = set()
        try:
            producer.begin_transaction()
            e.p.process(e.new_batch(others))
            producer.flush(e.commit_timeout_s)
        except Exception as exc:  # noqa: BLE001 - a probe only gathers evidence; any failure is "no evidence"
            e._log.warning("probe_failed", error=str(exc)[:200])
        finally:
            e._abort([], None)
        return bool(self.ok & failure.refused)

    def _dead_letter(self, m, failure: Failure, attempts: int) -> bool:
        e = self.e
        reason = "internal_error" if failure.exception else "unwritable"
        where = f" to {', '.join(sorted(failure.refused))}" if failure.refused else ""
        message = (f"processor {e.name} raised {failure.name}: {failure.message}" if failure.exception else
                   f"Kafka refused the record's output{where}: {failure.name}: {failure.message}")[:1000]
        tp = (m.topic(), m.partition())
        kept, cut = bounded.headers([(k, v) for k, v in (m.headers() or []) if not k.startswith("hub.error.")])
        hdrs = kept + h.from_dict({
            h.ERR_STAGE: "produce", h.ERR_REASON: reason, h.ERR_MESSAGE: message,
            h.ERR_CLASS: failure.name if failure.exception else "confluent_kafka.KafkaException",
            h.ERR_TOPIC: tp[0], h.ERR_PARTITION: str(tp[1]), h.ERR_OFFSET: str(m.offset()),
            h.ERR_TIME: str(int(time.time() * 1000)), "hub.error.processor": e.name,
            bounded.HEADERS_CUT: cut, bounded.TRUNCATED: "headers" if cut is not None else None})
        key, value, hdrs = bounded.letter(m.key(), m.value(), hdrs, e.settings.dlq_max_value_bytes)
        e.failure = None
        producer, consumer = e._producer, e._consumer
        assert producer is not None and consumer is not None  # isolating records of a running engine
        try:
            producer.begin_transaction()
            e._produce(self.dlq, key, value, hdrs)
            producer.send_offsets_to_transaction([TopicPartition(tp[0], tp[1], m.offset() + 1)],
                                                 consumer.consumer_group_metadata(), e.commit_timeout_s)
            e._commit()
        except KafkaException as exc:
            e._abort([m], exc)
            return False
        e.stuck.committed({tp: m.offset() + 1})
        try:
            consumer.seek(TopicPartition(tp[0], tp[1], m.offset() + 1))
        except KafkaException as exc:  # revoked meanwhile: the new owner starts after the committed offset
            e._log.warning("rewind_skipped", topic=tp[0], partition=tp[1], error=str(exc)[:200])
        e.metrics.record_isolated(e.name, reason)
        e._log.error("record_dead_lettered", reason=reason, error_name=failure.name, error=message[:300],
                     topic=tp[0], partition=tp[1], offset=m.offset(), attempts=attempts,
                     value_bytes=len(m.value() or b""), truncated=bounded.is_truncated(hdrs))
        return True


class StuckWatch:
    """Partitions the engine could not move, since when (wall clock of the engine's first failed try)."""

    def __init__(self, engine: Engine) -> None:
        self.e = engine
        self.after_s = float(engine.settings.partition_stuck_s)
        self.pending: dict[TP, tuple[int, int, float]] = {}  # tp -> (offset, since ms, since monotonic)
        self.stuck: set[TP] = set()
        self.unmarked: set[TP] = set()
        self.snapshot: list[dict] = []  # the stuck partitions, for /readyz

    def failed(self, data: list) -> None:
        now_ms, now = int(time.time() * 1000), time.monotonic()
        for m in data:  # the first record of each partition is where it waits
            self.pending.setdefault((m.topic(), m.partition()), (m.offset(), now_ms, now))

    def committed(self, next_offsets: dict[TP, int]) -> None:
        for tp, nxt in next_offsets.items():
            got = self.pending.get(tp)
            if got is not None and nxt > got[0]:
                self._clear(tp, got)

    def _clear(self, tp: TP, got: tuple[int, int, float]) -> None:
        del self.pending[tp]
        self.unmarked.discard(tp)
        if tp in self.stuck:
            self.stuck.discard(tp)
            self.e.metrics.set_stuck(self.e.name, tp, False)
            self._publish()
            self.e._log.info("partition_unstuck", topic=tp[0], partition=tp[1], offset=got[0],
                             seconds=round(time.monotonic() - got[2], 1))

    def forget(self, tps: list[TP]) -> None:
        for tp in tps:
            got = self.pending.get(tp)
            if got is not None:
                self._clear(tp, got)
            self.e.metrics.set_stuck(self.e.name, tp, None)

    def check(self) -> None:
        """Called about once a second from the engine's thread, between transactions."""
        now = time.monotonic()
        for tp, (offset, since_ms, since) in self.pending.items():
            if tp not in self.stuck and now - since > self.after_s:
                self.stuck.add(tp)
                self.unmarked.add(tp)
                self.e.metrics.set_stuck(self.e.name, tp, True)
                self.e._log.error("partition_stuck", topic=tp[0], partition=tp[1], offset=offset,
                                  since=_iso(since_ms), seconds=round(now - since, 1),
                                  reason=self.e.failure.name if self.e.failure is not None else None)
                self._publish()
        if self.unmarked:
            self._mark()

    def _mark(self) -> None:
        """The same committed offsets with a ``stuck_since`` note for ``hub status`` (an offsets-only
        transaction: the offset does not move; the next real commit replaces the note)."""
        e = self.e
        offsets = []
        for tp in sorted(self.unmarked):
            offset, since_ms, _ = self.pending[tp]
            note = orjson.dumps({STUCK_MARK: since_ms, "worker": e.transactional_id,
                                 "reason": e.failure.name if e.failure is not None else None}).decode()
            offsets.append(TopicPartition(tp[0], tp[1], offset, metadata=note))
        producer, consumer = e._producer, e._consumer
        assert producer is not None and consumer is not None  # watching the partitions of a running engine
        try:
            producer.begin_transaction()
            producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), e.commit_timeout_s)
            e._commit()
        except KafkaException as exc:
            e._abort([], exc)  # the mark is retried at the next check
            return
        self.unmarked.clear()

    def _publish(self) -> None:
        # A new list each time: /readyz reads it from the web server's thread without a lock.
        self.snapshot = [{"processor": self.e.name, "topic": tp[0], "partition": tp[1],
                          "offset": self.pending[tp][0], "since": _iso(self.pending[tp][1])}
                         for tp in sorted(self.stuck) if tp in self.pending]


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))

"""The batch loop: consume a batch, process it, write outputs + state + offsets in ONE transaction.

One engine runs one processor in one thread, with one consumer (group ``<app id>-<processor>``,
``read_committed``) and one transactional producer (exactly-once v2, KIP-447: the consumer
group's generation fences a zombie, so one producer per process is enough). Per batch:

1. ``consume`` up to ``HUB_WORKER_BATCH_MAX`` records or ``HUB_WORKER_BATCH_WAIT_MS``;
2. ``begin_transaction``; the processor reads the records, reads/writes its stores and sends
   outputs (nothing is awaited one by one);
3. the stores' pending writes go to their changelog topics, the consumed offsets to the
   transaction;
4. ``commit_transaction`` — every output, state change and offset becomes visible together to
   ``read_committed`` readers, or none does.

A failure before the commit aborts the transaction, discards the pending state, rewinds the
consumer to the batch's first offsets and retries with capped backoff: a partition never moves
past a record whose outputs were not written (``batch_aborted`` log line each time). A failure
caused by the records themselves (a record too large or invalid for Kafka, an exception in
processor code) is narrowed down to the one record and, after ``HUB_WORKER_POISON_ATTEMPTS``
tries, that record is dead-lettered and its partition moves on; a partition that cannot move is
reported as stuck (both in :mod:`hub.engine.poison`). A fatal error (this producer fenced by a newer
instance, again and again) stops the engine, and the worker exits non-zero.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from hub import log
from hub.engine import changelog, clients, poison, positions, restore, watchdog
from hub.engine.batch import TxnBatch
from hub.engine.metrics import EngineMetrics
from hub.engine.processor import TP, Headers, Processor
from hub.engine.store import Store
from hub.retry import Backoff
from hub.settings import Settings

logger = log.get("hub.engine")
_BACKOFF_MAX_S = 30.0
# Errors after which the producer's transactional state cannot be trusted: a new producer is made.
_PRODUCER_STATE_ERRORS = frozenset({"_FENCED", "PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH", "INVALID_TXN_STATE",
                                    "OUT_OF_ORDER_SEQUENCE_NUMBER", "UNKNOWN_PRODUCER_ID", "_STATE", "_CONFLICT"})
_FENCING_ERRORS = frozenset({"_FENCED", "PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"})  # another producer won
_RENEWALS_MAX = 5  # producer renewals within _RENEWAL_WINDOW_S before the engine stops loudly
_RENEWAL_WINDOW_S = 600.0
_FIRST_CHUNK = 500  # records in the first transaction; the chunk then adapts (see _step)
_MIN_CHUNK = 50


class Engine:
    """Runs one processor; ``run(stop)`` is the body of its thread."""

    def __init__(self, processor: Processor, settings: Settings, *, worker_id: str,
                 metrics: EngineMetrics | None = None) -> None:
        self.p = processor
        self.name = processor.name
        self.settings = settings
        self.group_id = settings.group(processor.name)
        self.transactional_id = f"{self.group_id}-{worker_id}"
        self.metrics = metrics or EngineMetrics()
        self.max_batch = settings.worker_batch_max
        self.wait_s = settings.worker_batch_wait_ms / 1000
        self.commit_timeout_s = max(10.0, settings.worker_transaction_timeout_ms / 1000)
        self._txn_budget_s = settings.worker_transaction_timeout_ms / 1000 / 4
        # The worker's watcher stops the process when no beat came for stall_s (hub.engine.watchdog).
        self.stall_s = watchdog.bound_s(settings.worker_stall_s, self.commit_timeout_s)
        self.heartbeat = time.monotonic()
        # Start small and grow: the first transactions of a busy machine must not outlive the timeout.
        self._chunk = min(self.max_batch, _FIRST_CHUNK)
        self._stores: dict[str, dict[TP, Store]] = {spec.name: {} for spec in processor.stores}
        self._copartitioned = frozenset(spec.name for spec in processor.stores if spec.copartitioned)
        self._next_punctuate = time.monotonic() + (processor.punctuate_every_s or 0)
        self._backoff = Backoff(0.2, _BACKOFF_MAX_S)  # a transient failure: 0.2 s doubling to 30 s
        self._renewals: list[float] = []  # monotonic times the producer was replaced
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._restorer: Consumer | None = None
        self.assignment: list[TP] = []
        self._lag: dict[TP, int] = {}
        self._lag_due = 0.0
        self.ready = threading.Event()  # set once the first assignment is restored (or nothing to own)
        self.error: BaseException | None = None
        self._log = logger.bind(processor=processor.name)
        self.failure: poison.Failure | None = None  # why the last transaction failed
        self.isolation = poison.Isolation(self)
        self.stuck = poison.StuckWatch(self)

    # -- lifecycle -----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        self.beat()
        try:
            self._start()
            while not stop.is_set():
                self._step(stop)
        except BaseException as exc:
            self.error = exc
            self._log.error("engine_failed", reason=type(exc).__name__, error=str(exc)[:500])
            raise
        finally:
            self._close()

    def _start(self) -> None:
        s = self.settings
        self._producer = self._new_producer()
        config = clients.consumer_config(s, group_id=self.group_id, client_id=self.transactional_id)
        if self._copartitioned:
            # Range gives partition p of every input topic (equal partition counts) to one member.
            config["partition.assignment.strategy"] = "range"
        self._consumer = Consumer(config)
        self._consumer.subscribe(list(self.p.inputs), on_assign=self._on_assign, on_revoke=self._on_revoke,
                                 on_lost=self._on_revoke)
        self._log.info("engine_started", group=self.group_id, topics=list(self.p.inputs),
                       transactional_id=self.transactional_id)

    def _close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close()  # leaves the group: partitions move at once, not after a timeout
            except Exception as exc:  # noqa: BLE001 - closing must not hide the error that stopped us
                self._log.warning("engine_close_failed", error=str(exc)[:200])
        for stores in self._stores.values():
            for store in stores.values():
                store.close()
            stores.clear()
        if self._restorer is not None:
            self._restorer.close()
        if self._producer is not None:
            self._producer.flush(5)
        self._log.info("engine_stopped")

    def beat(self) -> None:
        """The engine is making progress (its loop came back from a call that may block)."""
        self.heartbeat = time.monotonic()

    # -- one step of the loop ------------------------------------------------------------------
    def _step(self, stop: threading.Event) -> None:
        self.beat()
        assert self._consumer is not None  # set by _start, before the loop
        msgs = self._consumer.consume(self.max_batch, self.wait_s)
        self._update_lag()
        data = []
        for m in msgs:
            err = m.error()
            if err is None:
                data.append(m)
            elif err.code() != KafkaError._PARTITION_EOF:
                self._log.warning("consumer_error", reason=err.name(), error=err.str()[:200])
        punctuate = self.p.punctuate_every_s is not None and time.monotonic() >= self._next_punctuate
        if not data and not punctuate:
            return
        # One transaction per chunk: a transaction must end well inside the transaction timeout (the
        # broker fences a producer whose transaction outlives it), whatever the machine's load, so the
        # chunk shrinks when a transaction took more than a quarter of it and grows back when fast.
        i = 0
        while True:
            chunk = data[i:i + self.isolation.size(self._chunk)]
            last = i + len(chunk) >= len(data)
            started = time.monotonic()
            if not self._transact(chunk, punctuate and last, rewind=data[i:]):
                # "retry": a smaller chunk at once; "moved": a record was dead-lettered (hub.engine.poison)
                if self.isolation.failed(chunk, data[i + len(chunk):], self.failure) == "backoff":
                    stop.wait(self._backoff.next())
                return
            self._backoff.reset()
            took = time.monotonic() - started
            if took > self._txn_budget_s and self._chunk > _MIN_CHUNK:
                # proportional, with a margin: one slow transaction says how slow the machine is now
                self._chunk = max(_MIN_CHUNK, int(self._chunk * self._txn_budget_s / took / 2))
            elif took < self._txn_budget_s / 4 and self._chunk < self.max_batch:
                self._chunk = min(self.max_batch, self._chunk * 2)
            i += len(chunk)
            if last:
                return

    def _transact(self, data: list, punctuate: bool, rewind: list) -> bool:
        self.beat()
        started = time.perf_counter()
        batch = self.new_batch(data)
        producer, consumer = self._producer, self._consumer
        assert producer is not None and consumer is not None  # set by _start, before the loop
        self.failure, self.isolation.refused = None, set()
        try:
            producer.begin_transaction()
            if data:
                self.p.process(batch)
            if punctuate:
                self.p.punctuate(batch, int(time.time() * 1000))
            changelogs = changelog.write_pending(self._stores, self._produce)
            offsets = positions.after(data)
            if data:
                producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(),
                                                     self.commit_timeout_s)
            self._commit()
        except KafkaException as exc:
            err = exc.args[0]
            if self.failure is None:  # not already described by _produce
                self.failure = poison.Failure(err.name(), err.str()[:300])
            if self.isolation.observing:
                with contextlib.suppress(KafkaException, RuntimeError):
                    producer.poll(0.1)  # serve the delivery report that says which record failed and why
                self.failure.refused |= self.isolation.refused
            self._abort(rewind, exc)
            return False
        except Exception as exc:
            # A bug in processor code, perhaps triggered by one record: isolate that record, try it a few
            # times, then dead-letter it as internal_error (a stop would only meet it again after a restart).
            self.failure = poison.Failure(f"{type(exc).__module__}.{type(exc).__qualname__}", str(exc)[:300],
                                          exception=True)
            self._log.error("processor_failed", reason=self.failure.name, error=self.failure.message,
                            records=len(data))
            self._abort(rewind, None)
            return False
        for stores in self._stores.values():
            for store in stores.values():
                store.commit()
        if punctuate:
            self._next_punctuate = time.monotonic() + (self.p.punctuate_every_s or 0)
        self.isolation.committed(data)
        if self.stuck.pending and data:
            self.stuck.committed({(tp.topic, tp.partition): tp.offset for tp in offsets})
        batch.committed()
        self.metrics.batch_done(self.p.name, data, batch.sent, changelogs, time.perf_counter() - started)
        return True

    def _commit(self) -> None:
        producer = self._producer
        assert producer is not None  # only called inside _transact
        for attempt in range(3):
            try:
                producer.commit_transaction(self.commit_timeout_s)
                return
            except KafkaException as exc:
                err = exc.args[0]
                if err.retriable() and not err.txn_requires_abort() and attempt < 2:
                    continue  # librdkafka allows calling commit again after a retriable error
                raise

    def _new_producer(self) -> Producer:
        producer = Producer(clients.producer_config(self.settings, client_id=self.transactional_id,
                                                    transactional_id=self.transactional_id))
        # Fences an earlier instance with the same transactional id and aborts what it left open.
        producer.init_transactions(60)
        return producer

    def _renew_producer(self, err) -> None:
        """Replace a producer whose transactional state is broken (fenced after a coordinator
        fail-over or a transaction timeout, out-of-order sequence after a broker restart): the new
        one's init_transactions aborts whatever the old one left open, and the batch is retried from
        its first records. A worker that keeps being fenced (two live processes with the same
        HUB_WORKER_ID) stops loudly instead of fencing the other one forever. Only fencing counts
        towards that: the out-of-order sequences that follow a record the broker refused (too large)
        renew the producer as often as isolating that record takes (hub.engine.poison)."""
        now = time.monotonic()
        if err.name() in _FENCING_ERRORS:
            self._renewals = [t for t in self._renewals if now - t < _RENEWAL_WINDOW_S]
            if len(self._renewals) >= _RENEWALS_MAX:
                self._log.error("batch_fatal", reason=err.name(), error=err.str()[:300], renewals=len(self._renewals))
                raise KafkaException(err)
            self._renewals.append(now)
        self._log.warning("producer_renewed", reason=err.name(), error=err.str()[:300])
        old, self._producer = self._producer, None
        assert old is not None  # renewed only after it failed a transaction
        with contextlib.suppress(KafkaException, RuntimeError):
            old.purge(True, True, False)  # nothing of it may be sent any more
        del old
        self._producer = self._new_producer()

    def _abort(self, data: list, exc: KafkaException | None) -> None:
        err = exc.args[0] if exc is not None else None
        # A produce() refused because the transaction already failed needs an abort, not a new producer.
        txn_failed = self.failure is not None and self.failure.txn_failed
        broken = err is not None and (err.fatal() or err.name() in _PRODUCER_STATE_ERRORS and not txn_failed)
        if not (err is not None and err.fatal()):
            assert self._producer is not None  # aborting a transaction that producer began
            try:
                self._producer.abort_transaction(self.commit_timeout_s)
            except KafkaException as abort_exc:
                aerr = abort_exc.args[0]
                # An abort that did not complete (timed out while the broker was away, or _CONFLICT
                # with the one still in progress) leaves the producer unable to begin the next
                # transaction: a new producer's init_transactions aborts it on the broker instead.
                self._log.warning("abort_failed", reason=aerr.name(), error=aerr.str()[:200])
                broken, err = True, aerr
        for stores in self._stores.values():
            for store in stores.values():
                store.abort()
        self.p.aborted()
        self._rewind(data)
        self.stuck.failed(data)
        self.metrics.batch_aborted(self.p.name)
        if err is not None:
            self._log.error("batch_aborted", reason=err.name(), error=err.str()[:300], records=len(data),
                            partitions=sorted({f"{m.topic()}:{m.partition()}" for m in data}),
                            retry_in_s=round(self._backoff.nominal, 3))
        if broken:
            self.beat()
            self._renew_producer(err)

    def _rewind(self, data: list) -> None:
        assert self._consumer is not None  # the records to rewind came from it
        positions.rewind(self._consumer, data, lambda topic, partition, error: self._log.warning(
            "rewind_skipped", topic=topic, partition=partition, error=error))

    # -- producing ----------------------------------------------------------------------------
    def _produce(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers | None, *,
                 partition: int | None = None, on_delivery: Callable | None = None) -> None:
        kwargs: dict = {"key": key, "value": value}
        if headers:
            kwargs["headers"] = headers
        if partition is not None:
            kwargs["partition"] = partition
        if self.isolation.observing:  # which topic refuses what, while a failing batch is narrowed down
            kwargs["on_delivery"] = self.isolation.observer(topic, on_delivery)
        elif on_delivery is not None:
            kwargs["on_delivery"] = on_delivery
        assert self._producer is not None  # produced to only inside a transaction
        while True:
            try:
                self._producer.produce(topic, **kwargs)
                return
            except BufferError:  # the local queue is full: let librdkafka send, then try again
                self._producer.poll(0.05)
            except KafkaException as exc:  # refused before sending (larger than message.max.bytes, ...)
                err = exc.args[0]
                # _STATE: an earlier record of this transaction failed (the transaction must be aborted);
                # which one and why only its delivery report says (hub.engine.poison).
                aborted = err.name() == "_STATE"
                self.failure = poison.Failure(err.name(), err.str()[:300], local=not aborted,
                                              refused=set() if aborted else {topic}, txn_failed=aborted)
                raise

    # -- rebalancing ----------------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        started = time.perf_counter()
        restored = self._restore(tps)
        self.assignment = sorted(set(self.assignment) | set(tps))
        self.p.assigned(tps, self.new_batch([]))
        self._log.info("partitions_assigned", partitions=[f"{t}:{p}" for t, p in tps], restored_records=restored,
                       seconds=round(time.perf_counter() - started, 3))
        self.ready.set()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        self.p.revoked(tps)
        for name, stores in self._stores.items():
            for tp in tps:
                store = stores.pop(("*", tp[1]) if name in self._copartitioned else tp, None)
                if store is not None:
                    store.close()
        self.assignment = sorted(set(self.assignment) - set(tps))
        self.isolation.forget(tps)
        self.stuck.forget(tps)
        self._lag = {tp: n for tp, n in self._lag.items() if tp not in set(tps)}
        self.metrics.forget_partitions(self.p.name, tps)
        self._log.info("partitions_revoked", partitions=[f"{t}:{p}" for t, p in tps])

    def _restore(self, tps: list[TP]) -> int:
        """Rebuild the stores of newly assigned partitions from their changelogs (read_committed)."""
        if not self.p.stores or not tps:
            return 0
        wanted = restore.open_stores(self.settings, self.p.name, self.p.stores, tps, self._stores)
        return restore.read_changelogs(self._restorer_consumer(), wanted, tick=self.beat)

    def _restorer_consumer(self) -> Consumer:
        if self._restorer is None:
            config = clients.restore_config(self.settings, client_id=f"{self.transactional_id}-restore")
            self._restorer = Consumer(config)
        return self._restorer

    def new_batch(self, data: list) -> TxnBatch:
        """A batch over ``data`` with the collaborators a processor may use, not the engine itself."""
        return TxnBatch(data, produce=self._produce, stores=self._stores, copartitioned=self._copartitioned,
                        lag=self.lag, partition_count=self.partition_count)

    # -- introspection (metrics, worker_stats) -------------------------------------------------
    def partition_count(self, topic: str) -> int | None:
        assert self._consumer is not None  # asked from a processor, inside a batch
        return positions.partition_count(self._consumer, topic)

    def lag(self) -> dict[TP, int]:
        """Records not yet consumed per assigned partition, as of the engine's last look (≤ 1 s old): computed
        on the engine's own thread (a librdkafka consumer must not be called from two threads)."""
        return self._lag

    def _update_lag(self) -> None:
        now = time.monotonic()
        if now < self._lag_due:
            return
        self._lag_due = now + 1.0
        self.stuck.check()
        assert self._consumer is not None  # called from _step only
        got = positions.behind(self._consumer, self.assignment)
        if got is not None:
            self._lag = got

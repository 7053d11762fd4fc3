"""The follower: the only place that reads the systems topic (kafka-python, bounded timeouts)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from hub import log
from hub.contract import topics
from hub.errors import TransientError
from hub.kafka import config as kafka_config
from hub.settings import Settings
from hub.systems._records import System, SystemsSnapshot, _now_ms

# --- the follower: the only place that reads the topic -------------------------------------------
ConsumerFactory = Callable[[Settings], Any]  # a kafka-python KafkaConsumer (untyped) or a test's stand-in


def _kafka_consumer(settings: Settings):
    from kafka import KafkaConsumer

    return KafkaConsumer(**kafka_config.kafka_python(settings), enable_auto_commit=False,
                         client_id=f"{settings.app_id}-systems", request_timeout_ms=10_000,
                         bootstrap_timeout_ms=5_000, reconnect_backoff_max_ms=2_000)


class SystemsFollower:
    """Follows ``hub.systems.v1`` off the caller's thread; ``snapshot`` is always ready to use.

    One lock serializes the Kafka reads (kafka-python consumers are not thread-safe); lookups
    never take it. ``consumer_factory`` exists for tests that slow the reads down.
    """

    def __init__(self, settings: Settings, *, interval_s: float | None = None,
                 consumer_factory: ConsumerFactory = _kafka_consumer) -> None:
        self.settings = settings
        self.topic = settings.topic(topics.SYSTEMS)
        self.interval_s = interval_s if interval_s is not None else settings.systems_follow_interval_ms / 1000
        self._factory = consumer_factory
        self._extra_organs = settings.organ_map()
        self._snapshot = SystemsSnapshot.build((), province=settings.province, extra_organs=self._extra_organs,
                                               loaded=False)
        self._records: dict[str, System] = {}  # only touched under _io
        self._io = threading.Lock()
        self._consumer: Any = None  # kafka-python has no type information
        self._tp: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_ok_ms: int | None = None  # last read that reached the end offset
        self.last_error: str | None = None  # None while reads succeed

    @property
    def snapshot(self) -> SystemsSnapshot:
        return self._snapshot  # one attribute read: atomic, never blocks

    @property
    def loaded(self) -> bool:
        return self._snapshot.loaded

    # -- reading ------------------------------------------------------------------------------
    def refresh_now(self, timeout_s: float | None = None) -> SystemsSnapshot:
        """Read the topic to its current end offset once (blocking, bounded); the new snapshot.

        Raises :class:`TransientError` when the broker does not answer within ``timeout_s``
        (default ``HUB_SYSTEMS_REFRESH_TIMEOUT_MS``), including time spent waiting for a read
        already in progress.
        """
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        timeout_s = timeout_s if timeout_s is not None else self.settings.systems_refresh_timeout_ms / 1000
        deadline = time.monotonic() + timeout_s
        if not self._io.acquire(timeout=timeout_s):
            raise TransientError(f"systems list {self.topic}: another read did not finish within {timeout_s}s")
        try:
            try:
                if self._consumer is None:
                    consumer = self._factory(self.settings)
                    tp = TopicPartition(self.topic, 0)
                    consumer.assign([tp])
                    consumer.seek_to_beginning(tp)
                    self._consumer, self._tp = consumer, tp
                consumer, tp = self._consumer, self._tp
                end = consumer.end_offsets([tp], timeout_ms=_left_ms(deadline))[tp]
                changed = False
                while consumer.position(tp, timeout_ms=_left_ms(deadline)) < end:
                    if time.monotonic() > deadline:
                        raise TransientError(f"systems list {self.topic}: end offset {end} not reached "
                                             f"within {timeout_s}s")
                    for msgs in consumer.poll(timeout_ms=min(200, _left_ms(deadline))).values():
                        for m in msgs:
                            changed |= self._apply(m.key, m.value)
            except (KafkaError, OSError) as exc:
                self._close_consumer()
                self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                raise TransientError(f"cannot read systems list {self.topic}: {exc}") from exc
            except TransientError as exc:
                self.last_error = str(exc)[:200]
                raise
            if changed or not self._snapshot.loaded or self._snapshot.offset != end:
                self._snapshot = SystemsSnapshot.build(self._records.values(), province=self.settings.province,
                                                       extra_organs=self._extra_organs, offset=end)
            self.last_ok_ms, self.last_error = _now_ms(), None
            return self._snapshot
        finally:
            self._io.release()

    def _apply(self, key: bytes | None, value: bytes | None) -> bool:
        if value is None:  # a tombstone written by hand: forget the system
            return self._records.pop((key or b"").decode("utf-8", "replace"), None) is not None
        try:
            system = System.from_json(value)
        except (ValueError, KeyError, TypeError):
            log.get().warning("systems_record_unreadable", topic=self.topic)
            return False
        self._records[system.id] = system
        return True

    def _close_consumer(self) -> None:
        if self._consumer is not None:
            # Closing a broken consumer must not mask the error that made us close it.
            with contextlib.suppress(Exception):
                self._consumer.close()
        self._consumer = None

    # -- following ----------------------------------------------------------------------------
    def start(self, *, initial_timeout_s: float | None = None) -> SystemsFollower:
        """Read once (errors logged, not raised), then follow the topic in a daemon thread."""
        try:
            self.refresh_now(initial_timeout_s)
        except TransientError as exc:
            log.get().warning("systems_refresh_failed", topic=self.topic, error=str(exc)[:300])
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="systems-follower", daemon=True)
        self._thread.start()
        return self

    def _follow(self) -> None:
        failing = False
        while not self._stop.wait(self.interval_s):
            try:
                self.refresh_now()
            except TransientError as exc:
                if not failing:  # one line per outage, not one per interval
                    log.get().warning("systems_refresh_failed", topic=self.topic, error=str(exc)[:300])
                failing = True
            else:
                if failing:
                    log.get().info("systems_refresh_recovered", topic=self.topic)
                failing = False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._io:
            self._close_consumer()

    def __enter__(self) -> SystemsFollower:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _left_ms(deadline: float) -> int:
    return max(1, int((deadline - time.monotonic()) * 1000))


def read(settings: Settings, timeout_s: float = 10.0) -> SystemsSnapshot:
    """The current list, read once (CLI commands, ``hub status``)."""
    follower = SystemsFollower(settings)
    try:
        return follower.refresh_now(timeout_s)
    finally:
        follower.stop()

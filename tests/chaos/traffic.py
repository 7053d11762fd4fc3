"""Publishers that behave as real ones do under faults, each recording into a :class:`Ledger`.

* :class:`SdkSender` — the Kafka SDK (``connectors.publisher.Publisher``, acks=all, idempotent, one
  request in flight): sends a chunk, waits for the acknowledgements, and after a failure re-sends from
  the first unacknowledged event (same source event ids: the hub drops the copies).
* :class:`OutboxFeeder` — the SDK's durable outbox: an event is acknowledged once ``publish_many``
  stored it; the outbox forwards it whenever Kafka is reachable.
* :class:`GatewayClient` — an HTTP publisher: posts JSON arrays, and on 503, a timeout or a refused
  connection waits (``Retry-After``, capped) and posts the same batch again; 202 acknowledges it.

Each runs in a thread over its own list of events (one dossier belongs to one publisher, so a
dossier's order is its publisher's order), optionally paced (``chunk`` events every ``pause_s``) so
that faults land mid-stream; pacing changes what overlaps a fault, never what the checker expects.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence

import httpx

from chaos.checker import Ledger
from chaos.workload import Event
from connectors.outbox import Outbox
from connectors.publisher import Publisher
from hub.settings import Settings
from hub.testing import group_lag, wait_for

_RETRY_CAP_S = 1.0  # a chaos test's clients retry sooner than Retry-After's advice, to keep tests short


class _Worker(threading.Thread):
    def __init__(self, name: str, events: Sequence[Event], ledger: Ledger, chunk: int, pause_s: float) -> None:
        super().__init__(name=name, daemon=True)
        self.events, self.ledger, self.chunk, self.pause_s = list(events), ledger, chunk, pause_s
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.failures = 0  # attempts that were not acknowledged (then retried)

    def run(self) -> None:
        try:
            for start in range(0, len(self.events), self.chunk):
                if self.stop_event.is_set():
                    return
                self.send(self.events[start:start + self.chunk])
                if self.pause_s:
                    self.stop_event.wait(self.pause_s)
        except BaseException as exc:  # noqa: BLE001 - reported by finish()
            self.error = exc
        finally:
            self.close()

    def send(self, events: list[Event]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def finish(self, timeout_s: float) -> None:
        """Wait until every event is acknowledged; raise what the thread raised."""
        self.join(timeout_s)
        if self.is_alive():
            self.stop_event.set()
            raise TimeoutError(f"{self.name} did not publish everything within {timeout_s}s")
        if self.error is not None:
            raise self.error


class SdkSender(_Worker):
    def __init__(self, s: Settings, system: str, events: Sequence[Event], ledger: Ledger, *, chunk: int = 200,
                 pause_s: float = 0.0, timestamps: bool = False) -> None:
        super().__init__(f"sdk-{system}", events, ledger, chunk, pause_s)
        self.timestamps = timestamps
        self.pub = Publisher(system, s, max_in_flight_requests_per_connection=1, request_timeout_ms=10_000,
                             delivery_timeout_ms=30_000)

    def send(self, events: list[Event]) -> None:
        while events and not self.stop_event.is_set():
            self.ledger.attempt(events)
            queued = [self.pub.send_async("dossier", ev.body, format="hub-json", commune=ev.commune,
                                          event_id=ev.source_event_id, trace_id=f"t-{ev.source_event_id}",
                                          timestamp_ms=ev.timestamp_ms if self.timestamps else None)
                      for ev in events]
            with contextlib.suppress(Exception):  # the futures say which events made it
                self.pub.flush(60)
            acked = 0
            for q in queued:
                if not q.future.is_done or q.future.failed():
                    break
                acked += 1
            self.ledger.ack(events[:acked])
            if acked == len(events):
                return
            self.failures += 1
            events = events[acked:]  # from the first unacknowledged one: order is kept, copies are dropped
            self.stop_event.wait(0.5)

    def close(self) -> None:
        self.pub.close()


class OutboxFeeder(_Worker):
    def __init__(self, s: Settings, system: str, events: Sequence[Event], ledger: Ledger, *, chunk: int = 50,
                 pause_s: float = 0.0) -> None:
        super().__init__(f"outbox-{system}", events, ledger, chunk, pause_s)
        self.outbox = Outbox(s, system, batch_size=100, backoff_max_s=1.0)

    def send(self, events: list[Event]) -> None:
        self.outbox.publish_many([("dossier", ev.body, {"format": "hub-json", "commune": ev.commune,
                                                        "event_id": ev.source_event_id,
                                                        "trace_id": f"t-{ev.source_event_id}"}) for ev in events])
        self.ledger.ack(events)  # stored durably: the outbox's promise is that it will be forwarded

    def drained(self, timeout_s: float) -> bool:
        return self.outbox.flush(timeout_s)

    def close(self) -> None:
        pass  # the test closes the outbox once it is drained (closing stops the forwarder)


class GatewayClient(_Worker):
    def __init__(self, url: str, key: str, name: str, events: Sequence[Event], ledger: Ledger, *, chunk: int = 20,
                 pause_s: float = 0.0) -> None:
        super().__init__(f"gateway-{name}", events, ledger, chunk, pause_s)
        self.client = httpx.Client(base_url=url, timeout=15.0, headers={
            "authorization": f"Bearer {key}", "content-type": "application/json", "x-hub-format": "hub-json"})
        self.unavailable = 0  # 503 answers seen
        self.acked = 0  # events answered 202
        self.refused: list[tuple[int, str]] = []  # 4xx/5xx other than 503: a client would give up on these

    def send(self, events: list[Event]) -> None:
        body = b"[" + b",".join(ev.body for ev in events) + b"]"
        self.ledger.attempt(events)
        while not self.stop_event.is_set():
            try:
                r = self.client.post("/v1/events/dossier", content=body)
            except httpx.TransportError:  # refused, reset, timed out: nothing is known, send it again
                self.failures += 1
                self.stop_event.wait(0.2)
                continue
            if r.status_code == 202:
                self.ledger.ack(events)
                self.acked += len(events)
                return
            if r.status_code == 503:
                self.unavailable += 1
                self.failures += 1
                self.stop_event.wait(min(_RETRY_CAP_S, float(r.headers.get("retry-after", "1"))))
                continue
            self.refused.append((r.status_code, r.text[:300]))
            return

    def close(self) -> None:
        self.client.close()


class Watch:
    """Cheap, frequent looks at a topic's end offsets and a group's committed offsets (one open client).

    End offsets count committed and aborted records and transaction markers: they say that a worker is
    busy, which is all a kill point needs. Committed offsets move only with a committed transaction.
    """

    def __init__(self, s: Settings, topic: str, group: str) -> None:
        from confluent_kafka import Consumer, TopicPartition

        self._consumer = Consumer({"bootstrap.servers": s.kafka_bootstrap, "group.id": group, "log_level": 3,
                                   "enable.auto.commit": False})
        meta = self._consumer.list_topics(topic, timeout=30)
        self._tps = [TopicPartition(topic, p) for p in sorted(meta.topics[topic].partitions)]

    def end(self) -> int:
        return _retrying(lambda: sum(self._consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in self._tps))

    def behind(self) -> int:
        """Offsets between the group's committed positions and the ends (0: all consumed)."""
        def look() -> int:
            committed = self._consumer.committed(self._tps, timeout=10)
            return sum(self._consumer.get_watermark_offsets(tp, timeout=10)[1] - max(0, c.offset)
                       for tp, c in zip(self._tps, committed, strict=True))
        return _retrying(look)

    def close(self) -> None:
        self._consumer.close()


def _retrying(look, timeout_s: float = 30.0):
    """``look()``, asked again while the broker answers with a retriable error (a loaded broker said
    NOT_LEADER_FOR_PARTITION for a moment while its chaos neighbours created and deleted topics)."""
    from confluent_kafka import KafkaError, KafkaException

    # librdkafka does not flag every one of these as retriable when a metadata lookup fails with it
    transient = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError.REQUEST_TIMED_OUT,
                 KafkaError._TIMED_OUT, KafkaError._TRANSPORT, KafkaError.NOT_COORDINATOR,
                 KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE}
    failures: list[str] = []

    def attempt():
        try:
            return (look(),)
        except KafkaException as exc:
            if not (exc.args[0].retriable() or exc.args[0].code() in transient):
                raise
            failures.append(exc.args[0].name())
            return None

    try:
        return wait_for(attempt, timeout_s=timeout_s, interval_s=0.2, what="an answer")[0]
    except TimeoutError:
        raise TimeoutError(f"the broker kept answering with retriable errors: {failures[-3:]}") from None


def drained(s: Settings, *topics_: str) -> bool:
    """The normalize processor consumed every record of the given (full) ingest topics."""
    return all(group_lag(s, t) == 0 for t in topics_)


def settled(read, timeout_s: float, interval_s: float):
    """``read()`` once two readings ``interval_s`` apart agree and are not empty (rows that timers write)."""
    previous: list = [None]

    def same():
        now = read()
        agreed = bool(now) and now == previous[0]
        previous[0] = now
        return now if agreed else None

    return wait_for(same, timeout_s=timeout_s, interval_s=interval_s, what="two equal readings")


class Supervisor:
    """Keeps one ``hub worker`` running as systemd's ``Restart=always`` would: ``check()`` (call it from the
    test's polling) starts a new one, with the same ``HUB_WORKER_ID``, when the last one exited; each restart
    is recorded with the exit code and the last error line (``worker_crashed``, ``worker_stalled``) of the
    process that died."""

    def __init__(self, hub_process, s: Settings, name: str = "worker") -> None:
        self.hub_process, self.s, self.name = hub_process, s, name
        self.restarts: list[str] = []
        self.current = hub_process(["worker"], s, name=f"{name}-0")

    def check(self) -> None:
        rc = self.current.popen.poll()
        if rc is None:
            return
        crash = [line for line in self.current.output().splitlines()
                 if '"worker_crashed"' in line or '"worker_stalled"' in line]
        self.restarts.append(f"exit {rc}: {crash[-1][:300] if crash else 'no worker_crashed line'}")
        self.current = self.hub_process(["worker"], self.s, name=f"{self.name}-{len(self.restarts)}")

    def until(self, predicate):
        """``predicate`` wrapped for ``wait_for``: the worker is kept running while it is polled."""
        def check():
            self.check()
            return predicate()
        return check

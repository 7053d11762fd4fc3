"""A durable local outbox in front of Kafka, for commune links that drop.

``Outbox.publish`` returns once the event is committed to a SQLite file (WAL,
``synchronous=FULL``: the commit is on disk when the call returns). A forwarder thread sends
the rows in sequence order through an idempotent kafka-python producer (acks=all, one
request in flight so retries cannot reorder) and deletes rows only after the broker
acknowledged them. A broker outage of any length means retrying with capped exponential
backoff; nothing is dropped. A killed process loses nothing: the next ``Outbox`` on the
same file resumes with the rows left, in order.

A resend after a crash (sent, acknowledged, killed before the delete) produces a duplicate
on the ingest topic with the same ``hub.source_event_id`` header, which the worker deduplicates on
(source system, event id).

Several processes may publish into one file (SQLite serialises the writers); only the one
holding ``<file>.lock`` forwards, so rows are never forwarded twice concurrently. The others
take over when it exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from connectors.publisher import ingest_record, signing_key
from hub import log
from hub.contract import headers as h
from hub.contract import topics
from hub.errors import OutboxFull
from hub.kafka import config as kafka_config
from hub.retry import Backoff
from hub.settings import Settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: never reused, so order is global
    kind       TEXT NOT NULL,
    key        BLOB,
    payload    BLOB NOT NULL,
    headers    BLOB NOT NULL,                      -- JSON object of hub.* headers
    event_id   TEXT NOT NULL,
    created_at REAL NOT NULL                       -- wall clock: ages must survive restarts
)
"""


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """What a host system scrapes or alerts on (``Outbox.stats()``); totals count since this object started."""

    depth: int  # events stored, not yet acknowledged by Kafka
    oldest_age_s: float  # age of the oldest of them (0 when empty): the backlog alert
    stored_total: int
    forwarded_total: int
    retries_total: int  # failed forwarding attempts (broker unreachable or not acknowledging)
    forwarding: bool  # this process holds the forwarding lock

    def as_dict(self) -> dict:
        return asdict(self)


class Outbox:
    """Durable publish for one source system (rows may name another, see ``publish``).

    ``metrics_registry``: a prometheus_client ``CollectorRegistry`` of the host process to expose
    ``hub_outbox_depth``, ``hub_outbox_oldest_age_seconds``, ``hub_outbox_forwarded_total`` and
    ``hub_outbox_retries_total`` on (read at scrape time; label ``outbox`` = the file). Without
    it, nothing global is registered; ``stats()`` returns the same numbers.
    """

    def __init__(self, settings: Settings | None = None, source_system: str = "", *, batch_size: int = 500,
                 backoff_max_s: float = 30.0, send_timeout_s: float = 40.0, status_interval_s: float = 30.0,
                 forward: bool = True, path: str | os.PathLike | None = None, metrics_registry=None,
                 system_key: str | None = None):
        self.settings = settings or Settings.from_env()
        self.source_system = source_system
        self._system_key = system_key or self.settings.system_key or None  # signs this system's own rows
        self.path = Path(path or self.settings.outbox_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.batch_size = batch_size
        self.backoff_max_s = backoff_max_s
        self.send_timeout_s = send_timeout_s
        self.status_interval_s = status_interval_s
        self._log = log.get().bind(source_system=source_system or None)
        self._db_lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
        with self._db_lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA journal_size_limit=67108864")  # truncate the WAL after checkpoints
            self._db.execute(_SCHEMA)
            self._page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock_file: IO[bytes] | None = None
        self._counts = {"stored": 0, "forwarded": 0, "retries": 0}
        self._metrics_registry = metrics_registry
        self._collector = None
        if metrics_registry is not None:
            from connectors.outbox_metrics import OutboxCollector

            self._collector = OutboxCollector(self)
            metrics_registry.register(self._collector)
        self._thread: threading.Thread | None = None
        if forward:
            self._thread = threading.Thread(target=self._run, name=f"outbox-forwarder-{self.path.name}",
                                            daemon=True)
            self._thread.start()

    # --- publishing side -------------------------------------------------------------------
    def publish(self, kind: str, payload: bytes, *, format: str, commune: str | None = None,
                event_id: str | None = None, trace_id: str | None = None,
                source_system: str | None = None, system_key: str | None = None) -> str:
        """Store one event durably; returns its source event id. Raises :class:`OutboxFull`.

        Without ``event_id`` the id is derived from the payload's natural key (a retry of the same
        payload gets the same id); without ``trace_id`` the event gets a new trace id. Rows are
        signed when stored: with ``system_key``, else the outbox's key for its own system.
        """
        return self.publish_many([(kind, payload, dict(format=format, commune=commune, event_id=event_id,
                                                       trace_id=trace_id, source_system=source_system,
                                                       system_key=system_key))])[0]

    def publish_many(self, events: list[tuple[str, bytes, dict]]) -> list[str]:
        """Store several events in one transaction (one fsync); all or none are stored."""
        records, size = [], 0
        for kind, payload, opts in events:
            source = opts.get("source_system") or self.source_system
            own_key = self._system_key if source == self.source_system else None
            rec = ingest_record(kind, payload, source_system=source,
                                format=opts.get("format") or "", commune=opts.get("commune"),
                                event_id=opts.get("event_id"), trace=opts.get("trace_id"),
                                system_key=signing_key(self.settings, source, opts.get("system_key") or own_key))
            records.append(rec)
            size += len(rec.value) + 256
        now = time.time()
        rows = [(r.kind, r.key, r.value, orjson.dumps(r.headers), r.source_event_id, now) for r in records]
        with self._db_lock:
            used = self._used_bytes()
            if used + size > self.settings.outbox_max_bytes:
                raise OutboxFull(f"outbox {self.path} holds {used} bytes; storing {size} more would "
                                 f"exceed HUB_OUTBOX_MAX_BYTES={self.settings.outbox_max_bytes}. Nothing was "
                                 "stored: wait for the link to Kafka to come back (outbox_retry log lines) "
                                 "and retry")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO outbox (kind, key, payload, headers, event_id, created_at) "
                                     "VALUES (?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._counts["stored"] += len(rows)
        self._wake.set()
        for r in records:  # the event's first point of entry: its trace starts with this line
            self._log.info("publish_stored", **_event_fields(r.kind, r.headers))
        return [r.source_event_id for r in records]

    def _used_bytes(self) -> int:
        # Free pages are reused, so pages in use (not the file's high-water size) bound the disk.
        # page_count sees committed WAL frames too; the WAL file itself stays near
        # wal_autocheckpoint (1000 pages) and is truncated past journal_size_limit.
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * self._page_size

    # --- observing -------------------------------------------------------------------------
    def depth(self) -> int:
        with self._db_lock:
            return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def oldest_age_s(self) -> float:
        with self._db_lock:
            row = self._db.execute("SELECT created_at FROM outbox ORDER BY seq LIMIT 1").fetchone()
        return max(0.0, time.time() - row[0]) if row else 0.0

    def stats(self) -> OutboxStats:
        """Depth, oldest age and totals, for the host system's metrics or health checks."""
        depth, age = self.depth(), self.oldest_age_s()
        return OutboxStats(depth, age, self._counts["stored"], self._counts["forwarded"], self._counts["retries"],
                           self._lock_file is not None)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until the outbox is empty; True if it is, False at the deadline."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self.depth():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._wake.set()
            time.sleep(0.05)
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop forwarding; rows not yet acknowledged stay on disk for the next run."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._collector is not None:
            self._metrics_registry.unregister(self._collector)
            self._collector = None
        with self._db_lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- forwarding side -------------------------------------------------------------------
    def _try_lock(self) -> bool:
        if self._lock_file is not None:
            return True
        f = open(self.path.with_name(self.path.name + ".lock"), "a+b")  # noqa: SIM115 - held while running
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            return False
        self._lock_file = f
        return True

    def _batch(self) -> list[tuple]:
        with self._db_lock:
            return self._db.execute("SELECT seq, kind, key, payload, headers, event_id FROM outbox "
                                    "ORDER BY seq LIMIT ?", (self.batch_size,)).fetchall()

    def _delete_through(self, seq: int) -> None:
        with self._db_lock:
            self._db.execute("DELETE FROM outbox WHERE seq <= ?", (seq,))

    def _producer(self) -> KafkaProducer:
        s = self.settings
        return KafkaProducer(
            **kafka_config.kafka_python(s),
            client_id=f"hub-outbox-{self.source_system or 'multi'}",
            acks="all",
            enable_idempotence=True,
            # One request in flight per connection: a retried batch can never overtake a later one.
            max_in_flight_requests_per_connection=1,
            linger_ms=5,
            bootstrap_timeout_ms=5000,
            max_block_ms=10_000,
            request_timeout_ms=10_000,
            delivery_timeout_ms=30_000,
            max_request_size=max(1_048_576, s.max_payload_bytes + 65_536),
        )

    def _run(self) -> None:
        producer: KafkaProducer | None = None
        backoff, standby_logged = Backoff(min(0.5, self.backoff_max_s), self.backoff_max_s), False
        next_status = time.monotonic()
        try:
            while not self._stop.is_set():
                if time.monotonic() >= next_status:
                    self._log.info("outbox_status", depth=self.depth(), oldest_age_s=round(self.oldest_age_s(), 3),
                                   path=str(self.path))
                    next_status = time.monotonic() + self.status_interval_s
                if not self._try_lock():
                    if not standby_logged:
                        self._log.info("outbox_standby", path=str(self.path),
                                       message="another process forwards this outbox")
                        standby_logged = True
                    self._stop.wait(0.5)
                    continue
                rows = self._batch()
                if not rows:
                    self._wake.wait(0.5)
                    self._wake.clear()
                    continue
                try:
                    if producer is None:
                        producer = self._producer()
                    sent, error = self._send(producer, rows)
                except (KafkaError, OSError) as exc:
                    sent, error = 0, exc
                if sent:
                    self._delete_through(rows[sent - 1][0])
                    backoff.reset()
                if error is not None:
                    self._counts["retries"] += 1
                    wait_s = backoff.next()
                    self._log.warning("outbox_retry", depth=self.depth(), oldest_age_s=round(self.oldest_age_s(), 3),
                                      retry_in_s=round(wait_s, 2),
                                      error=f"{type(error).__name__}: {error}"[:300])
                    if producer is not None:
                        # A fresh producer after a failure: the old one may hold expired batches.
                        _discard(producer, timeout_s=1)
                        producer = None
                    self._stop.wait(wait_s)
        finally:
            if producer is not None:
                _discard(producer, timeout_s=5)
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None

    def _send(self, producer: KafkaProducer, rows: list[tuple]) -> tuple[int, BaseException | None]:
        """Send rows in order; returns (leading rows acknowledged, first error or None)."""
        sent = []
        for _seq, kind, key, payload, hdrs, _eid in rows:
            headers = orjson.loads(hdrs)
            topic = self.settings.topic(topics.INGEST_BY_KIND[kind])
            # Rows stored before keys were always set have none: the source system id is the key then.
            key = key or (headers.get(h.COMMUNE) or headers.get(h.SOURCE, "")).encode() or None
            sent.append((kind, headers, producer.send(topic, value=payload, key=key, headers=h.from_dict(headers))))
        with contextlib.suppress(KafkaError):  # the futures below say which rows made it
            producer.flush(timeout=self.send_timeout_s)
        acked = 0
        for kind, headers, fut in sent:
            if not fut.is_done:
                return acked, KafkaError("the broker did not acknowledge in time")
            if fut.failed():
                return acked, fut.exception
            md = fut.value
            self._log.info("publish_forwarded", topic=md.topic, partition=md.partition, offset=md.offset,
                           **_event_fields(kind, headers))
            acked += 1
            self._counts["forwarded"] += 1
        return acked, None


def _discard(producer: KafkaProducer, *, timeout_s: float) -> None:
    """Close a producer that may still hold unacknowledged batches (the broker is away).

    ``KafkaProducer.close`` flushes first and raises ``KafkaTimeoutError`` when batches remain: raised
    here, it ended the forwarder thread, and the outbox stopped draining after a broker outage. The rows
    are still on disk, so the batches are dropped (force close) and the next producer sends them again.
    """
    try:
        producer.close(timeout=timeout_s)
    except KafkaError:
        sender = getattr(producer, "_sender", None)
        if sender is not None:
            sender.force_close()


def _event_fields(kind: str, headers: dict[str, str]) -> dict[str, str | None]:
    """The log keys of one event (never its payload: it may hold personal data)."""
    return {"kind": kind, "source_system": headers.get(h.SOURCE), "commune_code": headers.get(h.COMMUNE),
            "source_event_id": headers.get(h.SOURCE_EVENT_ID), "trace_id": headers.get(h.TRACE_ID)}

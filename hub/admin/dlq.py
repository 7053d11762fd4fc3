"""Dead letters: list them by reason, verified writer and claimed source, and replay them into their ingest topic.

A dead letter (``hub.dlq.v1``) is the original ingest record — key, value, headers — plus
``hub.error.*`` headers saying why it was rejected and where it was read. Listing never shows
payload bytes: raw payloads may hold personal data.

Replay re-injects a dead letter into the ingest topic named by its ``hub.error.topic`` header
(only the ingest topics of these settings are accepted) with the original key, value and
headers, the ``hub.error.*`` headers removed and ``hub.replayed`` set to the replay count. The
worker then processes it like any new record, so a record replayed twice is deduplicated on
(source system, event id) like a connector's retry: replay is at-least-once and safe to repeat.

**What has been replayed** is recorded in the small topic ``hub.dlq.replayed.v1``: one record
per replayed dead letter, key ``"<dlq partition>:<dlq offset>"``, value JSON with the replay
count. It is compacted (one marker per dead letter survives) and also deleted after the raw
retention, so markers expire with the dead letters they mark. Why not the consumer-group
offsets of a ``<app_id>-dlq-replay`` group: a committed offset can only say "everything before
offset N", but ``--reason``/``--source`` replay an arbitrary subset, and records skipped by the
filter must stay pending; a set of coordinates is what must be stored, and a keyed topic is the
simplest place to store a set on Kafka. A marker is written only after the ingest write was
acknowledged; a crash between the two leaves the dead letter pending, and replaying it again
is harmless because of deduplication.

The records themselves (parse, filter, summarize, replay headers) are plain data in
:mod:`hub.admin.dead_letters`; this module is the Kafka I/O (:func:`scan`, :func:`read_markers`,
:func:`replay`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from hub import bounded, log
from hub.admin.dead_letters import (  # noqa: F401 - re-exported for callers
    Coords,
    DeadLetter,
    Summary,
    ingest_topics,
    marker_key,
    matches,
    parse,
    parse_marker,
    replay_headers,
    replay_target,
    summarize,
)
from hub.contract import headers as h
from hub.contract import topics
from hub.errors import HubError, TransientError
from hub.kafka import config as kafka_config
from hub.kafka import read as kafka_read
from hub.settings import Settings

_SEND_BATCH = 500  # acknowledge and mark in batches so memory stays bounded


def scan(settings: Settings, ends: dict[int, int], *, starts: dict[int, int] | None = None,
         keep_payload: bool = False, timeout_s: float = 30.0) -> Iterator[DeadLetter]:
    for m in kafka_read.read(settings, settings.topic(topics.DLQ), ends, starts=starts, timeout_s=timeout_s,
                             client="dlq"):
        yield parse(m.partition, m.offset, m.timestamp, m.key, m.value, m.headers, keep_payload=keep_payload)


def read_markers(settings: Settings, timeout_s: float = 30.0) -> dict[Coords, int]:
    """{DLQ coords: replay count} from the replay-marker topic (empty when it does not exist yet)."""
    topic = settings.topic(topics.DLQ_REPLAYED)
    try:
        ends = kafka_read.end_offsets(settings, topic, timeout_s=timeout_s)
    except HubError as exc:
        if isinstance(exc, TransientError):
            raise
        return {}
    out: dict[Coords, int] = {}
    for m in kafka_read.read(settings, topic, ends, timeout_s=timeout_s, client="dlq-markers"):
        parsed = parse_marker(m.key, m.value)
        if parsed is None:
            continue
        coords, count = parsed
        if count:
            out[coords] = count
        else:  # a tombstone written by hand makes the dead letter pending again
            out.pop(coords, None)
    return out


def _ensure_marker_topic(settings: Settings, timeout_s: float) -> None:
    """Deployments created before replay markers existed lack the topic: create it (idempotent)."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    name = settings.topic(topics.DLQ_REPLAYED)
    spec = next(s for s in topics.specs(settings) if s.name == name)
    try:
        admin = KafkaAdminClient(**kafka_config.kafka_python(settings), client_id=f"{settings.app_id}-dlq",
                                 bootstrap_timeout_ms=int(timeout_s * 1000))
        try:
            if name not in set(admin.list_topics()):
                admin.create_topics([NewTopic(name, spec.partitions, settings.replication_factor,
                                              topic_configs=spec.config)], timeout_ms=int(timeout_s * 1000))
        finally:
            admin.close()
    except TopicAlreadyExistsError:
        return
    except KafkaError as exc:
        raise kafka_read.unreachable(settings, exc) from exc


def list_letters(settings: Settings, *, reason: str | None = None, source: str | None = None,
                 writer: str | None = None, show: int = 0, timeout_s: float = 30.0) -> Summary:
    """Counts of the whole DLQ (up to the end offsets seen at the start), with pending counts."""
    ends = kafka_read.end_offsets(settings, settings.topic(topics.DLQ), timeout_s=timeout_s)
    markers = read_markers(settings, timeout_s)
    return summarize(scan(settings, ends, timeout_s=timeout_s), markers, reason=reason, source=source,
                     writer=writer, show=show)


@dataclass
class ReplayPlan:
    """What a replay will do, decided before anything is sent."""

    ends: dict[int, int]
    markers: dict[Coords, int]
    todo: list[DeadLetter] = field(default_factory=list)  # metadata only
    already: int = 0  # matching but replayed before (skipped without --again)
    refused: list[DeadLetter] = field(default_factory=list)  # hub.error.topic is not an ingest topic
    # hub.error.truncated (hub.bounded): the bytes are not the original record's, a replay would inject
    # a cut record under the original's identity
    truncated: list[DeadLetter] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        s = Summary()  # its claimed-name table is bounded
        for dl in self.todo:
            s.add(dl, 0)
        return {name: {k: c["total"] for k, c in sorted(table.items())}
                for name, table in (("by_reason", s.by_reason), ("by_writer", s.by_writer),
                                    ("by_source", s.by_source))}


def plan(settings: Settings, *, reason: str | None = None, source: str | None = None, writer: str | None = None,
         again: bool = False, timeout_s: float = 30.0) -> ReplayPlan:
    ends = kafka_read.end_offsets(settings, settings.topic(topics.DLQ), timeout_s=timeout_s)
    out = ReplayPlan(ends=ends, markers=read_markers(settings, timeout_s))
    for m in kafka_read.read(settings, settings.topic(topics.DLQ), ends, timeout_s=timeout_s, client="dlq"):
        dl = parse(m.partition, m.offset, m.timestamp, m.key, m.value, m.headers)
        if not matches(dl, reason, source, writer):
            continue
        if out.markers.get(dl.coords, 0) and not again:
            out.already += 1
        elif bounded.is_truncated([(k, v or b"") for k, v in m.headers or ()]):
            out.truncated.append(dl)
        elif replay_target(dl, settings) is None:
            out.refused.append(dl)
        else:
            out.todo.append(dl)
    return out


def replay(settings: Settings, todo: ReplayPlan, *, timeout_s: float = 30.0,
           on_replayed: Callable[[DeadLetter, Any], None] | None = None) -> int:
    """Re-inject the planned dead letters; returns how many were acknowledged and marked."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    if not todo.todo:
        return 0
    _ensure_marker_topic(settings, timeout_s)
    wanted = {dl.coords for dl in todo.todo}
    starts: dict[int, int] = {}
    for p, o in wanted:
        starts[p] = min(starts.get(p, o), o)
    try:
        producer = KafkaProducer(**kafka_config.kafka_python(settings), acks="all", enable_idempotence=True,
                                 client_id=f"{settings.app_id}-dlq-replay", linger_ms=5,
                                 bootstrap_timeout_ms=int(timeout_s * 1000),
                                 max_request_size=max(1_048_576, settings.max_payload_bytes + 65_536))
    except KafkaError as exc:
        raise kafka_read.unreachable(settings, exc) from exc
    marker_topic = settings.topic(topics.DLQ_REPLAYED)
    kind_of = {settings.topic(t): kind for kind, t in topics.INGEST_BY_KIND.items()}
    logger = log.get("hub.admin.dlq")
    done = 0
    batch: list[tuple[DeadLetter, int, Any]] = []

    def settle() -> None:
        nonlocal done
        markers = []
        for dl, count, fut in batch:
            md = fut.get(timeout=timeout_s)
            value = orjson.dumps({"count": count, "reason": dl.reason, "source_system": dl.source_system,
                                  "source_event_id": dl.event_id, "trace_id": dl.trace_id, "topic": md.topic,
                                  "partition": md.partition, "offset": md.offset,
                                  "replayed_at": int(time.time() * 1000)})
            markers.append(producer.send(marker_topic, key=marker_key(dl.coords), value=value))
            # dl.event_id is the publisher's id (the hub id is only known once normalized).
            # The commune only when the record named one (dl.commune falls back to the key, which is
            # a partitioning device, not a commune).
            logger.info("dlq_replayed", reason=dl.reason, kind=kind_of.get(md.topic), writer=dl.writer,
                        source_system=dl.source_system[:128] or None, source_event_id=dl.event_id or None,
                        trace_id=dl.trace_id or None,
                        commune_code=h.to_dict(dl.headers).get(h.COMMUNE), topic=md.topic, partition=md.partition,
                        offset=md.offset, dlq_partition=dl.partition, dlq_offset=dl.offset, replay_count=count)
            if on_replayed is not None:
                on_replayed(dl, md)
        for fut in markers:
            fut.get(timeout=timeout_s)
        done += len(batch)
        batch.clear()

    try:
        for dl in scan(settings, todo.ends, starts=starts, keep_payload=True, timeout_s=timeout_s):
            if dl.coords not in wanted:
                continue
            target = replay_target(dl, settings)
            # planned records passed these checks; a changed header would be a bug
            if target is None or bounded.is_truncated(dl.headers):
                continue
            count = dl.replays + todo.markers.get(dl.coords, 0) + 1
            fut = producer.send(target, key=dl.key, value=dl.value, headers=replay_headers(dl, count))
            batch.append((dl, count, fut))
            if len(batch) >= _SEND_BATCH:
                settle()
        settle()
    except KafkaError as exc:
        raise TransientError(f"replay stopped after {done} records: Kafka did not acknowledge a write: "
                             f"{exc}; replaying again is safe (records are deduplicated)") from exc
    finally:
        producer.close(timeout=timeout_s)
    logger.info("dlq_replay_done", replayed=done, skipped_already=todo.already, refused=len(todo.refused),
                topic=settings.topic(topics.DLQ))
    return done

"""Send raw commune payloads to the hub's ingest topics over Kafka (kafka-python 3.x).

``Publisher.send`` returns only after the broker acknowledged the write (acks=all,
idempotent producer), so a returned call is a durable event. For links that drop, use the
outbox (``connectors.outbox``) in front of it.

What every SDK path (this publisher, the outbox, the file drop, the simulator) stamps on an
ingest record is decided here, once (:func:`ingest_record`):

* the Kafka key: the commune code when the publisher knows it, else the source system id —
  never empty, so the copies of one event (a retry, a resend after a crash) always land on the
  same partition and meet the same deduplication state;
* ``hub.source_event_id``: the caller's id, else one derived from the payload's natural key
  (:mod:`connectors.source_ids`), so that a caller's own retry is recognised as a duplicate;
* ``hub.trace_id``: the caller's trace id, else a new one — the SDK is the event's first point
  of entry;
* ``hub.signature``: with the system's key (``HUB_SYSTEM_KEY``), proof for the worker that this
  system wrote the record (:mod:`hub.contract.signatures`; required when ``HUB_KAFKA_SECURITY=scram``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from kafka import KafkaProducer
from kafka.errors import KafkaError

from connectors import source_ids
from hub.contract import headers as h
from hub.contract import signatures, topics
from hub.errors import ConfigError, TransientError
from hub.kafka import config as kafka_config
from hub.settings import Settings


def trace_id(given: str | None = None) -> str:
    """The caller's trace id (checked: 1-64 of A-Z a-z 0-9 . _ -, the worker's ingest rule) or a new one."""
    if given is None or given == "":
        return uuid.uuid4().hex
    if not h.valid_trace_id(given):
        raise ValueError("trace_id must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
    return given


@dataclass(frozen=True, slots=True)
class IngestRecord:
    """One event as it goes onto an ingest topic (before the topic prefix)."""

    kind: str
    key: bytes
    value: bytes
    headers: dict[str, str]

    @property
    def source_event_id(self) -> str:
        return self.headers[h.SOURCE_EVENT_ID]

    @property
    def trace_id(self) -> str:
        return self.headers[h.TRACE_ID]


def ingest_record(kind: str, payload: bytes, *, source_system: str, format: str, commune: str | None = None,
                  event_id: str | None = None, trace: str | None = None,
                  system_key: str | None = None) -> IngestRecord:
    """Key, value and hub.* headers of one event; raises ValueError/TypeError on what Kafka must not see."""
    if kind not in topics.INGEST_BY_KIND:
        raise ValueError(f"kind must be one of {', '.join(topics.KINDS)}")
    if not isinstance(payload, bytes | bytearray):
        raise TypeError("payload must be bytes")
    if not format:
        raise ValueError("format is required (the dialect of the payload)")
    if not source_system:
        raise ValueError("source_system is required")
    payload = bytes(payload)
    if event_id and not h.valid_source_event_id(event_id):  # the worker would dead-letter it (bad_header)
        raise ValueError(f"event_id must be 1-{h.SOURCE_EVENT_ID_MAX} printable ASCII characters without spaces")
    sid = event_id or source_ids.derive(format, payload)
    given = {h.SOURCE: source_system, h.FORMAT: format, h.COMMUNE: commune or None, h.SOURCE_EVENT_ID: sid,
             h.TRACE_ID: trace_id(trace)}
    headers = {k: v for k, v in given.items() if v is not None}
    if system_key:
        headers[h.SIGNATURE] = signatures.sign(signatures.key_of(system_key), kind, headers, payload)
    return IngestRecord(kind, (commune or source_system).encode(), payload, headers)


def signing_key(settings: Settings, source_system: str, system_key: str | None = None) -> str | None:
    """The key to sign ``source_system``'s records with: the given one, else HUB_SYSTEM_KEY.

    :class:`ConfigError` in secure mode without one: the worker would dead-letter every record.
    """
    key = system_key or settings.system_key or None
    if key is None and kafka_config.secure(settings):
        raise ConfigError(f"HUB_KAFKA_SECURITY=scram: records of {source_system} must be signed; set "
                          "HUB_SYSTEM_KEY to the key `hub systems add` printed for it")
    return key


@dataclass(frozen=True, slots=True)
class Sent:
    source_event_id: str
    trace_id: str
    topic: str
    partition: int
    offset: int


class Queued(NamedTuple):
    """A send in flight: ``future.get()`` waits for the broker's acknowledgement."""

    source_event_id: str
    trace_id: str
    future: Any


class Publisher:
    """A connection to the hub's ingest topics for one publishing system."""

    def __init__(self, source_system: str, settings: Settings | None = None, *, timeout_s: float = 30.0,
                 system_key: str | None = None, **producer_config):
        self.settings = settings or Settings.from_env()
        self.source_system = source_system
        self._system_key = signing_key(self.settings, source_system, system_key)
        self.timeout_s = timeout_s
        self._producer = KafkaProducer(
            **kafka_config.kafka_python(self.settings),
            client_id=f"hub-publisher-{source_system}",
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_request_size=max(1_048_576, self.settings.max_payload_bytes + 65_536),
            **producer_config,
        )

    def send_async(self, kind: str, payload: bytes, *, format: str, commune: str | None = None,
                   event_id: str | None = None, trace_id: str | None = None,
                   timestamp_ms: int | None = None) -> Queued:
        """Queue one event; call ``flush`` or ``.future.get()``. ``event_id`` is your source event id.

        ``timestamp_ms`` sets the record's time, which the hub takes as its ingest time; leave it unset
        (the send time). Kafka's retention counts from it: a time older than HUB_RAW_RETENTION_HOURS may
        be deleted before the worker reads the event."""
        rec = ingest_record(kind, payload, source_system=self.source_system, format=format, commune=commune,
                            event_id=event_id, trace=trace_id, system_key=self._system_key)
        # from_dict's dict is invariant in its values (which may be None there): a plain cast, no copy
        headers = h.from_dict(cast("dict[str, str | None]", rec.headers))
        fut = self._producer.send(self.settings.topic(topics.INGEST_BY_KIND[kind]), value=rec.value, key=rec.key,
                                  headers=headers, timestamp_ms=timestamp_ms)
        return Queued(rec.source_event_id, rec.trace_id, fut)

    def send(self, kind: str, payload: bytes, **kw) -> Sent:
        """Send one event and wait for the broker's acknowledgement."""
        queued = self.send_async(kind, payload, **kw)
        try:
            md = queued.future.get(timeout=self.timeout_s)
        except KafkaError as exc:
            raise TransientError(f"Kafka did not acknowledge event {queued.source_event_id}: {exc}") from exc
        return Sent(queued.source_event_id, queued.trace_id, md.topic, md.partition, md.offset)

    def flush(self, timeout_s: float | None = None) -> None:
        self._producer.flush(timeout=timeout_s or self.timeout_s)

    def close(self) -> None:
        self._producer.close(timeout=self.timeout_s)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

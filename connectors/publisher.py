"""Send raw commune payloads to the hub's ingest topics over Kafka (kafka-python 3.x).

``Publisher.send`` returns only after the broker acknowledged the write (acks=all,
idempotent producer), so a returned call is a durable event. For links that drop, use the
outbox (``connectors.outbox``) in front of it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.errors import KafkaError

from hub import headers as h
from hub import topics
from hub.errors import TransientError
from hub.settings import Settings


@dataclass(frozen=True, slots=True)
class Sent:
    event_id: str
    topic: str
    partition: int
    offset: int


class Publisher:
    """A connection to the hub's ingest topics for one publishing system."""

    def __init__(self, source_system: str, settings: Settings | None = None, *, timeout_s: float = 30.0,
                 **producer_config):
        self.settings = settings or Settings.from_env()
        self.source_system = source_system
        self.timeout_s = timeout_s
        self._producer = KafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            client_id=f"hub-publisher-{source_system}",
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_request_size=max(1_048_576, self.settings.max_payload_bytes + 65_536),
            **producer_config,
        )

    def send_async(self, kind: str, payload: bytes, *, format: str, commune: str | None = None,
                   event_id: str | None = None, trace_id: str | None = None, timestamp_ms: int | None = None):
        """Queue one event; returns (event_id, future). Call ``flush`` or ``.get()`` the future."""
        if kind not in topics.INGEST_BY_KIND:
            raise ValueError(f"kind must be one of {', '.join(topics.KINDS)}")
        event_id = event_id or uuid.uuid4().hex
        hdrs = h.from_dict({h.SOURCE: self.source_system, h.FORMAT: format, h.COMMUNE: commune,
                            h.SOURCE_EVENT_ID: event_id, h.TRACE_ID: trace_id or uuid.uuid4().hex})
        fut = self._producer.send(self.settings.topic(topics.INGEST_BY_KIND[kind]), value=payload,
                                  key=(commune or "").encode() or None, headers=hdrs, timestamp_ms=timestamp_ms)
        return event_id, fut

    def send(self, kind: str, payload: bytes, **kw) -> Sent:
        """Send one event and wait for the broker's acknowledgement."""
        event_id, fut = self.send_async(kind, payload, **kw)
        try:
            md = fut.get(timeout=self.timeout_s)
        except KafkaError as exc:
            raise TransientError(f"Kafka did not acknowledge event {event_id}: {exc}") from exc
        return Sent(event_id, md.topic, md.partition, md.offset)

    def flush(self, timeout_s: float | None = None) -> None:
        self._producer.flush(timeout=timeout_s or self.timeout_s)

    def close(self) -> None:
        self._producer.close(timeout=self.timeout_s)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""librdkafka (confluent-kafka) configurations of the engine's clients, from settings.

Why librdkafka on the hot path: measured here on the same broker and backlog (docs/architecture.md),
a transactional consume -> produce loop costs ~9 µs of CPU per record with confluent-kafka and
~45-50 µs with aiokafka; and librdkafka implements exactly-once v2 (KIP-447: offsets are committed
with the consumer group's generation, so one transactional producer per process is fenced
correctly), which aiokafka 0.14 does not (TxnOffsetCommit v0 only).
"""

from __future__ import annotations

from typing import Any

from hub.kafka import config as kafka_config
from hub.settings import Settings


def _common(s: Settings, client_id: str) -> dict[str, Any]:
    return kafka_config.librdkafka(s, {
        "client.id": client_id,
        # librdkafka logs through its own callback otherwise; errors reach us as exceptions/events.
        "log_level": 3,
    })


def producer_config(s: Settings, *, client_id: str, transactional_id: str) -> dict[str, Any]:
    return {
        **_common(s, client_id),
        "transactional.id": transactional_id,
        "transaction.timeout.ms": s.worker_transaction_timeout_ms,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": s.worker_linger_ms,
        "compression.type": s.worker_compression,
        "message.max.bytes": max(1_048_576, s.max_payload_bytes + 65_536),
        # A failed write fails the transaction within its timeout instead of being retried for minutes.
        "message.timeout.ms": s.worker_transaction_timeout_ms,
    }


def consumer_config(s: Settings, *, group_id: str, client_id: str) -> dict[str, Any]:
    return {
        **_common(s, client_id),
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "session.timeout.ms": s.worker_session_timeout_s * 1000,
        "heartbeat.interval.ms": max(1000, s.worker_session_timeout_s * 100),
        # Bounded prefetch: memory stays flat during a backfill of millions of records.
        "queued.max.messages.kbytes": 16_384,
        "fetch.max.bytes": 16 * 1024 * 1024,
    }


def restore_config(s: Settings, *, client_id: str) -> dict[str, Any]:
    """A group-less reader of changelogs: assign(), read to the end (EOF), never commit."""
    return {
        **_common(s, client_id),
        "group.id": f"{s.app_id}-restore-unused",  # required by librdkafka; nothing is ever committed
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
    }

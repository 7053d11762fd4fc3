"""One record written and acknowledged (acks=all) by the operator tools' registrations (systems, accounts)."""

from __future__ import annotations

from hub.errors import TransientError
from hub.kafka import config as kafka_config
from hub.settings import Settings


def acknowledged(settings: Settings, topic: str, key: bytes, value: bytes, *, client: str, what: str) -> None:
    """Send one record to ``topic`` (full name) and wait for the broker's acknowledgement; TransientError
    naming ``what`` when Kafka cannot be reached or does not acknowledge."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        producer = KafkaProducer(**kafka_config.kafka_python(settings), acks="all",
                                 client_id=f"{settings.app_id}-{client}")
    except KafkaError as exc:
        raise TransientError(f"cannot reach Kafka at {settings.kafka_bootstrap}: {exc}") from exc
    try:
        producer.send(topic, key=key, value=value).get(timeout=30)
    except KafkaError as exc:
        raise TransientError(f"Kafka did not acknowledge the {what}: {exc}") from exc
    finally:
        producer.close(timeout=10)

"""The one place that turns settings into Kafka client configurations (kafka-python, aiokafka, librdkafka).

Every client the hub and the connector SDK construct gets its bootstrap servers and its security
from here, so that ``HUB_KAFKA_SECURITY=scram`` (SASL/SCRAM-SHA-512, optionally over TLS) reaches
every construction site at once and no client can be left on a plaintext connection by mistake.

Three libraries spell the same things three ways:

=================  =====================  =====================  =========================
what               kafka-python           aiokafka               librdkafka
=================  =====================  =====================  =========================
protocol           security_protocol      security_protocol      security.protocol
mechanism          sasl_mechanism         sasl_mechanism         sasl.mechanisms
user / password    sasl_plain_username /  sasl_plain_username /  sasl.username /
                   sasl_plain_password    sasl_plain_password    sasl.password
CA                 ssl_cafile             ssl_context            ssl.ca.location
=================  =====================  =====================  =========================

TLS always verifies the broker's certificate and host name (each library's default, never
turned off here): a deployment with a private CA sets ``HUB_KAFKA_TLS_CA_FILE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.errors import ConfigError
from hub.settings import Settings

PLAINTEXT, SCRAM = "plaintext", "scram"
MODES = (PLAINTEXT, SCRAM)
MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class Security:
    """The validated security of one process's Kafka connections."""

    protocol: str  # PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol.endswith("SSL")


def security(s: Settings) -> Security:
    """Check the HUB_KAFKA_* security settings; :class:`ConfigError` names what is wrong."""
    mode = s.kafka_security.strip().lower()
    if mode not in MODES:
        raise ConfigError(f"HUB_KAFKA_SECURITY must be one of {', '.join(MODES)}")
    ca = s.kafka_tls_ca_file.strip()
    if ca and not s.kafka_tls:
        raise ConfigError("HUB_KAFKA_TLS_CA_FILE is set but HUB_KAFKA_TLS is off")
    if ca and not Path(ca).is_file():
        raise ConfigError(f"HUB_KAFKA_TLS_CA_FILE={ca} is not a readable file")
    if mode == PLAINTEXT:
        return Security("SSL" if s.kafka_tls else "PLAINTEXT", ca_file=ca)
    if not s.kafka_username or not s.kafka_password:
        raise ConfigError("HUB_KAFKA_SECURITY=scram needs HUB_KAFKA_USERNAME and HUB_KAFKA_PASSWORD")
    return Security("SASL_SSL" if s.kafka_tls else "SASL_PLAINTEXT", s.kafka_username, s.kafka_password, ca)


def secure(s: Settings) -> bool:
    """True when this deployment authenticates its Kafka clients (and so enforces ACLs and signatures)."""
    return s.kafka_security.strip().lower() == SCRAM


def kafka_python(s: Settings, **config: Any) -> dict[str, Any]:
    """Keyword arguments of a kafka-python ``KafkaProducer`` / ``KafkaConsumer`` / ``KafkaAdminClient``."""
    sec = security(s)
    out: dict[str, Any] = {"bootstrap_servers": s.kafka_bootstrap, "security_protocol": sec.protocol}
    if sec.sasl:
        out.update(sasl_mechanism=MECHANISM, sasl_plain_username=sec.username, sasl_plain_password=sec.password)
    if sec.tls and sec.ca_file:
        out["ssl_cafile"] = sec.ca_file
    out.update(config)
    return out


def aiokafka(s: Settings, **config: Any) -> dict[str, Any]:
    """Keyword arguments of an aiokafka ``AIOKafkaProducer`` / ``AIOKafkaConsumer``."""
    sec = security(s)
    out: dict[str, Any] = {"bootstrap_servers": s.kafka_bootstrap, "security_protocol": sec.protocol}
    if sec.sasl:
        out.update(sasl_mechanism=MECHANISM, sasl_plain_username=sec.username, sasl_plain_password=sec.password)
    if sec.tls:
        from aiokafka.helpers import create_ssl_context

        out["ssl_context"] = create_ssl_context(cafile=sec.ca_file or None)
    out.update(config)
    return out


def librdkafka(s: Settings, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A confluent-kafka ``Producer`` / ``Consumer`` configuration: security plus ``config`` (dotted names)."""
    sec = security(s)
    out: dict[str, Any] = {"bootstrap.servers": s.kafka_bootstrap, "security.protocol": sec.protocol.lower()}
    if sec.sasl:
        out.update({"sasl.mechanisms": MECHANISM, "sasl.username": sec.username, "sasl.password": sec.password})
    if sec.tls:
        # "probe": the wheel's bundled OpenSSL looks for the system's CA store where distributions keep it.
        out["ssl.ca.location"] = sec.ca_file or "probe"
    out.update(config or {})
    return out

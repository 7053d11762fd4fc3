"""One typed settings object, read from ``HUB_*`` environment variables.

Every knob of the hub lives here; the README's configuration table is generated from
:data:`Settings` field metadata (``hub settings`` prints it), so the two cannot drift.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def _setting(default: Any, doc: str, *, secret: bool = False) -> Any:
    return field(default=default, metadata={"doc": doc, "secret": secret}, repr=not secret)


@dataclass(frozen=True)
class Settings:
    """Hub configuration. Build with :meth:`from_env`; values are immutable."""

    kafka_bootstrap: str = _setting("127.0.0.1:9092", "Kafka bootstrap servers, comma separated.")
    topic_prefix: str = _setting("", "Prefix for every topic and consumer group (tenants, tests).")
    partitions: int = _setting(6, "Partitions of ingest, feed and DLQ topics (keys are commune codes).")
    replication_factor: int = _setting(1, "Replication factor of created topics (3 in production).")
    min_insync_replicas: int = _setting(1, "min.insync.replicas of created topics (2 in production).")
    raw_retention_hours: int = _setting(168, "Retention of raw ingest and DLQ topics (they hold personal data).")
    province: str = _setting("52", "Province code this deployment serves (Gia Lai is 52).")
    organs: str = _setting("", "Extra organization directory entries: OrganId=code, comma separated.")
    dev_mode: bool = _setting(False, "Development mode: allows a built-in pseudonym key. Never in production.")
    pseudonym_key: str = _setting("", "Secret key for HMAC-SHA256 pseudonyms. Required unless dev mode.",
                                  secret=True)
    dedupe_window_hours: int = _setting(168, "How long (source system, event id) pairs are remembered (dedupe).")
    max_payload_bytes: int = _setting(1_048_576, "Largest raw event accepted, in bytes.")
    log_level: str = _setting("INFO", "Log level of the JSON log lines.")
    worker_store: str = _setting("memory://", "faust table store: memory:// or rocksdb:// (durable local state).")
    worker_data_dir: str = _setting(str(ROOT / "var" / "worker"), "Directory for the worker's local table state.")
    worker_session_timeout_s: int = _setting(30, "Consumer session timeout: how soon a dead worker's partitions move.")
    worker_web_port: int = _setting(0, "faust web port on 127.0.0.1; 0 disables faust's web server.")
    gateway_host: str = _setting("127.0.0.1", "Address the HTTP gateway listens on.")
    gateway_port: int = _setting(8080, "Port the HTTP gateway listens on.")
    gateway_max_batch: int = _setting(1000, "Most events in one JSON array posted to the gateway.")
    # gateway: bounds and fast degradation (one request must not hurt the others)
    gateway_max_body_bytes: int = _setting(4 * 1024 * 1024, "Largest HTTP request body, any route (413 as soon "
                                           "as it is crossed, chunked bodies included).")
    gateway_delivery_timeout_ms: int = _setting(5000, "Longest wait for Kafka to acknowledge a request's "
                                                "writes; then 503 with Retry-After.")
    gateway_header_timeout_ms: int = _setting(10_000, "Longest time a client may take to send a request's "
                                              "headers; then 408.")
    gateway_body_timeout_ms: int = _setting(15_000, "Longest time a client may take to send a request's body; "
                                            "then 408.")
    gateway_max_in_flight: int = _setting(64, "Most requests handled at once by one gateway; more get 503 "
                                          "with Retry-After instead of queueing.")
    # systems list (hub.systems.v1), followed by every gateway and worker
    systems_follow_interval_ms: int = _setting(1000, "How often gateways and workers re-read hub.systems.v1 "
                                               "(onboarding reaches them within about this).")
    systems_refresh_timeout_ms: int = _setting(5000, "Longest blocking read of hub.systems.v1 (start-up, or an "
                                               "unknown key or system met).")
    outbox_path: str = _setting(str(ROOT / "var" / "outbox.sqlite3"), "SQLite file of the publisher SDK's outbox.")
    outbox_max_bytes: int = _setting(256 * 1024 * 1024, "Largest outbox size on disk before publish() refuses.")
    schemas_dir: str = _setting(str(ROOT / "schemas"), "Folder of the .avsc files and their id lock (registry.json).")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``HUB_<FIELD>`` variables; ``overrides`` win over the environment."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get("HUB_" + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        values.update(overrides)
        return cls(**values)

    def topic(self, name: str) -> str:
        """Full topic name for a contract topic name (adds the prefix)."""
        return self.topic_prefix + name

    @property
    def app_id(self) -> str:
        return self.topic_prefix + "hub"

    def effective_pseudonym_key(self) -> bytes:
        """The HMAC key; dev mode falls back to a fixed, public key (never for real data)."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode()
        if self.dev_mode:
            return b"hub-dev-mode-pseudonym-key-not-secret"
        raise ConfigError("HUB_PSEUDONYM_KEY is not set; the hub refuses to pseudonymize without a secret "
                          "(set HUB_DEV_MODE=1 for local development only)")

    def organ_map(self) -> dict[str, str]:
        """Organization directory entries from settings (OrganId -> code)."""
        out: dict[str, str] = {}
        for item in filter(None, (p.strip() for p in self.organs.split(","))):
            organ, sep, code = item.partition("=")
            if not sep or not organ.strip() or not code.strip():
                raise ConfigError(f"HUB_ORGANS entry {item!r} is not OrganId=code")
            out[organ.strip()] = code.strip()
        return out

    @staticmethod
    def describe() -> list[tuple[str, str, str]]:
        """(variable, default, meaning) for every setting, for docs and ``hub settings``."""
        rows = []
        for f in dataclasses.fields(Settings):
            default = "" if f.metadata["secret"] else str(f.default)
            if default.startswith(str(ROOT)):
                default = "<repo>" + default[len(str(ROOT)):]
            rows.append(("HUB_" + f.name.upper(), default, f.metadata["doc"]))
        return rows


def _convert(name: str, typ: Any, raw: str) -> Any:
    typ = str(typ)
    try:
        if typ == "bool":
            low = raw.strip().lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if typ == "int":
            return int(raw)
    except ValueError:
        raise ConfigError(f"HUB_{name.upper()}={raw!r} is not a valid {typ}") from None
    return raw

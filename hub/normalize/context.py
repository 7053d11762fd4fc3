"""What a mapper knows besides the bytes: the envelope of the raw event and the deployment."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Envelope:
    """Identity attached to raw bytes at ingest (Kafka headers ``hub.*``)."""

    kind: str  # "dossier" | "document"
    format: str  # dialect name, e.g. "dvcqg-json"
    source_system: str
    trace_id: str
    ingest_time_ms: int
    commune_hint: str | None = None  # explicit header hub.commune (X-Hub-Commune at the gateway), never the key
    source_event_id: str | None = None  # header hub.source_event_id: the publisher's own id, if any


@dataclass(frozen=True)
class Scope:
    """What one publishing system may publish."""

    communes: frozenset[str]
    kinds: frozenset[str]


@dataclass
class Context:
    """Deployment facts the mappers and validators need; all lookups are in memory."""

    province: str
    pseudonym_key: bytes
    max_payload_bytes: int = 1_048_576
    organs: dict[str, str] = field(default_factory=dict)  # OrganId -> commune or province code
    # source system -> Scope, or None when the system is unknown/revoked. None as the whole
    # callable means "no systems registry configured" (pure unit tests).
    scope_of: Callable[[str], Scope | None] | None = None

    @classmethod
    def from_settings(cls, settings, *, organs: dict[str, str] | None = None,
                      scope_of: Callable[[str], Scope | None] | None = None, validate_only: bool = False) -> Context:
        """The context of a deployment. ``validate_only`` (the gateway) uses a throw-away key: its
        records are discarded, so it never needs the deployment's secret."""
        import secrets

        key = secrets.token_bytes(32) if validate_only else settings.effective_pseudonym_key()
        return cls(province=settings.province, pseudonym_key=key, max_payload_bytes=settings.max_payload_bytes,
                   organs=dict(organs or {}), scope_of=scope_of)

    def pseudonym(self, value: str | None) -> str | None:
        """Keyed HMAC-SHA256 pseudonym (hex) of an identifier; None stays None."""
        if value is None:
            return None
        norm = "".join(value.split()).upper()
        if not norm:
            return None
        return hmac.new(self.pseudonym_key, norm.encode(), hashlib.sha256).hexdigest()

    def organ_commune(self, organ_id: str | None) -> str | None:
        return self.organs.get(organ_id.strip()) if organ_id else None

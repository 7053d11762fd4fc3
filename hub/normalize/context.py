"""What a mapper knows besides the bytes: the envelope of the raw event and the deployment."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.normalize.personal_data import PseudonymKey


@dataclass(slots=True)
class Envelope:
    """Identity attached to raw bytes at ingest (Kafka headers ``hub.*``); never changed once made.

    Not ``frozen``: a frozen dataclass's ``__init__`` costs ~3x more, and one is made per event.
    """

    kind: str  # "dossier" | "document"
    format: str  # dialect name, e.g. "dvcqg-json"
    source_system: str
    trace_id: str
    ingest_time_ms: int
    commune_hint: str | None = None  # explicit header hub.commune (X-Hub-Commune at the gateway), never the key
    source_event_id: str | None = None  # header hub.source_event_id: the publisher's own id, if any


@dataclass(frozen=True)
class Scope:
    """What one publishing system may publish, and as whom.

    ``organ_ids``: the OrganIds registered to it (``hub systems add --organ-id``); a document or status
    the hub attributes to an organ of the directory is accepted only from the system that registered that
    organ (:mod:`hub.normalize.edxml_common`). Empty: it may send as no organ at all.
    """

    communes: frozenset[str]
    kinds: frozenset[str]
    organ_ids: frozenset[str] = frozenset()


@dataclass
class Context:
    """Deployment facts the mappers and validators need; all lookups are in memory.

    ``pseudonym_key`` is the master secret; the applicant and handler keys are derived from it
    (:mod:`hub.normalize.personal_data`) unless given explicitly, each with its key id.
    """

    province: str
    pseudonym_key: bytes = field(repr=False)
    max_payload_bytes: int = 1_048_576
    organs: dict[str, str] = field(default_factory=dict)  # OrganId -> commune or province code
    # source system -> Scope, or None when the system is unknown/revoked. None as the whole
    # callable means "no systems snapshot configured" (pure unit tests).
    scope_of: Callable[[str], Scope | None] | None = None
    max_record_ms: int | None = 10_000  # per-record time budget (HUB_MAX_RECORD_MS); None: unbounded
    max_future_skew_ms: int = 600_000  # HUB_MAX_FUTURE_SKEW: how far past its receipt an event time may be
    citizen_subjects: bool = False  # HUB_CITIZEN_DOCUMENT_SUBJECTS
    applicant_key: bytes | None = field(default=None, repr=False)
    handler_key: bytes | None = field(default=None, repr=False)
    applicant_key_id: str | None = None
    handler_key_id: str | None = None
    keys: dict[str, PseudonymKey] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.keys = {
            "applicant": PseudonymKey.of("applicant", self.pseudonym_key, self.applicant_key, self.applicant_key_id),
            "handler": PseudonymKey.of("handler", self.pseudonym_key, self.handler_key, self.handler_key_id),
        }

    @classmethod
    def from_settings(cls, settings, *, organs: Mapping[str, str] | None = None,
                      scope_of: Callable[[str], Scope | None] | None = None, validate_only: bool = False) -> Context:
        """The context of a deployment. ``validate_only`` (the gateway) uses throw-away keys: its
        records are discarded, so it never needs the deployment's secrets."""
        keys: dict[str, Any] = {}
        if validate_only:
            master = secrets.token_bytes(32)
        else:
            master = settings.effective_pseudonym_key()
            keys = dict(applicant_key=settings.applicant_pseudonym_key.encode() or None,
                        handler_key=settings.handler_pseudonym_key.encode() or None,
                        applicant_key_id=settings.applicant_pseudonym_key_id or None,
                        handler_key_id=settings.handler_pseudonym_key_id or None)
        return cls(province=settings.province, pseudonym_key=master, max_payload_bytes=settings.max_payload_bytes,
                   organs=dict(organs or {}), scope_of=scope_of, max_record_ms=settings.max_record_ms or None,
                   max_future_skew_ms=settings.max_future_skew_ms(),
                   citizen_subjects=settings.citizen_document_subjects, **keys)

    def pseudonym(self, value: str | None, purpose: str) -> str | None:
        """Keyed HMAC-SHA256 pseudonym (hex) of an identifier for ``purpose``; None stays None."""
        return self.keys[purpose].pseudonym(value)

    def _pseudonym_fields(self, purpose: str, value: str | None) -> dict[str, str | None]:
        key = self.keys[purpose]
        pseudonym = key.pseudonym(value)
        return {f"{purpose}_pseudonym": pseudonym, f"{purpose}_pseudonym_key_id": key.key_id if pseudonym else None}

    def applicant(self, value: str | None) -> dict[str, str | None]:
        """``applicant_pseudonym`` and its ``applicant_pseudonym_key_id`` for an applicant id."""
        return self._pseudonym_fields("applicant", value)

    def handler(self, value: str | None) -> dict[str, str | None]:
        """``handler_pseudonym`` and its ``handler_pseudonym_key_id`` for a handler id."""
        return self._pseudonym_fields("handler", value)

    def organ_commune(self, organ_id: str | None) -> str | None:
        return self.organs.get(organ_id.strip()) if organ_id else None

"""The hub's error tree. Reason codes here are exactly what DLQ headers and HTTP bodies say.

::

    HubError
    ├── ConfigError            bad or missing HUB_* setting; the process refuses to start
    ├── SchemaError            unknown schema id / subject / version, or incompatible schemas
    ├── TransientError         broker unavailable, timeouts: retried with capped backoff, never dead-lettered
    └── Rejected               permanent: this input can never be accepted as it is
        ├── AuthError          401 — missing, malformed or revoked key
        └── ScopeError         403 — commune or kind outside the publishing system's scope

A :class:`Rejected` carries a ``reason`` (a code from :data:`REASONS`), the ``stage`` that
rejected it (``parse``, ``validate``, ``map``, ``encode``, ``produce``, ``auth``) and a human
message. The pipeline turns it into a dead-letter record; the gateway into a 4xx JSON body.
"""

from __future__ import annotations

# reason code -> (HTTP status at the gateway, meaning). The README lists this table.
REASONS: dict[str, tuple[int, str]] = {
    "payload_too_large": (413, "the raw event is larger than HUB_MAX_PAYLOAD_BYTES"),
    # 413 like batch_too_large: the content is not wrong, there is too much of it for one event;
    # the remedy is the same (send it in smaller pieces), and clients do not retry a 413 unchanged.
    "too_expensive": (413, "the event exceeds a structural bound (recipients, attachments, nesting) or took "
                           "longer than HUB_MAX_RECORD_MS to normalize"),
    "batch_too_large": (413, "a JSON array holds more events than HUB_GATEWAY_MAX_BATCH"),
    "unsupported_media_type": (415, "content type is not JSON or XML"),
    "bad_encoding": (400, "bytes are not valid UTF-8 (or UTF-8 with BOM), or XML declares an encoding the hub "
                          "does not know"),
    "malformed_json": (400, "the body is not valid JSON, or not an object / array of objects"),
    "malformed_xml": (400, "the body is not well-formed XML, or uses forbidden entities / DTDs"),
    "malformed_csv": (400, "the CSV cannot be read or has no recognised header"),
    "unknown_format": (400, "the format header names no known dialect"),
    "unsafe_file": (400, "hub import only: a dropped entry is a symbolic link, has more than one name (a hard "
                         "link), or is not a regular file; it is moved to rejected/ unread"),
    "bad_header": (400, "an ingest header breaks its rule (an unknown hub.* name, a repeated one, a trace id, "
                        "source event id, commune, source or format of the wrong shape or length, too many or "
                        "too large headers); the message names the header and the rule, never the value"),
    "wrong_partition": (400, "an ingest record has no Kafka key, or sits in another partition than a default "
                             "(murmur2) producer puts its key, or its key is neither its commune nor its "
                             "hub.source: a copy on a second partition would escape deduplication"),
    "unknown_document_root": (422, "XML root or namespace is neither edXML nor eDoc"),
    "missing_field": (422, "a required field is absent or empty"),
    "invalid_value": (422, "a field has a value of the wrong type or out of range"),
    "ambiguous_number": (422, "a number has one '.' or ',' followed by exactly three digits: a thousands "
                              "separator or a decimal point? (write 1234, 1.234,0 or 1,2340; docs/targets.md)"),
    "bad_date": (422, "a date is not yyyyMMddHHmmss, dd/MM/yyyy or ISO 8601"),
    "due_before_received": (422, "the due date is earlier than the received date"),
    "event_in_future": (422, "an event, status or reception time (not a due date) is more than "
                             "HUB_MAX_FUTURE_SKEW after the hub received the event, or a report's as_of a later "
                             "day; the field is named"),
    "implausible_time": (422, "a time in the event is before 2000-01-01 (a zero, an epoch or a misread year)"),
    "unknown_status": (422, "a status code outside the national code list"),
    "unknown_commune": (422, "the commune code is not in the national reference list"),
    "commune_not_in_province": (422, "the commune belongs to another province than HUB_PROVINCE"),
    "missing_commune": (422, "no commune could be determined (payload, header or registration)"),
    "unknown_organ": (422, "an OrganId is not in the organization directory"),
    "commune_not_in_scope": (403, "the publishing system is not registered for this commune"),
    "organ_not_in_scope": (403, "a document's sender or a status's reporter (From/OrganId) is not an OrganId "
                                "registered to the publishing system"),
    "kind_not_allowed": (403, "the publishing system is not registered for this kind of event"),
    "unknown_system": (403, "the source system is not registered (or revoked)"),
    "bad_signature": (403, "an ingest record's hub.signature is missing (secure mode) or was not made with the key "
                           "of the system its hub.source names"),
    "unauthorized": (401, "missing, malformed or unknown bearer key"),
    "role_not_allowed": (403, "the key's role may not use this route (readers may not publish, publishers may "
                              "not read)"),
    "request_timeout": (408, "the client sent the request headers or body slower than the gateway's timeouts"),
    "overloaded": (503, "the gateway already handles HUB_GATEWAY_MAX_IN_FLIGHT requests; nothing was accepted, "
                        "retry later"),
    "bad_parameter": (400, "a query or path parameter of the read API cannot be read (period, at, overdue, "
                           "limit); the message names the parameter and the rule"),
    "not_found": (404, "no such HTTP route, or no such resource (a commune outside the province, an unknown "
                       "directive)"),
    "method_not_allowed": (405, "the HTTP route exists but not for this method"),
    "unavailable": (503, "Kafka or the systems topic is unreachable; nothing was accepted, retry later"),
    "encode_failed": (422, "the canonical record does not fit its Avro schema"),
    "internal_error": (500, "a mapper raised an unexpected exception (a hub bug); the record is kept for replay"),
    "unwritable": (422, "the record, alone in its transaction, was refused by Kafka HUB_WORKER_POISON_ATTEMPTS "
                        "times for a reason of its own (too large, invalid); dead-lettered so its partition moves on"),
}

STAGES = ("parse", "validate", "map", "encode", "produce", "auth")


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class ConfigError(HubError):
    """A HUB_* setting is missing or invalid."""


class SchemaError(HubError):
    """Unknown schema id, subject or version, or an incompatible schema change."""


class TransientError(HubError):
    """A failure that may pass (broker down, timeout); retry, do not dead-letter."""


class OutboxFull(HubError):
    """The publisher's local outbox reached HUB_OUTBOX_MAX_BYTES; nothing was stored."""


class Rejected(HubError):
    """An input that can never be accepted as it is."""

    index: int | None = None  # which event of a request's batch, set by the gateway when it has several

    def __init__(self, reason: str, message: str, *, stage: str = "validate", field: str | None = None):
        if reason not in REASONS:
            raise ValueError(f"unknown reason code {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.stage = stage
        self.field = field

    @property
    def http_status(self) -> int:
        return REASONS[self.reason][0]

    def as_dict(self) -> dict[str, str]:
        body = {"error": self.reason, "message": self.message, "stage": self.stage}
        if self.field:
            body["field"] = self.field
        return body


class AuthError(Rejected):
    """401: no usable bearer key."""

    def __init__(self, message: str):
        super().__init__("unauthorized", message, stage="auth")


class ScopeError(Rejected):
    """403: the system may not publish this commune or kind."""

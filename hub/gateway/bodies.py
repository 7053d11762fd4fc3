"""Turn one HTTP request body into raw events: media type, size bound, JSON batches, XML dialects.

Pure functions over bytes and header values (no Kafka, no FastAPI), so every refusal reason is
testable without a server. Each raw event keeps the bytes the worker will normalize again: a
single object or XML document exactly as posted, each array element re-serialized on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from hub.errors import Rejected
from hub.normalize import decode, formats
from hub.normalize.core import kinds_of

JSON, XML = "json", "xml"
DEFAULT_JSON_FORMAT = {"dossier": "dvcqg-json", "document": "hub-json"}
MAX_EVENT_ID = 200


@dataclass(frozen=True, slots=True)
class RawEvent:
    raw: bytes
    source_event_id: str | None  # the publisher's own id, when it gave one


def media_type(content_type: str | None) -> str:
    """JSON or XML from a Content-Type header; 415 for anything else."""
    mt = (content_type or "").split(";", 1)[0].strip().lower()
    if mt in ("application/json", "text/json") or (mt.startswith("application/") and mt.endswith("+json")):
        return JSON
    if mt in ("application/xml", "text/xml") or (mt.startswith("application/") and mt.endswith("+xml")):
        return XML
    shown = mt or "none"
    raise Rejected("unsupported_media_type", f"content type {shown[:80]!r} is not accepted; send "
                   "application/json (one object or an array of objects) or application/xml (edXML / eDoc)",
                   stage="parse")


def body_limit(media: str, max_payload: int, max_batch: int) -> int:
    """Largest acceptable body: one event for XML, a full batch of full-size events for JSON."""
    return max_payload * max_batch if media == JSON else max_payload


def check_length(content_length: str | None, limit: int) -> None:
    if content_length and content_length.strip().isdigit() and int(content_length) > limit:
        raise Rejected("payload_too_large", f"body of {int(content_length)} bytes exceeds the limit of "
                       f"{limit} bytes", stage="parse")


def _format_for(kind: str, fmt: str) -> str:
    mod = formats().get(fmt)
    if mod is None:
        known = ", ".join(sorted(f for f, m in formats().items() if kind in kinds_of(m))) or "none"
        raise Rejected("unknown_format", f"format {fmt[:64]!r} is not available here; {kind} formats: "
                       f"{known}", stage="parse")
    if kind not in kinds_of(mod):
        carries = " or ".join(kinds_of(mod))
        raise Rejected("unknown_format", f"format {fmt!r} carries {carries} events, not {kind}",
                       stage="parse")
    return fmt


def _utf8(raw: bytes) -> bytes:
    return decode.utf8_bytes(raw, "body")


def _own_id(obj: dict) -> str | None:
    value = obj.get("event_id")
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()[:MAX_EVENT_ID]
    return None


def split_json(raw: bytes, max_batch: int, header_id: str | None) -> list[RawEvent]:
    """One object -> one event (bytes untouched); an array -> one event per element."""
    body = _utf8(raw)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Rejected("malformed_json", f"body is not valid JSON: {str(exc)[:160]}", stage="parse") from None
    if isinstance(doc, dict):
        return [RawEvent(raw, _own_id(doc) or header_id)]
    if not isinstance(doc, list):
        raise Rejected("malformed_json", "expected a JSON object or an array of objects, got "
                       f"{type(doc).__name__}", stage="parse")
    if not doc:
        raise Rejected("malformed_json", "the JSON array is empty", stage="parse")
    if len(doc) > max_batch:
        raise Rejected("batch_too_large", f"the array holds {len(doc)} events; the limit is {max_batch}",
                       stage="parse")
    out = []
    for i, item in enumerate(doc):
        if not isinstance(item, dict):
            exc = Rejected("malformed_json", f"element {i} is a {type(item).__name__}, not an object",
                           stage="parse")
            exc.index = i  # type: ignore[attr-defined]
            raise exc
        # A batch-wide Idempotency-Key names the batch; each element gets its position appended.
        out.append(RawEvent(orjson.dumps(item), _own_id(item) or (f"{header_id}#{i}" if header_id else None)))
    return out


def xml_format(raw: bytes) -> str:
    """Dialect of an XML document by its root namespace (parsed with DTDs and entities forbidden)."""
    return decode.xml_dialect(decode.xml_root(raw, "body"))


def split(raw: bytes, media: str, kind: str, *, explicit_format: str | None, max_batch: int,
          header_id: str | None) -> tuple[str, list[RawEvent]]:
    """(format, raw events) of a body, or :class:`Rejected` naming the first problem."""
    if media == JSON:
        fmt = _format_for(kind, explicit_format or DEFAULT_JSON_FORMAT[kind])
        return fmt, split_json(raw, max_batch, header_id)
    if explicit_format:
        fmt = _format_for(kind, explicit_format)
    elif kind != "document":
        raise Rejected("unsupported_media_type", f"{kind} events are JSON; XML is accepted for documents "
                       "only", stage="parse")
    else:
        fmt = _format_for(kind, xml_format(raw))
    return fmt, [RawEvent(raw, header_id)]

"""Turn one HTTP request body into raw events: media type, JSON batches, XML dialects.

Pure functions over bytes and header values (no Kafka, no FastAPI), so every refusal reason is
testable without a server. Each raw event keeps the bytes the worker will normalize again: a
single object or XML document exactly as posted, each array element re-serialized on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from hub.errors import Rejected
from hub.normalize import decode, formats
from hub.normalize.core import kinds_of

JSON, XML = "json", "xml"
DEFAULT_JSON_FORMAT = {"dossier": "dvcqg-json", "document": "hub-json", "target": "hub-json"}
MAX_EVENT_ID = 200
# Bodies up to this size are parsed directly: at worst (`[{},{},...]`, 3 bytes for a 72-byte dict)
# they become ~1.5 MiB of Python objects. Larger ones are counted before they are parsed.
SMALL_BODY = 64 * 1024
CONTAINERS_PER_EVENT = 64  # JSON objects and arrays allowed per event of the batch bound, on average
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_INNERMOST = re.compile(rb"\{[^\[\]{}]*\}|\[[^\[\]{}]*\]")


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


def check_shape(body: bytes, max_batch: int) -> None:
    """Refuse a large JSON array with too many elements, or too many objects in all, BEFORE parsing.

    Parsing ``[{},{},...]`` turns every 3 bytes into a 72-byte dict: 4 MiB would become 100 MB of
    Python objects. Strings are blanked first (their brackets and commas do not count), then
    containers are counted with ``bytes.count`` and, for an array, innermost pairs are collapsed
    until only the top level's commas remain. Malformed JSON passes through to the parser, which
    names the problem.
    """
    bare = _STRING.sub(b'""', body).strip()
    containers = bare.count(b"{") + bare.count(b"[")
    cap = CONTAINERS_PER_EVENT * max_batch
    if containers > cap:
        raise Rejected("payload_too_large", f"the body holds {containers} JSON objects and arrays; the limit is "
                       f"{cap} ({CONTAINERS_PER_EVENT} per event of HUB_GATEWAY_MAX_BATCH)", stage="parse")
    if not (bare.startswith(b"[") and bare.endswith(b"]")) or containers <= max_batch:
        return  # not an array, or it cannot hold more elements than containers (non-objects are refused)
    inner = bare[1:-1]
    while b"{" in inner or b"[" in inner:
        collapsed = _INNERMOST.sub(b"0", inner)
        if len(collapsed) == len(inner):
            return  # unbalanced: malformed, the parser will say where
        inner = collapsed
    elements = inner.count(b",") + 1 if inner.strip() else 0
    if elements > max_batch:
        raise Rejected("batch_too_large", f"the array holds {elements} events; the limit is {max_batch}",
                       stage="parse")


def split_json(raw: bytes, max_batch: int, header_id: str | None) -> list[RawEvent]:
    """One object -> one event (bytes untouched); an array -> one event per element."""
    body = _utf8(raw)
    if len(body) > SMALL_BODY:
        check_shape(body, max_batch)
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
            bad = Rejected("malformed_json", f"element {i} is a {type(item).__name__}, not an object",
                           stage="parse")
            bad.index = i
            raise bad
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
    if not explicit_format and kind != "document":
        raise Rejected("unsupported_media_type", f"{kind} events are JSON; XML is accepted for documents "
                       "only", stage="parse")
    try:
        detected = xml_format(raw)  # well-formed, no DTD or entities, a known root: also with ?format=
    except LookupError:  # expat: <?xml ... encoding="x-foo"?> names no codec Python knows
        raise Rejected("bad_encoding", "the XML declaration names an encoding that is not supported; send "
                       "UTF-8", stage="parse") from None
    return _format_for(kind, explicit_format or detected), [RawEvent(raw, header_id)]

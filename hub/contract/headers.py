"""Kafka header names on ingest and DLQ records (the contract between publishers and the hub)."""

from __future__ import annotations

import re

SOURCE = "hub.source"  # publishing system id
FORMAT = "hub.format"  # dialect: dvcqg-json, edxml, edoc-go, hub-json, csv
COMMUNE = "hub.commune"  # commune hint when the payload does not carry one
SOURCE_EVENT_ID = "hub.source_event_id"  # ingest records: the publisher's own id of the event
EVENT_ID = "hub.event_id"  # feed and derived records: the hub's id of the event (what dedupe keys on)
TRACE_ID = "hub.trace_id"
# Feed records: "<ingest topic>:<partition>:<offset>" of the raw record they were normalized from, so
# that `hub trace` ties each published record to what was received (topic names never hold ':').
ORIGIN = "hub.origin"
SIGNATURE = "hub.signature"  # ingest records: HMAC proving hub.source wrote them (hub.contract.signatures)
REPLAYED = "hub.replayed"  # on re-injected DLQ records: how many times replayed

# Dead-letter headers, modelled on Kafka Connect's __connect.errors.*
ERR_STAGE = "hub.error.stage"
ERR_REASON = "hub.error.reason"
ERR_MESSAGE = "hub.error.message"
ERR_CLASS = "hub.error.exception.class"
ERR_TOPIC = "hub.error.topic"
ERR_PARTITION = "hub.error.partition"
ERR_OFFSET = "hub.error.offset"
ERR_TIME = "hub.error.timestamp"

Headers = list[tuple[str, bytes]]

# -- what an ingest record may carry (checked by the worker on every record; the SDK and the gateway
# refuse the same things early). A violation is a ``bad_header`` dead letter naming the header and the
# rule, never the value: a header is attacker-chosen bytes that would otherwise reach logs, feed
# headers and KPI rows (a 450 KB trace id, an ID number as a source event id).
TRACE_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"  # what the SDK, X-Trace-Id, traceparent and `hub trace` accept
SOURCE_EVENT_ID_MAX = 200  # the gateway's MAX_EVENT_ID; an Idempotency-Key (128) plus "#<index>" fits
MAX_HEADERS = 32  # every header of a record, hub.* and others
MAX_OTHER_NAME = 64  # a non-hub header (tolerated for tracing/vendor use, never read by the hub)
MAX_OTHER_VALUE = 1024
MAX_OTHER_BYTES = 4096  # all non-hub headers of one record together (names and values)
_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    SOURCE: (re.compile(r"^[a-z0-9._-]{1,64}$"), "1-64 of a-z 0-9 . _ - (a system id)"),
    FORMAT: (re.compile(r"^[a-z0-9-]{1,32}$"), "1-32 of a-z 0-9 - (a dialect name)"),
    COMMUNE: (re.compile(r"^[0-9]{5}$"), "5 digits (a commune code)"),
    SOURCE_EVENT_ID: (re.compile(r"^[\x21-\x7e]{1,200}$"),
                      f"1-{SOURCE_EVENT_ID_MAX} printable ASCII characters without spaces"),
    TRACE_ID: (re.compile(TRACE_ID_PATTERN), "1-64 of A-Z a-z 0-9 . _ -"),
    SIGNATURE: (re.compile(r"^v[12]=[0-9a-f]{64}$"), "v1= or v2= and 64 lower-case hex digits"),
    REPLAYED: (re.compile(r"^[0-9]{1,6}$"), "1-6 digits"),
}
_RULES[EVENT_ID] = _RULES[SOURCE_EVENT_ID]  # the pre-rename name of hub.source_event_id
INGEST_HEADERS = frozenset(_RULES)  # the only hub.* names an ingest record may carry
_TRACE_ID = _RULES[TRACE_ID][0]


def valid_trace_id(value: str | None) -> bool:
    return value is not None and _TRACE_ID.match(value) is not None


def valid_source_event_id(value: str | None) -> bool:
    return value is not None and _RULES[SOURCE_EVENT_ID][0].match(value) is not None


def header_problem(name: str, value: str) -> str | None:
    """Why one hub.* header may not be on an ingest record (None: it may). Never quotes the value."""
    rule = _RULES.get(name)
    if rule is None:
        return f"{name[:64]!r} is not an ingest header (allowed hub.* names: {', '.join(sorted(INGEST_HEADERS))})"
    if rule[0].match(value) is None:
        return f"{name} must be {rule[1]}"
    return None


def ingest_problem(raw: Headers | None) -> tuple[str, str] | None:
    """(header name, rule it breaks) for the first header an ingest record may not carry, else None.

    Raw (bytes) headers, so that a name repeated (which :func:`to_dict` would silently collapse, last
    wins, while the DLQ keeps both) or a value that is not UTF-8 is seen. Non-hub headers are tolerated
    (tracing systems add their own) but bounded in count and size; the hub never reads them.
    """
    if not raw:
        return None
    if len(raw) > MAX_HEADERS:
        return "headers", f"an ingest record carries at most {MAX_HEADERS} headers, this one {len(raw)}"
    seen: set[str] = set()
    other = 0
    for name, value in raw:
        data = bytes(value or b"") if not isinstance(value, str) else value.encode()
        if not name.startswith("hub."):
            other += len(name.encode()) + len(data)
            if len(name) > MAX_OTHER_NAME or len(data) > MAX_OTHER_VALUE:
                return name[:MAX_OTHER_NAME], (f"a non-hub header name is at most {MAX_OTHER_NAME} characters "
                                               f"and its value at most {MAX_OTHER_VALUE} bytes")
            if other > MAX_OTHER_BYTES:
                return "headers", f"non-hub headers are at most {MAX_OTHER_BYTES} bytes together"
            continue
        if name in seen:
            return name[:64], f"{name[:64]} appears more than once"
        seen.add(name)
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            text = "\x00"  # not ASCII: no rule accepts it; report the rule, not the bytes
        problem = header_problem(name, text)
        if problem is not None:
            return name[:64], problem
    return None


def to_dict(headers: Headers | None) -> dict[str, str]:
    """Last value wins; undecodable values are kept as replacement text (headers are ours)."""
    out: dict[str, str] = {}
    for k, v in headers or ():
        out[k] = v.decode("utf-8", "replace") if isinstance(v, bytes | bytearray) else str(v or "")
    return out


def source_event_id(headers: dict[str, str]) -> str | None:
    """The publisher's id of an ingest record; records written before the rename carry it in hub.event_id."""
    return headers.get(SOURCE_EVENT_ID) or headers.get(EVENT_ID) or None


def from_dict(values: dict[str, str | None]) -> Headers:
    return [(k, v.encode()) for k, v in values.items() if v is not None]

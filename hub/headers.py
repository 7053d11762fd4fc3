"""Kafka header names on ingest and DLQ records (the contract between publishers and the hub)."""

from __future__ import annotations

SOURCE = "hub.source"  # publishing system id
FORMAT = "hub.format"  # dialect: dvcqg-json, edxml, edoc-go, hub-json, csv
COMMUNE = "hub.commune"  # commune hint when the payload does not carry one
SOURCE_EVENT_ID = "hub.source_event_id"  # ingest records: the publisher's own id of the event
EVENT_ID = "hub.event_id"  # feed and derived records: the hub's id of the event (what dedupe keys on)
TRACE_ID = "hub.trace_id"
# Feed records: "<ingest topic>:<partition>:<offset>" of the raw record they were normalized from, so
# that `hub trace` ties each published record to what was received (topic names never hold ':').
ORIGIN = "hub.origin"
SIGNATURE = "hub.signature"  # ingest records: HMAC proving hub.source wrote them (hub.signatures)
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

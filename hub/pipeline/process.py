"""One raw ingest record in, feed records or one dead letter out. Pure: no Kafka here."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from hub import codec
from hub import headers as h
from hub.errors import Rejected
from hub.normalize import Context, Envelope, normalize
from hub.topics import FEED_BY_KIND


# Not ``frozen`` (see Envelope): these are made per event and never changed.
@dataclass(slots=True)
class Source:
    """Where the raw record was read (for DLQ headers and logs)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int


@dataclass(slots=True)
class FeedRecord:
    key: bytes
    value: bytes
    headers: h.Headers
    event_id: str
    commune_code: str


@dataclass(slots=True)
class Outcome:
    envelope: Envelope
    records: list[FeedRecord] = field(default_factory=list)
    rejected: Rejected | None = None
    exception_class: str | None = None


def envelope(kind: str, hdrs: dict[str, str], src: Source) -> Envelope:
    """The identity a raw record carries; a missing trace id gets a new one.

    The Kafka key is a partitioning device only: it never names the commune. Only an explicit
    ``hub.commune`` header does (see README, "Ways in").
    """
    return Envelope(
        kind=kind,
        format=hdrs.get(h.FORMAT, ""),
        source_system=hdrs.get(h.SOURCE, ""),
        trace_id=hdrs.get(h.TRACE_ID) or uuid.uuid4().hex,
        ingest_time_ms=src.timestamp_ms,
        # Never the key: it is a partitioning device (the SDK keys by source system without a commune).
        commune_hint=hdrs.get(h.COMMUNE) or None,
        source_event_id=h.source_event_id(hdrs),
    )


def process(kind: str, value: bytes | None, hdrs: dict[str, str], src: Source, ctx: Context,
            schemas: codec.Schemas) -> Outcome:
    """Normalize and encode; any failure becomes ``Outcome.rejected`` (never an exception)."""
    env = envelope(kind, hdrs, src)
    out = Outcome(env)
    if not env.source_system:
        out.rejected = Rejected("unknown_system", "record has no hub.source header", stage="parse")
        return out
    try:
        records = normalize(value or b"", env, ctx)
        writer = schemas.latest(FEED_BY_KIND[kind] + "-value")
        origin = f"{src.topic}:{src.partition}:{src.offset}"
        for rec in records:
            try:
                data = codec.encode(writer, rec)
            except (ValueError, TypeError, KeyError, OverflowError) as exc:
                raise Rejected("encode_failed", f"canonical record does not fit {writer.subject} v"
                               f"{writer.version}: {str(exc)[:200]}", stage="encode") from exc
            out.records.append(FeedRecord(
                key=rec["commune_code"].encode(), value=data, event_id=rec["event_id"],
                commune_code=rec["commune_code"],
                headers=h.from_dict({h.EVENT_ID: rec["event_id"], h.TRACE_ID: env.trace_id,
                                     h.SOURCE: env.source_system, h.ORIGIN: origin}),
            ))
    except Rejected as rej:
        out.records.clear()
        out.rejected = rej
    except Exception as exc:  # a mapper bug must not stall the partition; keep the bytes for replay
        out.records.clear()
        out.rejected = Rejected("internal_error", f"{type(exc).__name__}: {str(exc)[:200]}", stage="map")
        out.exception_class = f"{type(exc).__module__}.{type(exc).__qualname__}"
    if out.rejected is not None and out.exception_class is None:
        out.exception_class = f"hub.errors.{type(out.rejected).__name__}"
    return out


def dlq_headers(original: h.Headers | None, rej: Rejected, exc_class: str | None, src: Source,
                trace_id: str | None = None) -> h.Headers:
    """Original headers plus hub.error.* (previous error headers of a replayed record replaced).

    ``trace_id``: the trace the worker gave a record that arrived without one, so that the dead
    letter (and its replay) carries the trace id its ``event_rejected`` line names.
    """
    kept = [(k, v) for k, v in (original or []) if not k.startswith("hub.error.")]
    if trace_id and not any(k == h.TRACE_ID for k, _v in kept):
        kept.append((h.TRACE_ID, trace_id.encode()))
    return kept + h.from_dict({
        h.ERR_STAGE: rej.stage, h.ERR_REASON: rej.reason, h.ERR_MESSAGE: rej.message[:1000],
        h.ERR_CLASS: exc_class or "hub.errors.Rejected", h.ERR_TOPIC: src.topic,
        h.ERR_PARTITION: str(src.partition), h.ERR_OFFSET: str(src.offset),
        h.ERR_TIME: str(int(time.time() * 1000)),
    })

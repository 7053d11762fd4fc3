"""One raw ingest record in, feed records or one dead letter out. Pure: no Kafka here.

Before a record is normalized, what it carries besides its payload is held to the ingest rules
(:func:`admit`): its headers (``hub.contract.headers.ingest_problem``: only documented ``hub.*`` names, each to
its pattern and length, bounded count and size) -> ``bad_header``; its key and partition
(``hub.processors.partitions``) -> ``wrong_partition``. Only then does anything from a header reach
the envelope, logs, feed headers or KPI rows.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from hub import bounded
from hub.contract import codec
from hub.contract import headers as h
from hub.contract.topics import FEED_BY_KIND
from hub.errors import Rejected
from hub.normalize import Context, Envelope, normalize
from hub.processors.partitions import partition_of


# Not ``frozen`` (see Envelope): these are made per event and never changed.
@dataclass(slots=True)
class Source:
    """Where the raw record was read (for DLQ headers and logs)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None = None
    headers: h.Headers | None = None  # as read (bytes, repeats kept); None: checked from the dict instead
    partition_count: int | None = None  # of the topic; None: the partition check is skipped (no metadata)


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
    """The identity a raw record carries; a missing or malformed trace id gets a new one.

    A header that breaks its rule is left out (the record is dead-lettered as ``bad_header`` by
    :func:`admit`): the log line about it names a fresh trace id, never the attacker's bytes.
    The Kafka key is a partitioning device only: it never names the commune. Only an explicit
    ``hub.commune`` header does (see README, "Ways in").
    """
    trace = hdrs.get(h.TRACE_ID)
    sid = h.source_event_id(hdrs)
    commune = hdrs.get(h.COMMUNE) or None
    fmt, source = hdrs.get(h.FORMAT, ""), hdrs.get(h.SOURCE, "")
    return Envelope(
        kind=kind,
        format=fmt if not fmt or h.header_problem(h.FORMAT, fmt) is None else "",
        source_system=source if not source or h.header_problem(h.SOURCE, source) is None else "",
        trace_id=trace if trace is not None and h.valid_trace_id(trace) else uuid.uuid4().hex,
        ingest_time_ms=src.timestamp_ms,
        # Never the key: it is a partitioning device (the SDK keys by source system without a commune).
        commune_hint=commune if commune is None or h.header_problem(h.COMMUNE, commune) is None else None,
        source_event_id=sid if h.valid_source_event_id(sid) else None,
    )


def admit(hdrs: dict[str, str], src: Source) -> Rejected | None:
    """``bad_header`` or ``wrong_partition`` for a record the hub must not read further, else None."""
    raw = src.headers if src.headers is not None else [(k, v.encode()) for k, v in hdrs.items()]
    problem = h.ingest_problem(raw)
    if problem is not None:
        name, rule = problem
        return Rejected("bad_header", f"header {name}: {rule}", stage="parse", field=name)
    if src.partition_count is None:
        return None
    if not src.key:
        return Rejected("wrong_partition", "an ingest record needs a Kafka key (its commune code or its hub.source): "
                        "an unkeyed record could sit on any partition and escape deduplication", stage="parse")
    expected = partition_of(src.key, src.partition_count)
    if expected != src.partition:
        return Rejected("wrong_partition", f"the record sits in partition {src.partition}, but a default Kafka "
                        f"producer puts its key in partition {expected} of {src.partition_count} (murmur2; "
                        "librdkafka needs partitioner=murmur2_random)", stage="parse")
    return None


def _key_problem(key: bytes | None, env: Envelope, records: list[FeedRecord]) -> Rejected | None:
    """The key must be the record's commune or its hub.source: one event, at most two partitions."""
    if key is None:
        return None
    text = key.decode("utf-8", "replace")
    if text == env.source_system or any(text == r.commune_code for r in records):
        return None
    return Rejected("wrong_partition", "the Kafka key is neither the commune of the event's records nor its "
                    "hub.source (keys decide the partition, and so which dedupe state the event meets)",
                    stage="validate")


def process(kind: str, value: bytes | None, hdrs: dict[str, str], src: Source, ctx: Context,
            schemas: codec.Schemas, *, admitted: bool = False) -> Outcome:
    """Normalize and encode; any failure becomes ``Outcome.rejected`` (never an exception).

    ``admitted``: the caller already ran :func:`admit` on this record."""
    env = envelope(kind, hdrs, src)
    out = Outcome(env)
    if not admitted and (rej := admit(hdrs, src)) is not None:
        out.rejected, out.exception_class = rej, "hub.errors.Rejected"
        return out
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
        if src.partition_count is not None and (rej := _key_problem(src.key, env, out.records)) is not None:
            raise rej
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

    The original headers are bounded (:func:`hub.bounded.headers`: names and sizes kept, long values
    cut, the total capped) so that a publisher's huge headers cannot make the dead letter unwritable;
    :func:`hub.bounded.letter` then bounds the key and value.
    """
    kept, cut = bounded.headers([(k, v) for k, v in (original or []) if not k.startswith("hub.error.")])
    if trace_id and not any(k == h.TRACE_ID for k, _v in kept):
        kept.append((h.TRACE_ID, trace_id.encode()))
    return kept + h.from_dict({
        h.ERR_STAGE: rej.stage, h.ERR_REASON: rej.reason, h.ERR_MESSAGE: rej.message[:1000],
        h.ERR_CLASS: exc_class or "hub.errors.Rejected", h.ERR_TOPIC: src.topic,
        h.ERR_PARTITION: str(src.partition), h.ERR_OFFSET: str(src.offset),
        h.ERR_TIME: str(int(time.time() * 1000)),
        bounded.HEADERS_CUT: cut, bounded.TRUNCATED: "headers" if cut is not None else None,
    })

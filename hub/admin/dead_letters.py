"""Dead-letter records as data: parse, filter, summarize, and build replay headers. No Kafka here.

The Kafka side (reading the DLQ, recording and performing replays) is :mod:`hub.admin.dlq`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from hub.contract import headers as h
from hub.contract import topics
from hub.settings import Settings

_ERROR_PREFIX = "hub.error."
# The system whose valid signature the record carried, else "unverified" (hub.processors.blame): who wrote it,
# as opposed to hub.source, the name it claims. Dead letters from before this header read as unverified.
ERR_WRITER = "hub.error.writer"
UNVERIFIED = "unverified"
_MAX_CLAIMED_ROWS = 50  # distinct claimed names listed one per row; the rest are summed in one row
OTHER_CLAIMED = "(other names)"

Coords = tuple[int, int]  # (DLQ partition, DLQ offset)


# --- pure helpers ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One DLQ record's metadata; ``key``/``value``/``headers`` are kept only for replay."""

    partition: int
    offset: int
    timestamp_ms: int
    reason: str
    stage: str
    message: str
    exception_class: str
    source_system: str
    commune: str
    event_id: str
    trace_id: str
    origin_topic: str
    origin_partition: int | None
    origin_offset: int | None
    failed_at_ms: int | None
    replays: int  # hub.replayed of the record that failed (it may itself have been a replay)
    writer: str = UNVERIFIED  # who provably wrote it (hub.error.writer); source_system is only the claim
    key: bytes | None = field(default=None, repr=False)
    value: bytes | None = field(default=None, repr=False)
    headers: h.Headers = field(default_factory=list, repr=False)

    @property
    def coords(self) -> Coords:
        return (self.partition, self.offset)

    def metadata(self, replayed: int = 0) -> dict[str, Any]:
        """What ``hub dlq list --show`` prints: never the payload (it may hold personal data)."""
        return {"dlq_partition": self.partition, "dlq_offset": self.offset, "reason": self.reason,
                "stage": self.stage, "message": self.message, "writer": self.writer,
                "source_system": self.source_system,
                "commune": self.commune, "event_id": self.event_id, "topic": self.origin_topic,
                "partition": self.origin_partition, "offset": self.origin_offset,
                "failed_at": _iso(self.failed_at_ms or self.timestamp_ms), "replayed": replayed}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def parse(partition: int, offset: int, timestamp_ms: int, key: bytes | None, value: bytes | None,
          headers: h.Headers | None, *, keep_payload: bool = False) -> DeadLetter:
    """A DLQ record as a :class:`DeadLetter`; missing headers become empty strings / None."""
    raw = [(k, bytes(v) if v is not None else b"") for k, v in headers or ()]
    d = h.to_dict(raw)
    return DeadLetter(
        partition=partition, offset=offset, timestamp_ms=timestamp_ms,
        reason=d.get(h.ERR_REASON, "") or "unknown", stage=d.get(h.ERR_STAGE, ""),
        message=d.get(h.ERR_MESSAGE, ""), exception_class=d.get(h.ERR_CLASS, ""),
        source_system=d.get(h.SOURCE, ""),
        commune=d.get(h.COMMUNE) or (key.decode("utf-8", "replace") if key else ""),
        event_id=h.source_event_id(d) or "", trace_id=d.get(h.TRACE_ID, ""),
        origin_topic=d.get(h.ERR_TOPIC, ""), origin_partition=_int(d.get(h.ERR_PARTITION)),
        origin_offset=_int(d.get(h.ERR_OFFSET)), failed_at_ms=_int(d.get(h.ERR_TIME)),
        replays=_int(d.get(h.REPLAYED)) or 0, writer=d.get(ERR_WRITER) or UNVERIFIED,
        key=key if keep_payload else None, value=value if keep_payload else None,
        headers=raw if keep_payload else [],
    )


def matches(dl: DeadLetter, reason: str | None = None, source: str | None = None, writer: str | None = None) -> bool:
    """``source`` filters on the claimed hub.source, ``writer`` on the verified writer."""
    return ((not reason or dl.reason == reason) and (not source or dl.source_system == source)
            and (not writer or dl.writer == writer))


@dataclass
class Summary:
    """Counts of matching dead letters: total and still pending (never replayed).

    ``by_writer`` groups by who provably wrote each record (the blame); ``by_source`` by the name the
    record claims, which any publisher can set: at most _MAX_CLAIMED_ROWS names get a row of their
    own, the rest are summed under OTHER_CLAIMED, so 20,000 invented names make one row, not 20,000.
    """

    total: int = 0
    pending: int = 0
    by_reason: dict[str, dict[str, int]] = field(default_factory=dict)
    by_writer: dict[str, dict[str, int]] = field(default_factory=dict)
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    shown: list[dict[str, Any]] = field(default_factory=list)

    def add(self, dl: DeadLetter, replayed: int) -> None:
        self.total += 1
        self.pending += replayed == 0
        claimed = dl.source_system or "(none)"
        if claimed not in self.by_source and len(self.by_source) >= _MAX_CLAIMED_ROWS:
            claimed = OTHER_CLAIMED
        for table, name in ((self.by_reason, dl.reason), (self.by_writer, dl.writer), (self.by_source, claimed)):
            row = table.setdefault(name, {"total": 0, "pending": 0})
            row["total"] += 1
            row["pending"] += replayed == 0

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "pending": self.pending, "by_reason": dict(sorted(self.by_reason.items())),
                "by_writer": dict(sorted(self.by_writer.items())),
                "by_source": dict(sorted(self.by_source.items())), "records": self.shown}


def summarize(letters, markers: dict[Coords, int], *, reason: str | None = None, source: str | None = None,
              writer: str | None = None, show: int = 0) -> Summary:
    """Count matching dead letters by reason, verified writer and claimed source; keep the first ``show``."""
    out = Summary()
    for dl in letters:
        if not matches(dl, reason, source, writer):
            continue
        replayed = markers.get(dl.coords, 0)
        out.add(dl, replayed)
        if len(out.shown) < show:
            out.shown.append(dl.metadata(replayed))
    return out


def ingest_topics(settings: Settings) -> frozenset[str]:
    return frozenset(settings.topic(t) for t in topics.INGEST_BY_KIND.values())


def replay_target(dl: DeadLetter, settings: Settings) -> str | None:
    """The ingest topic to re-inject into, or None when the header names anything else."""
    return dl.origin_topic if dl.origin_topic in ingest_topics(settings) else None


def replay_headers(dl: DeadLetter, count: int) -> h.Headers:
    """Original headers without hub.error.* and old hub.replayed, plus hub.replayed=count."""
    kept = [(k, v) for k, v in dl.headers if not k.startswith(_ERROR_PREFIX) and k != h.REPLAYED]
    return kept + [(h.REPLAYED, str(count).encode())]


def marker_key(coords: Coords) -> bytes:
    return f"{coords[0]}:{coords[1]}".encode()


def parse_marker(key: bytes | None, value: bytes | None) -> tuple[Coords, int] | None:
    """(coords, replay count) of a marker record (count 0 for a tombstone); None if unreadable."""
    try:
        p, o = (key or b"").decode().split(":")
        count = int(orjson.loads(value)["count"]) if value is not None else 0
        return (int(p), int(o)), count
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None


# --- Kafka I/O --------------------------------------------------------------------------------

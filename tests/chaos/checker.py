"""The one consistency checker of the chaos scenarios: what publishers were told against what Kafka holds.

Publishers record in a :class:`Ledger` every event they tried to publish (in their order) and every
event whose publication was acknowledged to them: the SDK's ``send`` returned, the outbox stored it,
the gateway answered 202. After the chaos, :func:`verify` reads ``feed.dossier.v1`` and
``hub.dlq.v1`` (``read_committed``, as every subscriber does) and the ingest topic, and
:func:`reconcile` decides:

* **lost**: acknowledged, but neither on the feed nor dead-lettered;
* **duplicated**: more than one feed record for one event (the hub deduplicates publishers' resends);
* **dead-letter mismatch**: an invalid event's ingest copies and dead letters differ in number (each
  ingest record is dead-lettered exactly once: a resend is a second ingest record, so a second letter);
* **wrong outcome**: a valid event dead-lettered, an invalid one published, or the wrong reason;
* **out of order**: a dossier's events reached the feed in another order than its publisher sent them;
* **unexpected**: a feed record or dead letter of an event nobody tried to publish.

Events tried but never acknowledged (a publisher killed, a gateway request that timed out) are "in
doubt": they may or may not arrive, and either is correct — they are counted, not judged.

Order is checked on first copies: within a group, positions must increase (a gap is a loss, reported
as such, not an order violation); copies of an already delivered event are duplicates. The same rule
checks at-least-once delivery into an ingest topic (:func:`check`), where copies are allowed.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from chaos.workload import Event
from hub.contract import codec, topics
from hub.contract import headers as h
from hub.settings import Settings
from hub.testing import read_topic

# --- order and loss of one delivery (ingest level: copies allowed) ------------------------------------

@dataclass
class Report:
    stored: int
    delivered: int  # records, copies included
    lost: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # delivered but never stored
    out_of_order: list[str] = field(default_factory=list)
    duplicates: int = 0  # copies beyond the first

    @property
    def ok(self) -> bool:
        return not (self.lost or self.unexpected or self.out_of_order)

    def line(self) -> str:
        return (f"stored {self.stored}, delivered {self.delivered}: lost {len(self.lost)}, duplicated "
                f"{self.duplicates}, out of order {len(self.out_of_order)}, unexpected {len(self.unexpected)}")


def check(stored: dict[str, list[str]], delivered: list[tuple[str, str]], *,
          optional: frozenset[str] = frozenset()) -> Report:
    """``stored``: group -> event ids in stored order; ``delivered``: (group, event id) in delivery order.

    ``optional`` ids (in doubt) are placed in their group's order but are not lost when missing.
    """
    position = {(g, eid): i for g, ids in stored.items() for i, eid in enumerate(ids)}
    report = Report(stored=len(position) - len(optional), delivered=len(delivered))
    furthest: dict[str, int] = defaultdict(lambda: -1)  # group -> position of the furthest first copy so far
    seen: set[tuple[str, str]] = set()
    for group, eid in delivered:
        pos = position.get((group, eid))
        if pos is None:
            report.unexpected.append(eid)
        elif (group, eid) in seen:
            report.duplicates += 1
        else:
            seen.add((group, eid))
            if pos < furthest[group]:
                report.out_of_order.append(eid)
            furthest[group] = max(furthest[group], pos)
    report.lost = [eid for (g, eid) in position if (g, eid) not in seen and eid not in optional]
    return report


# --- what publishers were told ------------------------------------------------------------------------

class Ledger:
    """Thread-safe record of tried and acknowledged events (one dossier is published by one publisher)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tried: dict[str, Event] = {}
        self.order: dict[str, list[str]] = defaultdict(list)  # dossier -> source event ids, in publish order
        self.acked: set[str] = set()

    def attempt(self, events: Iterable[Event]) -> None:
        with self._lock:
            for ev in events:
                if ev.source_event_id not in self.tried:
                    self.tried[ev.source_event_id] = ev
                    self.order[ev.dossier].append(ev.source_event_id)

    def ack(self, events: Iterable[Event]) -> None:
        events = list(events)
        self.attempt(events)
        with self._lock:
            self.acked.update(ev.source_event_id for ev in events)

    def count(self) -> int:
        with self._lock:
            return len(self.acked)


# --- the verdict --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FeedRow:
    source_event_id: str
    dossier: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    source_event_id: str
    reason: str


@dataclass
class Verdict:
    acknowledged: int
    valid: int  # acknowledged events that must reach the feed
    invalid: int  # acknowledged events that must be dead-lettered
    feed_records: int
    dead_letters: int
    ingest_records: int
    lost: list[str] = field(default_factory=list)
    duplicated: int = 0
    dlq_mismatch: list[str] = field(default_factory=list)
    wrong_outcome: list[str] = field(default_factory=list)
    out_of_order: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    in_doubt: int = 0  # tried, never acknowledged
    in_doubt_delivered: int = 0  # of those, on the feed or dead-lettered
    resends: int = 0  # ingest copies beyond the first (publishers' retries; the feed must hold one)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.dlq_mismatch or self.wrong_outcome or self.out_of_order
                    or self.unexpected)

    def line(self) -> str:
        return (f"acknowledged {self.acknowledged} ({self.valid} valid, {self.invalid} invalid): lost "
                f"{len(self.lost)}, duplicated {self.duplicated}, out of order {len(self.out_of_order)}, wrong "
                f"outcome {len(self.wrong_outcome)}, dead-letter mismatch {len(self.dlq_mismatch)}, unexpected "
                f"{len(self.unexpected)} | feed {self.feed_records}, dead letters {self.dead_letters}, ingest "
                f"{self.ingest_records} (resends {self.resends}), in doubt {self.in_doubt} "
                f"({self.in_doubt_delivered} delivered)")

    def detail(self) -> str:
        """The first few ids of each failure, for an assertion message."""
        parts = [f"{name}: {values[:5]}" for name, values in (
            ("lost", self.lost), ("out of order", self.out_of_order), ("wrong outcome", self.wrong_outcome),
            ("dead-letter mismatch", self.dlq_mismatch), ("unexpected", self.unexpected)) if values]
        return self.line() + ("; " + "; ".join(parts) if parts else "")


def reconcile(ledger: Ledger, feed: list[FeedRow], dlq: list[DeadLetter], ingest: Counter) -> Verdict:
    """The verdict from the feed (in (partition, offset) order), the dead letters and ingest copies per id."""
    tried, acked = ledger.tried, ledger.acked
    valid = sum(1 for sid in acked if tried[sid].bad is None)
    v = Verdict(acknowledged=len(acked), valid=valid, invalid=len(acked) - valid, feed_records=len(feed),
                dead_letters=len(dlq), ingest_records=sum(ingest.values()))
    v.resends = sum(n - 1 for n in ingest.values() if n > 1)
    on_feed = Counter(r.source_event_id for r in feed)
    v.duplicated = sum(n - 1 for n in on_feed.values() if n > 1)
    letters: dict[str, list[str]] = defaultdict(list)
    for d in dlq:
        letters[d.source_event_id].append(d.reason)
    for sid in set(on_feed) | set(letters):
        if sid not in tried:
            v.unexpected.append(sid)
    for sid, ev in tried.items():
        got_feed, got_dlq = sid in on_feed, letters.get(sid, [])
        if sid not in acked:
            v.in_doubt += 1
            v.in_doubt_delivered += bool(got_feed or got_dlq)
        elif not got_feed and not got_dlq:
            v.lost.append(sid)
            continue
        if ev.bad is None and got_dlq:
            v.wrong_outcome.append(f"{sid}: dead-lettered ({got_dlq[0]})")
        elif ev.bad is not None and (got_feed or any(reason != ev.bad for reason in got_dlq)):
            v.wrong_outcome.append(f"{sid}: expected {ev.bad}, got {'feed' if got_feed else got_dlq}")
        if ev.bad is not None and got_dlq and len(got_dlq) != ingest.get(sid, 0):
            v.dlq_mismatch.append(f"{sid}: {ingest.get(sid, 0)} ingest records, {len(got_dlq)} dead letters")
    dossier_of: dict[str, str] = {}
    for r in feed:
        if r.source_event_id in tried and tried[r.source_event_id].dossier != r.dossier:
            v.wrong_outcome.append(f"{r.source_event_id}: feed names dossier {r.dossier}")
        dossier_of.setdefault(r.dossier, str(r.partition))
        if dossier_of[r.dossier] != str(r.partition):
            v.out_of_order.append(f"{r.source_event_id}: dossier {r.dossier} on two partitions")
    valid_order = {d: [sid for sid in ids if tried[sid].bad is None] for d, ids in ledger.order.items()}
    doubt = frozenset(sid for sid in tried if sid not in acked)
    order = check(valid_order, [(r.dossier, r.source_event_id) for r in feed if r.source_event_id in tried],
                  optional=doubt)
    v.out_of_order.extend(order.out_of_order)
    return v


def read_outcome(s: Settings, *, timeout_s: float = 120) -> tuple[list[FeedRow], list[DeadLetter], Counter]:
    """The dossier feed, the dead letters and the ingest copies per source event id, read to their ends."""
    schemas = codec.load(s.schemas_dir)
    feed = []
    for r in sorted(read_topic(s, s.topic(topics.FEED_DOSSIER), timeout_s=timeout_s),
                    key=lambda r: (r.partition, r.offset)):
        rec = codec.decode_plain(schemas, r.value)
        feed.append(FeedRow(rec["source_event_id"], rec["dossier_code"], r.partition, r.offset))
    dlq = [DeadLetter(_source_event_id(r.headers, r.value), r.headers.get(h.ERR_REASON, ""))
           for r in read_topic(s, s.topic(topics.DLQ), timeout_s=timeout_s)]
    ingest = Counter(_source_event_id(r.headers, r.value)
                     for r in read_topic(s, s.topic(topics.INGEST_DOSSIER), timeout_s=timeout_s))
    return feed, dlq, ingest


def _source_event_id(headers: dict[str, str], value: bytes | None) -> str:
    sid = h.source_event_id(headers)
    if sid:
        return sid
    try:  # a record without the header (a hostile one): the payload's own id, if it has one
        return str(orjson.loads(value or b"").get("event_id", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return ""


def verify(s: Settings, ledger: Ledger, *, timeout_s: float = 120) -> Verdict:
    """Read what the hub holds and reconcile it with the ledger."""
    return reconcile(ledger, *read_outcome(s, timeout_s=timeout_s))

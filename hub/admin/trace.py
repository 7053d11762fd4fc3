"""One event's path, rebuilt from what it left behind: Kafka records and JSON log lines. Pure: no I/O.

A trace id is created where an event first enters (SDK/outbox, gateway, file drop, simulator) and
travels in the ``hub.trace_id`` header of its ingest record, its feed records, its dead letter and
the copy a replay re-injects; derived rows name it (KPI ``trace_ids``, directive ``trace_id``), and
every log line of its path carries it. :func:`from_record` and friends turn each of those into a
:class:`Step`; :func:`path` merges the steps seen in Kafka and in the logs (one step seen in both
is one step, ``seen`` says where), infers what only the absence of output can say (a record the
worker consumed without writing anything was a duplicate), and orders the result in time.

Steps are tied together by Kafka coordinates: a feed record names the ingest record it was made
from (``hub.origin``), a dead letter names it too (``hub.error.topic/partition/offset``), a replay
marker names the dead letter and the re-injected copy. So each ingest record ("an event's
delivery") has exactly one outcome: ``published``, ``rejected`` or ``duplicate`` (or ``pending``
while the worker has not reached it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson

from hub.contract import headers as h

Coords = tuple[str, int, int]  # (topic, partition, offset)

# Stages in the order they happen to one event (ties in time sort by this).
STAGES = ("sent", "stored", "received", "refused", "normalized", "published", "rejected", "duplicate", "pending",
          "replayed", "derived", "alert", "log")
OUTCOMES = ("published", "rejected", "duplicate")  # what the worker decided about one ingest record
_RANK = {s: i for i, s in enumerate(STAGES)}

# Log events and the stage they stand for; any other line carrying the trace id is kept as stage "log".
LOG_STAGES = {
    "sim_sent": "sent", "import_file_done": "sent",
    "publish_stored": "stored",
    "gateway_accepted": "received", "publish_forwarded": "received",
    "gateway_rejected": "refused", "import_file_rejected": "refused",
    "event_normalized": "normalized", "event_published": "published", "event_rejected": "rejected",
    "event_duplicate": "duplicate", "dlq_replayed": "replayed", "directive_overdue": "alert",
}
# Log lines that repeat another line's decision of the same process (gateway_rejected says it already).
_REDUNDANT = frozenset({"gateway_unavailable"})
_DETAIL_KEYS = ("kind", "source_system", "commune_code", "event_id", "source_event_id", "reason", "stage",
                "message", "field", "format", "events", "records", "status", "file", "path", "document_id",
                "milestone", "deadline", "replay_count", "dlq_partition", "dlq_offset")


@dataclass(frozen=True)
class Step:
    """One thing that happened to the traced event."""

    stage: str
    at_ms: int | None
    at: Coords | None = None  # where it was written (ingest, feed, DLQ or derived record)
    origin: Coords | None = None  # the ingest record (or, for a replay, the dead letter) it is about
    detail: Mapping[str, Any] = field(default_factory=dict)
    seen: frozenset[str] = frozenset()  # "kafka", "logs"

    def key(self, index: int) -> tuple:
        """Steps with the same key are one step seen twice (in Kafka and in the logs)."""
        if self.stage in ("received", "published", "replayed", "derived") and self.at is not None:
            return (self.stage, self.at)
        if self.stage in ("rejected", "duplicate", "pending") and self.origin is not None:
            return (self.stage, self.origin)
        if self.stage == "normalized" and self.origin is not None:
            return (self.stage, self.origin, self.detail.get("event_id"))
        return (self.stage, index)

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "time": iso(self.at_ms), "at": _coords_dict(self.at),
                "origin": _coords_dict(self.origin), **{k: v for k, v in self.detail.items() if v is not None},
                "seen": sorted(self.seen)}


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def _coords_dict(c: Coords | None) -> dict[str, Any] | None:
    return None if c is None else {"topic": c[0], "partition": c[1], "offset": c[2]}


def where(c: Coords | None) -> str:
    return "-" if c is None else f"{c[0]}[{c[1]}]@{c[2]}"


def parse_origin(value: str | None) -> Coords | None:
    """``hub.origin`` = ``<topic>:<partition>:<offset>`` (topic names never contain ':')."""
    if not value:
        return None
    topic, _, rest = value.partition(":")
    partition, _, offset = rest.partition(":")
    try:
        return (topic, int(partition), int(offset))
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _clean(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, "")}


# --- Kafka records -----------------------------------------------------------------------------
def received(topic: str, partition: int, offset: int, timestamp_ms: int, key: bytes | None,
             headers: Mapping[str, str], kind: str) -> Step:
    """An ingest record: the event arrived — or, with ``hub.replayed``, a replay re-injected it (the same
    fact as the replay marker and the ``dlq_replayed`` line, so the same step)."""
    replays = _int(headers.get(h.REPLAYED))
    return Step("replayed" if replays else "received", timestamp_ms, (topic, partition, offset), None, _clean({
        "kind": kind, "source_system": headers.get(h.SOURCE), "commune_code": headers.get(h.COMMUNE),
        "key": key.decode("utf-8", "replace") if key else None, "format": headers.get(h.FORMAT),
        "source_event_id": h.source_event_id(dict(headers)), "replay_count": replays}), frozenset({"kafka"}))


def published(topic: str, partition: int, offset: int, timestamp_ms: int, key: bytes | None,
              headers: Mapping[str, str], kind: str) -> Step:
    """A feed record made from the event (``hub.origin`` names the ingest record)."""
    return Step("published", timestamp_ms, (topic, partition, offset), parse_origin(headers.get(h.ORIGIN)), _clean({
        "kind": kind, "event_id": headers.get(h.EVENT_ID), "source_system": headers.get(h.SOURCE),
        "commune_code": key.decode("utf-8", "replace") if key else None}), frozenset({"kafka"}))


def rejected(topic: str, partition: int, offset: int, timestamp_ms: int, headers: Mapping[str, str]) -> Step:
    """A dead letter: the worker refused the ingest record named by ``hub.error.*``."""
    origin_topic = headers.get(h.ERR_TOPIC)
    p, o = _int(headers.get(h.ERR_PARTITION)), _int(headers.get(h.ERR_OFFSET))
    origin = (origin_topic, p, o) if origin_topic and p is not None and o is not None else None
    return Step("rejected", _int(headers.get(h.ERR_TIME)) or timestamp_ms, (topic, partition, offset), origin,
                _clean({"reason": headers.get(h.ERR_REASON), "stage": headers.get(h.ERR_STAGE),
                        "message": headers.get(h.ERR_MESSAGE), "source_system": headers.get(h.SOURCE),
                        "commune_code": headers.get(h.COMMUNE),
                        "source_event_id": h.source_event_id(dict(headers))}), frozenset({"kafka"}))


def replayed(dlq_topic: str, dlq_partition: int, dlq_offset: int, marker: Mapping[str, Any]) -> Step | None:
    """A replay marker (``hub.dlq.replayed.v1``): the dead letter re-injected at topic/partition/offset."""
    topic, p, o = marker.get("topic"), _int(marker.get("partition")), _int(marker.get("offset"))
    if not topic or p is None or o is None:
        return None
    return Step("replayed", _int(marker.get("replayed_at")), (topic, p, o), (dlq_topic, dlq_partition, dlq_offset),
                _clean({"reason": marker.get("reason"), "source_system": marker.get("source_system"),
                        "source_event_id": marker.get("source_event_id") or marker.get("event_id"),
                        "replay_count": _int(marker.get("count"))}), frozenset({"kafka"}))


def derived(topic: str, partition: int, offset: int, timestamp_ms: int, key: bytes | None) -> Step:
    """A derived row (KPI, directive reach) that names the trace among those that changed it."""
    return Step("derived", timestamp_ms, (topic, partition, offset), None,
                _clean({"row": key.decode("utf-8", "replace") if key else None}), frozenset({"kafka"}))


def names_trace(row: Mapping[str, Any], trace_id: str) -> bool:
    """Whether a decoded derived row names the trace (KPI ``trace_ids``, directive ``trace_id``)."""
    return trace_id in (row.get("trace_ids") or ()) or row.get("trace_id") == trace_id


def unanswered(received_steps: Iterable[Step], outcome_origins: set[Coords],
               committed: Mapping[tuple[str, int], int]) -> list[Step]:
    """Outcomes only an absence can tell: an ingest record without a feed record or dead letter is a
    ``duplicate`` once the worker's group committed past it (the worker writes nothing for a
    re-sent event), else ``pending`` (not processed yet)."""
    out = []
    for st in received_steps:
        if st.at is None or st.at in outcome_origins:
            continue
        done = committed.get((st.at[0], st.at[1]), -1) > st.at[2]
        out.append(Step("duplicate" if done else "pending", None, None, st.at,
                        {"inferred": "the worker consumed it and wrote nothing"} if done else
                        {"inferred": "the worker has not processed it yet"}, frozenset({"kafka"})))
    return out


# --- log lines ---------------------------------------------------------------------------------
def parse_time(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value).timestamp() * 1000)
    except ValueError:
        return None


def from_log(line: Mapping[str, Any]) -> Step | None:
    """The step a JSON log line of the trace stands for (None for lines that repeat another's decision)."""
    event = line.get("event")
    if event in _REDUNDANT:
        return None
    stage = LOG_STAGES.get(event, "log") if isinstance(event, str) else "log"
    coords = None
    if isinstance(line.get("topic"), str) and _int(line.get("partition")) is not None \
            and _int(line.get("offset")) is not None:
        coords = (line["topic"], int(line["partition"]), int(line["offset"]))
    at = origin = None
    if stage in ("received", "published", "replayed"):
        at = coords
    elif stage in ("normalized", "rejected", "duplicate"):
        origin = coords
    else:
        at = coords
    if stage == "replayed" and _int(line.get("dlq_partition")) is not None:
        origin = ("dlq", int(line["dlq_partition"]), int(line["dlq_offset"]))
    detail = _clean({"log_event": event, **{k: line.get(k) for k in _DETAIL_KEYS},
                     "level": line.get("level") if stage == "log" else None})
    if event == "gateway_accepted":
        detail["via"] = "gateway"
    elif event == "publish_forwarded":
        detail["via"] = "sdk"
    return Step(stage, parse_time(line.get("timestamp")), at, origin, detail, frozenset({"logs"}))


def log_lines(texts: Iterable[str], trace_id: str) -> list[dict[str, Any]]:
    """The JSON objects among ``texts`` (lines) whose ``trace_id`` is the trace; other lines are skipped."""
    out = []
    for text in texts:
        if trace_id not in text:
            continue
        try:
            line = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if isinstance(line, dict) and line.get("trace_id") == trace_id:
            out.append(line)
    return out


# --- the path ------------------------------------------------------------------------------------
def _merge(a: Step, b: Step) -> Step:
    times = [t for t in (a.at_ms, b.at_ms) if t is not None]
    detail = {**b.detail, **a.detail}
    if "log_event" in b.detail:
        detail["log_event"] = b.detail["log_event"]
    return replace(a, at_ms=min(times) if times else None, at=a.at or b.at, origin=a.origin or b.origin,
                   detail=detail, seen=a.seen | b.seen)


def _link_published(steps: list[Step]) -> list[Step]:
    """Log lines of published records name the feed record; their event_normalized line names the ingest
    record: join them on the event id, so that both sources agree on the origin."""
    origin_of = {st.detail.get("event_id"): st.origin for st in steps if st.stage == "normalized" and st.origin}
    return [replace(st, origin=origin_of.get(st.detail.get("event_id")))
            if st.stage == "published" and st.origin is None and st.detail.get("event_id") in origin_of else st
            for st in steps]


def path(kafka_steps: Iterable[Step], log_steps: Iterable[Step], dlq_topic: str = "") -> list[Step]:
    """Every step once, ordered in time; a step seen in Kafka and in the logs is merged."""
    logs = _link_published(list(log_steps))
    # dlq_replayed lines name the dead letter by partition and offset only.
    logs = [replace(st, origin=(dlq_topic, st.origin[1], st.origin[2]))
            if st.stage == "replayed" and st.origin and st.origin[0] == "dlq" else st for st in logs]
    merged: dict[tuple, Step] = {}
    for i, st in enumerate([*kafka_steps, *logs]):
        k = st.key(i)
        merged[k] = _merge(merged[k], st) if k in merged else st
    return _causal(list(merged.values()))


def _causal(steps: list[Step]) -> list[Step]:
    """Time order, except that a step never precedes the step that wrote the record it is about (a
    ``dlq_replayed`` line is written after the ack, often after the worker published the copy)."""
    made = {st.at: st for st in steps if st.at is not None}
    memo: dict[int, tuple[int, int]] = {}

    def anchor(st: Step, depth: int = 0) -> tuple[int, int]:
        if id(st) not in memo:
            parent = made.get(st.origin) if st.origin is not None else None
            if parent is None or parent is st or depth > len(steps):
                memo[id(st)] = (st.at_ms or 0, 0)
            else:
                t, d = anchor(parent, depth + 1)
                memo[id(st)] = (max(st.at_ms or 0, t), d + 1)
        return memo[id(st)]

    return sorted(steps, key=lambda st: (*anchor(st), _RANK.get(st.stage, 99)))


def deliveries(steps: Iterable[Step]) -> list[dict[str, Any]]:
    """Per ingest record of the trace: how it arrived and what the worker decided (``outcomes``: normally one)."""
    steps = list(steps)
    out: dict[Coords, dict[str, Any]] = {}
    for st in steps:
        if st.stage in ("received", "replayed") and st.at is not None:
            via = "replay" if st.stage == "replayed" else st.detail.get("via")
            out.setdefault(st.at, {"ingest": where(st.at), "via": via, "outcomes": []})
    for st in steps:
        if st.stage in (*OUTCOMES, "pending") and st.origin in out:
            row = out[st.origin]
            if st.stage not in row["outcomes"]:
                row["outcomes"].append(st.stage)
            if st.stage == "rejected":
                row["reason"] = st.detail.get("reason")
    return list(out.values())


def report(trace_id: str, steps: list[Step], **about: Any) -> dict[str, Any]:
    """The ``--json`` document of ``hub trace``."""
    return {"trace_id": trace_id, "found": bool(steps), **about, "deliveries": deliveries(steps),
            "steps": [s.as_dict() for s in steps]}


def _describe(st: Step) -> str:
    d = st.detail
    parts = []
    for label, key in (("by", "source_system"), ("commune", "commune_code"), ("kind", "kind"),
                       ("event", "event_id"), ("source event", "source_event_id"), ("row", "row"),
                       ("reason", "reason"), ("replay", "replay_count"), ("via", "via"),
                       ("document", "document_id"), ("milestone", "milestone"), ("events", "events"),
                       ("file", "file")):
        if d.get(key) not in (None, ""):
            parts.append(f"{label} {d[key]}")
    if st.origin is not None:
        parts.append(f"from {where(st.origin)}")
    if d.get("message"):
        parts.append(f"— {str(d['message'])[:160]}")
    if d.get("inferred"):
        parts.append(f"({d['inferred']})")
    if st.stage == "log":
        parts.insert(0, str(d.get("log_event")))
    return "  ".join(parts)


def render(rep: dict[str, Any], steps: list[Step]) -> str:
    """The text of ``hub trace``: one line per step, then one line per delivery's outcome."""
    if not steps:
        return f"trace {rep['trace_id']}: not found ({rep.get('searched', 'nothing searched')})\n"
    out = [f"trace {rep['trace_id']}: {len(steps)} steps ({rep.get('searched', '')})"]
    rows = [(iso(st.at_ms) or "-", st.stage, where(st.at) if st.at else "", _describe(st),
             "[" + ",".join(sorted(st.seen)) + "]") for st in steps]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3] + "  " + r[4]
            for r in rows]
    for d in rep["deliveries"]:
        outcome = ", ".join(d["outcomes"]) or "no outcome seen"
        reason = f" ({d['reason']})" if d.get("reason") else ""
        out.append(f"delivery {d['ingest']}: {outcome}{reason}")
    return "\n".join(out) + "\n"

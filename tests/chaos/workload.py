"""The chaos scenarios' traffic: dossier lifecycles (several status events per dossier, in order) as hub-json.

Deterministic for a given size: the same call gives the same events, bytes and record times, so an
uninterrupted run and a chaos run of the same workload can be compared number for number (the KPI
scenario), and the checker knows each event's dossier, position and expected outcome without asking
the code under test. A few events are invalid on purpose (``bad`` names the reason they must be
dead-lettered with) so that every scenario also accounts for the dead-letter path.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from hub.normalize.fields import VIETNAM

COMMUNES = ("23734", "23728", "23722", "23749", "23767")  # Ia Ly, Ia Khươl, Chư Păh, Ia Phí, Ia Hrung
# National status paths a dossier takes (DESIGN §3): finished, paused and resumed, refused, withdrawn, open...
PATHS = ((1, 2, 4, 9, 10), (1, 2, 4, 5, 4, 9, 10), (1, 2, 4, 9), (1, 3), (1, 2, 4, 7), (1, 2, 5), (1, 2, 4, 8),
         (1, 2, 4), (1, 2, 6, 4, 9, 10))
FINISHED = {7, 9, 10}
START = datetime(2025, 10, 1, 1, 0, tzinfo=UTC)
SPAN = timedelta(days=45)
# What the analytics take as "now" in a KPI comparison (HUB_CLOCK): after every event of the workload.
CLOCK = "2025-12-10T05:00:00+00:00"
# Invalid on purpose, with the reason the worker must give (hub.errors.REASONS).
BAD_KINDS = (("unknown_status", {"status": 42}), ("bad_date", {"received_at": "2025-13-45"}),
             ("missing_field", {"dossier_code": ""}), ("unknown_commune", {"commune_code": "99999"}))


@dataclass(frozen=True, slots=True)
class Event:
    source_event_id: str
    dossier: str  # the ordering group: a dossier's events must reach the feed in this order
    commune: str
    body: bytes  # hub-json
    timestamp_ms: int  # record time (the hub's ingest time) for runs that must be reproducible
    bad: str | None = None  # the reason it must be dead-lettered with, or None: it must reach the feed

    def as_json(self) -> dict:
        return orjson.loads(self.body)


def _fmt(t: datetime) -> str:
    return t.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def dossier_events(n_dossiers: int, *, tag: str = "c", bad_every: int = 0, seed: int = 13) -> list[Event]:
    """``n_dossiers`` lifecycles spread over 45 days in five communes, merged by event time.

    ``tag`` goes into dossier codes and source event ids (distinct workloads on one topic);
    ``bad_every`` > 0 adds one invalid event after every that many valid ones.
    """
    rng = random.Random(seed)
    timed: list[tuple[int, int, int, Event]] = []
    for i in range(n_dossiers):
        commune = COMMUNES[i % len(COMMUNES)]
        code = f"G52.{commune}-{tag}{i:06d}"
        path = PATHS[rng.randrange(len(PATHS))]
        received = START + SPAN * i / max(1, n_dossiers) + timedelta(minutes=rng.randrange(600))
        due = received + timedelta(days=rng.choice((3, 5, 7, 15)))
        base = {"commune_code": commune, "dossier_code": code, "received_at": _fmt(received), "due_at": _fmt(due),
                "channel": rng.choice((1, 2, 3)), "service_level": rng.choice((2, 3, 4)),
                "fee_bearing": rng.random() < 0.6, "paid_online": rng.random() < 0.5,
                "has_digitized_components": rng.random() < 0.7, "handler_id": f"cb-{commune}-{rng.randrange(6)}",
                "procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh"}
        at = received
        for step, status in enumerate(path):
            at = at + timedelta(hours=rng.randrange(2, 60)) if step else at
            body = {**base, "event_id": f"{code}-{step}", "status": status, "event_time": _fmt(at)}
            if status in FINISHED:
                body["finished_at"] = _fmt(at)
            if status == 10:
                body["returned_at"] = _fmt(at)
            ms = int(at.timestamp() * 1000)
            latency_ms = rng.randrange(1_000, 3_600_000)
            timed.append((ms, i, step, Event(f"{code}-{step}", code, commune, orjson.dumps(body), ms + latency_ms)))
    timed.sort(key=lambda t: t[:3])
    events = [t[3] for t in timed]
    if bad_every <= 0:
        return events
    out: list[Event] = []
    for n, ev in enumerate(events, 1):
        out.append(ev)
        if n % bad_every == 0:
            reason, change = BAD_KINDS[(n // bad_every) % len(BAD_KINDS)]
            body = {**ev.as_json(), **change, "event_id": f"bad-{tag}-{n}", "dossier_code": change.get(
                "dossier_code", f"BAD-{tag}-{n}")}
            out.append(Event(f"bad-{tag}-{n}", f"BAD-{tag}-{n}", ev.commune, orjson.dumps(body), ev.timestamp_ms,
                             bad=reason))
    return out


def size(base: int, scale: float) -> int:
    """A scenario's size at ``HUB_CHAOS_SCALE``."""
    return max(1, int(base * scale))

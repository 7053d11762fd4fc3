"""A hand-built dataset of events reported after a period's end (hub issue 22, defect 1: closed periods
stay closed). Commune 23728 (Ia Khươl, Gia Lai), November and December 2025, evaluated at NOW =
2025-12-10 12:00 Vietnam time. The expected rows are computed by hand in tests/analytics/reference.md,
section "Closed periods stay closed".

The rule the numbers follow: a period's row is a function of the events whose event time is before its
evaluation instant B (its end, or now for the current period); an event at or after B never changes it.
Each December event below would have changed November under a "latest report wins" reading.
"""

from __future__ import annotations

from typing import Any

from .datasets import NOW, _d, _dossier, vn

COMMUNE = "23728"  # Ia Khươl, Gia Lai: not the first dataset's commune, so both can share a topic
SYSTEM = "onestop-iakhuol"
PERIODS = {"day": "2025-11-27", "month": "2025-11", "current": "2025-12"}
KEYS = {name: f"{COMMUNE}|{'day' if name == 'day' else 'month'}|{at}" for name, at in PERIODS.items()}
END_OF_NOVEMBER = vn("2025-12-01 00:00")  # B of the closed month
END_OF_DAY = vn("2025-11-28 00:00")  # B of the closed day 2025-11-27

__all__ = ["COMMUNE", "END_OF_DAY", "END_OF_NOVEMBER", "KEYS", "LATE_EVENTS", "NOW", "PERIODS", "SYSTEM"]


def _event(code: str, n: int, status: str, at: str, latency_s: int, **fields: Any) -> dict[str, Any]:
    """DossierEvent ``n`` of dossier ``code`` at Vietnam time ``at``, of this commune and system; the hub got it
    ``latency_s`` later."""
    return _dossier(code, n, status, at, latency_s, system=SYSTEM, commune=COMMUNE, **fields)


L1 = _d("L1", "2025-11-03 08:00", "2025-11-14 17:00", "ONLINE", 3, "h1", True, True, True)
L2 = _d("L2", "2025-11-10 09:00", "2025-11-19 17:00", "IN_PERSON", 2, "h2", False, None, False)
L3 = _d("L3", "2025-11-05 08:00", "2025-11-20 17:00", "ONLINE", 4, "h3", True, False, True)
L4 = _d("L4", "2025-11-12 08:00", "2025-11-24 17:00", "POSTAL", 2, "h1")
L6 = _d("L6", "2025-12-02 09:00", "2025-12-12 17:00", "ONLINE", 4, "h2", True, True, True)
L7 = _d("L7", "2025-11-17 08:00", "2025-11-28 17:00", "IN_PERSON", 3, "h2", True, False, True)
L8 = _d("L8", "2025-10-15 08:00", "2025-10-30 17:00", "IN_PERSON", 2, "h3", False, None, False)
L9 = _d("L9", "2025-10-28 08:00", "2025-12-05 17:00", "ONLINE", 3, "h1")
L10 = _d("L10", "2025-12-01 09:00", "2025-12-08 17:00", "ONLINE", 4, "h3", True, True, False)
# 11-27 15:00 + 5 d 19 h = 12-03 10:00: the finish reached the hub two days after November had closed
LATE_SYNC_S = 5 * 86_400 + 19 * 3_600

LATE_EVENTS: list[dict[str, Any]] = [
    # L1 finished on time in November, re-opened on 12-03: November keeps it finished; December has it open
    _event("L1", 1, "ACCEPTED", "2025-11-03 08:00", 60, **L1),
    _event("L1", 2, "PROCESSING_FINISHED", "2025-11-12 10:00", 120, finished_at="2025-11-12 10:00", **L1),
    _event("L1", 3, "PROCESSING", "2025-12-03 09:00", 60, **L1),
    # L2 finished 11-20 (late, due 11-19); on 12-05 the source corrects NgayKetThucXuLy to 11-19 16:00
    _event("L2", 1, "PROCESSING", "2025-11-10 09:00", 300, **L2),
    _event("L2", 2, "PROCESSING_FINISHED", "2025-11-20 10:00", 60, finished_at="2025-11-20 10:00", **L2),
    _event("L2", 3, "PROCESSING_FINISHED", "2025-12-05 14:00", 30, finished_at="2025-11-19 16:00", **L2),
    # L3 fee-bearing, not paid online in November; the payment is reported on 12-02
    _event("L3", 1, "ACCEPTED", "2025-11-05 08:00", 60, **L3),
    _event("L3", 2, "RESULT_RETURNED", "2025-11-18 15:00", 90, finished_at="2025-11-18 10:00",
           returned_at="2025-11-18 15:00", **L3),
    _event("L3", 3, "RESULT_RETURNED", "2025-12-02 10:00", 45, finished_at="2025-11-18 10:00",
           returned_at="2025-11-18 15:00", **{**L3, "paid_online": True}),
    # L4 overdue since 11-24; on 12-03 a new appointment (12-20) after the deadline, and a new handler
    _event("L4", 1, "PROCESSING", "2025-11-12 08:00", 180, **L4),
    _event("L4", 2, "PROCESSING", "2025-12-03 10:00", 60, **{**L4, "due_at": "2025-12-20 17:00",
                                                                "handler_pseudonym": "h3"}),
    # L5 registered online, never accepted: in no row but its sync delay
    _event("L5", 1, "NEWLY_REGISTERED", "2025-11-20 08:00", 30, channel="ONLINE", service_level=4),
    # L6 registered online on 11-28, accepted (received, with its appointment) on 12-02
    _event("L6", 1, "NEWLY_REGISTERED", "2025-11-28 20:00", 60, channel="ONLINE", service_level=4),
    _event("L6", 2, "ACCEPTED", "2025-12-02 09:00", 120, **L6),
    # L7 finished 11-27 on time; the finishing event is synced on 12-03 (event time in November)
    _event("L7", 1, "PROCESSING", "2025-11-17 08:00", 120, **L7),
    _event("L7", 2, "PROCESSING_FINISHED", "2025-11-27 15:00", LATE_SYNC_S, finished_at="2025-11-27 15:00", **L7),
    # L8 received in October, finished 11-06 after its due date 10-30: late in November
    _event("L8", 1, "PROCESSING", "2025-10-15 08:00", 60, **L8),
    _event("L8", 2, "RESULT_RETURNED", "2025-11-06 10:00", 60, finished_at="2025-11-06 09:00",
           returned_at="2025-11-06 10:00", **L8),
    # L9 received in October, due 12-05: in time at the end of November, overdue at NOW
    _event("L9", 1, "PROCESSING", "2025-10-28 08:00", 60, **L9),
    # L10 received and finished in December, on time
    _event("L10", 1, "ACCEPTED", "2025-12-01 09:00", 60, **L10),
    _event("L10", 2, "PROCESSING_FINISHED", "2025-12-04 11:00", 120, finished_at="2025-12-04 11:00", **L10),
]

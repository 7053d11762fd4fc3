"""Hub issue 22, defects 2, 3 and 4: each rule on a small dataset whose numbers are computed by hand
in the comments (docs/kpi.md states the rules and their sources). All times are Vietnam time."""

from __future__ import annotations

from typing import Any

from hub.analytics import dossier, kpi, recompute
from hub.analytics import periods as pr

from .datasets import DOSSIER_EVENTS, PERIODS, vn
from .datasets import NOW as REFERENCE_NOW

COMMUNE = "23734"
NOW = vn("2025-12-10 12:00")  # November is over (judged at 12-01 00:00); December is current (judged at NOW)
NOVEMBER = pr.parse("month", "2025-11")
DECEMBER = pr.parse("month", "2025-12")


def _ev(code: str, n: int, status: str, at: str, **fields: Any) -> dict[str, Any]:
    """Event ``n`` of dossier ``code``; ``*_at`` fields given as Vietnam-time text; synced 60 s later."""
    t = vn(at)
    rec: dict[str, Any] = {"commune_code": COMMUNE, "dossier_code": code, "status": status, "event_time": t,
                           "ingest_time": t + 60_000, "trace_id": f"tr-{code}-{n}"}
    for key, value in fields.items():
        rec[key] = vn(value) if key.endswith("_at") and isinstance(value, str) else value
    return rec


def _states(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    states: dict[str, dict[str, Any]] = {}
    for e in events:
        states[dossier.key(e)] = dossier.merge(states.get(dossier.key(e)), e)
    return list(states.values())


def _row(events: list[dict[str, Any]], period: pr.Period) -> dict[str, Any]:
    states = _states(events)
    row = kpi.compute(states, COMMUNE, period, NOW)
    assert kpi.compute_many(states, [period.key(COMMUNE)], NOW)[period.key(COMMUNE)] == row
    return row


# --- defect 2: fully online = submitted online AND level 4 -------------------------------------------

def test_fully_online_needs_the_online_channel():
    """Four dossiers received in November:
    F1 online, level 4 -> online, fully online;   F2 at the counter, level 4 -> neither;
    F3 at the counter, level 2 -> neither;        F4 by post, level 3 -> neither.
    online 1/4 = 0.25, fully online 1/4 = 0.25 (the old rule counted F1 and F2: 2/4 = 0.5 > 0.25)."""
    events = [_ev(code, 1, "ACCEPTED", "2025-11-05 08:00", received_at="2025-11-05 08:00", channel=channel,
                  service_level=level)
              for code, channel, level in (("F1", "ONLINE", 4), ("F2", "IN_PERSON", 4), ("F3", "IN_PERSON", 2),
                                           ("F4", "POSTAL", 3))]
    row = _row(events, NOVEMBER)
    assert (row["received"], row["received_online"], row["fully_online"]) == (4, 1, 1)
    assert (row["online_rate"], row["fully_online_rate"]) == (0.25, 0.25)


# --- defect 3: an appointment issued after the due date passed does not move it ----------------------

DUE_EVENTS = [
    # L: due 11-10 17:00; on 11-12 (the due day has passed) a new appointment for 11-20 (an apology and
    # re-appointment); finished 11-18. Judged by 11-10: finished LATE. One late appointment.
    _ev("L", 1, "ACCEPTED", "2025-11-03 08:00", received_at="2025-11-03 08:00", due_at="2025-11-10 17:00"),
    _ev("L", 2, "PROCESSING", "2025-11-12 09:00", due_at="2025-11-20 17:00"),
    _ev("L", 3, "PROCESSING_FINISHED", "2025-11-18 10:00", finished_at="2025-11-18 10:00"),
    # E: due 11-10 17:00; new appointment 11-14 issued 11-10 18:00: after the due instant but on the due
    # day, which has not passed (finishing then would still be on time) -> it moves the due date.
    # Finished 11-13 <= 11-14: ON TIME.
    _ev("E", 1, "ACCEPTED", "2025-11-03 08:00", received_at="2025-11-03 08:00", due_at="2025-11-10 17:00"),
    _ev("E", 2, "PROCESSING", "2025-11-10 18:00", due_at="2025-11-14 17:00"),
    _ev("E", 3, "PROCESSING_FINISHED", "2025-11-13 10:00", finished_at="2025-11-13 10:00"),
    # R: due 11-10 17:00; supplement requested 11-07 (before the due date: in time); the supplement arrives
    # 11-14 and the clock restarts with a new appointment 11-21 (Decree 61/2018, am. 107/2021): it
    # moves the due date although 11-10 has passed. Finished 11-20 <= 11-21: ON TIME.
    _ev("R", 1, "ACCEPTED", "2025-11-03 08:00", received_at="2025-11-03 08:00", due_at="2025-11-10 17:00"),
    _ev("R", 2, "SUPPLEMENT_REQUESTED", "2025-11-07 09:00"),
    _ev("R", 3, "PROCESSING", "2025-11-14 09:00", due_at="2025-11-21 17:00"),
    _ev("R", 4, "PROCESSING_FINISHED", "2025-11-20 10:00", finished_at="2025-11-20 10:00"),
    # P: due 11-07 17:00; supplement requested 11-10, AFTER the due date: no restart; the appointment
    # 11-25 issued 11-12 is ignored. Finished 11-24 > 11-07: LATE. One late appointment.
    _ev("P", 1, "ACCEPTED", "2025-11-03 08:00", received_at="2025-11-03 08:00", due_at="2025-11-07 17:00"),
    _ev("P", 2, "SUPPLEMENT_REQUESTED", "2025-11-10 09:00"),
    _ev("P", 3, "PROCESSING", "2025-11-12 09:00", due_at="2025-11-25 17:00"),
    _ev("P", 4, "PROCESSING_FINISHED", "2025-11-24 10:00", finished_at="2025-11-24 10:00"),
    # S: due 11-10 17:00; stopped (8) 11-05, resumed 11-14 with a new appointment 11-21: stopping is not a
    # supplement or financial-obligation pause, so no restart. Finished 11-20 > 11-10: LATE. One late.
    _ev("S", 1, "ACCEPTED", "2025-11-03 08:00", received_at="2025-11-03 08:00", due_at="2025-11-10 17:00"),
    _ev("S", 2, "STOPPED", "2025-11-05 09:00"),
    _ev("S", 3, "PROCESSING", "2025-11-14 09:00", due_at="2025-11-21 17:00"),
    _ev("S", 4, "PROCESSING_FINISHED", "2025-11-20 10:00", finished_at="2025-11-20 10:00"),
    # O: due 11-20 17:00; new appointment 12-05 issued 11-24; still processing on 12-01 00:00: judged by
    # 11-20 -> OVERDUE (the latest appointment, 12-05, would have said in time). One late appointment.
    _ev("O", 1, "PROCESSING", "2025-11-03 08:00", received_at="2025-11-03 08:00", due_at="2025-11-20 17:00"),
    _ev("O", 2, "PROCESSING", "2025-11-24 09:00", due_at="2025-12-05 17:00"),
    # Q: due 11-10 17:00; new appointment 11-30 issued 11-12 (ignored); supplement requested 11-15 and
    # still paused on 12-01: the pause began after 11-10, so it is not in time -> OVERDUE (by the ignored
    # appointment it would have begun in time). One late appointment.
    _ev("Q", 1, "PROCESSING", "2025-11-03 08:00", received_at="2025-11-03 08:00", due_at="2025-11-10 17:00"),
    _ev("Q", 2, "PROCESSING", "2025-11-12 09:00", due_at="2025-11-30 17:00"),
    _ev("Q", 3, "SUPPLEMENT_REQUESTED", "2025-11-15 09:00"),
]


def test_appointment_after_the_due_date_does_not_make_a_late_dossier_on_time():
    """November (judged at 12-01 00:00), by the comments above:
    in scope 7 (L E R P S O Q); finished 5: on time 2 (E R), late 3 (L P S); open 2 (O Q): in time 0,
    overdue 2; on_time 2, late 5, timeliness 2/7; rescheduled_after_due 5 (L P S O Q; E and R moved
    their due dates). The latest-appointment rule gave on_time 7 (every one of them)."""
    row = _row(DUE_EVENTS, NOVEMBER)
    assert (row["in_scope"], row["finished"], row["finished_on_time"], row["finished_late"]) == (7, 5, 2, 3)
    assert (row["open"], row["in_progress_in_time"], row["overdue_open"]) == (2, 0, 2)
    assert (row["on_time"], row["late"], row["timeliness"]) == (2, 5, 2 / 7)
    assert row["rescheduled_after_due"] == 5


def test_late_appointment_counts_from_when_it_was_issued():
    """Day 2025-11-11 (judged at 11-12 00:00): L, P, S, O, Q are open and no late appointment was issued
    yet (L's, P's, Q's come on 11-12); E and R are open too. in scope 7: L (due 11-10 passed: overdue),
    E (due moved to 11-14: in time), R (paused 11-07 <= 11-10: in time), P (paused 11-10 after 11-07:
    overdue), S (stopped 11-05 <= 11-10: in time, a pause), O (due 11-20: in time), Q (due 11-10: overdue).
    in time 4 (E R S O), overdue 3 (L P Q); rescheduled_after_due 0.
    Day 2025-11-12 (judged at 11-13 00:00): the appointments of L, P and Q issued on 11-12 count: 3."""
    day11 = _row(DUE_EVENTS, pr.parse("day", "2025-11-11"))
    assert (day11["in_scope"], day11["in_progress_in_time"], day11["overdue_open"]) == (7, 4, 3)
    assert day11["rescheduled_after_due"] == 0
    assert _row(DUE_EVENTS, pr.parse("day", "2025-11-12"))["rescheduled_after_due"] == 3


def test_due_in_force_reads_appointments_in_issue_order():
    """L keeps 11-10 and names its ignored appointment's issue time; R moves to 11-21; a state stored
    before appointments were kept (no "du") falls back to its one due date."""
    states = {s["d"]: s for s in _states(DUE_EVENTS)}
    assert dossier.due_in_force(states["L"]) == (vn("2025-11-10 17:00"), [vn("2025-11-12 09:00")])
    assert dossier.due_in_force(states["R"]) == (vn("2025-11-21 17:00"), [])
    legacy = {k: v for k, v in states["L"].items() if k != "du"}
    assert dossier.due_in_force(legacy) == (vn("2025-11-20 17:00"), [])


# --- defect 4: registered online only (status 1) is neither received nor in scope --------------------

REGISTERED_EVENTS = [
    # N1: registered online 11-05, never accepted: not received, not in scope (was: in time for ever).
    _ev("N1", 1, "NEWLY_REGISTERED", "2025-11-05 08:00", received_at="2025-11-05 08:00", channel="ONLINE",
        service_level=4),
    # N2: registered 11-06, accepted 11-08 (NgayTiepNhan 11-08), due 11-20, finished 11-19: received in
    # November, finished on time.
    _ev("N2", 1, "NEWLY_REGISTERED", "2025-11-06 08:00", channel="ONLINE", service_level=4),
    _ev("N2", 2, "ACCEPTED", "2025-11-08 09:00", received_at="2025-11-08 09:00", due_at="2025-11-20 17:00",
        channel="ONLINE", service_level=4),
    _ev("N2", 3, "PROCESSING_FINISHED", "2025-11-19 10:00", finished_at="2025-11-19 10:00"),
    # N3: registered 11-07, refused 11-09: out (status 3).
    _ev("N3", 1, "NEWLY_REGISTERED", "2025-11-07 08:00", channel="ONLINE", service_level=4),
    _ev("N3", 2, "NOT_ACCEPTED", "2025-11-09 08:00", refused_at="2025-11-09 08:00"),
    # N4: registered 11-28, accepted 12-02, no NgayTiepNhan ever sent: received when accepted (12-02), so
    # in December, not November (was: received 11-28, its first event). Due 12-12: in time at NOW.
    _ev("N4", 1, "NEWLY_REGISTERED", "2025-11-28 08:00", channel="ONLINE", service_level=4),
    _ev("N4", 2, "ACCEPTED", "2025-12-02 08:00", due_at="2025-12-12 17:00", channel="ONLINE", service_level=4),
]


def test_registered_only_is_neither_received_nor_in_scope():
    """November: received 1 (N2), online 1, fully online 1; in scope 1 (N2), finished on time 1,
    timeliness 1/1. Sync latency still counts every November event (the system's reporting): N1 1, N2 3,
    N3 2, N4 1 -> 7. December (current, judged at NOW): received 1 (N4), in scope 1, in progress in
    time 1 (due 12-12 >= 12-10 12:00), timeliness 1/1; sync latency 1 (N4's acceptance)."""
    nov = _row(REGISTERED_EVENTS, NOVEMBER)
    assert (nov["received"], nov["received_online"], nov["fully_online"]) == (1, 1, 1)
    assert (nov["in_scope"], nov["finished_on_time"], nov["open"], nov["timeliness"]) == (1, 1, 0, 1.0)
    assert nov["sync_latency_count"] == 7
    dec = _row(REGISTERED_EVENTS, DECEMBER)
    assert (dec["received"], dec["in_scope"], dec["in_progress_in_time"], dec["timeliness"]) == (1, 1, 1, 1.0)
    assert dec["sync_latency_count"] == 1


def test_accepted_and_received_time():
    """accepted(): a status past 1 and not ending at 3; received_ms falls back to the acceptance."""
    states = {s["d"]: s for s in _states(REGISTERED_EVENTS)}
    assert [dossier.accepted(states[c]) for c in ("N1", "N2", "N3", "N4")] == [False, True, False, True]
    assert dossier.received_ms(states["N4"]) == vn("2025-12-02 08:00")
    assert dossier.received_ms(states["N2"]) == vn("2025-11-08 09:00")


def test_an_acceptance_reported_after_a_period_leaves_it_closed():
    """N4's acceptance on 12-02 carries NgayTiepNhan 11-20. November's row reads the events before
    12-01 00:00 only (hub issue 22): there N4 is registered online and nothing more, so the acceptance
    touches December's rows and not November's, and November's numbers stay what they were."""
    registered = _states(REGISTERED_EVENTS[6:7])[0]  # N4's registration
    accepted = dossier.merge(registered, {**REGISTERED_EVENTS[7], "received_at": vn("2025-11-20 08:00")})
    keys = set(recompute.affected_periods(registered, accepted, NOW))
    assert {"23734|day|2025-12-02", "23734|month|2025-12", "23734|quarter|2025-Q4"} <= keys
    assert not {"23734|day|2025-11-20", "23734|month|2025-11"} & keys
    assert recompute.changed_since(registered, accepted) == vn("2025-12-02 08:00")
    november = pr.parse_key("23734|month|2025-11")[1]
    before, after = (kpi.compute([s], "23734", november, NOW) for s in (registered, accepted))
    assert (after["received"], after["in_scope"]) == (0, 0)
    assert {k: v for k, v in after.items() if k != "computed_at"} == \
        {k: v for k, v in before.items() if k != "computed_at"}


def test_reference_dataset_has_no_late_appointment():
    """reference.md: each dossier of the reference dataset has one appointment, so none is counted apart."""
    states = _states(DOSSIER_EVENTS)
    keys = [f"{COMMUNE}|{kind}|{at}" for kind, at in PERIODS.items()]
    assert [r["rescheduled_after_due"] for r in kpi.compute_many(states, keys, REFERENCE_NOW).values()] == [0, 0, 0]

"""hub.analytics.dossier: the per-dossier state is a join of sets (idempotent, order-insensitive, bounded)."""

from __future__ import annotations

import random

import orjson

from hub.analytics import dossier

from .datasets import DOSSIER_EVENTS, vn


def _ev(status: str, at: str, **extra) -> dict:
    return {"commune_code": "23734", "province_code": "52", "dossier_code": "X", "status": status,
            "event_time": vn(at), "ingest_time": vn(at) + 1000, "trace_id": f"t-{at}", **extra}


def test_same_event_twice_changes_nothing():
    """Merging an event already merged returns an equal state."""
    state = dossier.merge(None, DOSSIER_EVENTS[0])
    assert dossier.merge(state, DOSSIER_EVENTS[0]) == state


def test_latest_event_wins_and_nulls_do_not_erase():
    """Registers keep the value of the latest event time; a partial (PROGRESS) record does not clear them."""
    a = _ev("PROCESSING", "2025-11-03 08:00", due_at=vn("2025-11-10 17:00"), channel="ONLINE")
    b = _ev("PROCESSING", "2025-11-05 08:00", due_at=vn("2025-11-12 17:00"), record_type="PROGRESS")
    for order in ((a, b), (b, a)):
        state = None
        for e in order:
            state = dossier.merge(state, e)
        assert dossier.value(state, "due") == vn("2025-11-12 17:00") and dossier.value(state, "ch") == "ONLINE"


def test_republished_copy_keeps_the_first_sync_delay():
    """A copy of the same change arriving later (new id, same event time) keeps the smaller sync delay."""
    first = _ev("ACCEPTED", "2025-11-03 08:00")
    copy = {**first, "ingest_time": first["ingest_time"] + 3_600_000, "trace_id": "t-copy"}
    state = dossier.merge(dossier.merge(None, copy), first)
    assert state["lat"] == [[vn("2025-11-03 08:00"), 1000]]
    assert dossier.merge(None, {**first, "ingest_time": first["event_time"] - 5})["lat"][0][1] == 0


def test_timelines_are_bounded_to_their_newest_entries():
    """40 status changes keep the newest 32; the state stays small and survives an orjson round trip."""
    state = None
    for i in range(40):
        state = dossier.merge(state, _ev("PROCESSING" if i % 2 else "SUPPLEMENT_REQUESTED",
                                         f"2025-11-03 {i // 6 + 8:02d}:{i % 6 * 10:02d}",
                                         handler_pseudonym=f"h{i}"))
    assert len(state["tl"]) == 32 and state["tl"][0][0] == vn("2025-11-03 09:20")
    assert len(state["hd"]) == 8 and len(state["tr"]) == 4 and len(state["lat"]) == 32
    assert orjson.loads(orjson.dumps(state)) == state and len(orjson.dumps(state)) < 4096


def test_finish_time_rules():
    """finished_at first; else returned_at for 10; else the finishing event (withdrawal); open: None."""
    received = _ev("ACCEPTED", "2025-11-03 08:00")
    returned = dossier.merge(dossier.merge(None, received), _ev("RESULT_RETURNED", "2025-11-09 08:00",
                                                                 returned_at=vn("2025-11-08 16:00")))
    assert dossier.finished_ms(returned) == vn("2025-11-08 16:00")
    withdrawn = dossier.merge(dossier.merge(None, received), _ev("WITHDRAWN", "2025-11-04 10:00"))
    assert dossier.finished_ms(withdrawn) == vn("2025-11-04 10:00")
    done = dossier.merge(returned, _ev("PROCESSING_FINISHED", "2025-11-07 08:00",
                                       finished_at=vn("2025-11-07 07:00")))
    assert dossier.finished_ms(done) == vn("2025-11-07 07:00")
    assert dossier.finished_ms(dossier.merge(None, received)) is None


def test_received_falls_back_to_first_event_and_status_at():
    """Without NgayTiepNhan the first event is the receipt; status_at reads strictly before an instant."""
    state = dossier.merge(dossier.merge(None, _ev("PROCESSING", "2025-11-05 08:00")),
                          _ev("STOPPED", "2025-11-06 08:00"))
    assert dossier.received_ms(state) == vn("2025-11-05 08:00")
    assert dossier.status_at(state, vn("2025-11-06 08:00")) == 4
    assert dossier.status_at(state, vn("2025-11-06 08:01")) == 8
    assert dossier.pause_start(state, vn("2025-11-07 00:00")) == vn("2025-11-06 08:00")
    assert dossier.status_at(state, vn("2025-11-05 08:00")) is None


def test_appointments_keep_each_due_dates_first_issue_and_the_earliest_16():
    """20 appointments, each reported twice (a day apart), in shuffled orders: the state keeps, per due
    date, the first report, and the 16 issued first — the same set whatever the order."""
    events = [_ev("PROCESSING", f"2025-11-{d:02d} {h:02d}:00", due_at=vn(f"2025-12-{d:02d} 17:00"))
              for d in range(1, 21) for h in (8, 9)]
    expected = [[vn(f"2025-11-{d:02d} 08:00"), vn(f"2025-12-{d:02d} 17:00")] for d in range(1, 17)]
    for seed in range(3):
        random.Random(seed).shuffle(events)
        state = None
        for e in events:
            state = dossier.merge(state, e)
        assert state["du"] == expected

"""Hub issue 22, defect 1: closed periods stay closed. The late-events dataset (late_datasets.py) against the
numbers computed by hand in reference.md ("Closed periods stay closed"), and a closed period's row equal to
the row of only the events dated before its end."""

from __future__ import annotations

import random
from typing import Any

import pytest

from hub.analytics import dossier, kpi
from hub.analytics import periods as pr

from .late_datasets import COMMUNE, END_OF_DAY, END_OF_NOVEMBER, KEYS, LATE_EVENTS, NOW, PERIODS

# reference.md, "Closed periods stay closed", "Expected values" (rates written as the fractions there)
EXPECTED: dict[str, dict[str, Any]] = {
    "day": dict(in_scope=3, finished=1, finished_on_time=1, finished_late=0, open=2, in_progress_in_time=1,
                overdue_open=1, on_time=2, late=1, timeliness=2 / 3, rescheduled_after_due=0, received=0,
                received_online=0, online_rate=None, fully_online=0, fully_online_rate=None, fee_bearing=0,
                paid_online=0, online_payment_rate=None, digitized=0, digitization_rate=None,
                sync_latency_count=1, sync_latency_p50_ms=500_400_000, sync_latency_p90_ms=500_400_000,
                sync_latency_p95_ms=500_400_000, distinct_handlers=1, open_with_handler=2,
                open_per_handler_mean=2.0, open_per_handler_max=2, trace_ids=["tr-L7-2", "tr-L7-1", "tr-L4-1"],
                final=True),
    "month": dict(in_scope=7, finished=5, finished_on_time=3, finished_late=2, open=2, in_progress_in_time=1,
                  overdue_open=1, on_time=4, late=3, timeliness=4 / 7, rescheduled_after_due=0, received=5,
                  received_online=2, online_rate=2 / 5, fully_online=1, fully_online_rate=1 / 5, fee_bearing=3,
                  paid_online=1, online_payment_rate=1 / 3, digitized=3, digitization_rate=3 / 5,
                  sync_latency_count=12, sync_latency_p50_ms=60_000, sync_latency_p90_ms=300_000,
                  sync_latency_p95_ms=500_400_000, distinct_handlers=1, open_with_handler=2,
                  open_per_handler_mean=2.0, open_per_handler_max=2, trace_ids=["tr-L7-2", "tr-L2-2", "tr-L3-2"],
                  final=True),
    "current": dict(in_scope=5, finished=1, finished_on_time=1, finished_late=0, open=4, in_progress_in_time=1,
                    overdue_open=3, on_time=2, late=3, timeliness=2 / 5, rescheduled_after_due=1, received=2,
                    received_online=2, online_rate=1.0, fully_online=2, fully_online_rate=1.0, fee_bearing=2,
                    paid_online=2, online_payment_rate=1.0, digitized=1, digitization_rate=1 / 2,
                    sync_latency_count=7, sync_latency_p50_ms=60_000, sync_latency_p90_ms=120_000,
                    sync_latency_p95_ms=120_000, distinct_handlers=3, open_with_handler=4,
                    open_per_handler_mean=4 / 3, open_per_handler_max=2,
                    trace_ids=["tr-L10-2", "tr-L4-2", "tr-L1-3"], final=False),
}
# The dossiers finished before B whose finishing event reached the hub at or after B: L7 (synced 12-03)
REPORTED_LATE = {"day": 1, "month": 1, "current": 0}
# Depend on when and in what order the hub processed the events, not on the events (the brief's exclusions)
PROCESSING = ("computed_at", "evaluated_at", "revision", "revised_at")
CLOSED = {"day": END_OF_DAY, "month": END_OF_NOVEMBER}


def fold(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    states: dict[str, dict[str, Any]] = {}
    for e in events:
        states[dossier.key(e)] = dossier.merge(states.get(dossier.key(e)), e)
    return list(states.values())


def twice_shuffled(seed: int) -> list[dict[str, Any]]:
    events = LATE_EVENTS * 2
    random.Random(seed).shuffle(events)
    return events


def row(events: list[dict[str, Any]], name: str) -> dict[str, Any]:
    kind = "day" if name == "day" else "month"
    return kpi.compute(fold(events), COMMUNE, pr.parse(kind, PERIODS[name]), NOW)


@pytest.mark.parametrize("seed", [3, 11])
@pytest.mark.parametrize("name", ["day", "month", "current"])
def test_rows_equal_the_hand_computed_values(name, seed):
    """Day 11-27, November (closed) and December (current): the events twice and shuffled give the
    numbers of reference.md; nothing reported after November's end reaches November."""
    got = row(twice_shuffled(seed), name)
    assert {k: got[k] for k in EXPECTED[name]} == EXPECTED[name]
    assert (got["commune_code"], got["period_key"]) == (COMMUNE, KEYS[name])


@pytest.mark.parametrize("name", ["day", "month", "current"])
def test_finished_reported_late(name):
    """L7 finished 11-27, its finishing event reached the hub 12-03: reported late for the day and the
    month it finished in; 0 for the current period."""
    assert row(twice_shuffled(5), name).get("finished_reported_late") == REPORTED_LATE[name]


def test_compute_many_gives_the_same_rows():
    """The engine's one-pass compute_many gives the hand-computed values too."""
    rows = kpi.compute_many(fold(twice_shuffled(1)), list(KEYS.values()), NOW)
    for name, key in KEYS.items():
        assert {k: rows[key][k] for k in EXPECTED[name]} == EXPECTED[name], name
        assert rows[key].get("finished_reported_late") == REPORTED_LATE[name], name


@pytest.mark.parametrize("name", ["day", "month"])
def test_closed_row_is_the_row_of_the_events_before_its_end(name):
    """A closed period's row from every event equals its row from only the events dated before its end
    (B): the events after B (re-open, correction, payment, new appointment, acceptance) change nothing."""
    before = [e for e in LATE_EVENTS if e["event_time"] < CLOSED[name]]
    assert len(before) < len(LATE_EVENTS)  # the dataset does have events after B
    full, cut = row(twice_shuffled(2), name), row(before, name)
    assert {k: v for k, v in full.items() if k not in PROCESSING} == \
           {k: v for k, v in cut.items() if k not in PROCESSING}

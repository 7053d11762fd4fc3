"""hub.analytics.kpi: the Decision 766 indicators on the hand-built dataset (reference.md), the
agreement of compute and compute_many, and which periods a change touches."""

from __future__ import annotations

import os
import random

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.analytics import dossier, kpi, recompute
from hub.analytics import periods as pr

from .datasets import COMMUNE, DOSSIER_EVENTS, NOW, PERIODS, vn

EXPECTED = {  # reference.md, "Expected values"
    "day": dict(in_scope=6, finished=1, finished_on_time=1, finished_late=0, open=5, in_progress_in_time=2,
                overdue_open=3, on_time=3, late=3, timeliness=3 / 6, received=0, received_online=0,
                online_rate=None, fully_online=0, fully_online_rate=None, fee_bearing=0, paid_online=0,
                online_payment_rate=None, digitized=0, digitization_rate=None, sync_latency_count=1,
                sync_latency_p50_ms=600_000, sync_latency_p90_ms=600_000, sync_latency_p95_ms=600_000,
                distinct_handlers=3, open_with_handler=5, open_per_handler_mean=5 / 3, open_per_handler_max=2,
                trace_ids=["tr-D2-2", "tr-D4-2", "tr-D8-1"], final=True),
    "month": dict(in_scope=11, finished=5, finished_on_time=3, finished_late=2, open=6, in_progress_in_time=3,
                  overdue_open=3, on_time=6, late=5, timeliness=6 / 11, received=9, received_online=5,
                  online_rate=5 / 9, fully_online=3, fully_online_rate=3 / 9, fee_bearing=4, paid_online=2,
                  online_payment_rate=2 / 4, digitized=3, digitization_rate=3 / 9, sync_latency_count=18,
                  sync_latency_p50_ms=120_000, sync_latency_p90_ms=3_600_000, sync_latency_p95_ms=7_200_000,
                  distinct_handlers=3, open_with_handler=5, open_per_handler_mean=5 / 3, open_per_handler_max=2,
                  trace_ids=["tr-D12-1", "tr-D7-1", "tr-D3-2"], final=True),
    "quarter": dict(in_scope=12, finished=6, finished_on_time=4, finished_late=2, open=6, in_progress_in_time=3,
                    overdue_open=3, on_time=7, late=5, timeliness=7 / 12, received=11, received_online=6,
                    online_rate=6 / 11, fully_online=3, fully_online_rate=3 / 11, fee_bearing=5, paid_online=3,
                    online_payment_rate=3 / 5, digitized=4, digitization_rate=4 / 11, sync_latency_count=21,
                    sync_latency_p50_ms=60_000, sync_latency_p90_ms=900_000, sync_latency_p95_ms=3_600_000,
                    distinct_handlers=3, open_with_handler=5, open_per_handler_mean=5 / 3, open_per_handler_max=2,
                    trace_ids=["tr-D12-1", "tr-D7-1", "tr-D3-2"], final=False),
}


def fold(events) -> dict[str, dict]:
    states: dict[str, dict] = {}
    for e in events:
        k = dossier.key(e)
        states[k] = dossier.merge(states.get(k), e)
    return states


def _subset(row: dict, expected: dict) -> dict:
    return {k: row[k] for k in expected}


@pytest.mark.parametrize("kind", ["day", "month", "quarter"])
def test_reference_dataset(kind):
    """compute() equals the hand-computed values of reference.md for a day, a month and a quarter."""
    period = pr.parse(kind, PERIODS[kind])
    row = kpi.compute(fold(DOSSIER_EVENTS).values(), COMMUNE, period, NOW)
    assert _subset(row, EXPECTED[kind]) == EXPECTED[kind]
    assert (row["commune_code"], row["period"], row["at"]) == (COMMUNE, kind, PERIODS[kind])
    assert row["period_key"] == f"23734|{kind}|{PERIODS[kind]}" and row["computed_at"] == NOW


def test_reference_dataset_many():
    """compute_many() gives the same hand-computed values for the three periods in one call."""
    keys = [f"{COMMUNE}|{kind}|{at}" for kind, at in PERIODS.items()]
    rows = kpi.compute_many(fold(DOSSIER_EVENTS).values(), keys, NOW)
    for kind, at in PERIODS.items():
        assert _subset(rows[f"{COMMUNE}|{kind}|{at}"], EXPECTED[kind]) == EXPECTED[kind]


def test_twice_and_shuffled_give_the_same_numbers():
    """The dataset sent twice, and in shuffled orders, gives identical states and KPI rows."""
    reference = fold(DOSSIER_EVENTS)
    keys = [f"{COMMUNE}|{kind}|{at}" for kind, at in PERIODS.items()]
    for seed in range(5):
        events = DOSSIER_EVENTS * 2
        random.Random(seed).shuffle(events)
        states = fold(events)
        assert orjson.dumps(states, option=orjson.OPT_SORT_KEYS) == orjson.dumps(reference, option=orjson.OPT_SORT_KEYS)
        assert kpi.compute_many(states.values(), keys, NOW) == kpi.compute_many(reference.values(), keys, NOW)


def test_other_communes_are_ignored():
    """Dossiers of another commune count neither in compute nor in compute_many."""
    other = [{**e, "commune_code": "23728"} for e in DOSSIER_EVENTS]
    states = fold(DOSSIER_EVENTS + other).values()
    period = pr.parse("month", "2025-11")
    assert kpi.compute(states, COMMUNE, period, NOW)["in_scope"] == 11
    assert kpi.compute_many(states, ["23728|month|2025-11"], NOW)["23728|month|2025-11"]["in_scope"] == 11


def _open(due: str | None, events: list[tuple[str, str]]) -> dict:
    state = None
    for i, (status, at) in enumerate(events):
        state = dossier.merge(state, {"commune_code": COMMUNE, "dossier_code": "X", "status": status,
                                      "received_at": vn("2025-11-03 08:00"), "due_at": due and vn(due),
                                      "event_time": vn(at), "ingest_time": vn(at), "trace_id": f"t{i}"})
    return state


def test_current_period_turns_overdue_when_due_passes_without_event():
    """The current month judges open dossiers at now: in time before the due instant, overdue after it."""
    state = _open("2025-11-20 17:00", [("PROCESSING", "2025-11-03 08:00")])
    month = pr.parse("month", "2025-11")
    before = kpi.compute([state], COMMUNE, month, vn("2025-11-20 17:00"))
    after = kpi.compute([state], COMMUNE, month, vn("2025-11-20 17:01"))
    assert (before["in_progress_in_time"], before["overdue_open"], before["timeliness"]) == (1, 0, 1.0)
    assert (after["in_progress_in_time"], after["overdue_open"], after["timeliness"]) == (0, 1, 0.0)
    assert before["final"] is False and before["evaluated_at"] == vn("2025-11-20 17:00")


def test_pause_counts_in_time_only_when_it_began_before_due():
    """Paused on the due instant is in time; paused a minute after it stays overdue; resumed is judged by due."""
    month = pr.parse("month", "2025-11")
    at_due = _open("2025-11-10 17:00", [("PROCESSING", "2025-11-03 08:00"), ("STOPPED", "2025-11-10 17:00")])
    late = _open("2025-11-10 17:00", [("PROCESSING", "2025-11-03 08:00"),
                                       ("FINANCIAL_OBLIGATION_REQUESTED", "2025-11-10 17:01")])
    resumed = _open("2025-11-10 17:00", [("PROCESSING", "2025-11-03 08:00"), ("SUPPLEMENT_REQUESTED",
                                         "2025-11-05 08:00"), ("PROCESSING", "2025-11-12 08:00")])
    rows = [kpi.compute([s], COMMUNE, month, NOW) for s in (at_due, late, resumed)]
    assert [(r["in_progress_in_time"], r["overdue_open"]) for r in rows] == [(1, 0), (0, 1), (0, 1)]


def test_empty_commune_has_null_rates():
    """No dossiers: every count 0 and every rate, percentile and workload mean null."""
    row = kpi.compute([], COMMUNE, pr.parse("day", "2025-11-14"), NOW)
    assert row["in_scope"] == 0 and row["timeliness"] is None and row["online_rate"] is None
    assert row["sync_latency_p50_ms"] is None and row["open_per_handler_mean"] is None and row["trace_ids"] == []


# --- property tests: random dossiers ------------------------------------------------------------------

BASE = vn("2025-10-01 00:00")
HOUR = 3_600_000
STATUSES = list(dossier.STATUS_CODE)


@st.composite
def events(draw, max_dossiers: int = 6, max_events: int = 20) -> list[dict]:
    out = []
    for i in range(draw(st.integers(1, max_events))):
        code = f"R{draw(st.integers(0, max_dossiers - 1))}"
        t = BASE + draw(st.integers(0, 100 * 24)) * HOUR
        opt = lambda s: draw(st.one_of(st.none(), s))  # noqa: E731
        out.append({
            "commune_code": COMMUNE, "dossier_code": code, "status": draw(st.sampled_from(STATUSES)),
            "event_time": t, "ingest_time": t + draw(st.integers(-HOUR, 48 * HOUR)), "trace_id": f"t{i}",
            "received_at": opt(st.integers(BASE - 30 * 24 * HOUR, BASE + 90 * 24 * HOUR)),
            "due_at": opt(st.integers(BASE, BASE + 120 * 24 * HOUR)),
            "finished_at": opt(st.integers(BASE, BASE + 100 * 24 * HOUR)),
            "returned_at": opt(st.integers(BASE, BASE + 100 * 24 * HOUR)),
            "channel": opt(st.sampled_from(["IN_PERSON", "ONLINE", "POSTAL"])),
            "service_level": opt(st.integers(2, 4)), "fee_bearing": opt(st.booleans()),
            "paid_online": opt(st.booleans()), "has_digitized_components": opt(st.booleans()),
            "handler_pseudonym": opt(st.sampled_from(["h1", "h2", "h3"])),
        })
    return out


ALL_KEYS = ([p.key(COMMUNE) for p in pr.spanning("day", BASE, BASE + 100 * 24 * HOUR)]
            + [p.key(COMMUNE) for k in ("month", "quarter") for p in pr.spanning(k, BASE - 40 * 24 * HOUR,
                                                                                BASE + 100 * 24 * HOUR)])
# HUB_TEST_EXAMPLES=800 for a deeper search than the default run's
PROFILE = settings(max_examples=int(os.environ.get("HUB_TEST_EXAMPLES", "60")), deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])


@PROFILE
@given(events(), st.integers(0, 110 * 24))
def test_compute_many_agrees_with_compute(evs, now_h):
    """On random dossiers, compute_many equals compute for every day, month and quarter of the range."""
    now = BASE + now_h * HOUR
    states = list(fold(evs).values())
    keys = random.Random(now_h).sample(ALL_KEYS, 30)
    many = kpi.compute_many(states, keys, now)
    for k in keys:
        commune, period = pr.parse_key(k)
        assert many[k] == kpi.compute(states, commune, period, now)


@PROFILE
@given(events(), st.randoms(use_true_random=False))
def test_merge_is_order_insensitive_and_idempotent(evs, rnd):
    """Any order of the events, each possibly twice, folds to the same dossier states."""
    shuffled = evs + rnd.sample(evs, len(evs) // 2)
    rnd.shuffle(shuffled)
    assert fold(shuffled) == fold(evs)


def _rows(states, now):
    rows = kpi.compute_many(states, ALL_KEYS, now)
    return {k: {f: v for f, v in r.items() if f != "computed_at"} for k, r in rows.items()}


@PROFILE
@given(events(max_dossiers=2), st.data())
def test_affected_periods_cover_every_changed_row(evs, data):
    """After one more event, every period row that changed is among affected_periods(old, new)."""
    *before, last = evs
    now = BASE + data.draw(st.integers(0, 110 * 24)) * HOUR
    old_states = fold(before)
    k = dossier.key(last)
    new_states = {**old_states, k: dossier.merge(old_states.get(k), last)}
    old_rows, new_rows = _rows(list(old_states.values()), now), _rows(list(new_states.values()), now)
    changed = {key for key in ALL_KEYS if old_rows[key] != new_rows[key]
               and pr.parse_key(key)[1].start <= now}
    assert changed <= set(recompute.affected_periods(old_states.get(k), new_states[k], now))


def test_affected_periods_of_a_fresh_event_are_the_current_ones():
    """A status change reported now touches only today's day, month and quarter."""
    old = fold(DOSSIER_EVENTS)["23734|D7"]
    now = vn("2025-12-10 12:00")
    new = dossier.merge(old, {**DOSSIER_EVENTS[12], "status": "PROCESSING_FINISHED", "event_time": now,
                              "ingest_time": now, "trace_id": "tr-D7-2", "finished_at": now})
    assert recompute.affected_periods(old, new, now) == ["23734|day|2025-12-10", "23734|month|2025-12",
                                                    "23734|quarter|2025-Q4"]


@PROFILE
@given(events(max_dossiers=2), st.data())
def test_changed_since_bounds_every_affected_period(evs, data):
    """Every period affected_periods lists ends after changed_since (the processor's one mark per commune)."""
    *before, last = evs
    now = BASE + data.draw(st.integers(0, 110 * 24)) * HOUR
    old_states = fold(before)
    k = dossier.key(last)
    old, new = old_states.get(k), dossier.merge(old_states.get(k), last)
    affected = recompute.affected_periods(old, new, now)
    since = recompute.changed_since(old, new)
    if since is None:
        assert affected == []
    else:
        assert all(pr.parse_key(key)[1].end > since for key in affected)

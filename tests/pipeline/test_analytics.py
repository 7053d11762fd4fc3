"""The analytics processors on a real broker: the KPI feed equals the hand-computed reference dataset,
whatever the order and repetition of the events, and a worker killed mid-stream ends with the same numbers."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime

import orjson
import pytest

from connectors.publisher import Publisher
from hub import systems
from hub.contract import codec, topics
from hub.testing import group_lag, read_topic, wait_for
from tests.analytics.datasets import COMMUNE, DOSSIER_EVENTS, NOW, ONESTOP, PERIODS, hub_json
from tests.analytics.test_kpi import EXPECTED

pytestmark = pytest.mark.integration

# The read API's names (tests/analytics/test_kpi.py) -> the CommuneKpi Avro field names.
AVRO_NAME = {
    "in_scope": "dossiers_in_scope", "finished": "dossiers_finished", "finished_on_time": "dossiers_finished_on_time",
    "finished_late": "dossiers_finished_late", "open": "open_dossiers",
    "in_progress_in_time": "dossiers_in_progress_in_time", "overdue_open": "overdue_open_dossiers",
    "on_time": "dossiers_on_time", "late": "dossiers_late", "timeliness": "timeliness_rate",
    "received": "dossiers_received", "received_online": "online_dossiers", "online_rate": "online_rate",
    "fully_online": "fully_online_dossiers", "fully_online_rate": "fully_online_rate",
    "fee_bearing": "fee_bearing_dossiers", "paid_online": "paid_online_dossiers",
    "online_payment_rate": "online_payment_rate", "digitized": "digitized_dossiers",
    "digitization_rate": "digitization_rate", "sync_latency_count": "sync_latency_count",
    "sync_latency_p50_ms": "sync_latency_p50_ms", "sync_latency_p90_ms": "sync_latency_p90_ms",
    "sync_latency_p95_ms": "sync_latency_p95_ms", "distinct_handlers": "distinct_handlers",
    "open_with_handler": "open_dossiers_with_handler", "open_per_handler_mean": "open_dossiers_per_handler",
    "open_per_handler_max": "open_dossiers_per_handler_max", "trace_ids": "trace_ids", "final": "final",
}
_VOLATILE = ("computed_at", "evaluated_at", "revision", "revised_at")  # processing history, not numbers


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _publish(s, events) -> None:
    """Each event as the hub-json a publisher sends, with the ingest time of the dataset as record time."""
    with Publisher(ONESTOP, s) as pub:
        for rec in events:
            pub.send_async("dossier", orjson.dumps(hub_json(rec)), format="hub-json", commune=rec["commune_code"],
                           event_id=rec["source_event_id"], trace_id=rec["trace_id"], timestamp_ms=rec["ingest_time"])
        pub.flush()


def _latest_kpis(s) -> dict[str, dict]:
    schemas = codec.load(s.schemas_dir)
    out = {}
    for r in read_topic(s, s.topic(topics.FEED_KPI), timeout_s=30):  # read_committed, to the end
        out[r.key.decode()] = codec.decode_plain(schemas, r.value)
    return out


def test_kpi_feed_equals_the_reference_dataset_sent_twice_and_shuffled(make_settings, hub_process):
    """Day, month and quarter rows on the KPI feed equal reference.md, with the events twice and shuffled."""
    s = make_settings(clock=_iso(NOW))
    systems.add(s, ONESTOP, [COMMUNE], ["dossier"])
    events = DOSSIER_EVENTS * 2
    random.Random(7).shuffle(events)
    _publish(s, events)
    hub_process(["worker"], s)
    wanted = {f"{COMMUNE}|{kind}|{at}": {AVRO_NAME[k]: v for k, v in EXPECTED[kind].items()}
              for kind, at in PERIODS.items()}

    def matches() -> dict | None:
        got = _latest_kpis(s)
        subset = {key: {k: got.get(key, {}).get(k) for k in want} for key, want in wanted.items()}
        return got if subset == wanted else None

    try:
        got = wait_for(matches, timeout_s=120, interval_s=1, what="KPI rows equal to the reference")
    except TimeoutError:
        got = _latest_kpis(s)
        assert {key: {k: got.get(key, {}).get(k) for k in want} for key, want in wanted.items()} == wanted
    for kind, at in PERIODS.items():
        row = got[f"{COMMUNE}|{kind}|{at}"]
        assert (row["commune_code"], row["period"], row["period_key"]) == (COMMUNE, kind.upper(),
                                                                          f"{COMMUNE}|{kind}|{at}")


def _dataset(n_dossiers: int) -> list[dict]:
    """A larger, generated dataset over several communes (the statuses of DOSSIER_EVENTS, shifted)."""
    communes = ["23722", "23728", "23734", "23749", "23767"]
    out = []
    for i in range(n_dossiers):
        commune = communes[i % len(communes)]
        shift = (i % 40) * 86_400_000
        for rec in DOSSIER_EVENTS[i % 7 * 3:i % 7 * 3 + 3]:
            copy = {**rec, "commune_code": commune, "dossier_code": f"G{i}-{rec['dossier_code']}",
                    "source_event_id": f"{i}-{rec['source_event_id']}", "trace_id": f"{i}-{rec['trace_id']}"}
            for k in ("received_at", "due_at", "finished_at", "returned_at", "event_time", "ingest_time"):
                if copy.get(k) is not None:
                    copy[k] += shift
            out.append(copy)
    return out


def _final_values(s) -> dict[str, dict]:
    return {k: {f: v for f, v in row.items() if f not in _VOLATILE} for k, row in _latest_kpis(s).items()}


def _run(s, hub_process, events: list[dict], kill: bool) -> dict[str, dict]:
    """The final KPI rows of one run over ``events``, with or without a SIGKILL half-way."""
    systems.add(s, ONESTOP, ["23722", "23728", "23734", "23749", "23767"], ["dossier"])
    _publish(s, events)
    feed = s.topic(topics.FEED_DOSSIER)
    worker = hub_process(["worker"], dataclasses.replace(s, worker_id="w1"), name=f"first-{kill}")
    if kill:
        wait_for(lambda: (n := len(read_topic(s, feed, timeout_s=5))) >= 800 and n, timeout_s=120,
                 what="the worker half-way")
        worker.kill()
        hub_process(["worker"], dataclasses.replace(s, worker_id="w1"), name="restarted")
    wait_for(lambda: group_lag(s, feed, s.group("kpi")) == 0 and group_lag(s, s.topic(topics.INGEST_DOSSIER)) == 0,
             timeout_s=240, interval_s=1, what="ingest and feed consumed")
    # Every commune's mark is deleted in the transaction that writes its rows: no mark left = all written.
    wait_for(lambda: not _pending_marks(s), timeout_s=240, interval_s=1, what="every KPI mark worked off")
    previous: dict = {}

    def stable() -> dict | None:  # the current periods' refresh runs on the timer too
        nonlocal previous
        now = _final_values(s)
        same = now and now == previous
        previous = now
        return now if same else None

    return wait_for(stable, timeout_s=120, interval_s=s.analytics_timer_s * 2 + 1, what="stable KPIs")


def _pending_marks(s) -> set[bytes]:
    """Communes whose KPI mark is still on the pending store's changelog (latest record not a tombstone)."""
    latest: dict[bytes, bytes | None] = {}
    for r in read_topic(s, topics.changelog(s, "kpi", "pending", s.topic(topics.FEED_DOSSIER)), timeout_s=20):
        latest[r.key] = r.value
    return {k for k, v in latest.items() if v is not None and not k.startswith(b"\x00")}


def test_a_worker_killed_mid_stream_ends_with_the_numbers_of_an_uninterrupted_run(make_settings, hub_process):
    """SIGKILL during the stream and a restart give exactly the KPI rows an uninterrupted worker gives."""
    events = _dataset(1500)
    options = dict(clock=_iso(NOW), worker_session_timeout_s=6, worker_transaction_timeout_ms=5000)
    uninterrupted = _run(make_settings(**options), hub_process, events, kill=False)
    restarted = _run(make_settings(**options), hub_process, events, kill=True)
    assert len(uninterrupted) > 100
    assert restarted == uninterrupted

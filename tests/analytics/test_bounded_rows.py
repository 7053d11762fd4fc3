"""Derived rows stay small whatever the state holds (hub issue 21, item 1, output side).

A deployment may hold 450 KB trace ids (and other oversized strings) in committed state from before
ingest validated them. Every KPI, directive, target and freshness row built from such a state has
its trace ids dropped and its identifiers cut; and the KPI processor, fed three such records on a
real broker, still writes its rows instead of failing the same transaction forever.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import orjson
import pytest
from confluent_kafka import Producer

from hub import systems
from hub.analytics import directives, dossier, freshness, kpi, targets
from hub.analytics import periods as pr
from hub.analytics.config import AnalyticsConfig
from hub.contract import codec, topics
from hub.normalize.fields import VIETNAM
from hub.settings import Settings
from hub.testing import read_topic, wait_for
from tests.analytics import target_datasets as td
from tests.analytics.datasets import (
    COMMUNE,
    DIRECTIVE_EVENTS,
    DIRECTIVE_NOW,
    DOSSIER_EVENTS,
    NOW,
    ONESTOP,
    PERIODS,
    feed_record,
)
from tests.analytics.test_directives import fold as fold_directives
from tests.analytics.test_kpi import fold as fold_dossiers

HUGE = "T" * 450_000  # a trace id as an old deployment may have let through
CFG = AnalyticsConfig.from_settings(Settings.from_env(env={}))
TARGET_CFG = targets.TargetConfig.from_settings(Settings.from_env(env={}))
SCHEMAS = codec.load(Settings.from_env(env={}).schemas_dir)
SMALL = 20_000  # bytes: a row is a few hundred bytes of numbers plus bounded strings


def _encoded(subject: str, record: dict) -> bytes:
    return codec.encode(SCHEMAS.latest(subject), record)


# --- pure: rows from states that already hold oversized strings ---------------------------------
@pytest.mark.parametrize("kind", ["day", "month", "quarter"])
def test_kpi_row_of_a_state_holding_huge_trace_ids_names_only_bounded_ones(kind):
    """Each dossier's newest trace is a 450 KB one (state written before validation): the row drops them
    and still names well-formed traces of the dataset; the encoded row is small."""
    states = fold_dossiers(DOSSIER_EVENTS)
    for s in states.values():  # one huge trace per dossier, newest of all, before the evaluation instant
        s["tr"] = sorted(s["tr"] + [[s["tr"][-1][0] + 1, HUGE + s["d"]]])
    row = kpi.compute(states.values(), COMMUNE, pr.parse(kind, PERIODS[kind]), NOW)
    assert row["trace_ids"] and all(len(t) <= 64 for t in row["trace_ids"])
    assert all(t.startswith("tr-") for t in row["trace_ids"])  # the dataset's own ids: "tr-<dossier>-<n>"
    data = _encoded(topics.FEED_KPI + "-value", kpi.to_avro(row, "52"))
    assert len(data) < SMALL


def test_dossier_state_keeps_no_huge_trace_and_cuts_a_huge_handler():
    """merge(): a 450 KB trace id is not kept; a 450 KB handler pseudonym is cut to 128 characters."""
    rec = {**DOSSIER_EVENTS[0], "trace_id": HUGE, "handler_pseudonym": "H" * 450_000}
    state = dossier.merge(None, rec)
    assert state["tr"] == [] and len(state["hd"][0][1]) == 128
    assert len(orjson.dumps(state)) < 2_000


def test_directive_row_of_a_state_holding_huge_strings_is_bounded():
    """Trace ids over 64 characters are dropped, notations, organ and document ids cut at 128."""
    states = fold_directives(DIRECTIVE_EVENTS)
    state = copy.deepcopy(next(s for s in states.values() if s["d"] is not None))
    state["tr"] = [state["tr"][0], HUGE]
    state["d"] = {**state["d"], "trace": HUGE, "code": "N" * 450_000, "issuer": "O" * 450_000}
    state["reply"] = [DIRECTIVE_NOW - 1, "R" * 450_000, HUGE]
    row = directives.row(state, DIRECTIVE_NOW, CFG)
    assert row["trace_id"] is None
    assert len(row["code_notation"]) == 128 and len(row["issuer_organ_id"]) == 128
    assert len(row["reply_document_id"]) == 128
    assert len(_encoded(topics.FEED_DIRECTIVE + "-value", directives.to_avro(row))) < SMALL


def test_directive_merge_of_a_huge_trace_keeps_the_state_small():
    """A record with a 450 KB trace id and document id: the state holds neither in full."""
    states = fold_directives(DIRECTIVE_EVENTS)
    k, state = next((k, s) for k, s in states.items() if s["d"] is not None)
    rec = next(e for e in DIRECTIVE_EVENTS if directives.route(e, CFG) and e.get("message_type") == "DOCUMENT")
    new = directives.merge(state, {**rec, "trace_id": HUGE, "event_time": rec["event_time"] + 1,
                                   "event_id": "E" * 450_000, "code_notation": "N" * 450_000}, k)
    assert len(orjson.dumps(new)) < 5_000
    assert new["d"]["trace"] == "" and len(new["d"]["code"]) == 128


def test_target_row_of_a_state_holding_huge_strings_is_bounded():
    """Trace ids over 64 characters are dropped, document numbers cut at 128, indicator names at 512."""
    states: dict[str, dict] = {}
    for e in td.EVENTS:
        states[targets.key(e)] = targets.merge(states.get(targets.key(e)), e)
    state = copy.deepcopy(next(s for s in states.values() if s["a"] is not None))
    state["a"] = {**state["a"], "tr": HUGE, "d": "D" * 450_000, "n": "N" * 450_000}
    row = targets.row(state, td.TODAY["T2"], TARGET_CFG)
    assert all(len(t) <= 64 for t in row["trace_ids"]) and HUGE not in row["trace_ids"]
    assert len(row["document_number"]) == 128 and len(row["indicator_name"]) == 512
    assert len(_encoded(topics.FEED_TARGET_PROGRESS + "-value", targets.to_avro(row))) < SMALL


def test_freshness_state_and_row_are_bounded():
    """A 450 KB source system name is cut at 128 characters; a commune keeps at most 256 (system, kind)
    entries, so 300 distinct names leave 256."""
    state = freshness.merge(None, {**feed_record(COMMUNE, "s" * 450_000, "2025-11-20 07:50", "2025-11-20 08:00")},
                            "dossier")
    (name,) = state["s"]
    assert len(name) == 128 + len("|dossier")
    for i in range(300):
        state = freshness.merge(state, feed_record(COMMUNE, f"sys-{i}", "2025-11-20 07:50", "2025-11-20 08:00"),
                                "dossier")
    assert len(state["s"]) == 256
    legacy = {**state, "s": {f"{'x' * 450_000}|dossier": [1, 1, None]}}  # written before the bound
    row = freshness.row(legacy, NOW, CFG)
    assert len(row["systems"][0]["source_system"]) == 128


# --- on a real broker: the KPI processor is not stuck by 450 KB trace ids -----------------------
@pytest.mark.integration
def test_kpi_processor_writes_small_rows_for_records_with_450kb_trace_ids(make_settings, hub_process):
    """Three dossier events with three distinct 450 KB trace ids, produced straight to feed.dossier.v1
    (valid Avro): the KPI rows of their day, month and quarter are written, each small and naming
    only bounded trace ids. Without the bound the row would carry 1.35 MB of trace ids, more than a
    Kafka record may be, and the KPI processor would abort the same transaction forever."""
    s = make_settings(clock=pr_iso(NOW), worker_processors="kpi")
    systems.add(s, ONESTOP, [COMMUNE], ["dossier"])
    writer = SCHEMAS.latest(topics.FEED_DOSSIER + "-value")
    d1 = [e for e in DOSSIER_EVENTS if e["dossier_code"] == "D1"][:3]
    assert len(d1) == 3
    producer = Producer({"bootstrap.servers": s.kafka_bootstrap, "message.max.bytes": 2_000_000})
    for i, e in enumerate(d1):
        rec = {**e, "trace_id": f"{i}{HUGE}"}
        producer.produce(s.topic(topics.FEED_DOSSIER), key=COMMUNE.encode(), value=codec.encode(writer, rec))
    assert producer.flush(30) == 0
    hub_process(["worker"], s)
    day_key = f"{COMMUNE}|day|{pr_day(d1[-1]['event_time'])}"

    def rows() -> dict | None:
        got = {r.key.decode(): r for r in read_topic(s, s.topic(topics.FEED_KPI), timeout_s=30)}
        return got if day_key in got and f"{COMMUNE}|month|2025-11" in got else None

    got = wait_for(rows, timeout_s=120, interval_s=1, what="KPI rows of the dossier's periods")
    for r in got.values():
        assert len(r.value) < SMALL and sum(len(v) for v in r.headers.values()) < 1_000
        row = codec.decode_plain(SCHEMAS, r.value)
        assert all(len(t) <= 64 for t in row["trace_ids"])


def pr_iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def pr_day(ms: int) -> str:
    """The Vietnam calendar day of ``ms`` as YYYY-MM-DD (the day period's key)."""
    return datetime.fromtimestamp(ms / 1000, VIETNAM).strftime("%Y-%m-%d")

"""A hostile publisher writing raw records straight to ingest.dossier (no SDK): every bad header, code or
partition is one dead letter naming the header or field and the rule; the next good record still reaches
the feed, once, though it was written to two partitions."""

from __future__ import annotations

import re

import orjson
import pytest
from confluent_kafka import Producer

from hub import systems
from hub.contract import headers as h
from hub.contract import signatures, topics
from hub.testing import group_lag, read_topic, wait_for
from tests.pipeline import payloads

pytestmark = pytest.mark.integration

SYSTEM, COMMUNE = "onestop-ialy", "23734"
# murmur2("23734") of Java's Utils.murmur2, made positive, mod 3 partitions (make_settings: partitions=3)
HOME = 2
# A key that murmur2 puts in partition 2 too, but that is neither the commune nor the system.
STRANGER = b"k"


def _payload(i: int, **changes) -> bytes:
    return orjson.dumps({**payloads.dossier(i), "MaXa": COMMUNE, **changes})


def _headers(key: str, payload: bytes, *, sign: bool = True, **values: str) -> list[tuple[str, bytes]]:
    hdrs = {h.SOURCE: SYSTEM, h.FORMAT: "dvcqg-json", h.COMMUNE: COMMUNE, **values}
    if sign:  # correctly signed (v2) by the system itself: a signature does not excuse a bad header
        hdrs[h.SIGNATURE] = signatures.sign(signatures.key_of(key), "dossier", hdrs, payload)
    return [(k, v.encode()) for k, v in hdrs.items()]


def test_hostile_raw_records_are_dead_lettered_by_rule_and_the_next_record_is_published_once(make_settings,
                                                                                              hub_process):
    s = make_settings(worker_processors="normalize")
    key = systems.add(s, SYSTEM, [COMMUNE], ["dossier"])
    topic = s.topic(topics.INGEST_DOSSIER)
    producer = Producer({"bootstrap.servers": s.kafka_bootstrap, "partitioner": "murmur2_random",
                         "compression.type": "zstd", "message.max.bytes": 4_000_000, "log_level": 3})
    good = _payload(1)
    huge_trace = "T" * 450_000
    cases: list[tuple[str, dict]] = [
        # (expected reason, field), produce() kwargs
        ("bad_header/hub.trace_id", dict(value=_payload(2), headers=_headers(
            key, _payload(2), **{h.SOURCE_EVENT_ID: "e-2", h.TRACE_ID: huge_trace}))),
        ("bad_header/hub.source_event_id", dict(value=_payload(3), headers=_headers(
            key, _payload(3), **{h.SOURCE_EVENT_ID: "Nguyen Van A 064182006655"}))),
        ("bad_header/hub.is_admin", dict(value=_payload(4), headers=_headers(
            key, _payload(4), **{h.SOURCE_EVENT_ID: "e-4"}) + [("hub.is_admin", b"1")])),
        ("bad_header/hub.source", dict(value=_payload(5), headers=_headers(
            key, _payload(5), **{h.SOURCE_EVENT_ID: "e-5"}) + [(h.SOURCE, b"docs-province")])),
        ("bad_header/hub.commune", dict(value=_payload(6), headers=_headers(
            key, _payload(6), sign=False, **{h.COMMUNE: "23734 Nguyen Van A", h.SOURCE_EVENT_ID: "e-6"}))),
        ("bad_header/headers", dict(value=_payload(7), headers=_headers(
            key, _payload(7), **{h.SOURCE_EVENT_ID: "e-7"}) + [(f"x-{i}", b"v") for i in range(40)])),
        ("invalid_value/dossier_code", dict(value=_payload(8, MaHoSo="X" * 100_000), headers=_headers(
            key, _payload(8, MaHoSo="X" * 100_000), **{h.SOURCE_EVENT_ID: "e-8"}))),
        ("invalid_value/procedure_code", dict(value=_payload(9, MaTTHC="Nguyễn Văn An"), headers=_headers(
            key, _payload(9, MaTTHC="Nguyễn Văn An"), **{h.SOURCE_EVENT_ID: "e-9"}))),
        ("wrong_partition/None", dict(value=_payload(10), key=None, headers=_headers(
            key, _payload(10), **{h.SOURCE_EVENT_ID: "e-10"}))),
        ("wrong_partition/None", dict(value=_payload(11), key=STRANGER, headers=_headers(
            key, _payload(11), **{h.SOURCE_EVENT_ID: "e-11"}))),
        # The good record's copy on a second partition: it would meet another dedupe state.
        ("wrong_partition/None", dict(value=good, partition=0, headers=_headers(
            key, good, **{h.SOURCE_EVENT_ID: "e-1", h.TRACE_ID: "copy-1"}))),
    ]
    where: dict[tuple[int, int], str] = {}
    for expect, kw in cases:
        kw.setdefault("key", COMMUNE.encode())
        producer.produce(topic, on_delivery=lambda err, msg, expect=expect: where.__setitem__(
            (msg.partition(), msg.offset()), expect) if err is None else None, **kw)
    producer.flush(30)
    assert len(where) == len(cases)
    worker = hub_process(["worker"], s)
    dead = read_topic(s, s.topic(topics.DLQ), expect=len(cases), timeout_s=120)
    producer.produce(topic, key=COMMUNE.encode(), value=good,
                     headers=_headers(key, good, **{h.SOURCE_EVENT_ID: "e-1", h.TRACE_ID: "good-1"}))
    producer.flush(30)

    by_coords = {(int(r.headers[h.ERR_PARTITION]), int(r.headers[h.ERR_OFFSET])): r for r in dead}
    assert set(by_coords) == set(where)  # one dead letter per hostile record, none for anything else
    for coords, expect in where.items():
        reason, field = expect.split("/")
        letter = by_coords[coords]
        message = letter.headers[h.ERR_MESSAGE]
        assert letter.headers[h.ERR_REASON] == reason, (expect, message)
        if field != "None":
            assert field in message, (expect, message)
        assert "Nguyen" not in message and "TTTT" not in message and "XXXX" not in message  # the rule, not the value
    assert any(r.value == _payload(2) for r in dead)  # the original bytes, for a replay after a fix

    feed = read_topic(s, s.topic(topics.FEED_DOSSIER), expect=1, timeout_s=120)
    assert len(feed) == 1 and feed[0].headers[h.TRACE_ID] == "good-1"
    wait_for(lambda: group_lag(s, topic) == 0, timeout_s=60, what="ingest consumed: no stall")

    lines = [orjson.loads(ln) for ln in worker.output().splitlines() if ln.startswith("{")]
    traced = [ln for ln in lines if ln.get("event") == "event_rejected" and ln.get("field") == h.TRACE_ID]
    assert traced and re.fullmatch(r"[0-9a-f]{32}", traced[0]["trace_id"])  # a fresh one, not the attacker's
    assert max(len(ln) for ln in worker.output().splitlines()) < 20_000

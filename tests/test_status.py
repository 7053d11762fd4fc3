"""`hub status`: pure lag/freshness/rendering, a populated topic set, and an unreachable broker."""

from __future__ import annotations

import time

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from hub import headers as h
from hub import status, systems, topics
from hub.errors import Rejected
from hub.pipeline.process import Source, dlq_headers
from hub.settings import Settings

HOUR_MS = 3600 * 1000


# --- pure parts ---------------------------------------------------------------------------------
def test_lag_uses_committed_offsets_or_the_beginning():
    """Lag is end minus committed; a partition never committed counts from its first retained offset."""
    out = status.lag(ends={0: 10, 1: 5, 2: 0}, begins={0: 0, 1: 2, 2: 0}, committed={0: 7})
    assert out["lag"] == 3 + 3
    assert out["partitions"][0] == {"end": 10, "committed": 7, "lag": 3}
    assert out["partitions"][1] == {"end": 5, "committed": None, "lag": 3}
    assert out["committed"] is True
    assert status.lag({0: 4}, {0: 0}, {0: -1})["committed"] is False


def test_province_glance_names_the_five_worst_communes():
    """The glance lists the 5 lowest timeliness rates of the month, lowest first, the overdue directive and who
    has not accepted it, and the silent systems (rows built from the reference datasets)."""
    from hub import codec
    from hub.gateway.read_model import FeedSnapshot, apply
    from tests.gateway.test_read_model import SCHEMAS, _freshness, _kpi, _reach

    key, value = _kpi("month", "2025-11")
    row = codec.decode_plain(SCHEMAS, value)
    writer = SCHEMAS.latest(topics.FEED_KPI + "-value")
    rates = {"23722": (9, 10), "23728": (1, 4), "23734": (6, 11), "23749": (3, 3), "23767": (2, 5),
             "23701": (0, 2), "21553": (7, 8)}
    kpis = {}
    for code, (on_time, in_scope) in rates.items():
        rec = {**row, "commune_code": code, "period_key": f"{code}|month|2025-11", "dossiers_on_time": on_time,
               "dossiers_in_scope": in_scope, "timeliness_rate": on_time / in_scope}
        kpis[rec["period_key"]] = codec.encode(writer, rec)
    snap = apply(FeedSnapshot(SCHEMAS), {"kpi": kpis, "directive": _reach(), "freshness": _freshness()})
    g = status.glance(snap, "52", "2025-11")
    assert [(w["code"], w["on_time"], w["in_scope"]) for w in g["worst"]] == [
        ("23701", 0, 2), ("23728", 1, 4), ("23767", 2, 5), ("23734", 6, 11), ("21553", 7, 8)]
    assert g["communes_rated"] == 7
    [directive] = g["overdue_directives"]
    assert (directive["code_notation"], directive["overdue"], directive["not_accepted"]) == (
        "456/CT-UBND", ["23749", "23767"], ["23767"])
    assert [(s["code"], s["source_system"]) for s in g["silent_systems"]] == [
        ("23728", "onestop-iakhuol"), ("23734", "onestop-ialy")]
    text = status.render({"bootstrap": "b", "brokers": 1, "topics": {}, "group": {"group": "g", "topics": {}},
                          "systems": {"active": 0, "revoked": 0}, "dlq": {"error": "x"},
                          "freshness": {"error": "y"}, "province_glance": g})
    assert "worst timeliness (7 communes rated): 23701 " in text and "not accepted: 23767" in text
    assert "23728 Xã Ia Khươl: onestop-iakhuol (dossier)" in text


def test_track_and_freshness_flag_silent_communes():
    """The last record per commune wins; stale and unseen province communes are silent, registered first."""
    now = 1_800_000_000_000
    acc: dict = {}
    status.track(acc, b"23734", now - HOUR_MS, "onestop-ialy")
    status.track(acc, b"23734", now - 5 * HOUR_MS, "vanban-ialy")
    status.track(acc, b"23728", now - 30 * HOUR_MS, "onestop-iakhuol")
    status.track(acc, None, now, "ignored")
    assert acc["23734"]["last_ms"] == now - HOUR_MS and acc["23734"]["sources"] == {"onestop-ialy", "vanban-ialy"}
    f = status.freshness(acc, "52", now, 24, registered=frozenset({"23728", "23749"}))
    assert f["communes"]["23734"]["silent"] is False and f["communes"]["23728"]["silent"] is True
    assert f["communes"]["23734"]["name"] == "Xã Ia Ly"
    codes = [c["code"] for c in f["silent"]]
    assert codes[:2] == ["23728", "23749"] and "23734" not in codes
    assert len(codes) == f["province_communes"] - 1 == 134
    assert f["silent"][0]["last"].endswith("Z") and f["silent"][1]["last"] is None


def _report() -> dict:
    now = int(time.time() * 1000)
    fresh = status.freshness({"23734": {"last_ms": now, "sources": {"onestop-ialy"}}}, "52", now, 24,
                             frozenset({"23734", "23728"}))
    return {"bootstrap": "127.0.0.1:9092", "reachable": True, "brokers": 1, "province": "52", "tail": 1000,
            "topics": {"p.ingest.dossier": {"exists": True, "partitions": 3, "end_offsets": {0: 4, 1: 0, 2: 1},
                                            "messages": 5},
                       "p.feed.kpi.commune.v1": {"exists": False}},
            "group": {"group": "p.hub", "topics": {"p.ingest.dossier": status.lag({0: 4}, {0: 0}, {0: 1})}},
            "systems": {"active": 2, "revoked": 1, "communes": ["23728", "23734"]},
            "dlq": {"total": 3, "pending": 1, "by_reason": {"missing_field": {"total": 3, "pending": 1}},
                    "by_source": {}},
            "freshness": fresh}


def test_render_is_one_screen_with_every_section():
    """The text report names the broker, topics, lag, systems, dead letters and silent communes."""
    text = status.render(_report())
    assert text.startswith("broker      127.0.0.1:9092: reachable (1 broker(s))")
    assert any(line.split() == ["p.ingest.dossier", "3", "5", "4,0,1"] for line in text.splitlines())
    assert "missing (run `hub topics create`)" in text
    assert "p.ingest.dossier: lag 3" in text and "2 active, 1 revoked" in text
    assert "dead letters 3 (1 pending replay)" in text and "missing_field: 3 (1 pending)" in text
    assert "silent: 134 of 135 communes of province 52 (1 covered by a registered system)" in text
    assert "23728 Xã Ia Khươl*" in text and "… and 122 more" in text
    assert len(text.splitlines()) < 40


def test_render_reports_section_errors():
    """A failing section is shown as an error line instead of aborting the report."""
    r = _report()
    r["group"] = {"group": "p.hub", "error": "CoordinatorNotAvailable"}
    r["systems"] = {"error": "registry unreadable"}
    r["dlq"] = {"error": "topic p.hub.dlq.v1 does not exist"}
    r["freshness"] = {"error": "no progress"}
    text = status.render(r)
    for msg in ("error: CoordinatorNotAvailable", "error: registry unreadable", "does not exist",
                "freshness   error: no progress"):
        assert msg in text


# --- on a real broker -------------------------------------------------------------------------------
def _populate(s: Settings) -> None:
    systems.add(s, "onestop-ialy", ["23734"], ["dossier"])
    systems.add(s, "vanban-iakhuol", ["23728"], ["document"])
    systems.revoke(s, "vanban-iakhuol")
    now = int(time.time() * 1000)
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    try:
        for _ in range(5):
            producer.send(s.topic(topics.INGEST_DOSSIER), key=b"23734", value=b"{}", partition=0)
        src = [(h.SOURCE, b"onestop-ialy")]
        producer.send(s.topic(topics.FEED_DOSSIER), key=b"23734", value=b"x", headers=src, timestamp_ms=now)
        producer.send(s.topic(topics.FEED_DOCUMENT), key=b"23728", value=b"x",
                      headers=[(h.SOURCE, b"vanban-iakhuol")], timestamp_ms=now - 72 * HOUR_MS)
        for i in range(2):
            hdrs = dlq_headers(h.from_dict({h.SOURCE: "onestop-ialy"}), Rejected("missing_field", "no MaHoSo"),
                               None, Source(s.topic(topics.INGEST_DOSSIER), 0, i, now))
            producer.send(s.topic(topics.DLQ), key=b"23734", value=b"{}", headers=hdrs)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)
    # The worker group has processed 2 of the 5 ingest records.
    consumer = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap, group_id=s.group("normalize"),
                             enable_auto_commit=False)
    try:
        tp = TopicPartition(s.topic(topics.INGEST_DOSSIER), 0)
        consumer.assign([tp])
        consumer.commit({tp: OffsetAndMetadata(2, "", -1)})
    finally:
        consumer.close()


def test_status_on_a_populated_topic_set(make_settings, cli):
    """Counts, lag, systems, dead letters and freshness reflect what was written to the topics."""
    s = make_settings()
    _populate(s)
    rc, out, _ = cli(s, "status", "--json", "--silent-after", "24")
    assert rc == 0
    r = orjson.loads(out)
    assert r["reachable"] is True and r["bootstrap"] == s.kafka_bootstrap and r["brokers"] == 1
    t = r["topics"]
    assert t[s.topic(topics.INGEST_DOSSIER)]["messages"] == 5 and t[s.topic(topics.INGEST_DOSSIER)]["partitions"] == 3
    assert t[s.topic(topics.FEED_DOSSIER)]["messages"] == 1 and t[s.topic(topics.DLQ)]["messages"] == 2
    assert t[s.topic(topics.SYSTEMS)]["partitions"] == 1
    lag = r["group"]["topics"]
    assert r["group"]["group"] == s.group("normalize")
    assert lag[s.topic(topics.INGEST_DOSSIER)]["lag"] == 3 and lag[s.topic(topics.INGEST_DOSSIER)]["committed"]
    assert lag[s.topic(topics.INGEST_DOCUMENT)]["lag"] == 0
    assert (r["systems"]["active"], r["systems"]["revoked"]) == (1, 1)
    assert r["dlq"]["by_reason"] == {"missing_field": {"total": 2, "pending": 2}}
    fresh = r["freshness"]["communes"]
    assert fresh["23734"]["silent"] is False and fresh["23734"]["sources"] == ["onestop-ialy"]
    assert fresh["23728"]["silent"] is True
    silent = {c["code"] for c in r["freshness"]["silent"]}
    assert "23728" in silent and "23734" not in silent

    rc, out, err = cli(s, "status")
    assert rc == 0 and "reachable" in out and "lag 3" in out and "1 active, 1 revoked" in out
    assert "SILENT" in out and "Traceback" not in err


def test_status_with_unreachable_broker_fails_with_one_line(make_settings, cli):
    """An unreachable bootstrap exits 1 within the timeout with one clear line and no traceback."""
    s = make_settings(create_topics=False, kafka_bootstrap="127.0.0.1:1")
    started = time.monotonic()
    rc, out, err = cli(s, "status", "--timeout", "2")
    assert rc == 1 and out == ""
    assert time.monotonic() - started < 20
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hub status: Kafka at 127.0.0.1:1 is not reachable")
    assert "Traceback" not in err
    rc, out, _ = cli(s, "status", "--json", "--timeout", "2")
    assert rc == 1 and orjson.loads(out) == {"bootstrap": "127.0.0.1:1", "reachable": False,
                                             "error": orjson.loads(out)["error"]}

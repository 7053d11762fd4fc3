"""`hub trace`: steps from records and log lines, their merge and order, and the bounded Kafka read."""

from __future__ import annotations

import time

import orjson
from kafka import KafkaProducer

from hub.admin import trace
from hub.cli.trace import parse_since
from hub.contract import codec, topics
from hub.contract import headers as h
from hub.errors import ConfigError, Rejected
from hub.kafka import read as kafka_read
from hub.normalize import Context
from hub.processors.process import Source, dlq_headers, process
from hub.settings import Settings

T = "4bf92f3577b34da6a3ce929d0e0e4736"
INGEST = ("p.ingest.dossier", 2, 15)
FEED = ("p.feed.dossier.v1", 1, 7)


def _line(event: str, **kw) -> dict:
    return {"event": event, "level": "info", "timestamp": kw.pop("timestamp", "2025-11-20T01:00:00.000000Z"),
            "trace_id": T, **kw}


# --- steps from Kafka records -------------------------------------------------------------------
def test_feed_records_name_the_ingest_record_they_were_made_from():
    """process() puts hub.origin = <topic>:<partition>:<offset> of the raw record on every feed record."""
    s = Settings.from_env(env={}, dev_mode=True)
    body = orjson.dumps({"MaHoSo": "G52-1", "TrangThaiHoSo": "2", "NgayTiepNhan": "20251120080000", "MaXa": "23734"})
    received = 1_764_000_000_000  # 2025-11-24T16:00:00Z: after the dossier's own time (none comes from the future)
    out = process("dossier", body, {h.SOURCE: "onestop-ialy", h.TRACE_ID: T, h.FORMAT: "dvcqg-json"},
                  Source(*INGEST, received), Context.from_settings(s), codec.load(s.schemas_dir))
    assert out.rejected is None and len(out.records) == 1
    headers = h.to_dict(out.records[0].headers)
    assert headers[h.ORIGIN] == "p.ingest.dossier:2:15" and headers[h.TRACE_ID] == T
    assert trace.parse_origin(headers[h.ORIGIN]) == INGEST
    assert trace.parse_origin("garbage") is None and trace.parse_origin(None) is None


def test_dead_letters_carry_the_trace_the_worker_gave_a_record_without_one():
    """A record that arrived without hub.trace_id gets the worker's trace on its dead letter; one that had a
    trace keeps it (never two trace headers)."""
    rej = Rejected("missing_field", "MaHoSo is required")
    minted = h.to_dict(dlq_headers([(h.SOURCE, b"x")], rej, None, Source(*INGEST, 0), "minted"))
    assert minted[h.TRACE_ID] == "minted" and minted[h.ERR_REASON] == "missing_field"
    kept = dlq_headers([(h.TRACE_ID, T.encode())], rej, None, Source(*INGEST, 0), "other")
    assert [v for k, v in kept if k == h.TRACE_ID] == [T.encode()]


def test_kafka_records_become_steps_with_their_coordinates():
    """Ingest, feed, DLQ and marker records map to received/replayed, published, rejected and replayed steps."""
    got = trace.received(*INGEST, 1000, b"23734", {h.SOURCE: "onestop-ialy", h.SOURCE_EVENT_ID: "ev-1"}, "dossier")
    assert (got.stage, got.at, got.detail["source_system"], got.detail["source_event_id"]) == \
        ("received", INGEST, "onestop-ialy", "ev-1")
    copy = trace.received("p.ingest.dossier", 0, 3, 2000, None, {h.REPLAYED: "1"}, "dossier")
    assert copy.stage == "replayed" and copy.detail["replay_count"] == 1
    pub = trace.published(*FEED, 1100, b"23734", {h.EVENT_ID: "e1", h.ORIGIN: "p.ingest.dossier:2:15"}, "dossier")
    assert (pub.at, pub.origin, pub.detail["event_id"], pub.detail["commune_code"]) == (FEED, INGEST, "e1", "23734")
    dead = trace.rejected("p.hub.dlq.v1", 0, 4, 1200, h.to_dict(dlq_headers(
        [(h.SOURCE, b"onestop-ialy")], Rejected("bad_date", "NgayTiepNhan is not a date"), None, Source(*INGEST, 0))))
    assert (dead.at, dead.origin, dead.detail["reason"]) == (("p.hub.dlq.v1", 0, 4), INGEST, "bad_date")
    marker = {"count": 1, "topic": "p.ingest.dossier", "partition": 0, "offset": 3, "replayed_at": 1500}
    rep = trace.replayed("p.hub.dlq.v1", 0, 4, marker)
    assert (rep.at, rep.origin, rep.at_ms) == (("p.ingest.dossier", 0, 3), ("p.hub.dlq.v1", 0, 4), 1500)
    assert trace.replayed("p.hub.dlq.v1", 0, 4, {"count": 1}) is None
    assert trace.names_trace({"trace_ids": ["x", T]}, T) and trace.names_trace({"trace_id": T}, T)
    assert not trace.names_trace({"trace_ids": None, "trace_id": "y"}, T)


def test_consumed_records_without_output_are_duplicates_else_pending():
    """An ingest record without feed record or dead letter is a duplicate once the group committed past it."""
    a = trace.received("p.ingest.dossier", 0, 5, 1, None, {}, "dossier")
    b = trace.received("p.ingest.dossier", 1, 9, 1, None, {}, "dossier")
    c = trace.received("p.ingest.dossier", 1, 2, 1, None, {}, "dossier")
    out = trace.unanswered([a, b, c], {c.at}, {("p.ingest.dossier", 0): 6, ("p.ingest.dossier", 1): 9})
    assert [(st.stage, st.origin) for st in out] == [("duplicate", a.at), ("pending", b.at)]


# --- steps from log lines -----------------------------------------------------------------------
def test_log_lines_of_the_trace_become_steps():
    """Only JSON lines with this trace id count; events map to stages and keep their coordinates."""
    texts = ["not json " + T, orjson.dumps(_line("worker_stats")).decode(),
             orjson.dumps({**_line("x"), "trace_id": "other"}).decode() + T,
             orjson.dumps(_line("gateway_accepted", topic=INGEST[0], partition=2, offset=15)).decode()]
    lines = trace.log_lines(texts, T)
    assert [ln["event"] for ln in lines] == ["worker_stats", "gateway_accepted"]
    steps = [trace.from_log(ln) for ln in lines]
    assert (steps[0].stage, steps[0].detail["log_event"]) == ("log", "worker_stats")
    assert (steps[1].stage, steps[1].at, steps[1].detail["via"]) == ("received", INGEST, "gateway")
    rejected = trace.from_log(_line("event_rejected", reason="bad_date", topic=INGEST[0], partition=2, offset=15))
    assert (rejected.stage, rejected.at, rejected.origin) == ("rejected", None, INGEST)
    replay = trace.from_log(_line("dlq_replayed", topic="p.ingest.dossier", partition=0, offset=3, dlq_partition=0,
                                  dlq_offset=4))
    assert (replay.stage, replay.at, replay.origin) == ("replayed", ("p.ingest.dossier", 0, 3), ("dlq", 0, 4))
    assert trace.from_log(_line("gateway_unavailable")) is None  # gateway_rejected says it
    assert trace.parse_time("2025-11-20T01:00:00.250000Z") == 1763600400250 and trace.parse_time(3) is None


# --- the path -------------------------------------------------------------------------------------
def _flow() -> tuple[list[trace.Step], list[trace.Step]]:
    """A rejected event replayed and published: Kafka's view and the logs' view of the same facts."""
    dlq = ("p.hub.dlq.v1", 0, 4)
    copy = ("p.ingest.dossier", 0, 3)
    t0 = 1763600400000  # 2025-11-20T01:00:00Z, the logs' clock
    kafka = [trace.received(*INGEST, t0 + 1000, b"23728", {h.SOURCE: "s"}, "dossier"),
             trace.rejected(*dlq, t0 + 2100, {h.ERR_TOPIC: INGEST[0], h.ERR_PARTITION: "2", h.ERR_OFFSET: "15",
                                              h.ERR_REASON: "commune_not_in_scope", h.ERR_TIME: str(t0 + 2100)}),
             trace.replayed("p.hub.dlq.v1", 0, 4, {"count": 1, "topic": copy[0], "partition": 0, "offset": 3,
                                                   "replayed_at": t0 + 7000}),
             trace.received(*copy, t0 + 4990, None, {h.REPLAYED: "1"}, "dossier"),
             trace.published(*FEED, t0 + 5050, b"23728", {h.EVENT_ID: "e1", h.ORIGIN: "p.ingest.dossier:0:3"},
                             "dossier")]
    ts = "2025-11-20T01:00:0{}.000000Z"
    logs = [trace.from_log(ln) for ln in (
        _line("publish_stored", timestamp=ts.format(0)),
        _line("publish_forwarded", topic=INGEST[0], partition=2, offset=15, timestamp=ts.format(1)),
        _line("event_rejected", reason="commune_not_in_scope", topic=INGEST[0], partition=2, offset=15,
              timestamp=ts.format(2)),
        _line("event_normalized", event_id="e1", topic=copy[0], partition=0, offset=3, timestamp=ts.format(5)),
        _line("event_published", event_id="e1", topic=FEED[0], partition=1, offset=7, timestamp=ts.format(6)),
        # written after the broker's ack: later than the worker's lines about the copy
        _line("dlq_replayed", topic=copy[0], partition=0, offset=3, dlq_partition=0, dlq_offset=4,
              timestamp=ts.format(7)))]
    return kafka, logs


def test_kafka_and_logs_agree_and_merge_into_one_path_in_causal_order():
    """Facts seen in both sources are one step; the replay precedes what the worker did with the copy."""
    kafka, logs = _flow()
    both = trace.path(kafka, logs, "p.hub.dlq.v1")
    assert [st.stage for st in both] == ["stored", "received", "rejected", "replayed", "normalized", "published"]
    seen = {st.stage: st.seen for st in both}
    assert seen["received"] == seen["rejected"] == seen["replayed"] == seen["published"] == {"kafka", "logs"}
    assert seen["stored"] == {"logs"}
    only_logs = trace.path([], logs, "p.hub.dlq.v1")
    assert [st.stage for st in only_logs] == ["stored", "received", "rejected", "replayed", "normalized", "published"]
    published = next(st for st in only_logs if st.stage == "published")
    assert published.origin == ("p.ingest.dossier", 0, 3)  # joined through event_normalized on the event id
    assert trace.deliveries(both) == [
        {"ingest": "p.ingest.dossier[2]@15", "via": "sdk", "outcomes": ["rejected"], "reason": "commune_not_in_scope"},
        {"ingest": "p.ingest.dossier[0]@3", "via": "replay", "outcomes": ["published"]}]
    assert trace.deliveries(trace.path(kafka, [], "p.hub.dlq.v1")) == [
        {"ingest": "p.ingest.dossier[2]@15", "via": None, "outcomes": ["rejected"], "reason": "commune_not_in_scope"},
        {"ingest": "p.ingest.dossier[0]@3", "via": "replay", "outcomes": ["published"]}]


def test_render_and_report():
    """The text shows one line per step and per delivery; an empty path says it was not found."""
    kafka, logs = _flow()
    steps = trace.path(kafka, logs, "p.hub.dlq.v1")
    rep = trace.report(T, steps, searched="Kafka")
    assert rep["found"] and rep["steps"][1]["at"] == {"topic": INGEST[0], "partition": 2, "offset": 15}
    text = trace.render(rep, steps)
    lines = text.splitlines()
    assert lines[0] == f"trace {T}: 6 steps (Kafka)"
    assert "reason commune_not_in_scope" in lines[3] and lines[-1] == "delivery p.ingest.dossier[0]@3: published"
    empty = trace.report(T, [], searched="Kafka since X")
    assert not empty["found"] and trace.render(empty, []) == f"trace {T}: not found (Kafka since X)\n"


def test_since_accepts_ages_and_instants():
    """--since is an age before now or an ISO instant with a zone; anything else is a one-line error."""
    now = 1_800_000_000_000
    assert parse_since("24h", now) == now - 86_400_000 and parse_since("90m", now) == now - 5_400_000
    assert parse_since("2d", now) == now - 172_800_000
    assert parse_since("2025-11-20T08:00:00+07:00", now) == 1763600400000
    for bad in ("yesterday", "2025-11-20T08:00:00", "-3h"):
        try:
            parse_since(bad, now)
        except ConfigError as exc:
            assert "--since" in str(exc)
        else:
            raise AssertionError(bad)


# --- on a real broker ------------------------------------------------------------------------------
def test_read_since_starts_at_the_instant_and_skips_missing_topics(make_settings):
    """One consumer reads several topics from the first record at or after the instant, to their ends now."""
    s = make_settings()
    now = int(time.time() * 1000)
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    try:
        for i, age_h in enumerate((30, 20, 2, 1)):
            producer.send(s.topic(topics.INGEST_DOSSIER), key=b"k", value=b"%d" % i, partition=0,
                          timestamp_ms=now - age_h * 3_600_000)
        producer.send(s.topic(topics.DLQ), value=b"dlq", partition=1, timestamp_ms=now - 3_600_000)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)
    missing: list[str] = []
    got = list(kafka_read.read_since(s, [s.topic(topics.INGEST_DOSSIER), s.topic(topics.DLQ), s.topic("nope")],
                                     now - 3 * 3_600_000, missing=missing, timeout_s=20))
    assert sorted((m.topic, m.value) for m in got) == [(s.topic(topics.DLQ), b"dlq"),
                                                       (s.topic(topics.INGEST_DOSSIER), b"2"),
                                                       (s.topic(topics.INGEST_DOSSIER), b"3")]
    assert missing == [s.topic("nope")]
    assert list(kafka_read.read_since(s, [s.topic(topics.INGEST_DOSSIER)], now + 60_000, timeout_s=10)) == []

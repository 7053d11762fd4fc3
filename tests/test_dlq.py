"""Dead letters: pure filtering and grouping, `hub dlq list` counts, and replay on a real broker."""

from __future__ import annotations

import orjson
from kafka import KafkaProducer

from connectors.publisher import Publisher
from hub import systems
from hub.admin import dlq
from hub.cli.dlq import render_summary
from hub.contract import codec, topics
from hub.contract import headers as h
from hub.errors import Rejected
from hub.processors.process import Source, dlq_headers
from hub.settings import Settings
from hub.testing import group_lag, read_topic, wait_for
from tests.pipeline import payloads

SECRET = "Nguyễn Thị Bích 052123456789"  # stands for personal data inside a raw payload


def _letter_headers(reason: str, source: str, topic: str, *, commune: str = "23728", replayed: str | None = None,
                    offset: int = 7) -> h.Headers:
    original = h.from_dict({h.SOURCE: source, h.FORMAT: "dvcqg-json", h.COMMUNE: commune,
                            h.SOURCE_EVENT_ID: f"ev-{reason}-{offset}", h.TRACE_ID: "t" * 32, h.REPLAYED: replayed})
    return dlq_headers(original, Rejected(reason, f"{reason} happened", stage="validate"), None,
                       Source(topic, 1, offset, 1_700_000_000_000))


def _letter(reason: str, source: str, *, dlq_offset: int, topic: str = "ingest.dossier", **kw) -> dlq.DeadLetter:
    return dlq.parse(0, dlq_offset, 1_700_000_000_000, b"23728", SECRET.encode(),
                     _letter_headers(reason, source, topic, **kw), keep_payload=True)


# --- pure helpers -----------------------------------------------------------------------------------
def test_parse_reads_error_headers_and_drops_payload_unless_asked():
    """parse() exposes every hub.error.* field and keeps payload bytes only for replay."""
    raw = _letter_headers("commune_not_in_scope", "onestop-ialy", "p.ingest.dossier", offset=42)
    listed = dlq.parse(2, 9, 123, b"23728", SECRET.encode(), raw)
    assert (listed.reason, listed.stage, listed.source_system, listed.commune) == (
        "commune_not_in_scope", "validate", "onestop-ialy", "23728")
    assert (listed.origin_topic, listed.origin_partition, listed.origin_offset) == ("p.ingest.dossier", 1, 42)
    assert listed.event_id == "ev-commune_not_in_scope-42" and listed.failed_at_ms and listed.replays == 0
    assert listed.value is None and listed.key is None and listed.headers == []
    kept = dlq.parse(2, 9, 123, b"23728", SECRET.encode(), raw, keep_payload=True)
    assert kept.value == SECRET.encode() and kept.key == b"23728" and kept.headers == raw


def test_parse_tolerates_missing_headers():
    """A record without hub headers still parses, with reason 'unknown' and empty fields."""
    dl = dlq.parse(0, 0, 5, None, b"x", None)
    assert dl.reason == "unknown" and dl.origin_topic == "" and dl.origin_offset is None and dl.commune == ""


def test_summarize_counts_by_reason_and_source_with_pending_and_filters():
    """Counts group by reason and by source; replayed ones are not pending; filters restrict both."""
    letters = [_letter("commune_not_in_scope", "onestop-ialy", dlq_offset=i) for i in range(3)]
    letters += [_letter("missing_field", "onestop-ialy", dlq_offset=3),
                _letter("missing_field", "vanban-chupah", dlq_offset=4)]
    markers = {(0, 0): 1, (0, 4): 2}
    s = dlq.summarize(letters, markers)
    assert (s.total, s.pending) == (5, 3)
    assert s.by_reason == {"commune_not_in_scope": {"total": 3, "pending": 2},
                           "missing_field": {"total": 2, "pending": 1}}
    assert s.by_source == {"onestop-ialy": {"total": 4, "pending": 3}, "vanban-chupah": {"total": 1, "pending": 0}}
    only = dlq.summarize(letters, markers, reason="missing_field", source="onestop-ialy")
    assert (only.total, only.pending, list(only.by_reason)) == (1, 1, ["missing_field"])


def test_shown_metadata_never_carries_payload():
    """--show metadata has reason, origin and commune but never the payload bytes or key."""
    s = dlq.summarize([_letter("missing_field", "onestop-ialy", dlq_offset=i) for i in range(5)], {}, show=2)
    assert len(s.shown) == 2
    row = s.shown[0]
    assert row["reason"] == "missing_field" and row["commune"] == "23728" and row["offset"] == 7
    assert row["topic"] == "ingest.dossier" and row["failed_at"].endswith("Z") and row["replayed"] == 0
    text = orjson.dumps(s.as_dict()).decode() + render_summary("hub.dlq.v1", s)
    assert "Nguyễn" not in text and "052123456789" not in text


def test_replay_headers_strip_errors_and_count_replays():
    """Replay headers keep the originals, drop hub.error.* and an old hub.replayed, add the new count."""
    dl = _letter("commune_not_in_scope", "onestop-ialy", dlq_offset=0, replayed="1")
    out = h.to_dict(dlq.replay_headers(dl, 2))
    assert not [k for k in out if k.startswith("hub.error.")]
    assert out[h.REPLAYED] == "2" and out[h.SOURCE] == "onestop-ialy" and out[h.SOURCE_EVENT_ID]
    assert sum(1 for k, _ in dlq.replay_headers(dl, 2) if k == h.REPLAYED) == 1


def test_replay_target_accepts_only_ingest_topics_of_these_settings():
    """Only this deployment's ingest topics are replay targets; feeds and foreign prefixes are refused."""
    s = Settings.from_env(env={}, topic_prefix="p.")
    assert dlq.replay_target(_letter("missing_field", "a", dlq_offset=0, topic="p.ingest.dossier"), s)
    assert dlq.replay_target(_letter("missing_field", "a", dlq_offset=0, topic="p.ingest.document"), s)
    for bad in ("ingest.dossier", "p.feed.dossier.v1", "q.ingest.dossier", ""):
        assert dlq.replay_target(_letter("missing_field", "a", dlq_offset=0, topic=bad), s) is None


def test_marker_round_trip_and_garbage():
    """Marker keys parse back to DLQ coordinates; tombstones count 0; foreign keys are ignored."""
    key = dlq.marker_key((3, 1234))
    assert dlq.parse_marker(key, orjson.dumps({"count": 2})) == ((3, 1234), 2)
    assert dlq.parse_marker(key, None) == ((3, 1234), 0)
    assert dlq.parse_marker(b"nonsense", b"{}") is None
    assert dlq.parse_marker(key, b"not json") is None


def test_render_summary_table():
    """The list table shows totals, per-reason and per-source rows with pending counts."""
    s = dlq.summarize([_letter("commune_not_in_scope", "onestop-ialy", dlq_offset=i) for i in range(2)],
                      {(0, 1): 1}, show=1)
    text = render_summary("t.hub.dlq.v1", s)
    assert text.startswith("t.hub.dlq.v1: 2 dead letters, 1 pending replay")
    assert "REASON" in text and "SOURCE SYSTEM" in text
    assert any(line.split() == ["commune_not_in_scope", "2", "1"] for line in text.splitlines())
    assert any(line.split() == ["onestop-ialy", "2", "1"] for line in text.splitlines())
    assert "0:0" in text and "ingest.dossier[1]@7" in text
    assert render_summary("t", dlq.Summary()) == "t: 0 dead letters, 0 pending replay\n"


# --- on a real broker -------------------------------------------------------------------------------
def _write_letters(s: Settings, letters: list[tuple[str, str, str]]) -> None:
    """Write (reason, source, origin topic) dead letters straight to the DLQ topic."""
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    try:
        for i, (reason, source, topic) in enumerate(letters):
            producer.send(s.topic(topics.DLQ), key=b"23728", value=SECRET.encode(),
                          headers=_letter_headers(reason, source, topic, offset=i))
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def test_dlq_list_counts_on_broker(make_settings, cli):
    """`hub dlq list` counts every dead letter by reason and source, as JSON and as a table."""
    s = make_settings()
    ingest = s.topic(topics.INGEST_DOSSIER)
    _write_letters(s, [("commune_not_in_scope", "onestop-ialy", ingest)] * 4
                   + [("missing_field", "onestop-ialy", ingest)] * 2 + [("bad_date", "vanban-chupah", ingest)])
    rc, out, _ = cli(s, "dlq", "list", "--json", "--show", "2")
    assert rc == 0
    d = orjson.loads(out)
    assert (d["topic"], d["total"], d["pending"]) == (s.topic(topics.DLQ), 7, 7)
    assert d["by_reason"] == {"bad_date": {"total": 1, "pending": 1},
                              "commune_not_in_scope": {"total": 4, "pending": 4},
                              "missing_field": {"total": 2, "pending": 2}}
    assert d["by_source"]["onestop-ialy"] == {"total": 6, "pending": 6}
    assert len(d["records"]) == 2 and "Nguyễn" not in out
    rc, out, _ = cli(s, "dlq", "list", "--source", "vanban-chupah")
    assert rc == 0 and out.startswith(f"{s.topic(topics.DLQ)}: 1 dead letters, 1 pending replay")
    assert "commune_not_in_scope" not in out and "bad_date" in out


def test_replay_refuses_foreign_topics_and_needs_yes(make_settings, cli):
    """Dead letters naming a non-ingest topic are refused; without --yes off a terminal nothing is sent."""
    s = make_settings()
    _write_letters(s, [("missing_field", "onestop-ialy", s.topic(topics.FEED_DOSSIER)),
                       ("missing_field", "onestop-ialy", s.topic(topics.INGEST_DOSSIER))])
    rc, out, err = cli(s, "dlq", "replay", "--dry-run")
    assert rc == 0 and "would replay: 1 dead letters" in out and "refused: 1" in out and "is not one of" in err
    rc, _out, err = cli(s, "dlq", "replay")
    assert rc == 1 and "--yes" in err
    assert read_topic(s, s.topic(topics.INGEST_DOSSIER)) == []
    rc, out, _ = cli(s, "dlq", "replay", "--yes")
    assert rc == 0 and "replayed: 1 dead letters" in out
    replayed = read_topic(s, s.topic(topics.INGEST_DOSSIER), expect=1, timeout_s=30, idle_s=0.5)
    assert len(replayed) == 1 and replayed[0].value == SECRET.encode() and replayed[0].key == b"23728"
    assert replayed[0].headers[h.REPLAYED] == "1" and h.ERR_REASON not in replayed[0].headers
    assert read_topic(s, s.topic(topics.FEED_DOSSIER)) == []


def _ia_khuol_dossier(i: int) -> dict:
    p = payloads.dossier(i)
    p["MaHoSo"] = p["MaHoSo"].replace("23734", "23728")
    p["DonViXuLy"] = "Bộ phận Một cửa xã Ia Khươl"
    return p


def _feed_codes(s: Settings, expect: int) -> list[str]:
    schemas = codec.load(s.schemas_dir)
    recs = read_topic(s, s.topic(topics.FEED_DOSSIER), expect=expect, timeout_s=120, idle_s=3)
    return [codec.decode(schemas, r.value)["dossier_code"] for r in recs]


def test_rejected_for_unknown_commune_replayed_after_commune_added_arrive_once(make_settings, hub_process, cli):
    """DLQ replay: records rejected for an unknown commune are replayed after the commune is added and
    arrive on the feed once — also when replayed a second time with --again."""
    s = make_settings()
    systems.add(s, "onestop-ialy", ["23734"], ["dossier"])
    dossiers = [_ia_khuol_dossier(i) for i in range(8)]
    with Publisher("onestop-ialy", s) as pub:
        for p in dossiers:
            pub.send("dossier", payloads.encode(p), format="dvcqg-json", commune="23728")
    worker = hub_process(["worker"], s)

    dead = read_topic(s, s.topic(topics.DLQ), expect=len(dossiers), timeout_s=120, idle_s=1)
    assert len(dead) == len(dossiers), worker.output()[-3000:]
    assert {r.headers[h.ERR_REASON] for r in dead} == {"commune_not_in_scope"}
    rc, out, _ = cli(s, "dlq", "list", "--json")
    assert orjson.loads(out)["by_reason"] == {"commune_not_in_scope": {"total": 8, "pending": 8}}

    systems.add(s, "onestop-ialy", ["23734", "23728"], ["dossier"])
    # Readiness: a fresh Ia Khươl dossier reaching the feed proves the worker sees the new scope.
    probe = _ia_khuol_dossier(99)
    with Publisher("onestop-ialy", s) as pub:
        pub.send("dossier", payloads.encode(probe), format="dvcqg-json", commune="23728")
    assert _feed_codes(s, 1) == [probe["MaHoSo"]], worker.output()[-3000:]

    rc, out, err = cli(s, "dlq", "replay", "--reason", "commune_not_in_scope", "--yes")
    assert rc == 0 and "replayed: 8 dead letters" in out
    assert err.count('"dlq_replayed"') == 8 and '"reason":"commune_not_in_scope"' in err
    codes = _feed_codes(s, 1 + len(dossiers))
    assert sorted(codes) == sorted([probe["MaHoSo"]] + [p["MaHoSo"] for p in dossiers]), worker.output()[-3000:]

    rc, out, _ = cli(s, "dlq", "list", "--json")
    assert orjson.loads(out)["by_reason"] == {"commune_not_in_scope": {"total": 8, "pending": 0}}
    rc, out, _ = cli(s, "dlq", "replay", "--reason", "commune_not_in_scope", "--yes")
    assert rc == 0 and "to replay: 0 dead letters" in out and "skipped: 8 already replayed" in out

    rc, out, _ = cli(s, "dlq", "replay", "--reason", "commune_not_in_scope", "--yes", "--again")
    assert rc == 0 and "replayed: 8 dead letters" in out
    ingest = s.topic(topics.INGEST_DOSSIER)
    wait_for(lambda: group_lag(s, ingest) == 0, timeout_s=120, what="worker caught up with the replays")
    again = [r for r in read_topic(s, ingest) if r.headers.get(h.REPLAYED)]
    assert sorted(r.headers[h.REPLAYED] for r in again) == ["1"] * 8 + ["2"] * 8
    assert not any(k.startswith("hub.error.") for r in again for k in r.headers)
    codes = _feed_codes(s, 1 + len(dossiers))
    assert len(codes) == len(set(codes)) == 1 + len(dossiers), "a second replay must be deduplicated"
    assert len(read_topic(s, s.topic(topics.DLQ))) == len(dossiers), "nothing replayed was rejected again"

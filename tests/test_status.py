"""`hub status`: pure lag, freshness, verdict and rendering; a populated topic set, a clean and a troubled stack,
and an unreachable broker."""

from __future__ import annotations

import time

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from hub import systems
from hub.admin import status, status_text, verdict
from hub.contract import headers as h
from hub.contract import topics
from hub.errors import Rejected
from hub.processors.process import Source, dlq_headers
from hub.settings import Settings
from hub.testing import wait_for

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
    from hub.contract import codec
    from hub.read.model import FeedSnapshot, apply
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
    text = status_text.render({"bootstrap": "b", "brokers": 1, "topics": {}, "groups": {},
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


def _group(lags: dict, before: int | None = 0, members: int = 1, progressed: bool = True) -> dict:
    return {"group": "p.hub-normalize", "state": "Stable" if members else "Empty", "members": members,
            "topics": lags, "lag": sum(v["lag"] for v in lags.values()), "lag_before": before, "sample_s": 3.0,
            "progressed": progressed}


def _report() -> dict:
    now = int(time.time() * 1000)
    fresh = status.freshness({"23734": {"last_ms": now, "sources": {"onestop-ialy"}}}, "52", now, 24,
                             frozenset({"23734", "23728"}))
    r = {"bootstrap": "127.0.0.1:9092", "reachable": True, "brokers": 1, "province": "52", "tail": 1000,
         "topics": {"p.ingest.dossier": {"exists": True, "partitions": 3, "end_offsets": {0: 4, 1: 0, 2: 1},
                                         "messages": 5},
                    "p.feed.kpi.commune.v1": {"exists": False}},
         "groups": {"normalize": _group({"p.ingest.dossier": status.lag({0: 4}, {0: 0}, {0: 1})}, before=2)},
         "systems": {"active": 2, "revoked": 1, "communes": ["23728", "23734"]},
         "dlq": {"total": 3, "pending": 1, "by_reason": {"missing_field": {"total": 3, "pending": 1}},
                 "by_source": {}, "recent": {"window_h": 1.0, "pending": 1, "by_reason": {"missing_field": 1}}},
         "silent_systems": {"silent": [{"source_system": "onestop-iakhuol", "kind": "dossier", "commune_code": "23728",
                                        "last": "2025-11-18T00:00:00Z", "silent_h": 30.0}]},
         "directives": {"rows": 4, "overdue": []},
         "freshness": fresh}
    r["verdict"] = verdict.judge(r)
    return r


def test_render_is_one_screen_with_every_section_and_the_verdict_last():
    """The text report names broker, topics, groups, systems, dead letters, silences, and ends with the reasons."""
    text = status_text.render(_report())
    lines = text.splitlines()
    assert text.startswith("broker      127.0.0.1:9092: reachable (1 broker(s))")
    assert any(line.split() == ["p.ingest.dossier", "3", "5", "4,0,1"] for line in lines)
    assert "missing (run `hub topics create`)" in text
    assert "p.hub-normalize: Stable, 1 member(s); lag 3 (was 2 3 s before): p.ingest.dossier 3" in text
    assert "2 active, 1 revoked" in text
    assert "dead letters 3 (1 pending replay, 1 of them from the last 1 h)" in text
    assert "missing_field: 3 (1 pending)" in text
    assert "onestop-iakhuol (dossier) at 23728: silent 30 h, last 2025-11-18T00:00:00Z" in text
    assert "overdue directives 0 open milestone(s) past their SLA (4 reach rows)" in text
    assert "silent: 134 of 135 communes of province 52 (1 covered by a registered system)" in text
    assert "23728 Xã Ia Khươl*" in text and "… and 122 more" in text
    assert lines[-1] == ("attention: topics_missing: 1 hub topic(s) missing: p.feed.kpi.commune.v1; run `hub topics "
                         "create`; dead_letters_pending: 1 dead letter(s) from the last 1 h pending replay "
                         "(missing_field: 1); see `hub dlq list --show 20`; system_silent: 1 source system(s) silent: "
                         "onestop-iakhuol (dossier: 1 commune(s), 30 h)")
    assert len(lines) < 45


def test_render_reports_section_errors():
    """A failing section is shown as an error line instead of aborting the report, and needs attention."""
    r = _report()
    r["groups"] = {"normalize": {"group": "p.hub-normalize", "error": "CoordinatorNotAvailable"}}
    r["systems"] = {"error": "registry unreadable"}
    r["dlq"] = {"error": "topic p.hub.dlq.v1 does not exist"}
    r["silent_systems"] = {"error": "topic p.feed.freshness.v1 does not exist"}
    r["freshness"] = {"error": "no progress"}
    r["verdict"] = verdict.judge(r)
    text = status_text.render(r)
    for msg in ("p.hub-normalize: error: CoordinatorNotAvailable", "error: registry unreadable", "does not exist",
                "silent systems error: topic p.feed.freshness.v1", "freshness   error: no progress"):
        assert msg in text
    codes = [x["code"] for x in r["verdict"]["reasons"]]
    assert codes == ["topics_missing", "section_unreadable", "section_unreadable", "section_unreadable"]
    assert text.splitlines()[-1].startswith("attention: topics_missing: ")


# --- the verdict ----------------------------------------------------------------------------------
def test_a_clean_report_is_ok():
    """No missing topic, groups with members and flat lag, nothing pending, silent or overdue: exit 0."""
    r = _report()
    r["topics"].pop("p.feed.kpi.commune.v1")
    r["dlq"]["recent"] = {"window_h": 1.0, "pending": 0, "by_reason": {}}
    r["silent_systems"] = {"silent": []}
    v = verdict.judge(r)
    assert v == {"ok": True, "reasons": []} and verdict.last_line(v) == "ok: nothing needs attention"


def test_worker_groups_need_attention_when_empty_growing_or_stuck():
    """No member; lag above max_lag that grew; lag above max_lag with no commit: each a named reason."""
    lag5k = {"p.ingest.dossier": status.lag({0: 5000}, {0: 0}, {})}
    groups = {"normalize": _group(lag5k, before=100, members=0),
              "kpi": {**_group(lag5k, before=5000, progressed=False), "group": "p.hub-kpi"},
              "freshness": {**_group(lag5k, before=6000, progressed=True), "group": "p.hub-freshness"},
              "directives": {**_group({"t": status.lag({0: 900}, {0: 0}, {})}, before=10), "group": "p.hub-directives"}}
    reasons = verdict.groups(groups, max_lag=1000)
    assert [(x["code"], x["message"]) for x in reasons] == [
        ("worker_group_empty", "worker group p.hub-normalize has no member (state Empty): no worker runs the "
                               "normalize processor"),
        ("worker_lag_growing", "worker group p.hub-normalize: lag grew from 100 to 5000 records in 3 s"),
        ("worker_not_consuming", "worker group p.hub-kpi: 5000 records behind and no offset committed in 3 s")]


def test_silent_systems_and_overdue_directives_from_feed_rows():
    """Silence is judged now against the row's threshold (revoked systems left out); an overdue milestone is one
    past its deadline that has not happened, on a directive that was not revoked."""
    now = 1_800_000_000_000
    fresh = [{"commune_code": "23734", "systems": [
        {"source_system": "onestop-ialy", "kind": "dossier", "last_ingest_time": now - 30 * HOUR_MS,
         "silent_after_ms": 24 * HOUR_MS},
        {"source_system": "vanban-ialy", "kind": "document", "last_ingest_time": now - 30 * HOUR_MS,
         "silent_after_ms": 72 * HOUR_MS},
        {"source_system": "old-vendor", "kind": "dossier", "last_ingest_time": now - 900 * HOUR_MS,
         "silent_after_ms": 24 * HOUR_MS}]}]
    silent = verdict.silent_rows(fresh, now, frozenset({"onestop-ialy", "vanban-ialy"}))
    assert silent == [{"source_system": "onestop-ialy", "kind": "dossier", "commune_code": "23734",
                       "last": "2027-01-14T02:00:00Z", "silent_h": 30.0}]
    base = {"document_id": "D1", "commune_code": "23734", "revoked_at": None, "arrived_at": now - 10 * HOUR_MS,
            "accepted_at": None, "completed_at": None, "arrival_deadline": now - 11 * HOUR_MS,
            "acceptance_deadline": now - HOUR_MS, "completion_deadline": None, "arrival_overdue": False,
            "acceptance_overdue": False, "completion_overdue": False}
    rows = [base, {**base, "commune_code": "23728", "accepted_at": now - 2 * HOUR_MS, "acceptance_overdue": True},
            {**base, "document_id": "D2", "revoked_at": now - 5 * HOUR_MS},
            {**base, "document_id": "D3", "acceptance_deadline": now + HOUR_MS}]
    assert verdict.overdue_rows(rows, now) == [{"document_id": "D1", "commune_code": "23734",
                                                "milestone": "acceptance", "deadline": "2027-01-15T07:00:00Z"}]
    reasons = verdict.judge({"topics": {}, "groups": {}, "dlq": {}, "silent_systems": {"silent": silent},
                             "directives": {"overdue": verdict.overdue_rows(rows, now)}})["reasons"]
    assert [(x["code"], x["message"]) for x in reasons] == [
        ("system_silent", "1 source system(s) silent: onestop-ialy (dossier: 1 commune(s), 30 h)"),
        ("directive_overdue", "1 directive milestone(s) overdue and open at 1 commune(s), 1 directive(s): D1")]


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


def _calendar_checked() -> dict[str, str]:
    """Settings that mark this and next year's working calendar as checked (their 1 January, a holiday anyway), so a
    stack test's verdict does not depend on the date; calendar_stale is tested in tests/analytics/test_calendar.py."""
    year = time.gmtime(time.time() + 7 * 3600).tm_year  # Vietnam's year
    return {"working_holidays": f"{year}-01-01,{year + 1}-01-01"}


def test_status_on_a_populated_topic_set(make_settings, cli):
    """Counts, groups, systems, dead letters and freshness reflect the topics; no worker and fresh dead
    letters make it exit 1 with those reasons on the last line."""
    s = make_settings(**_calendar_checked())
    _populate(s)
    rc, out, _ = cli(s, "status", "--json", "--silent-after", "24", "--lag-sample", "0")
    assert rc == 1
    r = orjson.loads(out)
    assert r["reachable"] is True and r["bootstrap"] == s.kafka_bootstrap and r["brokers"] == 1
    t = r["topics"]
    assert t[s.topic(topics.INGEST_DOSSIER)]["messages"] == 5 and t[s.topic(topics.INGEST_DOSSIER)]["partitions"] == 3
    assert t[s.topic(topics.FEED_DOSSIER)]["messages"] == 1 and t[s.topic(topics.DLQ)]["messages"] == 2
    assert t[s.topic(topics.SYSTEMS)]["partitions"] == 1
    groups = r["groups"]
    assert sorted(groups) == ["directives", "freshness", "kpi", "normalize", "targets"]
    normalize = groups["normalize"]
    assert normalize["group"] == s.group("normalize") and normalize["members"] == 0 and normalize["lag"] == 3
    lag = normalize["topics"]
    assert lag[s.topic(topics.INGEST_DOSSIER)]["lag"] == 3 and lag[s.topic(topics.INGEST_DOSSIER)]["committed"]
    assert lag[s.topic(topics.INGEST_DOCUMENT)]["lag"] == 0
    assert groups["kpi"]["topics"][s.topic(topics.FEED_DOSSIER)]["lag"] == 1  # never committed: from the start
    assert (r["systems"]["active"], r["systems"]["revoked"]) == (1, 1)
    assert r["dlq"]["by_reason"] == {"missing_field": {"total": 2, "pending": 2}}
    assert r["dlq"]["recent"] == {"window_h": 1.0, "pending": 2, "by_reason": {"missing_field": 2}}
    fresh = r["freshness"]["communes"]
    assert fresh["23734"]["silent"] is False and fresh["23734"]["sources"] == ["onestop-ialy"]
    assert fresh["23728"]["silent"] is True
    silent = {c["code"] for c in r["freshness"]["silent"]}
    assert "23728" in silent and "23734" not in silent
    assert r["verdict"]["ok"] is False
    assert [x["code"] for x in r["verdict"]["reasons"]] == ["worker_group_empty"] * 5 + ["dead_letters_pending"]

    rc, out, err = cli(s, "status", "--lag-sample", "0")
    assert rc == 1 and "reachable" in out and "lag 3" in out and "1 active, 1 revoked" in out
    assert "SILENT" in out and "Traceback" not in err
    last = out.splitlines()[-1]
    assert last.startswith("attention: worker_group_empty: worker group " + s.group("normalize"))
    assert "dead_letters_pending: 2 dead letter(s) from the last 1 h pending replay (missing_field: 2)" in last
    rc, out, _ = cli(s, "status", "--lag-sample", "0", "--dlq-window", "0")
    assert rc == 1 and "dead_letters_pending" not in out.splitlines()[-1]


def test_status_is_ok_on_a_clean_stack_and_names_a_silent_system_then_pending_dead_letters(
        make_settings, hub_process, cli):
    """With a worker running and nothing wrong it exits 0; a system whose last record is 30 h old (counted once in
    hub_worker_alerts_total), then a fresh dead letter, make it exit 1 naming system_silent, then
    dead_letters_pending too."""
    from connectors.publisher import Publisher
    from tests.ops import stack

    s = make_settings(**_calendar_checked())
    systems.add(s, "onestop-ialy", ["23734"], ["dossier"])
    hub = stack.start(s, hub_process)
    rc, out, _ = cli(s, "status", "--lag-sample", "1")
    assert rc == 0, out
    assert out.splitlines()[-1] == "ok: nothing needs attention"
    for name in ("normalize", "kpi", "directives", "freshness"):
        assert f"{s.group(name)}: Stable, 1 member(s); lag 0" in out

    old = int(time.time() * 1000) - 30 * HOUR_MS  # the hub received it 30 h ago (ingest time = record time)
    body = orjson.dumps({"MaHoSo": "G52-OLD-1", "TrangThaiHoSo": "2", "NgayTiepNhan": "20251120080000",
                         "MaXa": "23734"})
    with Publisher("onestop-ialy", s) as pub:
        pub.send("dossier", body, format="dvcqg-json", timestamp_ms=old)

    def verdict_of(*extra: str) -> dict:
        rc, out, _ = cli(s, "status", "--json", "--lag-sample", "0", *extra)
        return orjson.loads(out)["verdict"]

    v = wait_for(lambda: (v := verdict_of())["reasons"] and v, timeout_s=60, what="a silent system")
    assert [x["code"] for x in v["reasons"]] == ["system_silent"]
    assert v["reasons"][0]["message"].startswith("1 source system(s) silent: onestop-ialy (dossier: 1 commune(s), 30")

    def alerts() -> dict:  # the worker counted the one silence it raised, and no directive alert
        return {dict(k[1])["alert"]: n for k, n in stack.counters(stack.get(hub.worker_url + "/metrics")[1].decode())
                .items() if k[0] == "hub_worker_alerts_total"}
    wait_for(lambda: alerts() == {"system_silent": 1.0, "directive_overdue": 0.0}, timeout_s=30,
             what="hub_worker_alerts_total{alert=system_silent} 1")
    with Publisher("onestop-ialy", s) as pub:
        pub.send("dossier", b"{not json", format="dvcqg-json", commune="23734")
    v = wait_for(lambda: len((v := verdict_of())["reasons"]) == 2 and v, timeout_s=60, what="a dead letter")
    assert [x["code"] for x in v["reasons"]] == ["dead_letters_pending", "system_silent"]
    assert "1 dead letter(s) from the last 1 h pending replay (malformed_json: 1)" in v["reasons"][0]["message"]
    rc, out, _ = cli(s, "status", "--lag-sample", "0")
    assert rc == 1 and out.splitlines()[-1].startswith("attention: dead_letters_pending: 1 dead letter(s)")


def test_status_with_unreachable_broker_fails_with_one_line(make_settings, cli):
    """An unreachable bootstrap exits 1 within the timeout with one clear verdict line and no traceback."""
    s = make_settings(create_topics=False, kafka_bootstrap="127.0.0.1:1")
    rc, out, err = cli(s, "status", "--timeout", "2")
    assert rc == 1
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("attention: broker_unreachable: Kafka at 127.0.0.1:1 is not "
                                                   "reachable")
    assert "Traceback" not in err
    rc, out, _ = cli(s, "status", "--json", "--timeout", "2")
    r = orjson.loads(out)
    assert rc == 1 and r["reachable"] is False and r["bootstrap"] == "127.0.0.1:1"
    assert r["verdict"] == {"ok": False, "reasons": [{"code": "broker_unreachable", "message": r["error"]}]}

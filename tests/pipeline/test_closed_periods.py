"""Hub issue 22, defect 1, on a real broker: closed periods stay closed. The late-events dataset
(tests/analytics/late_datasets.py) sent twice and shuffled through a worker whose clock is frozen at NOW:
the KPI feed rows of day 2025-11-27, November (closed) and December (current) equal the numbers computed
by hand in tests/analytics/reference.md ("Closed periods stay closed"), and so does the read API."""

from __future__ import annotations

import random
from typing import Any

import httpx
import orjson
import pytest

from connectors.publisher import Publisher
from hub import systems
from hub.contract import codec, topics
from hub.gateway.server import ServerThread
from hub.testing import group_lag, read_topic, wait_for
from tests.analytics.datasets import hub_json
from tests.analytics.late_datasets import COMMUNE, KEYS, LATE_EVENTS, NOW, PERIODS, SYSTEM
from tests.analytics.test_late_events import EXPECTED, REPORTED_LATE
from tests.chaos.traffic import settled
from tests.gateway.read_scenario import latest
from tests.pipeline.test_analytics import AVRO_NAME, _iso

pytestmark = pytest.mark.integration


def _wanted() -> dict[str, dict[str, Any]]:
    """Per feed key, the hand-computed values under their CommuneKpi (v3) names."""
    v3 = {"rescheduled_after_due": "rescheduled_after_due"}
    return {KEYS[name]: {**{(AVRO_NAME | v3)[k]: v for k, v in values.items()},
                         "finished_reported_late": REPORTED_LATE[name]}
            for name, values in EXPECTED.items()}


# Decision 766 points by hand (docs/kpi.md, "The Decision 766 score"): groups 1 and 5 are not measured (None);
# group 2 = 20 × on_time / in_scope; group 3 = 2 × min(1, digitized/received / 0.8); group 4 = 6 × min(1,
# online/received / 0.5) + 6 × paid_online / fee_bearing. Out of 20 + 2 + 12 = 34 measured points.
SCORES = {
    # 20 × 2/3 = 13.33; nothing received on the day: groups 3 and 4 have no value; out of 20
    "day": (13.33, 20.0, [None, 13.33, None, None, None]),
    # 20 × 4/7 = 11.43; 2 × (3/5)/0.8 = 1.5; 6 × (2/5)/0.5 = 4.8 and 6 × 1/3 = 2.0 -> 6.8; total 19.73
    "month": (19.73, 34.0, [None, 11.43, 1.5, 6.8, None]),
    # 20 × 2/5 = 8.0; 2 × (1/2)/0.8 = 1.25; 6 × min(1, 1/0.5) = 6.0 and 6 × 2/2 = 6.0 -> 12.0; total 21.25
    "current": (21.25, 34.0, [None, 8.0, 1.25, 12.0, None]),
}


def test_feed_and_read_api_equal_the_hand_computed_rows(make_settings, hub_process):
    """The events twice and shuffled through a worker: the three rows on feed.kpi.commune equal the literals
    (nothing reported after November's end reaches November), and GET /v1/kpi/communes/23728 answers the same."""
    s = make_settings(clock=_iso(NOW), analytics_timer_s=1)
    systems.add(s, SYSTEM, [COMMUNE], ["dossier"])
    reader_key = systems.add(s, "province-office", role="reader")
    events = LATE_EVENTS * 2
    random.Random(22).shuffle(events)
    _publish_as(s, events)
    hub_process(["worker"], s)
    wanted = _wanted()

    def subset(got: dict[str, dict]) -> dict[str, dict]:
        return {key: {k: got.get(key, {}).get(k) for k in want} for key, want in wanted.items()}

    try:
        got = wait_for(lambda: (g := latest(s, topics.FEED_KPI)) and subset(g) == wanted and g, timeout_s=180,
                       interval_s=1, what="KPI rows equal to the hand-computed ones")
    except TimeoutError:
        got = latest(s, topics.FEED_KPI)
    assert subset(got) == wanted  # on a timeout: the differing fields

    with ServerThread(s) as gateway:
        wait_for(lambda: httpx.get(f"{gateway.url}/readyz", timeout=10).status_code == 200, timeout_s=60,
                 what="gateway ready (read model caught up)")
        for name, values in EXPECTED.items():
            kind = "day" if name == "day" else "month"
            r = httpx.get(f"{gateway.url}/v1/kpi/communes/{COMMUNE}", params={"period": kind, "at": PERIODS[name]},
                          headers={"authorization": f"Bearer {reader_key}"}, timeout=30)
            assert r.status_code == 200, r.text
            body = r.json()
            want = {**values, "finished_reported_late": REPORTED_LATE[name]}
            assert {k: body.get(k) for k in want} == want, name
            assert (body["commune_code"], body["period_key"], body["data"]) == (COMMUNE, KEYS[name], True)
            score = (body["score_766"], body["score_766_measured_max"], [g["points"] for g in body["score_766_groups"]])
            assert score == SCORES[name], name
        # The province: its one commune with data, so the same points; ranked by the score on request.
        r = httpx.get(f"{gateway.url}/v1/kpi/province",
                      params={"period": "month", "at": "2025-11", "order": "score_766"},
                      headers={"authorization": f"Bearer {reader_key}"}, timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["order"], body["score_766"], body["score_766_measured_max"]) == ("score_766", 19.73, 34.0)
        assert body["communes"][0]["commune_code"] == COMMUNE and body["communes_with_data"] == 1
        assert body["data_as_of"] is not None



def _publish_as(s, events: list[dict[str, Any]]) -> None:
    """Each event as the hub-json its source system sends; the record time is the dataset's ingest time (the
    late sync of L7's finish reaches the hub on 12-03)."""
    with Publisher(SYSTEM, s) as pub:
        for rec in events:
            pub.send_async("dossier", orjson.dumps(hub_json(rec)), format="hub-json", commune=rec["commune_code"],
                           event_id=rec["source_event_id"], trace_id=rec["trace_id"], timestamp_ms=rec["ingest_time"])
        pub.flush()


def _rows_of(s, key: str) -> list[dict[str, Any]]:
    """Every record written for one KPI key, oldest first."""
    schemas = codec.load(s.schemas_dir)
    return [codec.decode_plain(schemas, r.value) for r in read_topic(s, s.topic(topics.FEED_KPI), timeout_s=30)
            if r.key.decode() == key]


def _processed(s) -> None:
    feed = s.topic(topics.FEED_DOSSIER)
    wait_for(lambda: group_lag(s, feed, s.group("kpi")) == 0, timeout_s=180, interval_s=0.5,
             what="the KPI processor read the dossier feed to its end")


def test_a_late_event_about_a_closed_month_revises_it_and_says_so(make_settings, hub_process):
    """November is written final (revision 0). A re-open dated 12-03 then changes December and leaves
    November's record as it was; L7's finish dated 11-27 and synced on 12-03 revises November: revision 1,
    revised_at = the hub's clock, one more dossier finished, finished_reported_late 1."""
    s = make_settings(clock=_iso(NOW), analytics_timer_s=1)
    systems.add(s, SYSTEM, [COMMUNE], ["dossier"])
    by_id = {e["source_event_id"]: e for e in LATE_EVENTS}
    reopen, late_finish = by_id["L1-3"], by_id["L7-2"]
    first = [e for e in LATE_EVENTS if e not in (reopen, late_finish)]
    nov = KEYS["month"]
    _publish_as(s, first)
    hub_process(["worker"], s)
    _processed(s)
    before = settled(lambda: _rows_of(s, nov), timeout_s=120, interval_s=3)[-1]
    assert (before["final"], before["revision"], before["revised_at"]) == (True, 0, None)
    assert (before["dossiers_finished"], before["finished_reported_late"]) == (4, 0)  # L7 not finished yet

    _publish_as(s, [reopen])  # event time 12-03: about December only
    _processed(s)
    dec = KEYS["current"]
    settled(lambda: _rows_of(s, dec), timeout_s=120, interval_s=3)
    assert _rows_of(s, nov)[-1] == before

    _publish_as(s, [late_finish])  # event time 11-27, record time 12-03
    _processed(s)
    after = wait_for(lambda: (rows := _rows_of(s, nov)) and rows[-1]["revision"] == 1 and rows[-1], timeout_s=120,
                     interval_s=1, what="November revised")
    assert after["revised_at"] == NOW  # the hub's clock (HUB_CLOCK), not the event's
    assert (after["dossiers_finished"], after["finished_reported_late"]) == (5, 1)
    assert after["dossiers_finished"] == EXPECTED["month"]["finished"]

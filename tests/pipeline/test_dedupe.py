"""Exactly once across worker SIGKILLs: every event published twice reaches the feed once."""

from __future__ import annotations

import dataclasses

import pytest

from connectors.publisher import Publisher
from hub import codec, systems, topics
from hub.testing import end_offset_total, group_lag, read_topic, wait_for
from tests.pipeline import payloads

pytestmark = pytest.mark.integration
COMMUNES = ["23722", "23728", "23734", "23749", "23767"]
N = 5000


def test_events_published_twice_through_three_worker_kills_give_one_record_each(make_settings, hub_process):
    """Three SIGKILLs mid-stream (same worker id twice, then a new id) leave exactly N feed records."""
    s = make_settings(worker_session_timeout_s=6, worker_transaction_timeout_ms=5000)
    systems.add(s, "onestop-gl", COMMUNES, ["dossier"])
    bodies = [payloads.encode(payloads.dossier(i)) for i in range(N)]
    with Publisher("onestop-gl", s) as pub:
        for copy in range(2):  # a connector that re-sends everything it sent (same source event ids)
            for i, body in enumerate(bodies):
                pub.send_async("dossier", body, format="dvcqg-json", commune=COMMUNES[i % len(COMMUNES)],
                               event_id=f"evt-{i}", trace_id=f"t{copy}-{i}")
            pub.flush()
    feed_topic = s.topic(topics.FEED_DOSSIER)
    ingest = s.topic(topics.INGEST_DOSSIER)

    kills = []
    # The feed's end offset counts committed and aborted records and transaction markers: it only
    # tells that the worker is busy, which is all a kill point needs.
    for target, worker_id in ((800, "w1"), (2500, "w1"), (4500, "w2")):
        worker = hub_process(["worker"], dataclasses.replace(s, worker_id=worker_id), name=f"w-{target}")
        kills.append(wait_for(lambda t=target: (n := end_offset_total(s, feed_topic)) >= t and n, timeout_s=180,
                              interval_s=0.05, what=f"{target} feed offsets"))
        worker.kill()
    last = hub_process(["worker"], dataclasses.replace(s, worker_id="w2"), name="w-last")
    wait_for(lambda: group_lag(s, ingest) == 0, timeout_s=300, interval_s=0.5, what="ingest fully consumed")

    feed = read_topic(s, feed_topic, expect=N, timeout_s=60, idle_s=3)  # read_committed
    schemas = codec.load(s.schemas_dir)
    ids = [codec.decode(schemas, r.value)["source_event_id"] for r in feed]
    assert len(ids) == N, (kills, len(ids), last.output()[-1500:])
    assert set(ids) == {f"evt-{i}" for i in range(N)}

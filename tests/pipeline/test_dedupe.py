"""Deduplication across a worker SIGKILL and restart: every event published twice reaches the feed once."""

from __future__ import annotations

import pytest

from connectors.publisher import Publisher
from hub import codec, systems, topics
from hub.testing import end_offset_total, group_lag, read_topic, wait_for
from tests.pipeline import payloads

pytestmark = pytest.mark.integration
COMMUNES = ["23722", "23728", "23734", "23749", "23767"]
N = 5000


def test_five_thousand_events_published_twice_with_a_killed_worker_give_five_thousand_records(
        make_settings, hub_process):
    """SIGKILL mid-stream and a restart still leave exactly one feed record per event."""
    s = make_settings(worker_session_timeout_s=6)
    systems.add(s, "onestop-gl", COMMUNES, ["dossier"])
    bodies = [payloads.encode(payloads.dossier(i)) for i in range(N)]
    with Publisher("onestop-gl", s) as pub:
        for copy in range(2):  # a connector that re-sends everything it sent (same event ids)
            for i, body in enumerate(bodies):
                pub.send_async("dossier", body, format="dvcqg-json", commune=COMMUNES[i % len(COMMUNES)],
                               event_id=f"evt-{i}", trace_id=f"t{copy}-{i}")
            pub.flush()
    feed_topic = s.topic(topics.FEED_DOSSIER)

    first = hub_process(["worker"], s, name="worker-a")
    killed_at = wait_for(lambda: (n := end_offset_total(s, feed_topic)) >= 800 and n, timeout_s=120,
                         interval_s=0.05, what="first feed records")
    first.kill()
    assert killed_at < N, "the worker must be killed while it still has work to do"

    second = hub_process(["worker"], s, name="worker-b")
    ingest = s.topic(topics.INGEST_DOSSIER)
    wait_for(lambda: group_lag(s, ingest) == 0, timeout_s=240, interval_s=0.5, what="ingest fully consumed")

    feed = read_topic(s, feed_topic, expect=N, timeout_s=60, idle_s=3)
    schemas = codec.load(s.schemas_dir)
    ids = [codec.decode(schemas, r.value)["source_event_id"] for r in feed]
    assert len(ids) == N, (killed_at, len(ids), second.output()[-1500:])
    assert set(ids) == {f"evt-{i}" for i in range(N)}

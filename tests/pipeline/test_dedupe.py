"""Exactly once across worker SIGKILLs: every event published twice reaches the feed once."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from connectors.publisher import Publisher
from hub import systems
from hub.contract import codec, topics
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


def _entries(value: bytes) -> dict[bytes, bytes | None]:
    """A batch changelog record read by hand: count, then (4-byte length, key, 4-byte length, value)."""
    (count,), i, out = struct.unpack_from(">I", value, 0), 4, {}
    for _ in range(count):
        (klen,) = struct.unpack_from(">I", value, i)
        key, i = value[i + 4:i + 4 + klen], i + 4 + klen
        (vlen,) = struct.unpack_from(">I", value, i)
        out[key], i = (None, i + 4) if vlen == 0xFFFFFFFF else (value[i + 4:i + 4 + vlen], i + 4 + vlen)
    assert i == len(value)
    return out


def test_the_dedupe_changelog_holds_a_record_per_transaction_with_every_event_id(make_settings, hub_process):
    """The dedupe store is changelogged per batch: far fewer records than events, each marked
    hub.changelog: batch, their entries exactly the feed's event ids, each with the time it was seen."""
    n = 2000
    s = make_settings()
    systems.add(s, "onestop-gl", COMMUNES, ["dossier"])
    with Publisher("onestop-gl", s) as pub:
        for i in range(n):
            pub.send_async("dossier", payloads.encode(payloads.dossier(i)), format="dvcqg-json",
                           commune=COMMUNES[i % len(COMMUNES)], event_id=f"evt-{i}")
        pub.flush()
    worker = hub_process(["worker"], s, name="w")
    feed = read_topic(s, s.topic(topics.FEED_DOSSIER), expect=n, timeout_s=120, idle_s=1)
    wait_for(lambda: group_lag(s, s.topic(topics.INGEST_DOSSIER)) == 0, timeout_s=60, interval_s=0.2,
             what="ingest consumed")
    worker.stop()

    log = read_topic(s, topics.changelog(s, "normalize", "dedupe", s.topic(topics.INGEST_DOSSIER)), timeout_s=20)
    assert 0 < len(log) <= n // 10, len(log)
    assert all(r.headers.get("hub.changelog") == "batch" and r.key.startswith(b"batch-") for r in log)
    entries: dict[bytes, bytes | None] = {}
    for r in log:
        entries.update(_entries(r.value))
    assert len(feed) == n
    assert set(entries) == {r.headers["hub.event_id"].encode() for r in feed}
    assert all(v is not None and v.isdigit() and len(v) == 13 for v in entries.values())  # ms since 1970

"""A worker whose producer is fenced (coordinator fail-over, transaction timeout) renews it and loses nothing."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from connectors.publisher import Publisher
from hub import systems
from hub.contract import codec, topics
from hub.testing import read_topic, wait_for
from tests.pipeline import payloads

pytestmark = pytest.mark.integration
N = 30


def _publish(s, first: int, count: int) -> None:
    with Publisher("onestop-ialy", s) as pub:
        for i in range(first, first + count):
            pub.send_async("dossier", payloads.encode(payloads.dossier(i)), format="dvcqg-json", commune="23734",
                           event_id=f"evt-{i}")
        pub.flush()


def _ids(s, expect: int) -> list[str]:
    schemas = codec.load(s.schemas_dir)
    records = read_topic(s, s.topic(topics.FEED_DOSSIER), expect=expect, timeout_s=30, idle_s=2)
    return sorted(codec.decode(schemas, r.value)["source_event_id"] for r in records)


def test_a_fenced_producer_is_renewed_and_every_event_lands_once(make_settings, hub_process):
    """Another producer takes the worker's transactional id; the worker renews its own and goes on: the events
    sent after the fencing are on the feed, each once, and the worker is still running."""
    s = make_settings(worker_processors="normalize", worker_id="w1")
    systems.add(s, "onestop-ialy", ["23734"], ["dossier"])
    worker = hub_process(["worker"], s)
    _publish(s, 0, N)
    wait_for(lambda: len(_ids(s, N)) >= N, timeout_s=120, interval_s=1, what="the first events on the feed")

    intruder = Producer({"bootstrap.servers": s.kafka_bootstrap,
                         "transactional.id": f"{s.group('normalize')}-w1"})
    intruder.init_transactions(60)  # bumps the epoch: the worker's producer is fenced
    _publish(s, N, N)

    def all_there() -> list[str] | None:
        got = _ids(s, 2 * N)
        return got if len(got) >= 2 * N else None

    ids = wait_for(all_there, timeout_s=180, interval_s=1, what="the events sent after the fencing on the feed")
    assert ids == sorted(f"evt-{i}" for i in range(2 * N))  # each once, none lost
    assert worker.popen.poll() is None, "the worker must survive a fenced producer"
    assert '"producer_renewed"' in worker.output()

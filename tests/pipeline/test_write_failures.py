"""A feed write that fails stops the partition: no offset moves, nothing is marked seen, nothing lost."""

from __future__ import annotations

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from connectors.publisher import Publisher
from hub import systems
from hub.contract import codec, topics
from hub.testing import group_lag, read_topic, wait_for
from tests.pipeline import payloads

pytestmark = pytest.mark.integration
N = 40


def _set_max_message_bytes(s, topic: str, value: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap, client_id="test-alter")
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                            configs={"max.message.bytes": str(value)})])
    finally:
        admin.close()


def test_feed_writes_refused_by_the_broker_hold_the_partition_until_the_fault_clears(make_settings, hub_process):
    """While the feed refuses records the worker retries without committing; afterwards each event lands once."""
    s = make_settings()
    feed = s.topic(topics.FEED_DOSSIER)
    ingest = s.topic(topics.INGEST_DOSSIER)
    systems.add(s, "onestop-ialy", ["23734"], ["dossier"])
    _set_max_message_bytes(s, feed, 100)  # far below one Avro dossier: every feed write is refused
    with Publisher("onestop-ialy", s) as pub:
        for i in range(N):
            pub.send_async("dossier", payloads.encode(payloads.dossier(i)), format="dvcqg-json", commune="23734",
                           event_id=f"evt-{i}")
        pub.flush()
    worker = hub_process(["worker"], s)

    # Readiness by evidence: the worker has tried and aborted more than once.
    wait_for(lambda: worker.output().count('"batch_aborted"') >= 2, timeout_s=120, what="two aborted batches")
    assert group_lag(s, ingest) == N, "no ingest offset may be committed while the feed write fails"
    assert read_topic(s, feed, timeout_s=10) == []
    assert read_topic(s, s.topic(topics.DLQ), timeout_s=10) == [], "a broker refusal is not the event's fault"

    _set_max_message_bytes(s, feed, 1_048_588)
    wait_for(lambda: group_lag(s, ingest) == 0, timeout_s=120, what="ingest consumed after the fault cleared")
    records = read_topic(s, feed, expect=N, timeout_s=60, idle_s=3)
    schemas = codec.load(s.schemas_dir)
    ids = sorted(codec.decode(schemas, r.value)["source_event_id"] for r in records)
    assert ids == sorted(f"evt-{i}" for i in range(N))
    assert '"reason":"MSG_SIZE_TOO_LARGE"' in worker.output() or "TOO_LARGE" in worker.output()

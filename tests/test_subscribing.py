"""Acceptance (hub issue 24): the README's minimal subscriber, run as a subscriber would run it.

docs/examples/subscriber.py (shown in full in the README's "Subscribing" section) reads a real feed topic
written the way the worker writes it: Confluent-framed Avro from hub.contract.codec, lz4-compressed, inside Kafka
transactions, one of them aborted. It decodes through the gateway's /registry (served by uvicorn, the
set-up of tests/test_schemas_confluent.py) and its printed lines are checked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid

from avro_samples import DOSSIER, ROOT, dossier_v2
from confluent_kafka import Producer
from test_schemas_confluent import served_gateway  # noqa: F401  (a fixture: uvicorn serving the gateway)

from hub.contract import codec, topics

EXAMPLE = ROOT / "docs" / "examples" / "subscriber.py"
COMMITTED = (0, 1, 2, 3, 5)  # dossier_v2(i) records in committed transactions
ABORTED = 4  # written in a transaction that is aborted: a read_committed subscriber never sees it
COMMUNE = "23734"  # every record: one key, so one partition, read in the order 0 1 2 3 (4) 5; a reader
# that is not read_committed therefore prints record 4 among its first five lines, and fails the test


def _record(i: int) -> dict:
    """A DossierEvent v3 record (v3 adds the pseudonym key ids) of COMMUNE."""
    return {**dossier_v2(i), "commune_code": COMMUNE, "applicant_pseudonym_key_id": "k1a2b3c4d",
            "handler_pseudonym_key_id": None}


def _produce_like_the_worker(settings) -> str:
    """Write the records as the worker does (transactions, lz4, key = commune code); returns the topic."""
    topic = settings.topic(topics.FEED_DOSSIER)
    v3 = codec.load(settings.schemas_dir).version(DOSSIER, 3)
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "compression.type": "lz4",
                         "transactional.id": f"{settings.topic_prefix}subscriber-example-{uuid.uuid4().hex[:8]}"})
    producer.init_transactions(30)
    for batch, commit in (((0, 1, 2, 3), True), ((ABORTED,), False), ((5,), True)):
        producer.begin_transaction()
        for i in batch:
            rec = _record(i)
            producer.produce(topic, key=rec["commune_code"].encode(), value=codec.encode(v3, rec))
        if commit:
            producer.commit_transaction(30)
        else:
            producer.flush(30)  # the records reach the log, then the abort marker follows them
            producer.abort_transaction(30)
    return topic


def test_example_prints_the_committed_records_decoded(served_gateway):  # noqa: F811
    """The example prints one JSON line per committed record: key = commune, value decoded from Avro
    (timestamps as ISO text), partition order kept; the aborted record never appears."""
    settings, url = served_gateway
    topic = _produce_like_the_worker(settings)
    env = {**os.environ, "KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "REGISTRY_URL": url}
    run = subprocess.run([sys.executable, str(EXAMPLE), topic, f"{settings.topic_prefix}subscriber",
                          str(len(COMMITTED))], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(lines) == len(COMMITTED), run.stdout
    by_event = {line["value"]["event_id"]: line for line in lines}
    assert set(by_event) == {dossier_v2(i)["event_id"] for i in COMMITTED}  # not dossier_v2(4): aborted
    assert [line["value"]["event_id"] for line in lines] == [dossier_v2(i)["event_id"] for i in COMMITTED]
    assert len({line["partition"] for line in lines}) == 1
    assert [line["offset"] for line in lines] == sorted(line["offset"] for line in lines)
    for i, line in zip(COMMITTED, lines, strict=True):
        assert line["key"] == "23734"
        assert line["value"]["commune_code"] == "23734"
        assert line["value"]["source_event_id"] == f"evt-{i:05d}"
        assert line["value"]["applicant_pseudonym_key_id"] == "k1a2b3c4d"
    # dossier_v2(0): received 2025-08-01T00:00Z, event 5 minutes later (BASE_MS + 5 min, by hand)
    assert lines[0]["value"]["event_time"] == "2025-08-01 00:05:00+00:00"
    assert lines[0]["value"]["status"] == "NEWLY_REGISTERED"


def test_readme_shows_the_tested_example():
    """The README's Python block under the subscriber-example marker is docs/examples/subscriber.py itself."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- subscriber-example: docs/examples/subscriber\.py -->\n```python\n(.*?)```", readme, re.S)
    assert found, "README.md has no python block after <!-- subscriber-example: docs/examples/subscriber.py -->"
    assert found.group(1) == EXAMPLE.read_text(encoding="utf-8")

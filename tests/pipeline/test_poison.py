"""A payload that is too expensive to normalize is dead-lettered once; the worker keeps its partitions."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from connectors.publisher import Publisher
from hub import systems
from hub.contract import headers as h
from hub.contract import topics
from hub.testing import group_lag, read_topic, wait_for
from tests.normalize.test_budget import _organ, _package
from tests.pipeline import payloads

pytestmark = pytest.mark.integration


def test_a_24k_recipient_package_is_dead_lettered_and_the_worker_keeps_its_group_membership(make_settings,
                                                                                           hub_process):
    """The 1 MiB package goes to the DLQ as too_expensive with its bytes; the next event is normalized by the
    same assignment (no rebalance, no retry loop)."""
    s = make_settings(worker_processors="normalize")
    systems.add(s, "docs-province", ["23734"], ["document"], ["000.00.00.H41"])
    systems.add(s, "onestop-ialy", ["23734"], ["dossier"])
    package = _package([_organ(i) for i in range(24_000)] + ["000.23.734.H41"])
    assert len(package) > 1_000_000
    worker = hub_process(["worker"], s)
    with Publisher("docs-province", s) as pub:
        pub.send("document", package, format="edxml", event_id="poison-1")
    with Publisher("onestop-ialy", s) as pub:
        pub.send("dossier", payloads.encode(payloads.dossier(1)), format="dvcqg-json", commune="23734",
                 event_id="after-poison")

    dead = read_topic(s, s.topic(topics.DLQ), expect=1, timeout_s=120)
    # Bounded by construction (hub.bounded): the first 256 KiB, with the original's size and SHA-256.
    assert len(dead) == 1 and dead[0].value == package[:262_144]
    assert dead[0].headers["hub.error.original.size"] == str(len(package))
    assert dead[0].headers["hub.error.original.sha256"] == hashlib.sha256(package).hexdigest()
    assert dict(dead[0].headers)[h.ERR_REASON] == "too_expensive"
    feed = read_topic(s, s.topic(topics.FEED_DOSSIER), expect=1, timeout_s=120)
    assert len(feed) == 1
    wait_for(lambda: group_lag(s, s.topic(topics.INGEST_DOCUMENT)) == 0, timeout_s=60, what="document consumed")

    lines = [orjson.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
    normalize = [ln for ln in lines if ln.get("processor") == "normalize"]
    assert [ln["event"] for ln in normalize if ln["event"].startswith("partitions_")] == ["partitions_assigned"]
    assert not [ln for ln in normalize if ln["event"] in ("batch_aborted", "batch_fatal", "engine_failed")]
    rejected = [ln for ln in lines if ln.get("event") == "event_rejected"]
    assert [ln["reason"] for ln in rejected] == ["too_expensive"]

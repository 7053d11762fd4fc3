"""Chaos: three workers in one group under a steady stream; a fourth joins, one leaves (SIGTERM), one is
SIGKILLed — every rebalance mid-stream; nothing is lost or duplicated and every dossier keeps its order.

Size: 1,000 dossiers (about 3,700 events) at about 100 events/s; ``HUB_CHAOS_SCALE=N`` makes the stream
N times longer.
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from chaos.checker import Ledger, verify
from chaos.traffic import SdkSender, drained
from chaos.workload import COMMUNES, dossier_events, size
from hub import systems
from hub.contract import topics
from hub.testing import wait_for

pytestmark = pytest.mark.integration

SCALE = max(1.0, float(os.environ.get("HUB_CHAOS_SCALE", "1")))
DOSSIERS = size(1000, SCALE)
SYSTEM = "chaos-group"


def _owns_partitions(proc) -> bool:
    return any('"partitions_assigned"' in line and '"processor":"normalize"' in line and ".ingest." in line
               for line in proc.output().splitlines())


def test_workers_joining_leaving_and_dying_mid_stream_lose_and_repeat_nothing(make_settings, hub_process,
                                                                              record_property):
    """3 workers, +1 joins, 1 leaves with SIGTERM, 1 SIGKILLed, all mid-stream: the checker finds nothing."""
    events = dossier_events(DOSSIERS, tag="g", bad_every=80)
    s = make_settings(partitions=6, worker_session_timeout_s=6, worker_transaction_timeout_ms=5000)
    ingest = s.topic(topics.INGEST_DOSSIER)
    systems.add(s, SYSTEM, list(COMMUNES), ["dossier"])
    workers = {wid: hub_process(["worker"], dataclasses.replace(s, worker_id=wid), name=wid)
               for wid in ("g0", "g1", "g2")}
    wait_for(lambda: all(_owns_partitions(w) for w in workers.values()), timeout_s=120, interval_s=0.2,
             what="three workers sharing the ingest partitions")
    ledger = Ledger()
    # ~100 events/s: the stream must outlast a join, a graceful leave and a kill on a quiet machine too
    sender = SdkSender(s, SYSTEM, events, ledger, chunk=40, pause_s=0.4)
    sender.start()
    steps: list[str] = []

    wait_for(lambda: ledger.count() >= len(events) // 5, timeout_s=120, what="a fifth acknowledged")
    workers["g3"] = hub_process(["worker"], dataclasses.replace(s, worker_id="g3"), name="g3")
    steps.append(f"g3 joined at {ledger.count()} acks")
    wait_for(lambda: _owns_partitions(workers["g3"]), timeout_s=120, interval_s=0.2, what="g3 owning partitions")
    rc = workers["g0"].stop()
    steps.append(f"g0 left (SIGTERM, exit {rc}) at {ledger.count()} acks")
    before = ledger.count()
    wait_for(lambda: ledger.count() >= min(before + len(events) // 10, len(events)), timeout_s=120,
             what="stream going on")
    workers["g1"].kill()
    steps.append(f"g1 SIGKILLed at {ledger.count()} acks")

    sender.finish(300)
    wait_for(lambda: drained(s, ingest), timeout_s=300, interval_s=1, what="ingest consumed by g2 and g3")
    verdict = verify(s, ledger)
    line = f"3 workers, {'; '.join(steps)}: {verdict.line()}"
    record_property("chaos_worker_group", line)
    print(line)
    assert verdict.ok, verdict.detail()
    assert verdict.acknowledged == len(events)
    assert rc == 0 and "engine_stopped" in workers["g0"].output(), workers["g0"].output()[-2000:]
    assert workers["g2"].popen.poll() is None and workers["g3"].popen.poll() is None

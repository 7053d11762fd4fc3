"""Chaos: a 3-node KRaft cluster (replication factor 3, min.insync.replicas=2), the leader of an ingest
partition SIGKILLed mid-stream while SDK publishers (acks=all) and a worker run; nothing acknowledged is
lost, nothing duplicated, per-dossier order kept. The killed node comes back and catches up.

Size: 400 dossiers (about 1,750 events); ``HUB_CHAOS_SCALE=N`` makes it N times bigger.
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from chaos.broker import LocalCluster
from chaos.checker import Ledger, verify
from chaos.traffic import SdkSender, Supervisor, drained
from chaos.workload import COMMUNES, dossier_events, size
from hub import systems
from hub.contract import topics
from hub.testing import wait_for

pytestmark = pytest.mark.integration

SCALE = max(1.0, float(os.environ.get("HUB_CHAOS_SCALE", "1")))
DOSSIERS = size(400, SCALE)
SYSTEM = "chaos-cluster"


def test_the_partition_leader_sigkilled_in_a_three_node_cluster_loses_nothing(make_settings, hub_process,
                                                                               tmp_path, record_property):
    """Leader of ingest partition 0 SIGKILLed mid-stream: 0 lost, 0 duplicated, order kept; it rejoins the ISR."""
    events = dossier_events(DOSSIERS, tag="l", bad_every=60)
    with LocalCluster(tmp_path / "cluster") as cluster:
        s = make_settings(create_topics=False, kafka_bootstrap=cluster.bootstrap, replication_factor=3,
                          min_insync_replicas=2, worker_session_timeout_s=6, worker_transaction_timeout_ms=10_000)
        topics.create(s)
        ingest = s.topic(topics.INGEST_DOSSIER)
        systems.add(s, SYSTEM, list(COMMUNES), ["dossier"])
        # Under a supervisor, as in production: a worker whose transaction coordinator dies may be fenced
        # (below) and exit; the restarts are counted and reported, the checker judges the outcome.
        worker = Supervisor(hub_process, dataclasses.replace(s, worker_id="cluster-w1"))
        ledger = Ledger()
        sender = SdkSender(s, SYSTEM, events, ledger, chunk=50, pause_s=0.05)
        sender.start()
        wait_for(worker.until(lambda: ledger.count() >= len(events) // 4), timeout_s=180,
                 what="a quarter acknowledged")
        leader = cluster.leaders(ingest)[0]
        acked_at_kill = ledger.count()
        cluster.kill(leader)
        # Writes go on with two of three replicas in sync (acks=all, min.insync.replicas=2).
        wait_for(worker.until(lambda: ledger.count() >= acked_at_kill + len(events) // 4), timeout_s=180,
                 what="publishing going on without the killed leader")
        new_leader = cluster.leaders(ingest)[0]
        cluster.start_node(leader)
        sender.finish(300)
        wait_for(worker.until(lambda: drained(s, ingest)), timeout_s=300, interval_s=1, what="ingest consumed")
        verdict = verify(s, ledger)
        wait_for(lambda: all(len(isr) == 3 for isr in cluster.in_sync(ingest).values()), timeout_s=120,
                 what="the restarted node back in every ISR")
        worker.check()
        alive = worker.current.popen.poll() is None
        worker.current.stop()  # while the cluster is up: after it, the stop would wait out its timeout
    line = (f"3-node cluster, leader (node {leader}) of {ingest}:0 SIGKILLed after {acked_at_kill} acks, "
            f"new leader node {new_leader}, worker restarts {len(worker.restarts)}: {verdict.line()}")
    record_property("chaos_cluster_leader_kill", line)
    print(line)
    assert new_leader != leader
    print("worker restarts:", worker.restarts)
    assert verdict.ok, verdict.detail() + "\n" + "\n".join(worker.restarts)
    assert verdict.acknowledged == len(events)
    assert alive, worker.current.output()[-2000:]

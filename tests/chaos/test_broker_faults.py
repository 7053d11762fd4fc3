"""Chaos: the broker stopped (SIGTERM) and later SIGKILLed mid-stream, each time started again, while SDK
publishers (outbox) and the gateway with its HTTP clients keep publishing and a worker keeps running.

The gateway answers 503 while Kafka is away and its clients retry the same batch, as a real publisher
does; the outbox holds what it stored and forwards it when the broker is back. Then the checker: what
the outbox stored and the gateway acknowledged (202) against the feed and the dead letters. The
gateway must still be running at the end; the worker runs under a supervisor (restarts reported).

Runs its own broker (tests/chaos/broker.py). Size: 300 dossiers through the gateway and 300 through
the outbox (about 2,200 events); ``HUB_CHAOS_SCALE=N`` makes both N times bigger.
"""

from __future__ import annotations

import dataclasses
import os
import time

import httpx
import pytest
from confluent_kafka import KafkaException

from chaos.broker import LocalBroker
from chaos.checker import Ledger, verify
from chaos.traffic import GatewayClient, OutboxFeeder, Supervisor, Watch, drained
from chaos.workload import COMMUNES, dossier_events, size
from hub import systems
from hub.contract import topics
from hub.errors import TransientError
from hub.testing import free_port, wait_for

# It found three defects, each fixed with its own regression test: the gateway's producer wedged with
# OutOfOrderSequenceNumber after a broker restart, the outbox forwarder died when a producer could not
# flush on close, and the worker's transactional producer broke (docs/reliability.md).
pytestmark = pytest.mark.integration

SCALE = max(1.0, float(os.environ.get("HUB_CHAOS_SCALE", "1")))
DOSSIERS = size(300, SCALE)
CLIENTS = 2


def _split(events, n: int) -> list[list]:
    """n event lists, each dossier whole in one of them (its publisher keeps its order)."""
    out: list[list] = [[] for _ in range(n)]
    for ev in events:
        out[int(ev.dossier.rsplit("-", 1)[1][1:]) % n].append(ev)
    return out


def test_broker_sigterm_and_sigkill_under_gateway_and_outbox_traffic(make_settings, hub_process, tmp_path,
                                                                     record_property):
    """Two broker outages (SIGTERM, SIGKILL) mid-stream: 0 lost, 0 duplicated, order kept, processes alive."""
    gateway_events = dossier_events(DOSSIERS, tag="h")  # the gateway refuses invalid events before Kafka
    outbox_events = dossier_events(DOSSIERS, tag="o", bad_every=50)
    total = len(gateway_events) + len(outbox_events)
    with LocalBroker(tmp_path / "kafka") as broker:
        port = free_port()
        s = make_settings(create_topics=False, kafka_bootstrap=broker.bootstrap, worker_session_timeout_s=6,
                          worker_transaction_timeout_ms=5000, gateway_delivery_timeout_ms=2000, gateway_port=port,
                          outbox_path=str(tmp_path / "outbox.sqlite3"))
        topics.create(s)
        key = _add_system(s, "chaos-gateway")
        _add_system(s, "chaos-outbox")
        # Under a supervisor, as in production (restarts are counted and reported).
        worker = Supervisor(hub_process, dataclasses.replace(s, worker_id="faults-w1"))
        gateway = hub_process(["gateway", "--host", "127.0.0.1", "--port", str(port)], s, name="gateway")
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=5) as probe:
            wait_for(lambda: _status(probe, "/readyz") == 200, timeout_s=120, what="gateway ready")
        # The faults are mid-stream: the worker is up and normalizing before the first one. (A worker that
        # starts while the broker is away exits non-zero once its transactional producer cannot initialise
        # within 60 s: a supervisor restarts it; this test has none.)
        wait_for(lambda: _assigned(worker.current), timeout_s=180, interval_s=0.2, what="worker assigned")
        feed = Watch(s, s.topic(topics.FEED_DOSSIER), s.group("kpi"))
        ledger = Ledger()
        clients = [GatewayClient(url, key, f"c{i}", part, ledger, chunk=10, pause_s=0.5)
                   for i, part in enumerate(_split(gateway_events, CLIENTS))]
        feeder = OutboxFeeder(s, "chaos-outbox", outbox_events, ledger, chunk=10, pause_s=0.3)
        publishers = [*clients, feeder]
        for p in publishers:
            p.start()
        unavailable = lambda: sum(c.unavailable + c.failures for c in clients)  # noqa: E731
        gateway_acked = lambda: sum(c.acked for c in clients)  # noqa: E731
        faults = []
        try:
            # Paced publishers (about 70 events/s together): the stream outlasts both outages. The first fault
            # waits for the worker to be writing the feed; each lands once a share of the events is acknowledged.
            written = _end(feed)
            wait_for(worker.until(lambda: _end(feed) > written), timeout_s=180, interval_s=0.2,
                     what="the worker writing the feed")
            for fault, share in (("SIGTERM", 0.25), ("SIGKILL", 0.6)):
                wait_for(worker.until(lambda n=int(total * share): ledger.count() >= n), timeout_s=300,
                         what=f"{share:.0%} acknowledged before the {fault}")
                written = _end(feed)
                seen = unavailable()
                if fault == "SIGTERM":
                    broker.stop()
                else:
                    broker.kill()
                acked = ledger.count()
                # Down until the gateway's clients have felt it (503 or refused connections).
                wait_for(worker.until(lambda n=seen: unavailable() > n), timeout_s=120,
                         what=f"clients seeing the {fault} outage")
                broker.start()
                back, acks = time.monotonic(), gateway_acked()
                wait_for(worker.until(lambda n=acks: gateway_acked() > n), timeout_s=180, interval_s=0.1,
                         what=f"the gateway accepting again after the {fault}")
                ack_s = time.monotonic() - back
                wait_for(worker.until(lambda n=written: _end(feed) > n), timeout_s=180, interval_s=0.1,
                         what=f"the worker writing the feed after the {fault}")
                faults.append(f"{fault} after {acked} acks (gateway 202 again {ack_s:.1f}s and feed moving "
                              f"{time.monotonic() - back:.1f}s after the broker was back)")
            for p in publishers:
                p.finish(600)
            assert feeder.drained(300), "the outbox did not drain after the outages"
        finally:
            for p in publishers:
                p.stop_event.set()
            feeder.outbox.close()
            feed.close()
        wait_for(worker.until(lambda: drained(s, s.topic(topics.INGEST_DOSSIER))), timeout_s=300, interval_s=1,
                 what="ingest consumed")
        verdict = verify(s, ledger)
        with httpx.Client(base_url=url, timeout=5) as probe:
            health = _status(probe, "/healthz")
        worker.check()
        alive = {"worker": worker.current.popen.poll() is None, "gateway": gateway.popen.poll() is None}
        # Stopped while their broker is up: after it, each would spend its whole shutdown timeout on it.
        gateway.stop()
        worker.current.stop()
    line = (f"broker {' and '.join(faults)} under {CLIENTS} gateway clients ({sum(c.unavailable for c in clients)} "
            f"503s retried) and an outbox, worker restarts {len(worker.restarts)}: {verdict.line()}")
    record_property("chaos_broker_faults", line)
    print(line)
    print("worker restarts:", worker.restarts)
    assert verdict.ok, verdict.detail() + "\n" + "\n".join(worker.restarts)
    assert verdict.acknowledged == total
    assert all(not c.refused for c in clients), [c.refused[:3] for c in clients]
    assert alive == {"worker": True, "gateway": True} and health == 200, (alive, worker.restarts)


def _add_system(s, system: str) -> str:
    """systems.add, again while a broker just started (on a busy machine) times out reading the list."""
    for _ in range(5):
        try:
            return systems.add(s, system, list(COMMUNES), ["dossier"])
        except TransientError:
            time.sleep(2)
    return systems.add(s, system, list(COMMUNES), ["dossier"])


def _end(watch: Watch) -> int:
    """The feed's end offset, or -1 while the broker (just restarted) cannot say."""
    try:
        return watch.end()
    except KafkaException:
        return -1


def _assigned(worker) -> bool:
    return any('"partitions_assigned"' in line and '"processor":"normalize"' in line
               for line in worker.output().splitlines())


def _status(client: httpx.Client, path: str) -> int:
    try:
        return client.get(path).status_code
    except httpx.TransportError:
        return 0

"""SIGTERM stops a worker within HUB_WORKER_SHUTDOWN_S even when an engine thread never returns
(hub issue 21 item 12: a stuck worker once ignored SIGTERM for over three minutes)."""

from __future__ import annotations

import signal
import subprocess
import sys

import orjson
import pytest
from confluent_kafka import Producer

from hub.contract import topics
from hub.testing import wait_for
from tests.conftest import ROOT, settings_env

pytestmark = pytest.mark.integration


def _lines(path) -> list[dict]:
    return [orjson.loads(ln) for ln in path.read_text().splitlines() if ln.startswith("{")]


def test_sigterm_ends_a_worker_whose_engine_is_stuck(make_settings, tmp_path):
    """HUB_WORKER_SHUTDOWN_S=5, stall bound 600 s: the engine is stuck in its first batch; SIGTERM logs
    worker_stopping, then worker_shutdown_forced naming the stuck processor and where it is, and exit 1."""
    s = make_settings(worker_stall_s=600, worker_shutdown_s=5)
    producer = Producer({"bootstrap.servers": s.kafka_bootstrap})
    producer.produce(s.topic(topics.INGEST_DOSSIER), b"{}", key=b"k")
    assert producer.flush(30) == 0
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tests.stream.stuck_shutdown_worker"], env=settings_env(s),
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        try:
            wait_for(lambda: any(x.get("event") == "test_processor_stuck" for x in _lines(log_path)),
                     timeout_s=120, interval_s=0.2, what="the engine stuck in its batch")
            proc.send_signal(signal.SIGTERM)
            # the bound is 5 s; 90 s only keeps a broken build from hanging the suite
            wait_for(lambda: proc.poll() is not None, timeout_s=90, interval_s=0.2, what="the worker exiting")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    lines = _lines(log_path)
    events = [x.get("event") for x in lines]
    assert proc.returncode == 1, log_path.read_text()[-3000:]
    assert "worker_stalled" not in events
    stopping = [x for x in lines if x.get("event") == "worker_stopping"]
    assert len(stopping) == 1 and stopping[0]["signal"] == "SIGTERM" and stopping[0]["bound_s"] == 5
    [forced] = [x for x in lines if x.get("event") == "worker_shutdown_forced"]
    assert forced["signal"] == "SIGTERM" and [st["processor"] for st in forced["stuck"]] == ["stuck"]
    assert any("_wait_for_an_answer_that_never_comes" in f for f in forced["stuck"][0]["where"]), forced
    assert events.index("worker_stopping") < events.index("worker_shutdown_forced")

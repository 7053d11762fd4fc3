"""A processor stuck inside one step of the engine's loop is reported with where it is, and ends its worker."""

from __future__ import annotations

import subprocess
import sys
import threading

import orjson
import pytest
from confluent_kafka import Producer

from hub.contract import topics
from hub.engine.watchdog import bound_s, stalls, where
from hub.testing import wait_for
from tests.conftest import ROOT, settings_env


class _Beating:
    def __init__(self, name: str, heartbeat: float, stall_s: float) -> None:
        self.name, self.heartbeat, self.stall_s = name, heartbeat, stall_s


def _blocked_in_a_named_call(release: threading.Event, secret: str) -> None:
    release.wait(60)


@pytest.fixture
def blocked_thread():
    release = threading.Event()
    t = threading.Thread(target=_blocked_in_a_named_call, args=(release, "citizen 012345678901"), daemon=True)
    t.start()
    yield t
    release.set()
    t.join(10)


def test_the_default_bound_outlasts_every_blocking_call_of_a_step():
    """0 derives the bound: init_transactions (60 s) plus six commit-timeout calls, at least 120 s."""
    assert bound_s(0, 10.0) == 120.0
    assert bound_s(0, 30.0) == 240.0  # 60 + 6 * 30
    assert bound_s(45, 10.0) == 45.0


def test_only_live_threads_past_their_bound_are_stalls(blocked_thread):
    """A beat older than the bound is a stall; a fresh beat or a finished thread is not."""
    now = 1000.0
    done = threading.Thread(target=lambda: None)
    done.start()
    done.join()
    found = stalls([(_Beating("stuck", now - 5.0, 2.0), blocked_thread),
                    (_Beating("fresh", now - 1.0, 2.0), blocked_thread),
                    (_Beating("ended", now - 50.0, 2.0), done)], now=now)
    assert [(st.name, st.seconds) for st in found] == [("stuck", 5.0)]


def test_where_names_the_blocked_function_and_no_values(blocked_thread):
    """The frames name files, lines, functions and code; the arguments' values stay out."""
    frames = where(blocked_thread)
    assert any("_blocked_in_a_named_call: release.wait(60)" in f for f in frames), frames
    assert "012345678901" not in " ".join(frames)


@pytest.mark.integration
def test_a_worker_whose_processor_never_returns_logs_worker_stalled_and_exits_1(make_settings, tmp_path):
    """HUB_WORKER_STALL_S=3: the first batch never ends; within the bound plus shutdown the process exits 1."""
    s = make_settings(worker_stall_s=3)
    producer = Producer({"bootstrap.servers": s.kafka_bootstrap})
    producer.produce(s.topic(topics.INGEST_DOSSIER), b"{}", key=b"k")
    assert producer.flush(30) == 0
    log_path = tmp_path / "stuck.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tests.stream.stuck_worker"], env=settings_env(s),
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        try:
            wait_for(lambda: proc.poll() is not None, timeout_s=240, interval_s=0.5, what="the stuck worker exiting")
        finally:
            if proc.poll() is None:
                proc.kill()
    lines = [orjson.loads(ln) for ln in log_path.read_text().splitlines() if ln.startswith("{")]
    stalled = [ln for ln in lines if ln.get("event") == "worker_stalled"]
    assert proc.returncode == 1, log_path.read_text()[-2000:]
    assert len(stalled) == 1 and stalled[0]["processor"] == "stuck" and stalled[0]["seconds"] > 3
    assert any("_wait_for_an_answer_that_never_comes" in f for f in stalled[0]["where"]), stalled[0]["where"]

"""`make run` as a newcomer meets it (ops/run.sh): other ports, one-line errors, Ctrl-C exits 0, proof lines
that are this run's records. Runs the script itself, with its own broker on a port of its own."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from hub.testing import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "ops" / "run.sh"


def _env(**extra: str) -> dict[str, str]:
    """The caller's environment without any HUB_ setting (a newcomer's shell), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(BIN=str(Path(sys.executable).parent), SIM_COMMUNES="3", SIM_RATE="10", **extra)
    return env


def _start(env: dict[str, str], out: Path, err: Path) -> subprocess.Popen:
    # A session of its own: Ctrl-C in a terminal reaches the whole foreground group, so does killpg here.
    return subprocess.Popen(["bash", str(RUN)], cwd=ROOT, env=env, stdout=out.open("wb"), stderr=err.open("wb"),
                            stdin=subprocess.DEVNULL, start_new_session=True)


def _closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def test_other_ports_this_runs_records_and_ctrl_c_exits_0(tmp_path):
    kafka_port, controller, gateway, metrics = (free_port() for _ in range(4))
    libs = ROOT / "var" / "kafka" / "libs"
    env = _env(HUB_KAFKA_PORT=str(kafka_port), HUB_KAFKA_CONTROLLER_PORT=str(controller),
               HUB_KAFKA_HOME=str(tmp_path / "kafka"), HUB_GATEWAY_PORT=str(gateway),
               HUB_WORKER_METRICS_PORT=str(metrics), HUB_WORKER_DATA_DIR=str(tmp_path / "worker"),
               **({"HUB_KAFKA_LIBS": str(libs)} if (libs / ".complete").exists() else {}))
    out, err = tmp_path / "run.out", tmp_path / "run.err"
    started_ms = time.time() * 1000
    proc = _start(env, out, err)
    try:
        wait_for(lambda: "the feed keeps flowing" in out.read_text() or proc.poll() is not None, timeout_s=300,
                 what="make run's proof lines")
        text = out.read_text()
        assert proc.poll() is None, f"run.sh ended early ({proc.returncode}): {err.read_text()}"
        assert f"topics ready on 127.0.0.1:{kafka_port}" in text  # the broker address follows HUB_KAFKA_PORT
        proof = text.split("the first dossiers of this run", 1)[1].splitlines()[1:]
        records = [json.loads(line) for line in proof if line.startswith("{")]
        assert len(records) == 3, text
        for r in records:  # this run's records: ingested after the script started (hub clock, UTC)
            assert datetime.fromisoformat(r["value"]["ingest_time"]).timestamp() * 1000 >= started_ms - 1000, r
        with urllib.request.urlopen(f"http://127.0.0.1:{gateway}/healthz", timeout=5) as resp:
            assert resp.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/healthz", timeout=5) as resp:
            assert resp.status == 200
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does
        rc = proc.wait(timeout=120)
    assert rc == 0, err.read_text()
    assert err.read_text() == ""
    assert out.read_text().rstrip().endswith("run: stopped.")
    assert _closed(kafka_port) and _closed(gateway)  # everything it started is stopped, the broker too


@pytest.mark.parametrize("taken", ["HUB_GATEWAY_PORT", "HUB_WORKER_METRICS_PORT"])
def test_a_taken_port_is_one_line_naming_its_variable(tmp_path, taken):
    holder = socket.create_server(("127.0.0.1", 0))
    try:
        port = holder.getsockname()[1]
        env = _env(HUB_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}", HUB_GATEWAY_PORT=str(free_port()),
                   HUB_WORKER_METRICS_PORT=str(free_port()))
        env[taken] = str(port)
        out, err = tmp_path / "run.out", tmp_path / "run.err"
        rc = _start(env, out, err).wait(timeout=60)
    finally:
        holder.close()
    assert rc == 1
    assert err.read_text().splitlines() == [f"run: port {port} ({taken}) is in use; set {taken} to a free port"]
    assert out.read_text() == ""


def test_no_broker_at_the_given_bootstrap_is_one_line(tmp_path):
    nothing = free_port()
    env = _env(HUB_KAFKA_BOOTSTRAP=f"127.0.0.1:{nothing}", HUB_GATEWAY_PORT=str(free_port()),
               HUB_WORKER_METRICS_PORT=str(free_port()))
    out, err = tmp_path / "run.out", tmp_path / "run.err"
    rc = _start(env, out, err).wait(timeout=60)
    assert rc == 1
    lines = err.read_text().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"run: no Kafka broker answers at 127.0.0.1:{nothing} (HUB_KAFKA_BOOTSTRAP)")
    assert "Traceback" not in out.read_text()

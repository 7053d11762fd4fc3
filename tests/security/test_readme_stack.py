"""Acceptance of secure mode: the README's "A secure stack on one machine" block, run as written, step by step.

The block is taken from README.md (the fenced block after the ``secure-stack`` marker comment) and each line
runs in its own ``bash`` with the shell state (exported variables) of the lines before it, from a folder of
this test's own: a broker in secure mode (``ops/kafka/kafka.sh up``), topics and ACLs created by the operator,
a reader key, the worker and the gateway as their own principals, then ``curl``. Only what must differ on a
shared machine is changed: the README's ports become free ports (replaced in the text, each asserted to be
there), the worker's state folder and metrics port come from the environment, and the Kafka jars already
fetched are reused (``HUB_KAFKA_LIBS``). A forgotten ACL (feed.target.progress.v1, hub issue 21 item 8)
kept /readyz at 503 forever: this test then fails at its deadline.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import httpx
import orjson
import pytest

from hub.settings import ROOT
from hub.testing import KAFKA_SH, free_port, wait_for
from tests.chaos.broker import JARS
from tests.gateway.test_dashboard import post_login

pytestmark = pytest.mark.integration
BLOCK = re.compile(r"<!-- secure-stack:[^>]*-->\n```sh\n(.*?)```", re.S)
README_PORTS = ("9192", "9193", "9194", "8080")  # broker SASL, controller, broker TLS, gateway


def readme_steps(ports: dict[str, int]) -> list[str]:
    """The block's command lines (comments dropped), with free ports and the absolute path of kafka.sh."""
    found = BLOCK.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert found, "README.md has no block after <!-- secure-stack: ... -->"
    text = found.group(1)
    for literal, port in ports.items():
        assert re.search(rf"\b{literal}\b", text), f"the README block no longer uses port {literal}"
        text = re.sub(rf"\b{literal}\b", str(port), text)
    assert "ops/kafka/kafka.sh" in text
    text = text.replace("ops/kafka/kafka.sh", str(KAFKA_SH))
    return [line for line in (raw.strip() for raw in text.splitlines()) if line and not line.startswith("#")]


class Shell:
    """Runs one line at a time in a fresh bash that first sources the exports of the lines before."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env = cwd, env
        self.state = cwd / "shell-state.sh"
        self.state.write_text("")
        self.background: list[tuple[subprocess.Popen, Path]] = []

    def run(self, line: str, *, timeout_s: float = 300) -> subprocess.CompletedProcess:
        script = f"source {self.state}\n{line}\nrc=$?\nexport -p > {self.state}\nexit $rc\n"
        return subprocess.run(["bash", "-c", script], cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=timeout_s)

    def start(self, line: str) -> subprocess.Popen:
        """A line ending in ``&``: a process of its own group (stopped by its id at teardown), logged to a file."""
        log = self.cwd / f"background-{len(self.background)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(["bash", "-c", f"source {self.state}\n{line.rstrip('&').strip()}\n"],
                                    cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.background.append((proc, log))
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for _p, log in self.background)

    def stop(self) -> None:
        for proc, _log in self.background:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _log in self.background:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.run(f"{KAFKA_SH} down", timeout_s=120)  # the broker of this test's own HUB_KAFKA_HOME (its PID file)


def test_a_secure_stack_started_from_the_readme_serves_readyz_the_read_api_and_the_dashboard(tmp_path):
    """Every README line succeeds; /readyz answers 200 "ok", the read API answers the reader key with the
    commune's row (200, data false: nothing reported yet) and refuses no key (401); the dashboard opens with
    the reader key; no process's command line carries a password."""
    if not any(JARS.glob("kafka_*.jar")):
        pytest.fail(f"no Kafka jars in {JARS}: run ops/kafka/kafka.sh up once")
    ports = {literal: free_port() for literal in README_PORTS}
    gateway = f"http://127.0.0.1:{ports['8080']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(PATH=f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}", HUB_KAFKA_LIBS=str(JARS),
               HUB_KAFKA_HEAP="512m", HUB_GATEWAY_PORT=str(ports["8080"]), HUB_WORKER_METRICS_PORT=str(free_port()),
               HUB_WORKER_DATA_DIR=str(tmp_path / "worker-state"))
    shell = Shell(tmp_path, env)
    outputs: dict[str, str] = {}
    try:
        for line in readme_steps(ports):
            if line.endswith("&"):
                shell.start(line)
                continue
            if line.startswith("curl"):  # the stack needs a moment: poll the README's own command, with a deadline
                done: list[subprocess.CompletedProcess] = []

                def answered(line: str = line, done: list = done) -> bool:
                    done[:] = [shell.run(line)]
                    return done[0].returncode == 0

                try:
                    wait_for(answered, timeout_s=240, interval_s=2, what=line)
                except TimeoutError:
                    pytest.fail(f"{line}\n{done[0].stdout}{done[0].stderr}\n{shell.logs()}")
                outputs[line] = done[0].stdout
                continue
            result = shell.run(line)
            assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}\n{shell.logs()}"

        ready = next(v for k, v in outputs.items() if "/readyz" in k)
        body = orjson.loads(ready)
        assert body["status"] == "ok" and body["read_model"]["caught_up"] is True, body
        row = orjson.loads(next(v for k, v in outputs.items() if "/v1/kpi/communes/23734" in k))
        assert (row["commune_code"], row["period"], row["at"], row["data"]) == ("23734", "month", "2025-11", False)

        key = (tmp_path / "var" / "secrets" / "reader.key").read_text().strip()
        assert key.startswith("hubk_")
        with httpx.Client(base_url=gateway, timeout=30) as client:
            assert client.get("/v1/kpi/communes/23734").status_code == 401
            assert client.get("/dashboard").status_code == 303  # to the login form
            login = post_login(client, key)
            assert login.status_code == 303 and login.headers["location"] == "/dashboard"
            page = client.get("/dashboard")
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.text[:500]

        passwords = [(tmp_path / "var" / "secrets" / f"{who}.password").read_text().strip()
                     for who in ("operator", "worker", "gateway")]
        for proc, _log in shell.background:
            assert proc.poll() is None, shell.logs()
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
            assert not any(pw in cmdline for pw in passwords)
    finally:
        shell.stop()

"""A Kafka broker of a test's own (ops/kafka/kafka.sh on free ports), for tests that stop or kill it.

The session's shared broker must never be stopped; a chaos test starts this one with its own
HUB_KAFKA_HOME, HUB_KAFKA_PORT and HUB_KAFKA_CONTROLLER_PORT. The Kafka jars are shared with
the repository's ``var/kafka/libs`` (fetched there once by kafka.sh if missing), so only the
first start of a fresh clone pays for Maven.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from pathlib import Path

from hub.settings import ROOT
from hub.testing import KAFKA_SH, free_port

JARS = ROOT / "var" / "kafka" / "libs"


class LocalBroker:
    """``start`` / ``stop`` (SIGTERM, waits) / ``kill`` (SIGKILL); a context manager stops it at exit."""

    def __init__(self, home: Path, env: dict[str, str] | None = None):
        self.home = home
        self.env = dict(env or {})  # extra kafka.sh environment (secure mode: tests/security)
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        JARS.mkdir(parents=True, exist_ok=True)
        if not (home / "libs").exists():
            (home / "libs").symlink_to(JARS, target_is_directory=True)

    def _kafka_sh(self, command: str) -> str:
        env = {**os.environ, "HUB_KAFKA_HOME": str(self.home), "HUB_KAFKA_PORT": str(self.port),
               "HUB_KAFKA_CONTROLLER_PORT": str(self.controller_port), **self.env}
        proc = subprocess.run([str(KAFKA_SH), command], env=env, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"kafka.sh {command} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def start(self) -> None:
        self._kafka_sh("up")

    def stop(self) -> None:
        self._kafka_sh("down")

    def kill(self) -> None:
        pidfile = self.home / "kafka.pid"
        if pidfile.exists():
            os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)
            self._kafka_sh("down")  # waits for the process to be gone and removes the PID file

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        # Clients left to the garbage collector would log every failed reconnect.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        self.stop()

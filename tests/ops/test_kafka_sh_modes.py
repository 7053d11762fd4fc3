"""ops/kafka/kafka.sh keeps the broker's logs and data private (hub issue 21 item 12): folders 0700 and
files 0600, including what the broker process itself creates, and narrows what an older version left
readable.

The session's broker is shared and must not be restarted, so `kafka.sh up` runs here in a temporary
HUB_KAFKA_HOME against a stand-in `java` first on PATH: it answers `-version`, formats storage, and
as `kafka.Kafka` is a small process that writes server.log and a data segment the way the broker
would (with the umask it inherits) and listens on the port. Its creation modes are the process's
umask at work, exactly what the real JVM would get.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hub.testing import KAFKA_SH, free_port

FAKE_JAVA = r"""#!/usr/bin/env bash
case "$*" in
  *-version*) echo 'openjdk version "17.0.9" 2023-10-17' >&2 ;;
  *random-uuid*) echo "q1Sh2dKtTXqXiS9bqUbSJQ" ;;
  *"StorageTool format"*) echo "cluster.id=q1Sh2dKtTXqXiS9bqUbSJQ" > "$HUB_KAFKA_HOME/data/meta.properties"
                          echo "Formatting metadata directory" ;;
  *kafka.Kafka*) exec "__PYTHON__" -c '
import os, socket
home = os.environ["HUB_KAFKA_HOME"]
os.makedirs(os.path.join(home, "data", "feed.kpi.commune.v1-0"), exist_ok=True)
open(os.path.join(home, "data", "feed.kpi.commune.v1-0", "00000000000000000000.log"), "wb").close()
srv = socket.create_server(("127.0.0.1", int(os.environ["HUB_KAFKA_PORT"])))
with open(os.path.join(home, "logs", "server.log"), "a") as log:
    log.write("[2026-01-01] INFO [KafkaRaftServer nodeId=1] Kafka Server started\n")
while True:
    srv.accept()[0].close()
' ;;
  *) echo "fake java: unexpected $*" >&2; exit 3 ;;
esac
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def kafka_home(tmp_path):
    """A HUB_KAFKA_HOME, jars and a stand-in java; `kafka.sh down` at the end."""
    bin_dir, libs, home = tmp_path / "bin", tmp_path / "libs", tmp_path / "kafka"
    bin_dir.mkdir()
    libs.mkdir()
    (libs / "kafka_2.13-4.1.1.jar").write_bytes(b"")
    java = bin_dir / "java"
    java.write_text(FAKE_JAVA.replace("__PYTHON__", sys.executable))
    java.chmod(0o755)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
           "PATH": f"{bin_dir}:{os.environ['PATH']}", "HUB_KAFKA_HOME": str(home), "HUB_KAFKA_LIBS": str(libs),
           "HUB_KAFKA_PORT": str(free_port()), "HUB_KAFKA_CONTROLLER_PORT": str(free_port()),
           "HUB_KAFKA_START_TIMEOUT": "60"}
    yield home, env
    subprocess.run(["bash", str(KAFKA_SH), "down"], env=env, capture_output=True, timeout=90)


def _up(env: dict) -> subprocess.CompletedProcess:
    old = os.umask(0o022)  # what a login shell usually has: the script must not rely on its caller's umask
    try:
        return subprocess.run(["bash", str(KAFKA_SH), "up"], env=env, capture_output=True, text=True, timeout=120)
    finally:
        os.umask(old)


def test_up_leaves_folders_0700_and_files_0600(kafka_home):
    """Every folder under HUB_KAFKA_HOME is 0700 and every file 0600: the script's and the broker's."""
    home, env = kafka_home
    proc = _up(env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    logs, data = home / "logs", home / "data"
    for folder in (home, logs, data, data / "feed.kpi.commune.v1-0"):
        assert _mode(folder) == 0o700, folder
    for name in ("logs/server.log", "logs/stdout.log", "logs/format.log", "data/meta.properties",
                 "data/feed.kpi.commune.v1-0/00000000000000000000.log", "server.properties", "log4j2.yaml",
                 "kafka.pid", "security.mode"):
        assert _mode(home / name) == 0o600, name


def test_up_narrows_what_an_older_version_left_readable(kafka_home):
    """A home from before the fix (0755 folders, a 0644 server.log the broker appends to) is narrowed."""
    home, env = kafka_home
    (home / "logs").mkdir(parents=True)
    (home / "data").mkdir()
    for folder in (home, home / "logs", home / "data"):
        folder.chmod(0o755)
    old_log = home / "logs" / "server.log"
    old_log.write_text("[2025-12-01] INFO an older start\n")
    old_log.chmod(0o644)
    proc = _up(env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {_mode(p) for p in (home, home / "logs", home / "data")} == {0o700}
    assert _mode(old_log) == 0o600 and "an older start" in old_log.read_text()

"""Brokers of a test's own, for tests that stop or kill them: one (ops/kafka/kafka.sh) or a 3-node cluster
(ops/kafka/cluster.sh), on free ports.

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
# A test's broker lives for a minute or two: C1 alone compiles what it runs at about half the CPU of a start
# with C2 (5 s instead of 9-11 s to ready, measured), and the suite starts about fifteen of them.
SHORT_LIVED_JVM = {"HUB_KAFKA_JVM_OPTS": "-XX:TieredStopAtLevel=1"}


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
               "HUB_KAFKA_CONTROLLER_PORT": str(self.controller_port),
               # A busy CI machine (every test on 2 cores) can take minutes to start a JVM.
               "HUB_KAFKA_START_TIMEOUT": os.environ.get("HUB_KAFKA_START_TIMEOUT", "300"), **SHORT_LIVED_JVM,
               **self.env}
        proc = subprocess.run([str(KAFKA_SH), command], env=env, capture_output=True, text=True, timeout=420)
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


CLUSTER_SH = ROOT / "ops" / "kafka" / "cluster.sh"


class LocalCluster:
    """A 3-node KRaft cluster (ops/kafka/cluster.sh) on free ports: node ids 1-3, replication factor 3,
    min.insync.replicas=2. ``start``/``stop`` all nodes, ``kill(n)`` (SIGKILL) and ``start_node(n)`` one."""

    NODES = (1, 2, 3)

    def __init__(self, home: Path, heap: str = "384m"):
        self.home = home
        self.ports = [free_port() for _ in self.NODES]
        self.controller_ports = [free_port() for _ in self.NODES]
        self.bootstrap = ",".join(f"127.0.0.1:{p}" for p in self.ports)
        self.heap = heap
        home.mkdir(parents=True, exist_ok=True)

    def _cluster_sh(self, *args: str) -> str:
        env = {**os.environ, "HUB_KAFKA_CLUSTER_HOME": str(self.home), "HUB_KAFKA_LIBS": str(JARS),
               "HUB_KAFKA_CLUSTER_PORTS": ",".join(map(str, self.ports)),
               "HUB_KAFKA_CLUSTER_CONTROLLER_PORTS": ",".join(map(str, self.controller_ports)),
               "HUB_KAFKA_HEAP": self.heap, "HUB_KAFKA_START_TIMEOUT": "300", **SHORT_LIVED_JVM}
        proc = subprocess.run([str(CLUSTER_SH), *args], env=env, capture_output=True, text=True, timeout=420)
        if proc.returncode != 0:
            raise RuntimeError(f"cluster.sh {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def start(self) -> None:
        self._cluster_sh("up")

    def stop(self) -> None:
        self._cluster_sh("down")

    def kill(self, node: int) -> None:
        self._cluster_sh("kill", str(node))

    def start_node(self, node: int) -> None:
        self._cluster_sh("start", str(node))

    def leaders(self, topic: str) -> dict[int, int]:
        """Partition -> node id of its leader, as the cluster's metadata says now."""
        from confluent_kafka.admin import AdminClient

        meta = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 3}).list_topics(topic, timeout=30)
        return {p.id: p.leader for p in meta.topics[topic].partitions.values()}

    def in_sync(self, topic: str) -> dict[int, list[int]]:
        """Partition -> node ids of its in-sync replicas."""
        from confluent_kafka.admin import AdminClient

        meta = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 3}).list_topics(topic, timeout=30)
        return {p.id: sorted(p.isrs) for p in meta.topics[topic].partitions.values()}

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        self.stop()

"""The broker side of the benchmarks: find or start a broker, run a worker, read and clean topics."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from hub import log, testing
from hub.kafka import config as kafka_config
from hub.settings import ROOT, Settings
from hub.testing import subprocess_env


@contextlib.contextmanager
def broker() -> Iterator[str]:
    """The broker the benchmarks use (see hub.testing.broker)."""
    with testing.broker() as bootstrap:
        log.get().info("bench_kafka", bootstrap=bootstrap)
        yield bootstrap


env_for = subprocess_env
delete_prefixed = testing.delete_prefixed


class Worker:
    """``python -m hub worker`` in its own process group, output to a log file."""

    def __init__(self, s: Settings, log_path: Path):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen([sys.executable, "-m", "hub", "worker"], env=env_for(s), cwd=ROOT,
                                      stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            tail = self.log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"the worker exited with {self.popen.returncode}; its log ends:\n{tail}")

    def stop(self, timeout_s: float = 30.0) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=timeout_s)
        self._log.close()


def tail_consumer(s: Settings, *topic_names: str) -> KafkaConsumer:
    """A group-less consumer positioned at the beginning of every partition of the topics."""
    consumer = KafkaConsumer(**kafka_config.kafka_python(s), enable_auto_commit=False,
                             client_id="hub-bench-reader", fetch_max_wait_ms=50)
    tps = [TopicPartition(t, p) for t in topic_names for p in sorted(consumer.partitions_for_topic(t) or ())]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    for tp in tps:  # resolve positions now, so the first poll after the clock starts does no lookups
        consumer.position(tp)
    return consumer


def create_topic(s: Settings, name: str) -> None:
    admin = KafkaAdminClient(**kafka_config.kafka_python(s), client_id="hub-bench-admin")
    try:
        admin.create_topics([NewTopic(name, s.partitions, s.replication_factor)], timeout_ms=30_000)
    finally:
        admin.close()


def poll_until(consumer: KafkaConsumer, done, *, timeout_s: float, on_record, alive=None) -> None:
    """Feed every polled record to ``on_record`` until ``done()``; TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark target not reached within {timeout_s:.0f}s")
        if alive is not None:
            alive()
        for msgs in consumer.poll(timeout_ms=200).values():
            for m in msgs:
                on_record(m)

"""Helpers for tests and benchmarks against a real broker: read topics with a deadline."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from hub.contract import headers as h
from hub.errors import HubError, TransientError
from hub.kafka import config as kafka_config
from hub.kafka import read as kafka_read
from hub.settings import ROOT, Settings

KAFKA_SH = ROOT / "ops" / "kafka" / "kafka.sh"


def local_bootstrap() -> str:
    """Where ops/kafka/kafka.sh's broker listens: its HUB_KAFKA_PORT, as the script reads it."""
    return f"127.0.0.1:{os.environ.get('HUB_KAFKA_PORT') or 9092}"


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]
    timestamp: int


def read_topic(settings: Settings, topic: str, *, expect: int | None = None, timeout_s: float = 60.0,
               idle_s: float = 2.0, isolation_level: str = kafka_read.READ_COMMITTED) -> list[Record]:
    """All (committed) records of ``topic`` (full name) from the beginning; [] when it does not exist.

    Without ``expect``: up to the end offsets of now. With ``expect``: keeps following until
    ``expect`` records arrived and nothing more came for ``idle_s`` (so that extra, duplicate
    records are seen), or the deadline passes.
    """
    deadline = time.monotonic() + timeout_s
    try:
        reader = kafka_read.Reader(settings, topic, client="testing", isolation_level=isolation_level)
    except TransientError:
        raise
    except HubError:  # the topic does not exist (yet): nothing to read
        return []
    with reader:
        out = [_record(m) for m in reader.read_to_end(timeout_s=max(deadline - time.monotonic(), 1.0))]
        last_new = time.monotonic()
        while expect is not None and time.monotonic() < deadline:
            if len(out) >= expect and time.monotonic() - last_new >= idle_s:
                break
            new = reader.poll(0.2)
            if new:
                out.extend(_record(m) for m in new)
                last_new = time.monotonic()
        return out


def _record(m) -> Record:
    return Record(m.topic, m.partition, m.offset, m.key, m.value, h.to_dict(m.headers), m.timestamp)


def wait_for(predicate, *, timeout_s: float = 60.0, interval_s: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; raise TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout_s}s")
        time.sleep(interval_s)


def group_lag(settings: Settings, topic: str, group_id: str | None = None, *, timeout_s: float = 10.0) -> int:
    """Data records of ``topic`` after the group's committed offsets (the normalize processor's group
    by default). Transaction markers take offsets but are no records, so they do not count: a group
    that consumed everything of a transactionally written topic has lag 0 (end - committed would say 1
    per partition). Records of a still open transaction count as lag."""
    consumer = KafkaConsumer(**kafka_config.kafka_python(settings),
                             group_id=group_id or settings.group("normalize"), enable_auto_commit=False,
                             client_id="hub-testing-lag", isolation_level="read_committed")
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = consumer.end_offsets(tps)
        behind = {tp: c for tp in tps if (c := consumer.committed(tp) or 0) < ends[tp]}
        if not behind:
            return 0
        consumer.assign(list(behind))
        for tp, committed in behind.items():
            consumer.seek(tp, committed)
        count = 0
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in behind):
            if time.monotonic() > deadline:  # an open transaction holds the rest back: all of it is lag
                return count + sum(max(0, ends[tp] - consumer.position(tp)) for tp in behind)
            count += sum(len(msgs) for msgs in consumer.poll(timeout_ms=200).values())
        return count
    finally:
        consumer.close()


def end_offset_total(settings: Settings, topic: str) -> int:
    """How many records ``topic`` holds (sum of end offsets; topics here are never truncated)."""
    consumer = KafkaConsumer(**kafka_config.kafka_python(settings), client_id="hub-testing-ends")
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return sum(consumer.end_offsets(tps).values())
    finally:
        consumer.close()


def delete_prefixed(settings: Settings, timeout_s: float = 30.0) -> int:
    """Delete every topic under ``settings.topic_prefix`` (never unprefixed, real topics); best effort."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    if not settings.topic_prefix:
        return 0
    try:
        admin = KafkaAdminClient(**kafka_config.kafka_python(settings), client_id="hub-testing-cleanup",
                                 request_timeout_ms=int(timeout_s * 1000))
    except KafkaError:
        return 0  # a test that stopped the broker on purpose: nothing to clean
    try:
        names = [t for t in admin.list_topics() if t.startswith(settings.topic_prefix)]
        if names:
            admin.delete_topics(names, timeout_ms=int(timeout_s * 1000))
        return len(names)
    except KafkaError:
        return 0
    finally:
        admin.close()


def subprocess_env(settings: Settings) -> dict[str, str]:
    """Environment for a ``python -m hub`` subprocess that must see exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    for var, _default, _doc in Settings.describe():
        value = getattr(settings, var[4:].lower())
        env[var] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BrokerUnavailable(RuntimeError):
    """No broker answers and none could be started: tests and benchmarks fail loudly."""


def broker_answers(bootstrap: str) -> bool:
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


SESSION_OWNER = ROOT / "var" / "kafka-session" / "owner"


def shared_broker(session: str) -> str:
    """The broker one test session's processes share (pytest-xdist workers): the first that needs it starts it.

    HUB_KAFKA_BOOTSTRAP wins when given. Otherwise the local broker (ops/kafka/kafka.sh) is started under
    a file lock, so two workers never start it twice, and ``session`` is written beside it: only the
    session that started it stops it (``release_shared_broker``).
    """
    given = os.environ.get("HUB_KAFKA_BOOTSTRAP")
    if given:
        if not broker_answers(given):
            raise BrokerUnavailable(f"HUB_KAFKA_BOOTSTRAP={given} does not answer; start that broker or unset it")
        return given
    SESSION_OWNER.parent.mkdir(parents=True, exist_ok=True)
    with open(SESSION_OWNER.with_name("lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not broker_answers(local_bootstrap()):
            proc = subprocess.run([str(KAFKA_SH), "up"], capture_output=True, text=True)
            if proc.returncode != 0:
                raise BrokerUnavailable(f"could not start the local Kafka broker:\n{proc.stdout}\n{proc.stderr}")
            SESSION_OWNER.write_text(session)
    return local_bootstrap()


def release_shared_broker(session: str) -> None:
    """Stop the local broker if ``session`` started it (a broker found running is left running)."""
    try:
        owner = SESSION_OWNER.read_text()
    except FileNotFoundError:
        return
    if owner == session:
        # Clients left to the garbage collector would log every failed reconnect.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        subprocess.run([str(KAFKA_SH), "down"], capture_output=True, text=True)
        SESSION_OWNER.unlink(missing_ok=True)


@contextlib.contextmanager
def broker() -> Iterator[str]:
    """The broker at HUB_KAFKA_BOOTSTRAP, or a local one (ops/kafka/kafka.sh) started and stopped here.

    A local broker is started only when nothing answers and no bootstrap was given.
    """
    given = os.environ.get("HUB_KAFKA_BOOTSTRAP")
    bootstrap = given or local_bootstrap()
    if broker_answers(bootstrap):
        yield bootstrap
        return
    if given:
        raise BrokerUnavailable(f"HUB_KAFKA_BOOTSTRAP={given} does not answer; start that broker or unset it")
    proc = subprocess.run([str(KAFKA_SH), "up"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BrokerUnavailable(f"could not start the local Kafka broker:\n{proc.stdout}\n{proc.stderr}")
    try:
        yield bootstrap
    finally:
        # Clients left to the garbage collector would log every failed reconnect.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        subprocess.run([str(KAFKA_SH), "down"], capture_output=True, text=True)

"""Read a topic, or some of its partitions, up to the end offsets it has now — with a deadline.

Every reader of the hub outside the worker (``hub tail``, ``hub dlq``, ``hub status``, the test
helpers) needs the same loop: assign partitions, seek, poll until each partition's position
reaches the end offset captured at the start, and never hang on a broker that stops answering.
It lives here once.

Readers use ``isolation_level=read_committed`` by default: feeds are written in Kafka
transactions, so a reader must see committed records only (records of aborted transactions are
skipped, and the end offset is the *last stable offset*: records of a transaction still open
are not waited for). Positions move past transaction markers too, so "position reached the end
offset" is the right stop condition in both isolation levels.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError, TopicAuthorizationFailedError

from hub.errors import HubError, TransientError
from hub.kafka import config as kafka_config
from hub.settings import Settings

READ_COMMITTED = "read_committed"
READ_UNCOMMITTED = "read_uncommitted"


def unreachable(settings: Settings, exc: Exception) -> TransientError:
    return TransientError(f"Kafka at {settings.kafka_bootstrap} is not reachable or did not answer: {exc}")


def consumer(settings: Settings, client: str, *, isolation_level: str = READ_COMMITTED, timeout_s: float = 15.0,
             **config: Any) -> KafkaConsumer:
    """A consumer without a group (``assign`` only) and without auto-commit."""
    try:
        return KafkaConsumer(**kafka_config.kafka_python(settings), enable_auto_commit=False,
                             auto_offset_reset="earliest",  # a start lost to retention: read what is left
                             isolation_level=isolation_level, client_id=f"{settings.app_id}-{client}",
                             bootstrap_timeout_ms=int(timeout_s * 1000),
                             request_timeout_ms=max(10_000, int(timeout_s * 1000)), **config)
    except KafkaError as exc:
        raise unreachable(settings, exc) from exc


def partitions(kafka: KafkaConsumer, topic: str, settings: Settings | None = None) -> list[TopicPartition]:
    """The topic's partitions; HubError when the topic does not exist or this principal may not read it."""
    parts = kafka.partitions_for_topic(topic)
    if not parts:
        if settings is not None and _denied(settings, topic):
            raise HubError(f"principal {settings.kafka_username} is not authorized to read topic {topic} "
                           "(its ACLs come from hub/admin/security.py: the operator runs `hub security setup` or "
                           "`hub security grant`)")
        raise HubError(f"topic {topic} does not exist (run `hub topics create`)")
    return [TopicPartition(topic, p) for p in sorted(parts)]


def _denied(settings: Settings, topic: str) -> bool:
    """True when the broker refuses to describe ``topic`` to this principal (secure mode only).

    A consumer's metadata of all topics silently leaves out the ones a principal may not see, so a
    missing ACL looks like a missing topic; a metadata request naming the topic tells them apart
    (TOPIC_AUTHORIZATION_FAILED, code 29). Only asked on this failure path.
    """
    if not kafka_config.secure(settings):
        return False
    from kafka.admin import KafkaAdminClient

    try:
        admin = KafkaAdminClient(**kafka_config.kafka_python(settings), client_id=f"{settings.app_id}-describe",
                                 bootstrap_timeout_ms=10_000, request_timeout_ms=10_000)
    except KafkaError:
        return False
    try:
        described = admin.describe_topics([topic])
    except TopicAuthorizationFailedError:
        return True
    except KafkaError:
        return False
    finally:
        admin.close()
    return any(t.get("error_code") == TopicAuthorizationFailedError.errno for t in described)


class Reader:
    """One consumer assigned to (some partitions of) one topic.

    ``read_to_end`` yields what lies between the current positions and the end offsets, and can
    be called again to get what was added since; ``poll`` follows the topic (``hub tail``).
    """

    def __init__(self, settings: Settings, topic: str, *, client: str = "read", only: list[int] | None = None,
                 starts: dict[int, int] | None = None, from_end: bool = False,
                 isolation_level: str = READ_COMMITTED, timeout_s: float = 15.0):
        self.settings = settings
        self.topic = topic
        self._kafka = consumer(settings, client, isolation_level=isolation_level, timeout_s=timeout_s)
        try:
            tps = partitions(self._kafka, topic, settings)
            if only is not None:
                wanted = set(only)
                tps = [tp for tp in tps if tp.partition in wanted]
            self.tps = tps
            self._kafka.assign(tps)
            rest = [tp for tp in tps if tp.partition not in (starts or {})]
            for tp in tps:
                if starts and tp.partition in starts:
                    self._kafka.seek(tp, starts[tp.partition])
            if rest:
                (self._kafka.seek_to_end if from_end else self._kafka.seek_to_beginning)(*rest)
        except KafkaError as exc:
            self._kafka.close()
            raise unreachable(settings, exc) from exc
        except BaseException:
            self._kafka.close()
            raise

    def ends(self) -> dict[int, int]:
        """{partition: end offset} now (the last stable offset under read_committed)."""
        try:
            return {tp.partition: off for tp, off in self._kafka.end_offsets(self.tps).items()}
        except KafkaError as exc:
            raise unreachable(self.settings, exc) from exc

    def positions(self) -> dict[int, int]:
        try:
            return {tp.partition: self._kafka.position(tp) for tp in self.tps}
        except KafkaError as exc:
            raise unreachable(self.settings, exc) from exc

    def read_to_end(self, ends: dict[int, int] | None = None, *, timeout_s: float = 30.0) -> Iterator[Any]:
        """Records from the current positions up to ``ends`` (default: the end offsets now).

        Raises TransientError when no progress is made for ``timeout_s`` (never hangs).
        """
        ends = self.ends() if ends is None else ends
        by_partition = {tp.partition: tp for tp in self.tps}
        yield from drain(self.settings, self._kafka, {by_partition[p]: end for p, end in ends.items()
                                                       if p in by_partition}, timeout_s, self.topic)

    def poll(self, timeout_s: float = 0.5) -> list[Any]:
        """Whatever arrived within ``timeout_s``, in partition order (for following a topic)."""
        try:
            batch = self._kafka.poll(timeout_ms=int(timeout_s * 1000))
        except KafkaError as exc:
            raise unreachable(self.settings, exc) from exc
        return [m for tp in sorted(batch, key=lambda t: t.partition) for m in batch[tp]]

    def close(self) -> None:
        self._kafka.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def drain(settings: Settings, kafka: KafkaConsumer, ends: dict[TopicPartition, int], timeout_s: float,
           what: str) -> Iterator[Any]:
    """Poll the assigned partitions until each position reaches its end offset; TransientError after
    ``timeout_s`` without progress. A record at or past its end offset is left where it is (the consumer
    is sought back to it), so the next read of the same consumer starts with it."""
    remaining = set(ends)
    progress_at = time.monotonic()
    try:
        while remaining:
            # Retention may have deleted the start; the position tells where reading really is.
            left = {tp for tp in remaining if kafka.position(tp) < ends[tp]}
            if left != remaining:
                progress_at = time.monotonic()
            remaining = left
            if not remaining:
                break
            if time.monotonic() - progress_at > timeout_s:
                raise TransientError(f"reading {what}: no progress for {timeout_s}s before its end offsets")
            for tp, msgs in kafka.poll(timeout_ms=200).items():
                for m in msgs:
                    if m.offset < ends.get(tp, 0):
                        progress_at = time.monotonic()
                        yield m
                    else:
                        # Written after the end offsets were taken: the position is already past it, so a
                        # later read_to_end / poll on this consumer would never see it. Go back to it.
                        kafka.seek(tp, m.offset)
                        break
    except KafkaError as exc:
        raise unreachable(settings, exc) from exc


def read_since(settings: Settings, names: list[str], since_ms: int, *, missing: list[str] | None = None,
               timeout_s: float = 30.0, isolation_level: str = READ_COMMITTED, client: str = "since") -> Iterator[Any]:
    """Records of every topic in ``names`` (full names) from the first one at least as recent as
    ``since_ms`` (``offsets_for_times``) up to the end offsets of now — one consumer, so one metadata
    request however many topics. Topics that do not exist are skipped and appended to ``missing``."""
    kafka = consumer(settings, client, isolation_level=isolation_level, timeout_s=timeout_s)
    try:
        tps = []
        for name in names:
            parts = kafka.partitions_for_topic(name)
            if not parts and missing is not None:
                missing.append(name)
            tps += [TopicPartition(name, p) for p in sorted(parts or ())]
        if not tps:
            return
        ends = kafka.end_offsets(tps)
        found = kafka.offsets_for_times({tp: max(0, since_ms) for tp in tps}, timeout_ms=int(timeout_s * 1000))
        starts = {tp: (ot.offset if ot is not None else ends[tp]) for tp, ot in found.items()}
        wanted = {tp: ends[tp] for tp in tps if starts.get(tp, ends[tp]) < ends[tp]}
        if not wanted:
            return
        kafka.assign(list(wanted))
        for tp in wanted:
            kafka.seek(tp, starts[tp])
        yield from drain(settings, kafka, wanted, timeout_s, ", ".join(names))
    except KafkaError as exc:
        raise unreachable(settings, exc) from exc
    finally:
        kafka.close()


def end_offsets(settings: Settings, topic: str, *, timeout_s: float = 15.0,
                isolation_level: str = READ_COMMITTED, client: str = "ends") -> dict[int, int]:
    """{partition: end offset} captured now: a bounded read goes up to here and no further."""
    kafka = consumer(settings, client, isolation_level=isolation_level, timeout_s=timeout_s)
    try:
        tps = partitions(kafka, topic, settings)
        return {tp.partition: off for tp, off in kafka.end_offsets(tps).items()}
    except KafkaError as exc:
        raise unreachable(settings, exc) from exc
    finally:
        kafka.close()


def read(settings: Settings, topic: str, ends: dict[int, int] | None = None, *,
         starts: dict[int, int] | None = None, timeout_s: float = 30.0, client: str = "read",
         isolation_level: str = READ_COMMITTED) -> Iterator[Any]:
    """Kafka records of ``topic`` from ``starts`` (default: the beginning) up to ``ends`` (default: now).

    Only the partitions named in ``ends`` (all, by default) that have something to read are assigned.
    """
    wanted = None if ends is None else [p for p, end in ends.items() if end > (starts or {}).get(p, 0)]
    if wanted == []:
        return
    with Reader(settings, topic, client=client, only=wanted, starts=starts,
                isolation_level=isolation_level, timeout_s=timeout_s) as reader:
        yield from reader.read_to_end(ends, timeout_s=timeout_s)

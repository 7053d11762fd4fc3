"""Topic names (the contract), their configuration, and idempotent creation."""

from __future__ import annotations

import time
from dataclasses import dataclass

from hub.errors import TransientError
from hub.kafka import config as kafka_config
from hub.settings import Settings

INGEST_DOSSIER = "ingest.dossier"
INGEST_DOCUMENT = "ingest.document"
FEED_DOSSIER = "feed.dossier.v1"
FEED_DOCUMENT = "feed.document.v1"
FEED_KPI = "feed.kpi.commune.v1"
FEED_DIRECTIVE = "feed.directive.v1"
FEED_FRESHNESS = "feed.freshness.v1"
INGEST_TARGET = "ingest.target"
FEED_TARGET = "feed.target.v1"
FEED_TARGET_PROGRESS = "feed.target.progress.v1"  # derived, keyed <commune>|<year>|<program>|<indicator>
DLQ = "hub.dlq.v1"
SYSTEMS = "hub.systems.v1"
USERS = "hub.users.v1"  # people's dashboard accounts (hub.admin.users), followed by the gateway
DLQ_REPLAYED = "hub.dlq.replayed.v1"  # which DLQ offsets `hub dlq replay` re-injected (hub.admin.dlq)

INGEST_BY_KIND = {"dossier": INGEST_DOSSIER, "document": INGEST_DOCUMENT, "target": INGEST_TARGET}
FEED_BY_KIND = {"dossier": FEED_DOSSIER, "document": FEED_DOCUMENT, "target": FEED_TARGET}
KINDS = tuple(INGEST_BY_KIND)


# --- who reads and writes what ------------------------------------------------------------------
# One declaration per process. hub.admin.security derives each principal's topic ACLs from it, the
# gateway's read model follows READ_MODEL_FEEDS, and tests/security/test_plan.py checks that every
# worker processor's inputs and outputs are exactly what PROCESSORS says: a feed added to a process
# but not here fails that test instead of being refused by the broker in secure mode only.
@dataclass(frozen=True)
class Access:
    """Contract topic names (without the prefix) a process reads and writes."""

    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()


# The gateway's read model (read API, dashboard, ``hub status``): feed name -> topic.
READ_MODEL_FEEDS = {"kpi": FEED_KPI, "directive": FEED_DIRECTIVE, "freshness": FEED_FRESHNESS,
                    "target": FEED_TARGET_PROGRESS}
# The worker's stream processors (their changelogs, groups and transactional ids are ``<app>-*``).
PROCESSORS = {
    "normalize": Access(tuple(INGEST_BY_KIND.values()), (*FEED_BY_KIND.values(), DLQ)),
    "kpi": Access((FEED_DOSSIER,), (FEED_KPI,)),
    "directives": Access((FEED_DOCUMENT,), (FEED_DIRECTIVE,)),
    "freshness": Access(tuple(FEED_BY_KIND.values()), (FEED_FRESHNESS,)),
    "targets": Access((FEED_TARGET,), (FEED_TARGET_PROGRESS,)),
}


def _unique(names) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


# The worker also follows the systems list (scopes, organ directory, signature keys).
WORKER = Access(_unique([*(t for a in PROCESSORS.values() for t in a.reads), SYSTEMS]),
                _unique(t for a in PROCESSORS.values() for t in a.writes))
GATEWAY = Access((SYSTEMS, USERS, *READ_MODEL_FEEDS.values()), tuple(INGEST_BY_KIND.values()))
PUBLISHER = Access((), tuple(INGEST_BY_KIND.values()))  # a connector (SDK) writes ingest, reads nothing


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


def specs(s: Settings) -> list[TopicSpec]:
    """Every topic the hub needs, with partitions and configs from settings."""
    raw_ms = str(s.raw_retention_hours * 3600 * 1000)
    base = {"min.insync.replicas": str(s.min_insync_replicas)}
    raw = {**base, "retention.ms": raw_ms}
    feed = {**base, "retention.ms": str(s.feed_retention_days * 24 * 3600 * 1000)}
    # Assignments are made once a year and followed until 31 January of the next: keep two plan years,
    # so a subscriber (or a processor started afresh) can still read this year's assignments.
    target_feed = {**base, "retention.ms": str(800 * 24 * 3600 * 1000)}
    compacted = {**base, "cleanup.policy": "compact"}
    out = [
        TopicSpec(s.topic(INGEST_DOSSIER), s.partitions, raw),
        TopicSpec(s.topic(INGEST_DOCUMENT), s.partitions, raw),
        TopicSpec(s.topic(INGEST_TARGET), s.partitions, raw),
        TopicSpec(s.topic(FEED_DOSSIER), s.partitions, feed),
        TopicSpec(s.topic(FEED_DOCUMENT), s.partitions, feed),
        TopicSpec(s.topic(FEED_TARGET), s.partitions, target_feed),
        TopicSpec(s.topic(FEED_TARGET_PROGRESS), s.partitions, compacted),
        TopicSpec(s.topic(FEED_KPI), s.partitions, compacted),
        TopicSpec(s.topic(FEED_DIRECTIVE), s.partitions, compacted),
        TopicSpec(s.topic(FEED_FRESHNESS), s.partitions, compacted),
        TopicSpec(s.topic(DLQ), s.partitions, raw),
        # One partition: the registry is small and every reader wants all of it in order.
        TopicSpec(s.topic(SYSTEMS), 1, compacted),
        TopicSpec(s.topic(USERS), 1, compacted),
        # Replay markers, keyed by DLQ partition:offset; they expire with the DLQ records they mark.
        TopicSpec(s.topic(DLQ_REPLAYED), 1, {**raw, "cleanup.policy": "compact,delete"}),
    ]
    # State changelogs of the stream processors, with the inputs' partition count: the store of
    # input partition p is written to changelog partition p.
    for st in stores(s):
        config = compacted if st.retention_ms is None else {**base, "cleanup.policy": "compact,delete",
                                                            "retention.ms": str(st.retention_ms)}
        for name in changelogs(s, st):
            out.append(TopicSpec(name, s.partitions, config))
    return out


@dataclass(frozen=True)
class StateStore:
    """A processor's changelogged store: one changelog per input topic, or one for all of them
    when ``copartitioned`` (the processor then owns partition p of every input together)."""

    processor: str
    name: str
    inputs: tuple[str, ...]  # contract topic names
    retention_ms: int | None = None  # also delete changelog records older than this
    copartitioned: bool = False
    # One changelog record per transaction instead of per key (hub.engine.changelog): for state that
    # is appended and forgotten by age, never updated in place, so it needs retention_ms.
    batched: bool = False

    def __post_init__(self) -> None:
        if self.batched and self.retention_ms is None:
            raise ValueError(f"store {self.processor}/{self.name}: a batched changelog is never compacted "
                             "away, so it needs retention_ms")


def stores(s: Settings) -> list[StateStore]:
    """Every changelogged store of every processor (the processors declare theirs from here)."""
    return [
        StateStore("normalize", "dedupe", tuple(INGEST_BY_KIND.values()), s.dedupe_window_hours * 3600 * 1000,
                   batched=True),
        StateStore("kpi", "dossiers", (FEED_DOSSIER,)),
        StateStore("kpi", "pending", (FEED_DOSSIER,)),
        StateStore("kpi", "emitted", (FEED_DOSSIER,)),
        StateStore("directives", "reach", (FEED_DOCUMENT,)),
        StateStore("freshness", "communes", tuple(FEED_BY_KIND.values()), copartitioned=True),
        StateStore("targets", "progress", (FEED_TARGET,)),
        StateStore("targets", "emitted", (FEED_TARGET,)),
    ]


def stores_of(s: Settings, processor: str) -> list[StateStore]:
    return [st for st in stores(s) if st.processor == processor]


def changelog(s: Settings, processor: str, store: str, input_topic: str | None = None) -> str:
    """Changelog topic of one store for one input topic (full or contract name), or of a
    co-partitioned store (``input_topic`` None)."""
    if input_topic is None:
        return f"{s.app_id}-{processor}-{store}-changelog"
    base = input_topic[len(s.topic_prefix):] if s.topic_prefix and input_topic.startswith(s.topic_prefix) \
        else input_topic
    return f"{s.app_id}-{processor}-{store}-{base}-changelog"


def changelogs(s: Settings, st: StateStore) -> list[str]:
    if st.copartitioned:
        return [changelog(s, st.processor, st.name)]
    return [changelog(s, st.processor, st.name, name) for name in st.inputs]


def create(s: Settings, *, timeout_s: float = 30.0) -> dict[str, str]:
    """Create missing topics; returns {topic: 'created' | 'exists'}. Idempotent."""
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(**kafka_config.kafka_python(s), client_id=f"{s.app_id}-admin",
                             request_timeout_ms=int(timeout_s * 1000))
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in specs(s) if t.name not in existing]
        result = {t.name: "exists" for t in specs(s) if t.name in existing}
        if wanted:
            admin.create_topics(
                [NewTopic(t.name, t.partitions, s.replication_factor, topic_configs=t.config) for t in wanted],
                timeout_ms=int(timeout_s * 1000),
            )
            result.update({t.name: "created" for t in wanted})
            _until_led(admin, [t.name for t in wanted], time.monotonic() + timeout_s)
        return result
    finally:
        admin.close()


def _until_led(admin, names: list[str], deadline: float) -> None:
    """Wait until every partition of the new topics has a leader: a topic is usable when create returns.

    The controller answers CreateTopics before the leaders are elected; a client that reads or writes in
    that window (``hub systems add`` right after ``hub topics create`` on a busy machine) waits out its own
    timeout instead.
    """
    while True:
        leaderless = [d["name"] for d in admin.describe_topics(names)
                      if d.get("error_code") or not d["partitions"]
                      or any(p["error_code"] or p["leader_id"] < 0 for p in d["partitions"])]
        if not leaderless:
            return
        if time.monotonic() > deadline:
            raise TransientError(f"topics created but without a partition leader yet: {', '.join(leaderless[:5])}")
        time.sleep(0.1)

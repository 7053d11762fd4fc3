"""Publishing and reading systems: who may publish which events for which communes, who may read.

The list lives in the compacted, single-partition topic ``hub.systems.v1`` so that every gateway
and worker, on any machine, reads the same list without a shared disk or database. Record key =
system id; value = JSON ``{id, role, communes, kinds, organ_ids, key_hash, created_at,
revoked_at}`` (records written before roles existed have no ``role``: they are publishers). A
revocation rewrites the record with ``revoked_at`` set (never a tombstone), so compaction keeps
the fact that a system existed and when it was revoked.

Three parts, one job each:

* :class:`SystemsSnapshot` — an immutable view (pure lookups: by id, by key hash, scope, organ
  directory). Readers take ``follower.snapshot`` and never wait: no lock, no I/O.
* :class:`SystemsFollower` — reads the topic in a background thread (kafka-python, bounded
  timeouts) and swaps in a new snapshot after each change; ``refresh_now`` reads to the current
  end once, for callers that must see the latest (never call it on an event loop).
* :func:`add` / :func:`revoke` — validate and write one record; they return once the broker
  acknowledged it.

Keys are ``hubk_`` + 256 random bits; only their SHA-256 is stored. A slow password hash
(bcrypt, scrypt) exists to protect low-entropy human passwords from offline guessing; a
256-bit random key cannot be guessed, so a fast hash is safe and keeps authentication cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import orjson

from hub import kafka_config, log, reference, topics
from hub.errors import ConfigError, Rejected, TransientError
from hub.normalize.context import Scope
from hub.settings import Settings

KEY_PREFIX = "hubk_"
PUBLISHER, READER = "publisher", "reader"
ROLES = (PUBLISHER, READER)
_ID = re.compile(r"^[a-z0-9._-]{1,64}$")
_ORGAN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_MAX_KEY_LEN = 128  # longer "keys" are refused before hashing


@dataclass(frozen=True)
class System:
    id: str
    communes: frozenset[str]
    kinds: frozenset[str]
    organ_ids: frozenset[str]
    key_hash: str
    created_at: int
    revoked_at: int | None
    role: str = PUBLISHER

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> bytes:
        return orjson.dumps({
            "id": self.id, "role": self.role, "communes": sorted(self.communes), "kinds": sorted(self.kinds),
            "organ_ids": sorted(self.organ_ids), "key_hash": self.key_hash, "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        })

    @classmethod
    def from_json(cls, raw: bytes) -> System:
        d = orjson.loads(raw)
        role = d.get("role") or PUBLISHER
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        return cls(id=d["id"], communes=frozenset(d.get("communes") or ()), kinds=frozenset(d.get("kinds") or ()),
                   organ_ids=frozenset(d.get("organ_ids") or ()), key_hash=d["key_hash"],
                   created_at=int(d["created_at"]), revoked_at=d.get("revoked_at"), role=role)

    def public(self) -> dict:
        """What ``hub systems list`` shows: everything except the key hash."""
        return {"id": self.id, "role": self.role, "communes": sorted(self.communes), "kinds": sorted(self.kinds),
                "organ_ids": sorted(self.organ_ids), "created_at": self.created_at,
                "revoked_at": self.revoked_at}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- the snapshot: pure lookups ------------------------------------------------------------------
@dataclass(frozen=True)
class SystemsSnapshot:
    """The systems list at one offset of the topic. Immutable: share it between threads freely."""

    systems: Mapping[str, System] = field(default_factory=lambda: MappingProxyType({}))
    organs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # OrganId -> code
    by_hash: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    offset: int = 0  # next offset of the topic this snapshot has not read
    loaded: bool = False  # False: built before the topic was read once (everything looks unknown)
    built_ms: int = 0

    @classmethod
    def build(cls, systems: Iterable[System], *, province: str, extra_organs: Mapping[str, str] | None = None,
              offset: int = 0, loaded: bool = True) -> SystemsSnapshot:
        """Index ``systems`` (last one per id wins); ``extra_organs`` (HUB_ORGANS) win over registrations."""
        by_id = {s.id: s for s in systems}
        by_hash = {s.key_hash: s.id for s in by_id.values()}
        organs: dict[str, str] = {}
        for s in by_id.values():
            if not s.active or s.role != PUBLISHER:
                continue
            target = next(iter(s.communes)) if len(s.communes) == 1 else province
            for organ in s.organ_ids:
                organs[organ] = target
        organs.update(extra_organs or {})
        return cls(MappingProxyType(by_id), MappingProxyType(organs), MappingProxyType(by_hash), offset, loaded,
                   _now_ms())

    def list(self) -> list[System]:
        return sorted(self.systems.values(), key=lambda s: s.id)

    def get(self, system_id: str) -> System | None:
        return self.systems.get(system_id)

    def authenticate(self, key: str) -> System | None:
        """The active system owning ``key`` (any role), else None."""
        if not key or len(key) > _MAX_KEY_LEN or not key.startswith(KEY_PREFIX):
            return None
        presented = hash_key(key)
        # The lookup is keyed by SHA-256 of the presented key, so its timing says nothing useful
        # about stored hashes; compare_digest makes the final equality constant-time anyway.
        system = self.systems.get(self.by_hash.get(presented, ""))
        if system is None or not hmac.compare_digest(system.key_hash, presented) or not system.active:
            return None
        return system

    def scope(self, system_id: str) -> Scope | None:
        """What an active publisher may publish; None for unknown, revoked and reader systems."""
        system = self.systems.get(system_id)
        if system is None or not system.active or system.role != PUBLISHER:
            return None
        return Scope(communes=system.communes, kinds=system.kinds)


# --- the follower: the only place that reads the topic -------------------------------------------
ConsumerFactory = Callable[[Settings], object]


def _kafka_consumer(settings: Settings):
    from kafka import KafkaConsumer

    return KafkaConsumer(**kafka_config.kafka_python(settings), enable_auto_commit=False,
                         client_id=f"{settings.app_id}-systems", request_timeout_ms=10_000,
                         bootstrap_timeout_ms=5_000, reconnect_backoff_max_ms=2_000)


class SystemsFollower:
    """Follows ``hub.systems.v1`` off the caller's thread; ``snapshot`` is always ready to use.

    One lock serializes the Kafka reads (kafka-python consumers are not thread-safe); lookups
    never take it. ``consumer_factory`` exists for tests that slow the reads down.
    """

    def __init__(self, settings: Settings, *, interval_s: float | None = None,
                 consumer_factory: ConsumerFactory = _kafka_consumer) -> None:
        self.settings = settings
        self.topic = settings.topic(topics.SYSTEMS)
        self.interval_s = interval_s if interval_s is not None else settings.systems_follow_interval_ms / 1000
        self._factory = consumer_factory
        self._extra_organs = settings.organ_map()
        self._snapshot = SystemsSnapshot.build((), province=settings.province, extra_organs=self._extra_organs,
                                               loaded=False)
        self._records: dict[str, System] = {}  # only touched under _io
        self._io = threading.Lock()
        self._consumer = None
        self._tp = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_ok_ms: int | None = None  # last read that reached the end offset
        self.last_error: str | None = None  # None while reads succeed

    @property
    def snapshot(self) -> SystemsSnapshot:
        return self._snapshot  # one attribute read: atomic, never blocks

    @property
    def loaded(self) -> bool:
        return self._snapshot.loaded

    # -- reading ------------------------------------------------------------------------------
    def refresh_now(self, timeout_s: float | None = None) -> SystemsSnapshot:
        """Read the topic to its current end offset once (blocking, bounded); the new snapshot.

        Raises :class:`TransientError` when the broker does not answer within ``timeout_s``
        (default ``HUB_SYSTEMS_REFRESH_TIMEOUT_MS``), including time spent waiting for a read
        already in progress.
        """
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        timeout_s = timeout_s if timeout_s is not None else self.settings.systems_refresh_timeout_ms / 1000
        deadline = time.monotonic() + timeout_s
        if not self._io.acquire(timeout=timeout_s):
            raise TransientError(f"systems list {self.topic}: another read did not finish within {timeout_s}s")
        try:
            try:
                if self._consumer is None:
                    consumer = self._factory(self.settings)
                    tp = TopicPartition(self.topic, 0)
                    consumer.assign([tp])
                    consumer.seek_to_beginning(tp)
                    self._consumer, self._tp = consumer, tp
                consumer, tp = self._consumer, self._tp
                end = consumer.end_offsets([tp], timeout_ms=_left_ms(deadline))[tp]
                changed = False
                while consumer.position(tp, timeout_ms=_left_ms(deadline)) < end:
                    if time.monotonic() > deadline:
                        raise TransientError(f"systems list {self.topic}: end offset {end} not reached "
                                             f"within {timeout_s}s")
                    for msgs in consumer.poll(timeout_ms=min(200, _left_ms(deadline))).values():
                        for m in msgs:
                            changed |= self._apply(m.key, m.value)
            except (KafkaError, OSError) as exc:
                self._close_consumer()
                self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                raise TransientError(f"cannot read systems list {self.topic}: {exc}") from exc
            except TransientError as exc:
                self.last_error = str(exc)[:200]
                raise
            if changed or not self._snapshot.loaded or self._snapshot.offset != end:
                self._snapshot = SystemsSnapshot.build(self._records.values(), province=self.settings.province,
                                                       extra_organs=self._extra_organs, offset=end)
            self.last_ok_ms, self.last_error = _now_ms(), None
            return self._snapshot
        finally:
            self._io.release()

    def _apply(self, key: bytes | None, value: bytes | None) -> bool:
        if value is None:  # a tombstone written by hand: forget the system
            return self._records.pop((key or b"").decode("utf-8", "replace"), None) is not None
        try:
            system = System.from_json(value)
        except (ValueError, KeyError, TypeError):
            log.get().warning("systems_record_unreadable", topic=self.topic)
            return False
        self._records[system.id] = system
        return True

    def _close_consumer(self) -> None:
        if self._consumer is not None:
            # Closing a broken consumer must not mask the error that made us close it.
            with contextlib.suppress(Exception):
                self._consumer.close()
        self._consumer = None

    # -- following ----------------------------------------------------------------------------
    def start(self, *, initial_timeout_s: float | None = None) -> SystemsFollower:
        """Read once (errors logged, not raised), then follow the topic in a daemon thread."""
        try:
            self.refresh_now(initial_timeout_s)
        except TransientError as exc:
            log.get().warning("systems_refresh_failed", topic=self.topic, error=str(exc)[:300])
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="systems-follower", daemon=True)
        self._thread.start()
        return self

    def _follow(self) -> None:
        failing = False
        while not self._stop.wait(self.interval_s):
            try:
                self.refresh_now()
            except TransientError as exc:
                if not failing:  # one line per outage, not one per interval
                    log.get().warning("systems_refresh_failed", topic=self.topic, error=str(exc)[:300])
                failing = True
            else:
                if failing:
                    log.get().info("systems_refresh_recovered", topic=self.topic)
                failing = False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._io:
            self._close_consumer()

    def __enter__(self) -> SystemsFollower:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _left_ms(deadline: float) -> int:
    return max(1, int((deadline - time.monotonic()) * 1000))


def read(settings: Settings, timeout_s: float = 10.0) -> SystemsSnapshot:
    """The current list, read once (CLI commands, ``hub status``)."""
    follower = SystemsFollower(settings)
    try:
        return follower.refresh_now(timeout_s)
    finally:
        follower.stop()


# --- writing ------------------------------------------------------------------------------------
def _write(settings: Settings, system: System) -> None:
    """Send one record and wait for the broker's acknowledgement (acks=all)."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        producer = KafkaProducer(**kafka_config.kafka_python(settings), acks="all",
                                 client_id=f"{settings.app_id}-systems-admin")
    except KafkaError as exc:
        raise TransientError(f"cannot reach Kafka at {settings.kafka_bootstrap}: {exc}") from exc
    try:
        producer.send(settings.topic(topics.SYSTEMS), key=system.id.encode(), value=system.to_json()).get(timeout=30)
    except KafkaError as exc:
        raise TransientError(f"Kafka did not acknowledge the systems write for {system.id}: {exc}") from exc
    finally:
        producer.close(timeout=10)


def validate(settings: Settings, current: SystemsSnapshot, system_id: str, communes: Iterable[str],
             kinds: Iterable[str], organ_ids: Iterable[str] = (), role: str = PUBLISHER
             ) -> tuple[frozenset, frozenset, frozenset]:
    """(communes, kinds, organ ids) of a valid registration, or :class:`Rejected` naming the field."""
    if not _ID.match(system_id or ""):
        raise Rejected("invalid_value", "system id must match [a-z0-9._-]{1,64}", field="id")
    if role not in ROLES:
        raise Rejected("invalid_value", f"role must be one of {', '.join(ROLES)}", field="role")
    cs = frozenset(c.strip() for c in communes if c and c.strip())
    ks = frozenset(k.strip() for k in kinds if k and k.strip())
    os_ = frozenset(o.strip() for o in organ_ids if o and o.strip())
    if role == READER:  # readers read province-wide feeds: communes, kinds and organs mean nothing
        if cs or ks or os_:
            raise Rejected("invalid_value", "a reader has no communes, kinds or organ ids", field="role")
        return cs, ks, os_
    if not cs:
        raise Rejected("missing_field", "a system needs at least one commune code", field="communes")
    units = reference.communes()
    for code in sorted(cs):
        unit = units.get(code)
        if unit is None:
            raise Rejected("unknown_commune", f"commune code {code[:20]!r} is not in the national reference list",
                           field="communes")
        if unit.province_code != settings.province:
            raise Rejected("commune_not_in_province", f"commune {code} ({unit.name}) belongs to province "
                           f"{unit.province_code}, not {settings.province}", field="communes")
    if not ks:
        raise Rejected("missing_field", f"a system needs at least one kind ({', '.join(topics.KINDS)})",
                       field="kinds")
    if not ks <= set(topics.KINDS):
        raise Rejected("invalid_value", f"kinds must be among {', '.join(topics.KINDS)}", field="kinds")
    for organ in sorted(os_):
        if not _ORGAN.match(organ):
            raise Rejected("invalid_value", "an OrganId must match [A-Za-z0-9._-]{1,64}", field="organ_ids")
        for other in current.list():
            if other.active and other.id != system_id and organ in other.organ_ids:
                raise Rejected("invalid_value", f"OrganId {organ} is already registered by system "
                               f"{other.id}; revoke it there first", field="organ_ids")
    return cs, ks, os_


def add(settings: Settings, system_id: str, communes: Iterable[str] = (), kinds: Iterable[str] = (),
        organ_ids: Iterable[str] = (), *, role: str = PUBLISHER, current: SystemsSnapshot | None = None) -> str:
    """Register (or re-register) a system; returns its new plaintext key, which is not stored.

    Returns once the record is acknowledged on the topic, so a gateway that re-reads the topic
    when it meets the key sees it. ``current`` (read from the topic when omitted) is what OrganId
    conflicts are checked against.
    """
    current = current if current is not None else read(settings)
    cs, ks, os_ = validate(settings, current, system_id, communes, kinds, organ_ids, role)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    _write(settings, System(system_id, cs, ks, os_, hash_key(key), _now_ms(), None, role))
    log.get().info("system_added", source_system=system_id, role=role, communes=sorted(cs), kinds=sorted(ks),
                   organ_ids=sorted(os_), topic=settings.topic(topics.SYSTEMS))
    return key


def revoke(settings: Settings, system_id: str, *, current: SystemsSnapshot | None = None) -> None:
    """Mark a system revoked (its record stays, with ``revoked_at``); a no-op if it already is."""
    current = current if current is not None else read(settings)
    system = current.get(system_id)
    if system is None:
        raise ConfigError(f"no system {system_id!r} in {settings.topic(topics.SYSTEMS)}")
    if not system.active:
        return
    _write(settings, replace(system, revoked_at=_now_ms()))
    log.get().info("system_revoked", source_system=system_id, topic=settings.topic(topics.SYSTEMS))

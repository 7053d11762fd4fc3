"""Publishing systems: who may publish which kinds of events for which communes.

The registry lives in the compacted, single-partition topic ``hub.systems.v1`` so that every
gateway and worker, on any machine, reads the same list without a shared disk or database.
Record key = system id; value = JSON ``{id, communes, kinds, organ_ids, key_hash, created_at,
revoked_at}``. A revocation rewrites the record with ``revoked_at`` set (never a tombstone),
so compaction keeps the fact that a system existed and when it was revoked.

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
from dataclasses import dataclass

import orjson

from hub import log, reference, topics
from hub.errors import ConfigError, Rejected, TransientError
from hub.normalize.context import Scope
from hub.settings import Settings

KEY_PREFIX = "hubk_"
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

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> bytes:
        return orjson.dumps({
            "id": self.id, "communes": sorted(self.communes), "kinds": sorted(self.kinds),
            "organ_ids": sorted(self.organ_ids), "key_hash": self.key_hash, "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        })

    @classmethod
    def from_json(cls, raw: bytes) -> System:
        d = orjson.loads(raw)
        return cls(id=d["id"], communes=frozenset(d["communes"]), kinds=frozenset(d["kinds"]),
                   organ_ids=frozenset(d.get("organ_ids") or ()), key_hash=d["key_hash"],
                   created_at=int(d["created_at"]), revoked_at=d.get("revoked_at"))

    def public(self) -> dict:
        """What ``hub systems list`` shows: everything except the key hash."""
        return {"id": self.id, "communes": sorted(self.communes), "kinds": sorted(self.kinds),
                "organ_ids": sorted(self.organ_ids), "created_at": self.created_at,
                "revoked_at": self.revoked_at}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now_ms() -> int:
    return int(time.time() * 1000)


class SystemsRegistry:
    """An in-memory view of the systems topic, refreshed on demand or by a follower thread."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.topic = settings.topic(topics.SYSTEMS)
        self._systems: dict[str, System] = {}
        self._by_hash: dict[str, str] = {}
        self._lock = threading.RLock()  # guards the maps and the consumer
        self._consumer = None
        self._tp = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.loaded = False  # True after one successful refresh (the gateway answers 503 until then)
        self.last_refresh_ms: int | None = None

    # --- reading -------------------------------------------------------------------------------
    def _ensure_consumer(self):
        from kafka import KafkaConsumer, TopicPartition

        if self._consumer is None:
            consumer = KafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap,
                                     enable_auto_commit=False, client_id=f"{self.settings.app_id}-systems",
                                     request_timeout_ms=15_000)
            tp = TopicPartition(self.topic, 0)
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
            self._consumer, self._tp = consumer, tp
        return self._consumer

    def refresh(self, timeout_s: float = 10.0) -> None:
        """Read the topic up to its current end offset; raises TransientError past the deadline."""
        from kafka.errors import KafkaError

        deadline = time.monotonic() + timeout_s
        with self._lock:
            try:
                consumer = self._ensure_consumer()
                end = consumer.end_offsets([self._tp])[self._tp]
                while consumer.position(self._tp) < end:
                    if time.monotonic() > deadline:
                        raise TransientError(f"systems registry {self.topic}: end offset {end} not reached "
                                             f"within {timeout_s}s")
                    for msgs in consumer.poll(timeout_ms=200).values():
                        for m in msgs:
                            self._apply(m.key, m.value)
            except KafkaError as exc:
                self._close_consumer()
                raise TransientError(f"cannot read systems registry {self.topic}: {exc}") from exc
            self.loaded = True
            self.last_refresh_ms = _now_ms()

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:  # a tombstone written by hand: forget the system
            old = self._systems.pop((key or b"").decode(), None)
            if old:
                self._by_hash.pop(old.key_hash, None)
            return
        try:
            system = System.from_json(value)
        except (ValueError, KeyError, TypeError):
            log.get().warning("systems_record_unreadable", topic=self.topic)
            return
        old = self._systems.get(system.id)
        if old is not None:
            self._by_hash.pop(old.key_hash, None)
        self._systems[system.id] = system
        self._by_hash[system.key_hash] = system.id

    def _close_consumer(self) -> None:
        if self._consumer is not None:
            # Closing a broken consumer must not mask the error that made us close it.
            with contextlib.suppress(Exception):
                self._consumer.close()
        self._consumer = None

    def start(self, interval_s: float = 2.0) -> None:
        """Refresh once (errors logged, not raised), then follow the topic in a daemon thread."""
        try:
            self.refresh()
        except TransientError as exc:
            log.get().warning("systems_refresh_failed", topic=self.topic, error=str(exc))
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, args=(interval_s,), name="systems-registry",
                                        daemon=True)
        self._thread.start()

    def _follow(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                self.refresh()
            except TransientError as exc:
                log.get().warning("systems_refresh_failed", topic=self.topic, error=str(exc))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._lock:
            self._close_consumer()

    # --- writing -------------------------------------------------------------------------------
    def _write(self, system: System) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        try:
            producer = KafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, acks="all",
                                     client_id=f"{self.settings.app_id}-systems-admin")
        except KafkaError as exc:
            raise TransientError(f"cannot reach Kafka at {self.settings.kafka_bootstrap}: {exc}") from exc
        try:
            producer.send(self.topic, key=system.id.encode(), value=system.to_json()).get(timeout=30)
        except KafkaError as exc:
            raise TransientError(f"Kafka did not acknowledge the registry write for {system.id}: "
                                 f"{exc}") from exc
        finally:
            producer.close(timeout=10)
        with self._lock:
            self._apply(system.id.encode(), system.to_json())

    def _validate(self, system_id: str, communes, kinds, organ_ids) -> tuple[frozenset, frozenset, frozenset]:
        if not _ID.match(system_id or ""):
            raise Rejected("invalid_value", f"system id {system_id!r} must match [a-z0-9._-]{{1,64}}",
                           field="id")
        cs = frozenset(c.strip() for c in communes if c and c.strip())
        if not cs:
            raise Rejected("missing_field", "a system needs at least one commune code", field="communes")
        units = reference.communes()
        for code in sorted(cs):
            unit = units.get(code)
            if unit is None:
                raise Rejected("unknown_commune", f"commune code {code!r} is not in the national reference "
                               "list", field="communes")
            if unit.province_code != self.settings.province:
                raise Rejected("commune_not_in_province", f"commune {code} ({unit.name}) belongs to province "
                               f"{unit.province_code}, not {self.settings.province}", field="communes")
        ks = frozenset(k.strip() for k in kinds if k and k.strip())
        if not ks:
            raise Rejected("missing_field", f"a system needs at least one kind ({', '.join(topics.KINDS)})",
                           field="kinds")
        if not ks <= set(topics.KINDS):
            unknown = ", ".join(sorted(ks - set(topics.KINDS)))
            raise Rejected("invalid_value", f"kinds {unknown} are not among {', '.join(topics.KINDS)}",
                           field="kinds")
        os_ = frozenset(o.strip() for o in organ_ids if o and o.strip())
        for organ in sorted(os_):
            if not _ORGAN.match(organ):
                raise Rejected("invalid_value", f"OrganId {organ!r} must match [A-Za-z0-9._-]{{1,64}}",
                               field="organ_ids")
            for other in self.list():
                if other.active and other.id != system_id and organ in other.organ_ids:
                    raise Rejected("invalid_value", f"OrganId {organ} is already registered by system "
                                   f"{other.id}; revoke it there first", field="organ_ids")
        return cs, ks, os_

    def add(self, system_id: str, communes, kinds, organ_ids=()) -> str:
        """Register (or re-register) a system; returns its new plaintext key, which is not stored."""
        if not self.loaded:  # organ conflicts are checked against the current registry
            self.refresh()
        cs, ks, os_ = self._validate(system_id, communes, kinds, organ_ids)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        system = System(system_id, cs, ks, os_, hash_key(key), _now_ms(), None)
        self._write(system)
        log.get().info("system_added", source_system=system_id, communes=sorted(cs), kinds=sorted(ks),
                       organ_ids=sorted(os_), topic=self.topic)
        return key

    def revoke(self, system_id: str) -> None:
        if not self.loaded:
            self.refresh()
        current = self.get(system_id)
        if current is None:
            raise ConfigError(f"no system {system_id!r} in the registry {self.topic}")
        if not current.active:
            return
        revoked = System(current.id, current.communes, current.kinds, current.organ_ids, current.key_hash,
                         current.created_at, _now_ms())
        self._write(revoked)
        log.get().info("system_revoked", source_system=system_id, topic=self.topic)

    # --- lookups (in memory, safe from any thread) -----------------------------------------------
    def list(self) -> list[System]:
        with self._lock:
            return sorted(self._systems.values(), key=lambda s: s.id)

    def get(self, system_id: str) -> System | None:
        with self._lock:
            return self._systems.get(system_id)

    def authenticate(self, key: str) -> System | None:
        """The active system owning ``key``, else None."""
        if not key or len(key) > _MAX_KEY_LEN or not key.startswith(KEY_PREFIX):
            return None
        presented = hash_key(key)
        with self._lock:
            # The lookup is keyed by SHA-256 of the presented key, so its timing says nothing useful
            # about stored hashes; compare_digest makes the final equality constant-time anyway.
            system = self._systems.get(self._by_hash.get(presented, ""))
        if system is None or not hmac.compare_digest(system.key_hash, presented) or not system.active:
            return None
        return system

    def scope(self, system_id: str) -> Scope | None:
        system = self.get(system_id)
        if system is None or not system.active:
            return None
        return Scope(communes=system.communes, kinds=system.kinds)

    def organs(self) -> dict[str, str]:
        """OrganId -> commune code (single-commune system) or province code; settings entries win."""
        out: dict[str, str] = {}
        for system in self.list():
            if not system.active:
                continue
            target = next(iter(system.communes)) if len(system.communes) == 1 else self.settings.province
            for organ in system.organ_ids:
                out[organ] = target
        out.update(self.settings.organ_map())
        return out

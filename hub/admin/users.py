"""Named accounts for people (province and commune staff) who log in to the dashboard.

Machine reader keys stay for programs; a person logs in with a name and a password. The accounts
live like the systems list (:mod:`hub.systems`): the compacted, single-partition topic
``hub.users.v1``, record key = user name, value = JSON ``{name, role, commune, password_hash,
created_at, changed_at, disabled_at}``. Disabling rewrites the record with ``disabled_at`` set (never
a tombstone), so the fact that an account existed stays.

Passwords are stored as argon2id hashes (argon2-cffi's defaults): unlike a 256-bit machine key, a
human password can be guessed offline from a fast hash, so this one is deliberately slow. Neither a
password nor a hash is ever logged; a session is bound to :attr:`User.fingerprint` (16 hex of the
SHA-256 of the hash), so resetting the password ends every session of that account.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hub import log, reference
from hub.contract import topics
from hub.errors import ConfigError, Rejected, TransientError
from hub.kafka import config as kafka_config
from hub.kafka import write as kafka_write
from hub.settings import Settings

PROVINCE, COMMUNE = "province", "commune"
ROLES = (PROVINCE, COMMUNE)
_NAME = re.compile(r"^[a-z0-9._-]{1,64}$")
MIN_PASSWORD, MAX_PASSWORD = 10, 1024  # the upper bound keeps one argon2 call bounded

_hasher = PasswordHasher()  # argon2id, RFC 9106's second recommended parameters (argon2-cffi defaults)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a refusal takes as long whether or not the account
    exists. Made at the first login, not at import: one argon2 hash takes 64 MiB for a moment, and every
    process that imports this module (the gateway, the CLI) would pay it at start."""
    return _hasher.hash("not-a-password-" + "x" * 16)


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Rejected("invalid_value", f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters",
                       field="password")


def verify(user: User | None, password: str) -> bool:
    """Whether ``password`` opens ``user`` (an active account); as slow for an unknown or disabled one."""
    stored = user.password_hash if user is not None else _dummy_hash()
    try:
        ok: bool = _hasher.verify(stored, password[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    return ok and user is not None and user.active


@dataclass(frozen=True)
class User:
    name: str
    role: str
    commune: str | None
    password_hash: str
    created_at: int
    changed_at: int
    disabled_at: int | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def fingerprint(self) -> str:
        """What a session holds of the password: changes with every reset, reveals nothing of the hash."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def to_json(self) -> bytes:
        return orjson.dumps({"name": self.name, "role": self.role, "commune": self.commune,
                             "password_hash": self.password_hash, "created_at": self.created_at,
                             "changed_at": self.changed_at, "disabled_at": self.disabled_at})

    @classmethod
    def from_json(cls, raw: bytes) -> User:
        d = orjson.loads(raw)
        if d.get("role") not in ROLES:
            raise ValueError("unknown role")
        return cls(name=d["name"], role=d["role"], commune=d.get("commune"), password_hash=d["password_hash"],
                   created_at=int(d["created_at"]), changed_at=int(d["changed_at"]), disabled_at=d.get("disabled_at"))

    def public(self) -> dict[str, Any]:
        """What ``hub users list`` shows: everything except the hash."""
        return {"name": self.name, "role": self.role, "commune": self.commune, "created_at": self.created_at,
                "changed_at": self.changed_at, "disabled_at": self.disabled_at}


@dataclass(frozen=True)
class UsersSnapshot:
    users: Mapping[str, User] = field(default_factory=lambda: MappingProxyType({}))
    loaded: bool = False

    def get(self, name: str) -> User | None:
        return self.users.get(name)

    def list(self) -> list[User]:
        return sorted(self.users.values(), key=lambda u: u.name)


def _now_ms() -> int:
    return int(time.time() * 1000)


class UsersReader:
    """Reads ``hub.users.v1`` to its end on demand (no thread of its own; the caller's thread blocks).

    The gateway calls :meth:`refresh_now` on every request that carries a person's session (a broker
    round trip when nothing changed), so disabling an account ends its sessions on the next request,
    in every gateway. One lock serializes the reads: kafka-python consumers are not thread-safe.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = settings.topic(topics.USERS)
        self._snapshot = UsersSnapshot()
        self._records: dict[str, User] = {}
        self._io = threading.Lock()
        self._consumer: Any = None  # a kafka-python KafkaConsumer (untyped), made at the first read
        self._tp: Any = None

    @property
    def snapshot(self) -> UsersSnapshot:
        return self._snapshot

    def refresh_now(self, timeout_s: float = 5.0) -> UsersSnapshot:
        from kafka import KafkaConsumer, TopicPartition
        from kafka.errors import KafkaError

        deadline = time.monotonic() + timeout_s
        if not self._io.acquire(timeout=timeout_s):
            raise TransientError(f"accounts {self.topic}: another read did not finish within {timeout_s}s")
        try:
            if self._consumer is None:
                self._consumer = KafkaConsumer(**kafka_config.kafka_python(self.settings), enable_auto_commit=False,
                                               client_id=f"{self.settings.app_id}-users", request_timeout_ms=10_000,
                                               bootstrap_timeout_ms=5_000, reconnect_backoff_max_ms=2_000)
                self._tp = TopicPartition(self.topic, 0)
                self._consumer.assign([self._tp])
                self._consumer.seek_to_beginning(self._tp)
            consumer, tp = self._consumer, self._tp
            end = consumer.end_offsets([tp], timeout_ms=_left_ms(deadline))[tp]
            changed = not self._snapshot.loaded
            while consumer.position(tp, timeout_ms=_left_ms(deadline)) < end:
                if time.monotonic() > deadline:
                    raise TransientError(f"accounts {self.topic}: end offset {end} not reached within {timeout_s}s")
                for msgs in consumer.poll(timeout_ms=min(200, _left_ms(deadline))).values():
                    for m in msgs:
                        changed |= self._apply(m.key, m.value)
        except (KafkaError, OSError) as exc:
            self._close()
            raise TransientError(f"cannot read accounts {self.topic}: {exc}") from exc
        finally:
            self._io.release()
        if changed:
            self._snapshot = UsersSnapshot(MappingProxyType(dict(self._records)), loaded=True)
        return self._snapshot

    def _apply(self, key: bytes | None, value: bytes | None) -> bool:
        if value is None:  # a tombstone written by hand: forget the account
            return self._records.pop((key or b"").decode("utf-8", "replace"), None) is not None
        try:
            user = User.from_json(value)
        except (ValueError, KeyError, TypeError):
            log.get().warning("users_record_unreadable", topic=self.topic)
            return False
        self._records[user.name] = user
        return True

    def _close(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):  # closing a broken consumer must not hide why
                self._consumer.close()
        self._consumer = None

    def close(self) -> None:
        with self._io:
            self._close()


def _left_ms(deadline: float) -> int:
    return max(1, int((deadline - time.monotonic()) * 1000))


def read(settings: Settings, timeout_s: float = 10.0) -> UsersSnapshot:
    """The accounts as they are now, read once (CLI commands)."""
    reader = UsersReader(settings)
    try:
        return reader.refresh_now(timeout_s)
    finally:
        reader.close()


# --- writing: validate, one record, wait for the broker's acknowledgement -------------------------
def _write(settings: Settings, user: User) -> None:
    kafka_write.acknowledged(settings, settings.topic(topics.USERS), user.name.encode(), user.to_json(),
                             client="users-admin", what=f"account write for {user.name}")


def add(settings: Settings, name: str, role: str, commune: str | None, password: str,
        *, current: UsersSnapshot | None = None) -> User:
    """Create an account (refused when the name is taken, even by a disabled one: use reset)."""
    if not _NAME.match(name or ""):
        raise Rejected("invalid_value", "a user name must match [a-z0-9._-]{1,64}", field="name")
    if role not in ROLES:
        raise Rejected("invalid_value", f"role must be one of {', '.join(ROLES)}", field="role")
    if role == COMMUNE:
        if not commune:
            raise Rejected("missing_field", "a commune account needs --commune CODE", field="commune")
        reference.in_province(commune, settings.province, field="commune")
    elif commune:
        raise Rejected("invalid_value", "a province account has no commune", field="commune")
    current = current if current is not None else read(settings)
    if current.get(name) is not None:
        raise ConfigError(f"account {name!r} exists already; `hub users reset` gives it a new password")
    now = _now_ms()
    user = User(name, role, commune if role == COMMUNE else None, hash_password(password), now, now)
    _write(settings, user)
    log.get().info("user_added", user=name, role=role, commune=user.commune, topic=settings.topic(topics.USERS))
    return user


def _existing(settings: Settings, name: str, current: UsersSnapshot | None) -> User:
    current = current if current is not None else read(settings)
    user = current.get(name)
    if user is None:
        raise ConfigError(f"no account {name!r} in {settings.topic(topics.USERS)}")
    return user


def disable(settings: Settings, name: str, *, current: UsersSnapshot | None = None) -> User:
    """Disable an account: its sessions are refused from the next request. Idempotent."""
    user = _existing(settings, name, current)
    if user.active:
        user = replace(user, disabled_at=_now_ms())
        _write(settings, user)
        log.get().info("user_disabled", user=name, topic=settings.topic(topics.USERS))
    return user


def reset(settings: Settings, name: str, password: str, *, current: UsersSnapshot | None = None) -> User:
    """A new password (ends the account's sessions) and the account enabled again."""
    user = _existing(settings, name, current)
    user = replace(user, password_hash=hash_password(password), changed_at=_now_ms(), disabled_at=None)
    _write(settings, user)
    log.get().info("user_reset", user=name, topic=settings.topic(topics.USERS))
    return user

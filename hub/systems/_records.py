"""A system's record on the topic, and the immutable snapshot of the whole list (pure lookups)."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import orjson

from hub.errors import Rejected
from hub.normalize.context import Scope

KEY_PREFIX = "hubk_"
PUBLISHER, READER = "publisher", "reader"
ROLES = (PUBLISHER, READER)
_ID = re.compile(r"^[a-z0-9._-]{1,64}$")
_ORGAN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_MAX_KEY_LEN = 128  # longer "keys" are refused before hashing
_PHONE = re.compile(r"^(?=.*[0-9])[0-9 +().-]{1,20}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
_MAX_CONTACT = 120


@dataclass(frozen=True)
class Contact:
    """A commune's focal contact for the systems it runs: an office or an officer's title, an office phone
    and e-mail. Organizational data only (never a citizen's); shown to officials, never logged."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("name", self.name), ("phone", self.phone), ("email", self.email)) if v}

    @classmethod
    def of(cls, name: str | None = None, phone: str | None = None, email: str | None = None) -> Contact | None:
        """A validated contact (blank parts dropped), None when every part is blank; :class:`Rejected`
        naming the part otherwise."""
        name, phone, email = ((v or "").strip() or None for v in (name, phone, email))
        if name is not None and (len(name) > _MAX_CONTACT or not name.isprintable()):
            raise Rejected("invalid_value", f"contact name must be printable and at most {_MAX_CONTACT} "
                           "characters", field="contact_name")
        if phone is not None and not _PHONE.match(phone):
            raise Rejected("invalid_value", "contact phone must be at most 20 of: digits, spaces, + ( ) . -",
                           field="contact_phone")
        if email is not None and (len(email) > _MAX_CONTACT or not _EMAIL.match(email)):
            raise Rejected("invalid_value", f"contact e-mail must look like name@domain.vn (at most {_MAX_CONTACT} "
                           "characters)", field="contact_email")
        return cls(name, phone, email) if name or phone or email else None


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
    contact: Contact | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> bytes:
        record = {
            "id": self.id, "role": self.role, "communes": sorted(self.communes), "kinds": sorted(self.kinds),
            "organ_ids": sorted(self.organ_ids), "key_hash": self.key_hash, "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }
        if self.contact is not None:  # absent rather than null: records without one read the same everywhere
            record["contact"] = self.contact.to_dict()
        return orjson.dumps(record)

    @classmethod
    def from_json(cls, raw: bytes) -> System:
        d = orjson.loads(raw)
        role = d.get("role") or PUBLISHER
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        c = d.get("contact") or {}
        return cls(id=d["id"], communes=frozenset(d.get("communes") or ()), kinds=frozenset(d.get("kinds") or ()),
                   organ_ids=frozenset(d.get("organ_ids") or ()), key_hash=d["key_hash"],
                   created_at=int(d["created_at"]), revoked_at=d.get("revoked_at"), role=role,
                   contact=Contact(c.get("name"), c.get("phone"), c.get("email")) if c else None)

    def public(self) -> dict:
        """What ``hub systems list`` shows: everything except the key hash (the contact is an office's, not a
        person's private data: operators and the dashboard may show it)."""
        return {"id": self.id, "role": self.role, "communes": sorted(self.communes), "kinds": sorted(self.kinds),
                "organ_ids": sorted(self.organ_ids), "created_at": self.created_at,
                "revoked_at": self.revoked_at, "contact": self.contact.to_dict() if self.contact else None}


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
        return Scope(communes=system.communes, kinds=system.kinds, organ_ids=system.organ_ids)

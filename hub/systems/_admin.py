"""Registering and revoking systems: validate, write one record, wait for the broker's acknowledgement."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import replace

from hub import log, reference
from hub.contract import topics
from hub.errors import ConfigError, Rejected
from hub.kafka import config as kafka_config
from hub.kafka import write as kafka_write
from hub.settings import Settings
from hub.systems._follower import read
from hub.systems._records import (
    _ID,
    _ORGAN,
    KEY_PREFIX,
    PUBLISHER,
    READER,
    ROLES,
    Contact,
    System,
    SystemsSnapshot,
    _now_ms,
    hash_key,
)


# --- writing ------------------------------------------------------------------------------------
def _write(settings: Settings, system: System) -> None:
    """Send one record and wait for the broker's acknowledgement (acks=all)."""
    kafka_write.acknowledged(settings, settings.topic(topics.SYSTEMS), system.id.encode(), system.to_json(),
                             client="systems-admin", what=f"systems write for {system.id}")


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
    for code in sorted(cs):
        reference.in_province(code, settings.province, field="communes")
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
        organ_ids: Iterable[str] = (), *, role: str = PUBLISHER, current: SystemsSnapshot | None = None,
        contact: Contact | None = None) -> str:
    """Register (or re-register) a system; returns its new plaintext key, which is not stored.

    Returns once the record is acknowledged on the topic, so a gateway that re-reads the topic
    when it meets the key sees it. ``current`` (read from the topic when omitted) is what OrganId
    conflicts are checked against. ``contact`` is the commune's focal contact (re-checked here, whoever built
    it); re-registering without one drops the old one.
    """
    current = current if current is not None else read(settings)
    cs, ks, os_ = validate(settings, current, system_id, communes, kinds, organ_ids, role)
    checked = Contact.of(contact.name, contact.phone, contact.email) if contact is not None else None
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    _write(settings, System(system_id, cs, ks, os_, hash_key(key), _now_ms(), None, role, checked))
    # The contact is not logged: logs are kept and shipped more widely than the systems list.
    log.get().info("system_added", source_system=system_id, role=role, communes=sorted(cs), kinds=sorted(ks),
                   organ_ids=sorted(os_), topic=settings.topic(topics.SYSTEMS))
    return key


def revoke(settings: Settings, system_id: str, *, current: SystemsSnapshot | None = None) -> None:
    """Mark a system revoked (its record stays, with ``revoked_at``) and, in secure mode, delete its
    Kafka login: the ACLs and SCRAM credential of ``pub.<id>``, so it can no longer write ``ingest.*``
    even with records the worker would refuse. Idempotent: revoking again retries the Kafka part."""
    current = current if current is not None else read(settings)
    system = current.get(system_id)
    if system is None:
        raise ConfigError(f"no system {system_id!r} in {settings.topic(topics.SYSTEMS)}")
    if system.active:
        _write(settings, replace(system, revoked_at=_now_ms()))
        log.get().info("system_revoked", source_system=system_id, topic=settings.topic(topics.SYSTEMS))
    revoke_kafka_login(settings, system)


def revoke_kafka_login(settings: Settings, system: System) -> None:
    """Delete the Kafka principal of a publishing system (secure mode); one log line either way."""
    from hub.admin import security  # the Admin API client: only for this

    if system.role != PUBLISHER:  # a reader reads over HTTP with its key: it has no Kafka principal
        return
    if not kafka_config.secure(settings):
        log.get().info("kafka_login_none", source_system=system.id,
                       reason="plaintext mode: the broker authenticates nobody, there is no Kafka login to revoke")
        return
    who = security.principal(settings, security.PUBLISHER, system.id)
    count = security.revoke(settings, who)
    log.get().info("kafka_login_revoked", source_system=system.id, principal=who, acls=count)

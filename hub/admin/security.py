"""Kafka principals of a secure deployment (SASL/SCRAM users) and what each may do (ACLs).

The broker denies everything no ACL allows (StandardAuthorizer, ``allow.everyone.if.no.acl.found``
false); the operator is the broker's super user. This module holds the ACL plan of every other
role, as data (:func:`plan`, pure, unit-tested) and the operator's Admin API calls that apply it:
:func:`grant` upserts the principal's SCRAM-SHA-512 credential (AlterUserScramCredentials) and
creates its ACLs; :func:`revoke` deletes both. Every name carries the deployment's topic prefix, so
two deployments on one cluster cannot read each other's topics.

The topics of worker, gateway and publisher come from one declaration per process,
:data:`hub.contract.topics.WORKER` / :data:`~hub.contract.topics.GATEWAY` / :data:`~hub.contract.topics.PUBLISHER` (the
worker's from its processors, the gateway's from its read model's feeds), one literal ACL per topic:
a feed a process starts to read cannot be forgotten here.

================  ===========================================================================
role              may
================  ===========================================================================
worker            read its processors' inputs (``ingest.*`` and the unified feeds) and
                  ``hub.systems.v1``; write its processors' outputs (feeds, ``hub.dlq.v1``);
                  read/write its changelogs ``<app>-*``, use the consumer groups and
                  transactional ids ``<app>-*``
gateway           write the ``ingest.*`` topics; read ``hub.systems.v1`` and the feeds of its read
                  model (KPIs, directives, freshness, target progress), with groups ``<app>-gateway*``
publisher         write the ``ingest.*`` topics — nothing else (it cannot even read the systems
                  list, so it never learns another system's key hash: see :mod:`hub.contract.signatures`)
subscriber        read ``feed.*`` with its own groups ``<principal>.*``; write nothing
operator          everything (the broker's super user): the only writer of ``hub.systems.v1``
================  ===========================================================================
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from kafka.errors import KafkaError

from hub.contract import topics
from hub.errors import ConfigError, TransientError
from hub.kafka import config as kafka_config
from hub.settings import Settings

WORKER, GATEWAY, PUBLISHER, SUBSCRIBER = "worker", "gateway", "publisher", "subscriber"
ROLES = (WORKER, GATEWAY, PUBLISHER, SUBSCRIBER)
_NAME = re.compile(r"^[a-z0-9._-]{1,64}$")
# Kafka's minimum (4096..16384 accepted). Iterations slow down guessing a weak password; these
# passwords are random (192 bits), so more would only make every client login slower.
SCRAM_ITERATIONS = 4096


@dataclass(frozen=True)
class Rule:
    """One ALLOW ACL: ``operation`` on a ``resource`` (topic, group, transactional_id) named or prefixed."""

    resource: str
    name: str
    operation: str
    prefixed: bool = False


@dataclass(frozen=True)
class Plan:
    role: str
    principal: str  # the SCRAM user name (Kafka principal ``User:<principal>``)
    rules: tuple[Rule, ...]


def principal(s: Settings, role: str, name: str | None = None) -> str:
    """The user name of a role: ``<app>-worker``, ``<app>-gateway``, ``<prefix>pub.<id>``, ``<prefix>sub.<name>``."""
    if role in (WORKER, GATEWAY):
        return f"{s.app_id}-{role}"
    if role not in (PUBLISHER, SUBSCRIBER):
        raise ConfigError(f"role must be one of {', '.join(ROLES)}")
    if not _NAME.match(name or ""):
        raise ConfigError(f"a {role} needs a name matching [a-z0-9._-]{{1,64}}")
    return f"{s.topic_prefix}{'pub' if role == PUBLISHER else 'sub'}.{name}"


# The processes whose topics are declared in hub.contract.topics (a subscriber reads any feed: feed.*).
ACCESS = {WORKER: topics.WORKER, GATEWAY: topics.GATEWAY, PUBLISHER: topics.PUBLISHER}


def _topic_rules(s: Settings, access: topics.Access) -> tuple[Rule, ...]:
    return (*(Rule("topic", s.topic(t), "read") for t in access.reads),
            *(Rule("topic", s.topic(t), "write") for t in access.writes))


def plan(s: Settings, role: str, name: str | None = None) -> Plan:
    """The principal of ``role`` (and ``name`` for publishers and subscribers) and its ACLs."""
    who = principal(s, role, name)
    own = f"{s.app_id}-"  # changelogs, consumer groups and transactional ids of the stream processors
    if role == WORKER:
        rules = (
            *_topic_rules(s, ACCESS[WORKER]),
            Rule("topic", own, "read", prefixed=True),
            Rule("topic", own, "write", prefixed=True),
            Rule("group", own, "read", prefixed=True),
            Rule("transactional_id", own, "write", prefixed=True),
        )
    elif role == GATEWAY:
        rules = (*_topic_rules(s, ACCESS[GATEWAY]), Rule("group", who, "read", prefixed=True))
    elif role == PUBLISHER:
        rules = _topic_rules(s, ACCESS[PUBLISHER])
    else:
        rules = (
            Rule("topic", s.topic("feed."), "read", prefixed=True),
            Rule("group", f"{who}.", "read", prefixed=True),
        )
    return Plan(role, who, rules)


def covers(p: Plan, topic: str, operation: str) -> bool:
    """True when the plan allows ``operation`` (read or write) on the full topic name ``topic``."""
    return any(r.resource == "topic" and r.operation == operation
               and (topic.startswith(r.name) if r.prefixed else topic == r.name) for r in p.rules)


def acls(p: Plan) -> list:
    """kafka-python ACL objects of a plan (ALLOW, any host)."""

    return [ACL(principal=f"User:{p.principal}", host="*", operation=ACLOperation[r.operation.upper()],
                permission_type=ACLPermissionType.ALLOW,
                resource_pattern=ResourcePattern(ResourceType[r.resource.upper()], r.name,
                                                 ACLResourcePatternType.PREFIXED if r.prefixed
                                                 else ACLResourcePatternType.LITERAL))
            for r in p.rules]


def new_password() -> str:
    """A random SCRAM password (URL-safe: nothing a JAAS line or a shell would need to quote)."""
    return secrets.token_urlsafe(24)


def _admin(s: Settings) -> KafkaAdminClient:
    if not kafka_config.secure(s):
        raise ConfigError("principals and ACLs need HUB_KAFKA_SECURITY=scram (and the operator's "
                          "HUB_KAFKA_USERNAME / HUB_KAFKA_PASSWORD)")
    try:
        return KafkaAdminClient(**kafka_config.kafka_python(s), client_id=f"{s.app_id}-security",
                                bootstrap_timeout_ms=15_000, request_timeout_ms=30_000)
    except KafkaError as exc:
        raise TransientError(f"cannot reach Kafka at {s.kafka_bootstrap} as {s.kafka_username}: {exc}") from exc


def grant(s: Settings, p: Plan, password: str) -> None:
    """Create or update the principal's SCRAM credential and create its ACLs (idempotent)."""

    if len(password) < 16:
        raise ConfigError("a SCRAM password needs at least 16 characters")
    admin = _admin(s)
    try:
        errors = admin.alter_user_scram_credentials([UserScramCredentialUpsertion(
            p.principal, ScramMechanism.SCRAM_SHA_512, password, iterations=SCRAM_ITERATIONS)])
        if errors.get(p.principal):
            raise ConfigError(f"the broker refused the credential of {p.principal}: {errors[p.principal]}")
        result = admin.create_acls(acls(p))
        if result["failed"]:
            raise ConfigError(f"the broker refused ACLs of {p.principal}: {result['failed'][0]}")
    finally:
        admin.close()


def revoke(s: Settings, user: str) -> int:
    """Delete a principal's ACLs and SCRAM credential; returns how many ACLs were deleted."""

    admin = _admin(s)
    try:
        any_resource = ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)
        deleted = admin.delete_acls([ACLFilter(f"User:{user}", None, ACLOperation.ANY, ACLPermissionType.ANY,
                                               any_resource)])
        count = sum(len(matched) for _f, matched, _err in deleted)
        # A principal without a credential (never granted, or revoked before) is not an error: revoking is
        # idempotent, so an operator can simply run it again after a failure.
        errors = admin.alter_user_scram_credentials([UserScramCredentialDeletion(user,
                                                                                 ScramMechanism.SCRAM_SHA_512)])
        error = errors.get(user)  # the broker's message (kafka-python keeps no code): RESOURCE_NOT_FOUND's
        if error and "not exist" not in str(error):
            raise ConfigError(f"the broker refused to delete the credential of {user}: {error}")
        return count
    except KafkaError as exc:
        raise TransientError(f"revoking {user} on {s.kafka_bootstrap} failed (run it again): {exc}") from exc
    finally:
        admin.close()


def describe(s: Settings) -> dict[str, list[str]]:
    """Every ACL of the cluster as ``resource:pattern:name operation permission``, by principal."""

    admin = _admin(s)
    try:
        found, _err = admin.describe_acls(ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                                                    ResourcePatternFilter(ResourceType.ANY, None,
                                                                          ACLResourcePatternType.ANY)))
    finally:
        admin.close()
    out: dict[str, list[str]] = {}
    for a in found:
        rp = a.resource_pattern
        out.setdefault(a.principal, []).append(
            f"{rp.resource_type.name.lower()}:{rp.pattern_type.name.lower()}:{rp.resource_name} "
            f"{a.operation.name.lower()} {a.permission_type.name.lower()}")
    return {k: sorted(v) for k, v in sorted(out.items())}

"""hub.security.plan: each role's principal and ACLs, deny by default (what is not listed is refused)."""

from __future__ import annotations

import pytest

from hub import security
from hub.errors import ConfigError
from hub.security import Rule
from hub.settings import Settings

S = Settings.from_env(env={}, topic_prefix="p.")


def rules(role: str, name: str | None = None) -> set[tuple]:
    return {(r.resource, r.name, r.operation, r.prefixed) for r in security.plan(S, role, name).rules}


def test_principal_names_carry_the_deployment_prefix():
    """Worker and gateway are <app>-worker / <app>-gateway; publishers pub.<id>, subscribers sub.<name>."""
    assert security.principal(S, "worker") == "p.hub-worker"
    assert security.principal(S, "gateway") == "p.hub-gateway"
    assert security.principal(S, "publisher", "onestop-ialy") == "p.pub.onestop-ialy"
    assert security.principal(S, "subscriber", "dashboard") == "p.sub.dashboard"
    with pytest.raises(ConfigError):
        security.principal(S, "publisher", "Bad Name")
    with pytest.raises(ConfigError):
        security.principal(S, "operator")


def test_a_publisher_may_only_write_ingest_topics():
    """Publisher: one ACL, WRITE on the prefixed ingest topics; no read of anything, not even the systems list."""
    assert rules("publisher", "a") == {("topic", "p.ingest.", "write", True)}


def test_a_subscriber_reads_feeds_with_its_own_groups_and_writes_nothing():
    """Subscriber: READ feed.* and READ on groups starting with its principal and a dot; no WRITE at all."""
    assert rules("subscriber", "dash") == {("topic", "p.feed.", "read", True), ("group", "p.sub.dash.", "read", True)}


def test_the_worker_reads_ingest_writes_feeds_dlq_and_its_state_but_not_the_systems_list():
    """Worker: read ingest/feeds/systems, write feeds and DLQ, its changelogs, groups and transactional ids;
    hub.systems.v1 is read-only for it."""
    got = rules("worker")
    assert got == {
        ("topic", "p.ingest.", "read", True), ("topic", "p.feed.", "read", True),
        ("topic", "p.feed.", "write", True), ("topic", "p.hub.dlq.v1", "write", False),
        ("topic", "p.hub.systems.v1", "read", False), ("topic", "p.hub-", "read", True),
        ("topic", "p.hub-", "write", True), ("group", "p.hub-", "read", True),
        ("transactional_id", "p.hub-", "write", True),
    }


def test_the_gateway_writes_ingest_and_reads_the_systems_list_and_derived_feeds():
    """Gateway: write ingest.*, read hub.systems.v1 and the derived feeds (KPIs, directives, freshness)."""
    got = rules("gateway")
    assert ("topic", "p.ingest.", "write", True) in got and ("topic", "p.hub.systems.v1", "read", False) in got
    assert {n for (res, n, op, _p) in got if res == "topic" and op == "read"} == {
        "p.hub.systems.v1", "p.feed.kpi.commune.v1", "p.feed.directive.v1", "p.feed.freshness.v1"}
    assert not any(op == "write" and n != "p.ingest." for (_r, n, op, _p) in got)


def test_nobody_but_the_operator_may_write_the_systems_list():
    """No role's plan has WRITE on hub.systems.v1 (nor a prefix that covers it): only the super user writes it."""
    for role, name in (("worker", None), ("gateway", None), ("publisher", "a"), ("subscriber", "b")):
        for r in security.plan(S, role, name).rules:
            covers = "p.hub.systems.v1".startswith(r.name) if r.prefixed else r.name == "p.hub.systems.v1"
            assert not (r.resource == "topic" and covers and r.operation != "read"), (role, r)


def test_plans_become_allow_acls_for_the_principal():
    """acls(): one ALLOW ACL per rule for User:<principal>, PREFIXED or LITERAL as planned."""
    plan = security.Plan("publisher", "p.pub.a", (Rule("topic", "p.ingest.", "write", prefixed=True),))
    [acl] = security.acls(plan)
    assert acl.principal == "User:p.pub.a" and acl.host == "*"
    assert (acl.operation.name, acl.permission_type.name) == ("WRITE", "ALLOW")
    rp = acl.resource_pattern
    assert (rp.resource_type.name, rp.resource_name, rp.pattern_type.name) == ("TOPIC", "p.ingest.", "PREFIXED")

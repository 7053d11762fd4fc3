"""hub.admin.security.plan: each role's principal and ACLs, deny by default (what is not listed is refused)."""

from __future__ import annotations

import pytest

from hub.admin import security
from hub.admin.security import Rule
from hub.errors import ConfigError
from hub.settings import Settings

S = Settings.from_env(env={}, topic_prefix="p.", dev_mode=True)


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
    """Publisher: WRITE on the three ingest topics; no read of anything, not even the systems list."""
    assert rules("publisher", "a") == {("topic", "p.ingest.dossier", "write", False),
                                       ("topic", "p.ingest.document", "write", False),
                                       ("topic", "p.ingest.target", "write", False)}


def test_a_subscriber_reads_feeds_with_its_own_groups_and_writes_nothing():
    """Subscriber: READ feed.* and READ on groups starting with its principal and a dot; no WRITE at all."""
    assert rules("subscriber", "dash") == {("topic", "p.feed.", "read", True), ("group", "p.sub.dash.", "read", True)}


def test_the_worker_reads_its_inputs_writes_its_outputs_dlq_and_state_but_not_the_systems_list():
    """Worker: read ingest, the unified feeds and systems; write every feed its processors produce (with the
    target progress feed) and the DLQ; its changelogs, groups and transactional ids; hub.systems.v1 read-only."""
    got = rules("worker")
    assert got == {
        ("topic", "p.ingest.dossier", "read", False), ("topic", "p.ingest.document", "read", False),
        ("topic", "p.ingest.target", "read", False), ("topic", "p.feed.dossier.v1", "read", False),
        ("topic", "p.feed.document.v1", "read", False), ("topic", "p.feed.target.v1", "read", False),
        ("topic", "p.hub.systems.v1", "read", False),
        ("topic", "p.feed.dossier.v1", "write", False), ("topic", "p.feed.document.v1", "write", False),
        ("topic", "p.feed.target.v1", "write", False), ("topic", "p.feed.kpi.commune.v1", "write", False),
        ("topic", "p.feed.directive.v1", "write", False), ("topic", "p.feed.freshness.v1", "write", False),
        ("topic", "p.feed.target.progress.v1", "write", False), ("topic", "p.hub.dlq.v1", "write", False),
        ("topic", "p.hub-", "read", True), ("topic", "p.hub-", "write", True), ("group", "p.hub-", "read", True),
        ("transactional_id", "p.hub-", "write", True),
    }


def test_the_gateway_writes_ingest_and_reads_the_systems_list_and_every_feed_of_its_read_model():
    """Gateway: write ingest.*, read hub.systems.v1, hub.users.v1 (named accounts) and the derived feeds
    (KPIs, directives, freshness and target progress: issue 21 item 8, the one that was forgotten and kept
    /readyz at 503)."""
    got = rules("gateway")
    assert {n for (res, n, op, _p) in got if res == "topic" and op == "write"} == {
        "p.ingest.dossier", "p.ingest.document", "p.ingest.target"}
    assert {n for (res, n, op, _p) in got if res == "topic" and op == "read"} == {
        "p.hub.systems.v1", "p.hub.users.v1", "p.feed.kpi.commune.v1", "p.feed.directive.v1",
        "p.feed.freshness.v1", "p.feed.target.progress.v1"}


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


# --- the plan covers what the code reads and writes (computed from the code's own topic lists) ---------------
def _processors():
    """Every worker processor, built as `hub worker` builds them (hub/cli/worker.py), on a stand-in systems
    follower: their ``inputs`` and outputs are the topics they will consume and produce."""
    from hub.processors.directives import DirectivesProcessor
    from hub.processors.freshness import FreshnessProcessor
    from hub.processors.kpi import KpiProcessor
    from hub.processors.normalize import NormalizeProcessor
    from hub.processors.targets import TargetsProcessor
    from hub.systems import SystemsSnapshot

    class Follower:
        snapshot = SystemsSnapshot()

    return [NormalizeProcessor(S, Follower()), KpiProcessor(S), DirectivesProcessor(S, Follower()),
            FreshnessProcessor(S), TargetsProcessor(S)]


def _outputs(p) -> set[str]:
    out = {p.output} if hasattr(p, "output") else set()
    out |= set(getattr(p, "feed_of", {}).values())
    if hasattr(p, "dlq"):
        out.add(p.dlq)
    return out


def test_every_worker_processor_reads_and_writes_only_what_its_principal_may():
    """Each processor's inputs are readable and its outputs writable by the worker's principal; the set of
    processors and their topics is exactly hub.contract.topics.PROCESSORS (a new feed must be declared there)."""
    from hub.contract import topics

    plan = security.plan(S, "worker")
    built = _processors()
    assert {p.name for p in built} == set(topics.PROCESSORS) == {"normalize", "kpi", "directives", "freshness",
                                                                 "targets"}
    for p in built:
        for t in p.inputs:
            assert security.covers(plan, t, "read"), (p.name, t)
        for t in _outputs(p):
            assert security.covers(plan, t, "write"), (p.name, t)
        for st in topics.stores_of(S, p.name):  # changelogs: written with every batch, read at restore
            for name in topics.changelogs(S, st):
                assert security.covers(plan, name, "write") and security.covers(plan, name, "read"), name
        group = S.group(p.name)  # the engine's consumer group, and the prefix of its transactional ids
        assert any(r.resource == "group" and r.prefixed and group.startswith(r.name) for r in plan.rules)
        assert any(r.resource == "transactional_id" and r.prefixed and group.startswith(r.name) for r in plan.rules)
        declared = topics.PROCESSORS[p.name]
        assert set(p.inputs) == {S.topic(t) for t in declared.reads}, p.name
        assert _outputs(p) == {S.topic(t) for t in declared.writes}, p.name
    assert security.covers(plan, "p.feed.target.progress.v1", "write")
    assert security.covers(plan, "p.feed.freshness.v1", "write")


def test_the_gateway_principal_may_read_every_feed_of_its_read_model_and_write_every_ingest_topic():
    """hub.read.model.FEEDS (what /readyz, the read API and /dashboard wait for), the systems list and
    the ingest topics the gateway writes are all in the gateway's plan — target progress and freshness too."""
    from hub.contract import topics
    from hub.read import model as read_model

    plan = security.plan(S, "gateway")
    assert set(read_model.FEEDS.values()) >= {"feed.target.progress.v1", "feed.freshness.v1"}
    for topic in (*read_model.FEEDS.values(), topics.SYSTEMS):
        assert security.covers(plan, S.topic(topic), "read"), topic
    for kind in topics.KINDS:
        assert security.covers(plan, S.topic(topics.INGEST_BY_KIND[kind]), "write"), kind
    assert not security.covers(plan, "p.feed.dossier.v1", "read")  # no more than it serves


def test_a_publisher_may_write_every_ingest_topic_the_sdk_writes():
    """The connector SDK writes one ingest topic per kind: each is in the publisher's plan."""
    from hub.contract import topics

    plan = security.plan(S, "publisher", "a")
    for kind in ("dossier", "document", "target"):
        assert security.covers(plan, S.topic(topics.INGEST_BY_KIND[kind]), "write"), kind

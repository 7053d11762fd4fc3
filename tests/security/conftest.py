"""A broker in secure mode for this folder: SASL/SCRAM-SHA-512 + ACLs (and a SASL_SSL listener), its own
HUB_KAFKA_HOME and ports, started once for the session; principals and topics per test."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field

import pytest

from hub.admin import security
from hub.contract import topics
from hub.settings import ROOT, Settings
from hub.testing import delete_prefixed, free_port
from tests.chaos.broker import LocalBroker

OPERATOR = "hub-operator"


@dataclass
class SecureBroker:
    bootstrap: str  # SASL_PLAINTEXT
    tls_bootstrap: str  # SASL_SSL, certificate of ca_file
    ca_file: str
    operator_password: str = field(repr=False)

    def settings(self, prefix: str, user: str = OPERATOR, password: str | None = None, *, tls: bool = False,
                 **overrides) -> Settings:
        """Settings of one principal on this broker (the operator by default)."""
        base = dict(kafka_bootstrap=self.tls_bootstrap if tls else self.bootstrap, kafka_security="scram",
                    kafka_username=user, kafka_password=password or self.operator_password, kafka_tls=tls,
                    kafka_tls_ca_file=self.ca_file if tls else "", topic_prefix=prefix, partitions=2, dev_mode=True,
                    worker_store="memory://", worker_metrics_port=0,
                    worker_data_dir=str(ROOT / "var" / "test-worker" / prefix))
        base.update(overrides)
        return Settings.from_env(env={}, **base)


@pytest.fixture(scope="session")
def secure_broker(tmp_path_factory) -> SecureBroker:
    """One secure broker for every test of tests/security (started by the first that needs it)."""
    password = secrets.token_urlsafe(18)
    tls_port = free_port()
    home = tmp_path_factory.mktemp("secure-kafka")
    broker = LocalBroker(home, env={"HUB_KAFKA_SECURITY": "scram", "HUB_KAFKA_USERNAME": OPERATOR,
                                    "HUB_KAFKA_PASSWORD": password, "HUB_KAFKA_TLS_PORT": str(tls_port),
                                    "HUB_KAFKA_HEAP": "512m"})
    with broker:
        yield SecureBroker(broker.bootstrap, f"127.0.0.1:{tls_port}", str(home / "tls" / "ca.pem"), password)


@dataclass
class Deployment:
    """One test's deployment on the secure broker: its topic prefix, the operator, and granted principals."""

    broker: SecureBroker
    prefix: str
    operator: Settings
    granted: list[str] = field(default_factory=list)

    def grant(self, role: str, name: str | None = None, *, tls: bool = False, **overrides) -> Settings:
        """Create the principal of ``role`` with a fresh password; its Settings."""
        plan = security.plan(self.operator, role, name)
        password = security.new_password()
        security.grant(self.operator, plan, password)
        self.granted.append(plan.principal)
        return self.broker.settings(self.prefix, plan.principal, password, tls=tls, **overrides)

    def as_operator(self, *, tls: bool = False, **overrides) -> Settings:
        return self.broker.settings(self.prefix, tls=tls, **overrides)


@pytest.fixture
def deployment(secure_broker) -> Deployment:
    """Topics created by the operator under a fresh prefix; topics and principals removed at teardown."""
    prefix = f"s{uuid.uuid4().hex[:8]}."
    op = secure_broker.settings(prefix)
    topics.create(op)
    d = Deployment(secure_broker, prefix, op)
    yield d
    for user in d.granted:
        security.revoke(op, user)
    delete_prefixed(op)

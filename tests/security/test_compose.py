"""Secure mode is the compose default: the file is valid compose, every hub container is its own principal
over TLS, and the broker command compose runs (kafka.sh run with named TLS listeners) works on a real broker."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError

from hub import systems
from hub.admin import security
from hub.cli import build_parser
from hub.cli import main as hub_main
from hub.contract import topics
from hub.kafka import config as kafka_config
from hub.settings import ROOT, Settings
from hub.testing import KAFKA_SH, free_port, wait_for
from tests.chaos.broker import JARS
from tests.test_deploy import COMPOSE, SERVICES, environment, interpolate

COMPOSE_FILE = ROOT / "docker-compose.yml"
REQUIRED = re.compile(r"^\$\{(HUB_[A-Z_]+):\?.+\}$")


def env_of(service: str) -> dict[str, str]:
    return environment(SERVICES[service])


def test_compose_file_is_valid_for_the_compose_spec():
    """check-jsonschema with the vendored compose-spec schema accepts docker-compose.yml."""
    proc = subprocess.run([str(Path(sys.executable).with_name("check-jsonschema")), "--builtin-schema",
                           "vendor.compose-spec", str(COMPOSE_FILE)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("service, user", [("topics", "hub-operator"), ("worker", "hub-worker"),
                                           ("gateway", "hub-gateway")])
def test_each_hub_container_logs_in_as_its_own_principal_over_tls(service, user):
    """SCRAM over TLS to the INTERNAL listener, the broker's certificate from the read-only kafka-ca volume;
    user names are the principals `hub security setup` creates; each password is required and its own."""
    env = env_of(service)
    s = Settings.from_env(env={k: interpolate(v) for k, v in env.items()})
    assert (s.kafka_security, s.kafka_tls, s.kafka_bootstrap) == ("scram", True, "kafka:29092")
    assert s.kafka_username == user
    if service != "topics":
        assert user == security.principal(s, service)
    ca_dir = str(Path(s.kafka_tls_ca_file).parent)
    assert f"kafka-ca:{ca_dir}:ro" in SERVICES[service]["volumes"]
    passwords = {svc: REQUIRED.match(env_of(svc)["HUB_KAFKA_PASSWORD"]).group(1)
                 for svc in ("topics", "worker", "gateway")}
    assert len(set(passwords.values())) == 3
    assert env_of("kafka")["HUB_KAFKA_PASSWORD"] == env_of("topics")["HUB_KAFKA_PASSWORD"]


def test_the_topics_one_shot_creates_principals_with_the_passwords_compose_gives_worker_and_gateway():
    """`topics create --with-acls` reads the worker's and gateway's passwords from compose secrets fed by the
    same variables as those containers' HUB_KAFKA_PASSWORD."""
    args = build_parser().parse_args(SERVICES["topics"]["command"])
    assert args.with_acls
    for role in ("worker", "gateway"):
        path = getattr(args, f"{role}_password_file")
        name = Path(path).name
        assert path == f"/run/secrets/{name}" and name in SERVICES["topics"]["secrets"]
        var = REQUIRED.match(env_of(role)["HUB_KAFKA_PASSWORD"]).group(1)
        assert COMPOSE["secrets"][name] == {"environment": var}


def test_compose_acls_come_from_the_plan_not_from_a_copy_of_it():
    """Compose writes no ACL of its own (no kafka-acls command, no principal/operation list): its only ACLs are
    those `topics create --with-acls` applies from hub.admin.security.plan, for the principals its worker and gateway
    log in as."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for handwritten in ("kafka-acls", "--allow-principal", "--operation", "--resource-pattern-type"):
        assert handwritten not in text
    assert build_parser().parse_args(SERVICES["topics"]["command"]).with_acls
    for service in ("worker", "gateway"):
        s = Settings.from_env(env={k: interpolate(v) for k, v in env_of(service).items()})
        assert env_of(service)["HUB_KAFKA_USERNAME"] == security.plan(s, service).principal == f"hub-{service}"


def test_the_broker_exposes_tls_listeners_only():
    """Only SASL_SSL listeners bind beyond the container's loopback; the published port is one of them."""
    env = env_of("kafka")
    assert env["HUB_KAFKA_SECURITY"] == "scram"
    binds = [item.split("=")[1] for item in env["HUB_KAFKA_TLS_LISTENERS"].split(",")]
    assert "0.0.0.0:29092" in binds and "0.0.0.0:9092" in binds
    published = [p.split(":")[-1] for p in SERVICES["kafka"]["ports"]]
    assert published == ["9092"]
    assert set(env["HUB_KAFKA_TLS_SAN"].split(",")) >= {"dns:kafka", "dns:localhost", "ip:127.0.0.1"}


@pytest.mark.integration
def test_compose_broker_command_runs_with_named_tls_listeners(tmp_path, monkeypatch):
    """`kafka.sh run` with the compose broker's variables (own ports and folders) serves SCRAM over two TLS
    listeners, exports only the certificate, refuses a client without TLS+SASL, and `hub topics create
    --with-acls` then lets the worker and gateway log in with their files' passwords."""
    env = env_of("kafka")
    operator_password = secrets.token_urlsafe(18)
    p1, p2 = free_port(), free_port()
    export = tmp_path / "ca"
    export.mkdir()
    (tmp_path / "home").mkdir()
    env.update(HUB_KAFKA_PASSWORD=operator_password, HUB_KAFKA_HOME=str(tmp_path / "home"), HUB_KAFKA_LIBS=str(JARS),
               HUB_KAFKA_HEAP="512m", HUB_KAFKA_PORT=str(free_port()), HUB_KAFKA_CONTROLLER_PORT=str(free_port()),
               HUB_KAFKA_TLS_LISTENERS=f"INTERNAL=127.0.0.1:{p1}=localhost:{p1},HOST=127.0.0.1:{p2}=127.0.0.1:{p2}",
               HUB_KAFKA_TLS_CA_EXPORT=str(export))
    if not any(JARS.glob("kafka_*.jar")):  # fetched by kafka.sh up on a fresh clone; tests/security did that
        pytest.fail(f"no Kafka jars in {JARS}: run ops/kafka/kafka.sh up once")
    log = tmp_path / "broker.log"  # `run` logs to stdout, as a container does
    with log.open("wb") as out:
        proc = subprocess.Popen(["bash", str(KAFKA_SH), "run"], env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT)
    prefix = f"c{secrets.token_hex(4)}."

    def settings(port: int, host: str = "127.0.0.1", **kw) -> Settings:
        base = dict(kafka_bootstrap=f"{host}:{port}", kafka_security="scram", kafka_username="hub-operator",
                    kafka_password=operator_password, kafka_tls=True, kafka_tls_ca_file=str(export / "ca.pem"),
                    topic_prefix=prefix, partitions=1)
        return Settings.from_env(env={}, **{**base, **kw})

    try:
        wait_for(lambda: (export / "ca.pem").exists() and proc.poll() is None, timeout_s=60, what="certificate")
        assert sorted(os.listdir(export)) == ["ca.pem"]
        op_internal, op_host = settings(p1, "localhost"), settings(p2)

        def started() -> bool:
            text = log.read_text(errors="replace")
            assert proc.poll() is None, text[-3000:]
            return "Kafka Server started" in text

        wait_for(started, timeout_s=120, interval_s=0.3, what="secure broker up")
        topics.create(op_internal)
        assert systems.read(op_host).list() == []  # the HOST listener serves the same cluster

        files = {}
        for role in ("worker", "gateway"):
            files[role] = security.new_password()
            (tmp_path / role).write_text(files[role] + "\n")
        for k, v in {"HUB_KAFKA_BOOTSTRAP": f"127.0.0.1:{p2}", "HUB_KAFKA_SECURITY": "scram", "HUB_KAFKA_TLS": "1",
                     "HUB_KAFKA_TLS_CA_FILE": str(export / "ca.pem"), "HUB_KAFKA_USERNAME": "hub-operator",
                     "HUB_KAFKA_PASSWORD": operator_password, "HUB_TOPIC_PREFIX": prefix,
                     "HUB_PARTITIONS": "1"}.items():
            monkeypatch.setenv(k, v)
        assert hub_main(["topics", "create", "--with-acls", "--worker-password-file", str(tmp_path / "worker"),
                         "--gateway-password-file", str(tmp_path / "gateway")]) == 0
        for role in ("worker", "gateway"):
            who = settings(p1, "localhost", kafka_username=security.principal(op_internal, role),
                           kafka_password=files[role])
            assert systems.read(who).list() == []  # logged in, and allowed to read the systems list
        # The ACLs compose's one-shot created are the plan's, rule for rule (so the target progress feed too).
        acls = security.describe(op_internal)
        for role in ("worker", "gateway"):
            plan = security.plan(op_internal, role)
            assert acls[f"User:{plan.principal}"] == sorted(
                f"{r.resource}:{'prefixed' if r.prefixed else 'literal'}:{r.name} {r.operation} allow"
                for r in plan.rules), role
        assert f"topic:literal:{prefix}feed.target.progress.v1 read allow" in acls[f"User:{prefix}hub-gateway"]
        assert f"topic:literal:{prefix}feed.freshness.v1 read allow" in acls[f"User:{prefix}hub-gateway"]

        for plain in (Settings.from_env(env={}, kafka_bootstrap=f"127.0.0.1:{p2}"),
                      settings(p2, kafka_tls=False, kafka_tls_ca_file="")):
            with pytest.raises(KafkaTimeoutError):
                KafkaProducer(**kafka_config.kafka_python(plain), bootstrap_timeout_ms=5_000, max_block_ms=5_000)
    finally:  # the broker and its folders are this test's own: stopping it is all the cleaning needed
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

"""docker-compose.yml and the Dockerfile, checked without Docker: settings, commands, ports, image."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from hub.cli import build_parser
from hub.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
SERVICES = COMPOSE["services"]
HUB_SERVICES = sorted(name for name, svc in SERVICES.items() if "build" in svc)
SETTINGS = {var for var, _default, _doc in Settings.describe()}
# The broker container runs ops/kafka/kafka.sh: its HUB_* variables are the script's, not settings.
KAFKA_SH_VARS = set(re.findall(r"HUB_[A-Z_]+", (ROOT / "ops" / "kafka" / "kafka.sh").read_text(encoding="utf-8")))
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRET_STANDIN = "compose-test-secret"


def environment(svc: dict) -> dict[str, str]:
    """A service's environment as a dict (compose allows a mapping or a list of NAME=value)."""
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def interpolate(value: str) -> str:
    """Resolve ``${VAR:-default}`` to its default and ``${VAR:?msg}`` to a stand-in, as compose would
    with an environment that sets only the required secret."""

    def repl(m: re.Match) -> str:
        op, arg = m.group(2), m.group(3) or ""
        if op in (":?", "?"):
            return SECRET_STANDIN
        return arg if op in (":-", "-") else ""

    return _VAR.sub(repl, value)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(line for line in DOCKERFILE.splitlines()
                                          if not line.lstrip().startswith("#")))
    out = []
    for line in text.splitlines():
        if line.strip():
            instr, _, args = line.strip().partition(" ")
            out.append((instr.upper(), args.strip()))
    return out


def test_hub_services_are_topics_worker_and_gateway():
    """The deployment builds the hub image for topic creation, the worker and the gateway."""
    assert HUB_SERVICES == ["gateway", "topics", "worker"]
    assert SERVICES["kafka"]["image"] == "apache/kafka:4.1.1"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_hub_variable_is_a_real_setting(service):
    """Each HUB_* variable a service sets is a field of hub.settings.Settings (no typos, no stale names)."""
    hub_vars = {k for k in environment(SERVICES[service]) if k.startswith("HUB_")}
    known = KAFKA_SH_VARS if service == "kafka" else SETTINGS
    assert hub_vars <= known, f"{service}: unknown settings {sorted(hub_vars - known)}"


@pytest.mark.parametrize("service", HUB_SERVICES)
def test_hub_services_are_configured_through_hub_variables_only(service):
    """Hub containers get no non-HUB_ variables, and all of them point at the internal listener."""
    env = environment(SERVICES[service])
    assert env and all(k.startswith("HUB_") for k in env), sorted(env)
    assert env["HUB_KAFKA_BOOTSTRAP"] == "kafka:29092"


@pytest.mark.parametrize("service", HUB_SERVICES)
def test_settings_accept_every_value_compose_sets(service):
    """Settings.from_env converts each value a hub service receives (defaults of ${VAR:-x} applied)."""
    env = {k: interpolate(v) for k, v in environment(SERVICES[service]).items()}
    s = Settings.from_env(env=env)
    types = {f.name: str(f.type) for f in dataclasses.fields(Settings)}
    for var, raw in env.items():
        value = getattr(s, var[4:].lower())
        if types[var[4:].lower()] == "int":
            assert value == int(raw), var
        elif types[var[4:].lower()] == "bool":
            assert isinstance(value, bool), var
        else:
            assert value == raw, var
    assert s.dev_mode is False and s.replication_factor == 1 and s.min_insync_replicas == 1
    assert s.province == "52" and s.partitions == 6


def test_worker_refuses_to_start_without_a_secret_and_keeps_durable_state():
    """The pseudonym key is required by compose itself (${...:?}); table state is RocksDB on a volume."""
    worker = SERVICES["worker"]
    env = environment(worker)
    assert re.fullmatch(r"\$\{HUB_PSEUDONYM_KEY:\?.+\}", env["HUB_PSEUDONYM_KEY"])
    s = Settings.from_env(env={k: interpolate(v) for k, v in env.items()})
    assert s.effective_pseudonym_key() == SECRET_STANDIN.encode()
    assert s.worker_store == "rocksdb://" and s.worker_metrics_port == 8081
    mounts = {v.split(":")[1] for v in worker["volumes"]}
    assert s.worker_data_dir in mounts
    assert set(COMPOSE["volumes"]) >= {v.split(":")[0] for v in worker["volumes"]}


@pytest.mark.parametrize("service", HUB_SERVICES)
def test_hub_service_command_is_a_real_hub_command(service):
    """Each hub service's command parses with the `hub` CLI parser (the image's entrypoint)."""
    command = SERVICES[service]["command"]
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    args = build_parser().parse_args(argv)
    assert callable(args.func)
    assert argv[0] == {"topics": "topics", "worker": "worker", "gateway": "gateway"}[service]


def test_ports_are_published_on_the_host_loopback_only():
    """Every published port is bound to 127.0.0.1: nothing listens on the host's public interfaces."""
    published = [(name, p) for name, svc in SERVICES.items() for p in svc.get("ports", [])]
    assert published, "kafka and the gateway publish ports"
    for name, port in published:
        if isinstance(port, dict):  # long syntax
            assert port.get("host_ip") == "127.0.0.1", (name, port)
        else:
            assert str(port).startswith("127.0.0.1:"), (name, port)
    assert "127.0.0.1:8080:8080" in SERVICES["gateway"]["ports"]
    assert "127.0.0.1:9092:9092" in SERVICES["kafka"]["ports"]


def test_gateway_listens_on_all_container_interfaces_on_its_published_port():
    """Inside its container the gateway binds 0.0.0.0 on the port compose publishes."""
    args = build_parser().parse_args(SERVICES["gateway"]["command"])
    assert args.host == "0.0.0.0"
    container_port = int(SERVICES["gateway"]["ports"][0].rsplit(":", 1)[1])
    assert (args.port or int(environment(SERVICES["gateway"])["HUB_GATEWAY_PORT"])) == container_port


def test_kafka_is_a_single_kraft_node_with_an_internal_and_a_loopback_listener():
    """kafka.sh in the foreground; TLS listeners for the hub's containers and the host loopback."""
    kafka = SERVICES["kafka"]
    env = environment(kafka)
    assert kafka["entrypoint"] == ["bash", "/opt/hub/kafka.sh", "run"]
    assert "./ops/kafka/kafka.sh:/opt/hub/kafka.sh:ro" in kafka["volumes"]
    listeners = dict(item.split("=", 1) for item in env["HUB_KAFKA_TLS_LISTENERS"].split(","))
    advertised = {item.split("=")[1] for item in listeners.values()}
    assert advertised == {"kafka:29092", "127.0.0.1:9092"}
    assert {item.split("=")[0].rsplit(":", 1)[1] for item in listeners.values()} == {"29092", "9092"}
    test = kafka["healthcheck"]["test"]
    assert test == ["CMD", "bash", "/opt/hub/kafka.sh", "status"]


def test_hub_services_wait_for_a_healthy_broker_and_created_topics():
    """Worker and gateway start after Kafka is healthy and the one-shot topics service succeeded."""
    assert SERVICES["topics"]["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert SERVICES["topics"]["restart"] == "no"
    for name in ("worker", "gateway"):
        assert SERVICES[name]["depends_on"] == {
            "kafka": {"condition": "service_healthy"},
            "topics": {"condition": "service_completed_successfully"},
        }, name


def test_dockerfile_installs_the_project_from_pyproject_as_a_non_root_hub_entrypoint():
    """python:3.11-slim, `pip install -e .` after copying pyproject, a non-root USER, ENTRYPOINT hub."""
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    entrypoints = [args for instr, args in instructions if instr == "ENTRYPOINT"]
    assert [json.loads(e) for e in entrypoints] == [["hub"]]
    copies = [args for instr, args in instructions if instr == "COPY"]
    runs = [args for instr, args in instructions if instr == "RUN"]
    install = next(i for i, (instr, args) in enumerate(instructions)
                   if instr == "RUN" and "pip install -e ." in args)
    copied_before = " ".join(args for instr, args in instructions[:install] if instr == "COPY")
    assert "pyproject.toml" in copied_before and "hub" in copied_before.split()
    assert not any("avro-python3" in r or "requirements" in r for r in runs)
    users = [args for instr, args in instructions if instr == "USER"]
    assert users and users[-1] not in ("root", "0")
    for args in copies:  # every copied path exists in the repo
        for src in args.split()[:-1]:
            if not src.startswith("--"):
                assert (ROOT / src).exists(), src


def test_dockerfile_hub_variables_are_real_settings():
    """HUB_* variables baked into the image are settings, and match the compose volume for state."""
    env_lines = [args for instr, args in dockerfile_instructions() if instr == "ENV"]
    baked = dict(pair.split("=", 1) for line in env_lines for pair in line.split())
    hub_vars = {k: v for k, v in baked.items() if k.startswith("HUB_")}
    assert set(hub_vars) <= SETTINGS
    assert hub_vars.get("HUB_WORKER_DATA_DIR") == environment(SERVICES["worker"])["HUB_WORKER_DATA_DIR"]


def test_dockerignore_keeps_local_state_out_of_the_image():
    """The build context excludes var/ (brokers, outboxes), the virtualenv and caches."""
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {"var/", ".venv/", "**/__pycache__/", ".pytest_cache/"} <= ignored
    for _instr, args in [i for i in dockerfile_instructions() if i[0] == "COPY"]:
        for src in args.split()[:-1]:
            assert f"{src}/" not in ignored and src not in ignored, f"{src} is copied but ignored"

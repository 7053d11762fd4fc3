"""Session fixtures: one real Kafka broker per test session, isolated topics per test."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from hub import log
from hub.cli import main
from hub.contract import topics
from hub.settings import Settings
from hub.testing import BrokerUnavailable, delete_prefixed, release_shared_broker, shared_broker, subprocess_env

ROOT = Path(__file__).resolve().parent.parent


# --- test tiers, derived from what a test uses (never hand-marked) ---------------------------------
# fast: no broker (pure code, files, in-process HTTP without Kafka); `make test-fast` runs them with
#       HUB_KAFKA_BOOTSTRAP on a closed port, so a test that reaches Kafka without saying so fails there.
# broker: the session's shared broker (the kafka_bootstrap fixture, directly or through another fixture).
# slow: own brokers (chaos, security, make run), real Chromium, schemathesis, or hub processes run end to end.
TIERS = ("fast", "broker", "slow")
_SLOW_FOLDERS = frozenset({"chaos", "browser", "security", "wheels"})
_SLOW_MODULES = frozenset({"test_schemathesis.py", "test_make_run.py"})
_SLOW_FIXTURES = frozenset({"hub_process"})


def tier_of(item: pytest.Item) -> str:
    path = Path(str(item.fspath))
    folders = set(path.relative_to(ROOT / "tests").parts[:-1]) if path.is_relative_to(ROOT / "tests") else set()
    names = set(getattr(item, "fixturenames", ()))
    if folders & _SLOW_FOLDERS or path.name in _SLOW_MODULES or names & _SLOW_FIXTURES:
        return "slow"
    return "broker" if "kafka_bootstrap" in names else "fast"


# Under pytest-xdist (`make test`: -n, --dist loadscope) a module's tests stay on one worker, so a module
# fixture (a read model, a browser) is built once; tests/security shares one secure broker, so it is one unit.
# The controller only sees node ids: the unit is derived from them (xdist's own loadgroup marks do not
# reach the node ids under pytest 9).
def xdist_unit_of(nodeid: str) -> str:
    module = nodeid.split("::")[0]
    return "tests/security" if module.startswith("tests/security/") else module


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_unit_of(nodeid)

    return ByUnit(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    counts = dict.fromkeys(TIERS, 0)
    for item in items:
        tier = tier_of(item)
        item.add_marker(getattr(pytest.mark, tier))
        counts[tier] += 1
    config.stash[_TIER_COUNTS] = (counts, len(items))
    # The longest tests first (`--no-loadscope-reorder` keeps this order): spread over the workers while the
    # short ones fill the gaps at the end.
    items.sort(key=lambda item: TIERS.index(tier_of(item)), reverse=True)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    counts, total = config.stash.get(_TIER_COUNTS, ({}, 0))
    if counts:
        # The tiers partition what was collected: each test has exactly one, so they add up to the whole.
        parts = ", ".join(f"{t} {counts[t]}" for t in TIERS)
        terminalreporter.write_line(f"tiers (before -m/-k selection): {parts} = {sum(counts.values())} of "
                                    f"{total} collected")


_TIER_COUNTS = pytest.StashKey[tuple]()


# One broker for the whole run, also under pytest-xdist: the workers inherit this id from the process
# that spawned them, the first worker that needs Kafka starts the broker, and that process stops it.
_SESSION = "PYTEST_HUB_SESSION"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault(_SESSION, uuid.uuid4().hex)


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller, or a run without workers
        release_shared_broker(os.environ[_SESSION])


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """A real broker: the one at HUB_KAFKA_BOOTSTRAP, or the local one this run starts."""
    try:
        return shared_broker(os.environ[_SESSION])
    except BrokerUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(autouse=True)
def _hub_logging():
    """Every test starts with the processes' logging (JSON lines on stdout at INFO), whatever ran before it.

    Under pytest-xdist a worker runs another set of tests before this one (a CLI test that logged to
    stderr, a property test that raised the level): a test's log assertions must not depend on them.
    """
    log.configure("INFO")


# The fixtures' records carry their own times from 2025 (the hub's ingest time is the record's time, and
# the KPI, directive and chaos references depend on it). With 7 days of raw and 30 of feed retention,
# Kafka's retention check (every 5 minutes) deleted them whenever it ran mid-test ("Deleting segment
# ... due to log retention time 604800000ms breach"): test topics keep records for 20 years.
KEEP_FIXTURE_TIMES = {"raw_retention_hours": 24 * 365 * 20, "feed_retention_days": 365 * 20}


@pytest.fixture
def make_settings(kafka_bootstrap):
    """Factory: Settings on their own topic prefix, topics created. Extra kwargs override.

    Every topic under the prefixes it handed out is deleted at teardown: a session creates
    thousands of partitions otherwise, and a single test broker slows down under them.
    """
    made: list[Settings] = []

    def make(create_topics: bool = True, **overrides) -> Settings:
        prefix = f"t{uuid.uuid4().hex[:10]}."
        base = dict(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, partitions=3, dev_mode=True,
                    worker_data_dir=str(ROOT / "var" / "test-worker" / prefix), worker_store="memory://",
                    worker_metrics_port=0, **KEEP_FIXTURE_TIMES)
        base.update(overrides)
        s = Settings.from_env(env={}, **base)
        made.append(s)
        if create_topics:
            topics.create(s)
        return s

    yield make
    for s in made:
        # Settings pointed elsewhere (an unreachable address, a test's own broker) made nothing here.
        if s.kafka_bootstrap == kafka_bootstrap:
            delete_prefixed(s)


def settings_env(s: Settings) -> dict[str, str]:
    """Environment for a subprocess that should see exactly these settings."""
    return subprocess_env(s)


class Proc:
    """A `hub ...` subprocess with its output in a file; stopped at teardown."""

    def __init__(self, args: list[str], s: Settings, log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen([sys.executable, "-m", "hub", *args], env=settings_env(s),
                                      stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT,
                                      start_new_session=True)

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self, timeout: float = 30) -> int:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        return self.popen.returncode


@pytest.fixture
def hub_process(tmp_path):
    """Factory: start `python -m hub <args>` with given settings; all are stopped at teardown."""
    procs: list[Proc] = []

    def start(args: list[str], s: Settings, name: str | None = None) -> Proc:
        p = Proc(args, s, tmp_path / f"{name or args[0]}-{len(procs)}.log")
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run `hub ...` in-process with the HUB_ environment of given settings; returns (rc, out, err)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("kafka").level)

    def run(s: Settings, *args: str) -> tuple[int, str, str]:
        for k, v in settings_env(s).items():
            if k.startswith("HUB_"):
                monkeypatch.setenv(k, v)
        capsys.readouterr()
        rc = main(list(args))
        out, err = capsys.readouterr()
        return rc, out, err

    yield run
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.getLogger("kafka").setLevel(saved[2])

"""schemathesis against the live gateway's /openapi.json, with a valid key: never a 5xx.

Two runs: the ``schemathesis run`` CLI (all its phases: examples, coverage, fuzzing, stateful),
and each operation's Hypothesis strategy driven in-process. schemathesis' own pytest
integration (``from_fixture`` + subtests) does not run on pytest 9, hence the direct driving.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from hub import systems
from hub.gateway.server import ServerThread
from hub.testing import wait_for

MAX_EXAMPLES = 50


@pytest.fixture
def live(make_settings):
    """A gateway thread with one system allowed both kinds for Ia Ly (23734), and its key."""
    s = make_settings()
    key = systems.add(s, "fuzz", ["23734"], ["dossier", "document"], ["000.34.37.H41"])
    with ServerThread(s) as srv:
        yield srv, key


def _drive(strategy, url: str, key: str, examples: int) -> None:
    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        case.call_and_validate(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, checks=[not_a_server_error], timeout=30
        )

    run()


def _fuzz(url: str, key: str, wanted=lambda op: True) -> list[str]:
    """Every wanted operation, fed generated valid and invalid input and its examples: the failures found."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    failures = []
    for op in filter(wanted, operations):
        examples = schema.get_strategies_from_examples(op)
        strategies = [
            (mode.value, op.as_strategy(generation_mode=mode))
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
        if examples:
            strategies.append(("examples", st.one_of(examples)))
        for label, strategy in strategies:
            try:
                _drive(strategy, url, key, MAX_EXAMPLES if label != "examples" else 5)
            except Unsatisfiable:  # nothing to negate (no parameters or body): not a finding
                continue
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report
                failures.append(f"{op.method.upper()} {op.path} [{label}]: {exc}")
    return failures


@pytest.mark.timeout(300)
def test_no_server_errors(live):
    """Every documented operation, fed generated valid and invalid input with a key, answers below 500."""
    srv, key = live
    paths = [op.ok().path for op in schemathesis.openapi.from_url(f"{srv.url}/openapi.json").get_all_operations()]
    assert "/v1/events/dossier" in paths
    failures = _fuzz(srv.url, key)
    assert not failures, "\n\n".join(failures)


READ_PATHS = ("/v1/kpi/", "/v1/directives", "/v1/freshness", "/v1/targets/")


@pytest.fixture
def reader_live(make_settings):
    """A gateway thread with a reader key, once its read model has read the (empty) feeds."""
    s = make_settings()
    key = systems.add(s, "fuzz-reader", role="reader")
    with ServerThread(s) as srv:
        wait_for(lambda: srv.app.state.read_model.snapshot.caught_up, timeout_s=60, what="read model caught up")
        yield srv, key


@pytest.mark.timeout(300)
def test_read_api_has_no_server_errors(reader_live):
    """The read API's operations, fed generated valid and invalid parameters with a reader key, answer below 500."""
    srv, key = reader_live
    fuzzed = []

    def wanted(op) -> bool:
        if op.path.startswith(READ_PATHS):
            fuzzed.append(op.path)
            return True
        return False

    failures = _fuzz(srv.url, key, wanted)
    assert sorted(fuzzed) == ["/v1/directives", "/v1/directives/{document_id}", "/v1/freshness",
                              "/v1/kpi/communes/{code}", "/v1/kpi/province", "/v1/targets/communes/{code}",
                              "/v1/targets/province"]
    assert not failures, "\n\n".join(failures)


@pytest.mark.timeout(300)
def test_schemathesis_cli_finds_no_server_errors(live, tmp_path):
    """`schemathesis run` with every phase and at most 50 examples per operation reports no 5xx."""
    srv, key = live
    # One worker: with several, Hypothesis' lambda-source parsing (ast.parse) races between threads.
    cli = Path(sys.executable).with_name("schemathesis")
    proc = subprocess.run(
        [
            str(cli),
            "run",
            f"{srv.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--header",
            f"Authorization: Bearer {key}",
            "--seed",
            "52",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--no-color",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "No issues found" in proc.stdout or "passed" in proc.stdout, proc.stdout[-3000:]

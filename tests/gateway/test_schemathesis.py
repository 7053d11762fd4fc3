"""schemathesis against the live gateway's /openapi.json, with a valid key: never a 5xx.

Two runs: the ``schemathesis run`` CLI (all its phases: examples, coverage, fuzzing, stateful),
and each operation's Hypothesis strategy driven in-process. And the contract: the CLI with positive and
negative data and every conformance check, with a reader key (test_openapi_contract_holds_on_every_route).
schemathesis' own pytest integration (``from_fixture`` + subtests) does not run on pytest 9, hence the direct driving.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from pydantic import ValidationError
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from hub import systems
from hub.gateway.server import ServerThread
from hub.ingest.routes import ErrorBody
from hub.testing import wait_for
from tests.conftest import ROOT

MAX_EXAMPLES = 50  # per operation, for `schemathesis run` (every phase)
# In process, valid and invalid input per operation (the CLI test covers the same operations at 50).
IN_PROCESS_EXAMPLES = 10


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
                _drive(strategy, url, key, IN_PROCESS_EXAMPLES if label != "examples" else 5)
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


@pytest.fixture
def reader_live(make_settings):
    """A gateway thread with a reader key, once its read model has read the (empty) feeds."""
    s = make_settings()
    key = systems.add(s, "fuzz-reader", role="reader")
    with ServerThread(s) as srv:
        wait_for(lambda: srv.app.state.read_model.snapshot.caught_up, timeout_s=60, what="read model caught up")
        yield srv, key


# OpenAPI cannot say that `at` is written as `period` says (YYYY-MM-DD for day...): the parameter descriptions say
# it and the route answers 400. This hook makes a generated period agree with a generated, well-formed `at`, so
# that positive_data_acceptance checks everything else; `at` and `period` alone keep their declared rules.
KPI_HOOK = """
import re
import schemathesis
from hub.read.api import AT_PATTERN

AT = re.compile(AT_PATTERN)
# OpenAPI can say that `schema` is a string, not that the string is a valid Avro schema (refused 42201): a
# positive case posts a well-formed one, so positive_data_acceptance checks everything else about the body.
PROBE = '{"type": "record", "name": "Probe", "namespace": "vn.gov.hub", "fields": [{"name": "a", "type": "string"}]}'


@schemathesis.hook
def map_case(context, case):
    query = case.query
    if case.operation.path.startswith("/v1/kpi/") and isinstance(query, dict):
        at, period = query.get("at"), query.get("period", "month")
        if isinstance(at, str) and AT.fullmatch(at) and period in ("day", "month", "quarter"):
            query["period"] = "quarter" if "Q" in at else "day" if len(at) == 10 else "month"
    if (case.operation.method.upper() == "POST" and case.operation.path.startswith("/registry/")
            and case.meta is not None and case.meta.generation.mode.is_positive and isinstance(case.body, dict)
            and isinstance(case.body.get("schema"), str)):
        case.body["schema"] = PROBE
    return case
"""
CONTRACT_CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
                   "response_schema_conformance", "negative_data_rejection", "positive_data_acceptance")
# The registry is read-only (hub/read/registry_writes.py): registering a schema the subject does not already
# have is refused 422 42205 as Confluent refuses it in READONLY mode, whatever the body, so for that one route a
# well-formed body may draw 422. Every other registry route keeps the default expectation.
CONFIG = "\n".join(["[checks]", "enabled = false", *(f"{c}.enabled = true" for c in CONTRACT_CHECKS), "",
                     "[[operations]]", 'include-name = "POST /registry/subjects/{subject}/versions"',
                     'checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "422"]', ""])


@pytest.mark.timeout(600)
def test_openapi_contract_holds_on_every_route(reader_live, tmp_path):
    """`schemathesis run --mode all` (positive and negative data, every phase) with a reader key: every route
    answers what /openapi.json declares — status codes, content types, response schemas — accepts every request
    the document allows and refuses every request it forbids (the registry's register route: see CONFIG)."""
    srv, key = reader_live
    (tmp_path / "kpi_periods.py").write_text(KPI_HOOK)
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    cli = Path(sys.executable).with_name("schemathesis")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "kpi_periods",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    proc = subprocess.run(
        [str(cli), "--config-file", str(tmp_path / "schemathesis.toml"), "run", f"{srv.url}/openapi.json",
         "--mode", "all", "--max-examples", "25", "--header", f"Authorization: Bearer {key}", "--seed", "52",
         "--workers", "1", "--request-timeout", "30", "--no-color", "--report", "junit",
         "--report-junit-path", str(tmp_path / "junit.xml")],
        capture_output=True, text=True, timeout=580, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
    tested = set(re.findall(r'testcase name="GET ([^"]+)"', (tmp_path / "junit.xml").read_text()))
    assert set(READ_PATHS_TESTED) <= tested, sorted(tested)
    assert "/registry/subjects/{subject}/versions/{version}" in tested


# The ingest routes with a publisher key. Their body is declared as what the gateway parses before the format's
# own rules: a JSON object or a non-empty array of objects (or, for documents, an XML document). Whether a
# well-formed event is *valid* — a commune code in the national list, dates in order, a status the one-stop
# portal knows, in the system's scope — is the format's semantics (hub.normalize), which a JSON Schema cannot
# state: the body's format is chosen by `?format=` / X-Hub-Format, and the answer depends on the systems list.
# So positive_data_acceptance does not apply to them; every other check does, negative_data_rejection included
# (a body that is not an object or a non-empty array of objects is refused with a declared 4xx).
INGEST_CHECKS = tuple(c for c in CONTRACT_CHECKS if c != "positive_data_acceptance")
INGEST_CONFIG = "\n".join(["[checks]", "enabled = false", *(f"{c}.enabled = true" for c in INGEST_CHECKS), ""])


@pytest.fixture
def publisher_live(make_settings):
    """A gateway thread with one publisher allowed all three kinds for Ia Ly (23734), and its key."""
    s = make_settings()
    key = systems.add(s, "fuzz-publisher", ["23734"], ["dossier", "document", "target"], ["000.34.37.H41"])
    with ServerThread(s) as srv:
        yield srv, key


@pytest.mark.timeout(600)
def test_ingest_contract_holds_with_a_publisher_key(publisher_live, tmp_path):
    """`schemathesis run --mode all` on the ingest routes with a publisher key: declared statuses, content types
    and error bodies, and every body the document forbids refused (positive data: see INGEST_CONFIG)."""
    srv, key = publisher_live
    (tmp_path / "schemathesis.toml").write_text(INGEST_CONFIG)
    cli = Path(sys.executable).with_name("schemathesis")
    proc = subprocess.run(
        [str(cli), "--config-file", str(tmp_path / "schemathesis.toml"), "run", f"{srv.url}/openapi.json",
         "--include-path-regex", "^/v1/events/", "--mode", "all", "--max-examples", "25",
         "--header", f"Authorization: Bearer {key}", "--seed", "52", "--workers", "1", "--request-timeout", "30",
         "--no-color", "--report", "junit", "--report-junit-path", str(tmp_path / "junit.xml")],
        capture_output=True, text=True, timeout=580, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
    tested = set(re.findall(r'testcase name="POST ([^"]+)"', (tmp_path / "junit.xml").read_text()))
    assert tested == {"/v1/events/dossier", "/v1/events/document", "/v1/events/target"}, sorted(tested)


def test_error_reasons_are_declared():
    """ErrorBody.error is one of the reason codes (README reason table), not any string."""
    enum = ErrorBody.model_json_schema()["properties"]["error"]["enum"]
    assert {"bad_parameter", "unauthorized", "unknown_commune", "overloaded", "not_found"} <= set(enum)
    assert "Validation Error" not in enum
    with pytest.raises(ValidationError):
        ErrorBody(error="no_such_reason", message="x")


READ_PATHS_TESTED = ("/v1/directives", "/v1/directives/{document_id}", "/v1/freshness", "/v1/kpi/communes/{code}",
                     "/v1/kpi/province", "/v1/targets/communes/{code}", "/v1/targets/province")
STRICT = [  # (path, params, refused field or None when accepted)
    ("/v1/directives", {"overdue": "yes"}, "overdue"), ("/v1/directives", {"overdue": "1"}, "overdue"),
    ("/v1/directives", {"overdue": "TRUE"}, "overdue"), ("/v1/directives", {"overdue": "true"}, None),
    ("/v1/directives", {"overdue": "false", "limit": "1000"}, None), ("/v1/directives", {"limit": "٣"}, "limit"),
    ("/v1/directives", {"limit": "1001"}, "limit"), ("/v1/kpi/province", {"period": ""}, "period"),
    ("/v1/kpi/province", {"period": "month", "at": "2025-11\n"}, "at"), ("/v1/kpi/province", {"at": "2025-11"}, None),
    ("/v1/kpi/province", {"period": "day", "at": "2024-02-29"}, None),
    ("/v1/targets/province", {"year": "²⁰²⁵"}, "year"), ("/v1/targets/province", {"program": " NTM"}, "program"),
    ("/v1/targets/province", {"program": "52-ß"}, "program"), ("/v1/targets/province", {"program": "gnbv"}, None),
]


def test_read_parameters_are_exactly_as_declared(reader_live):
    """What the document refuses the routes refuse (400 bad_parameter naming it) — overdue other than true/false,
    an empty period, non-ASCII digits, a final newline, a padded program — and what it allows they answer."""
    srv, key = reader_live
    for path, params, field in STRICT:
        r = httpx.get(f"{srv.url}{path}", params=params, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        if field is None:
            assert r.status_code == 200, (path, params, r.text)
        else:
            assert (r.status_code, r.json()["error"], r.json()["field"]) == (400, "bad_parameter", field), (
                path, params, r.text)


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

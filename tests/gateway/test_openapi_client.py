"""/openapi.json is a contract a generated client can use: openapi-python-client (the `dev` extra) generates a
client from the live gateway's document, and that client calls every read route and every registry GET route
against a gateway whose read model holds the reference datasets (tests/gateway/read_scenario.py) and target
progress rows; the answers parse into the generated models (enums, date-times, dates) and equal the
hand-computed numbers. The fast tests pin the document's shape: no phantom 422, parameters declared as the routes
check them."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from kafka import KafkaProducer

from hub.analytics import periods as pr
from hub.contract import topics
from hub.gateway.app import create_app
from hub.read.api import AT_PATTERN
from hub.settings import Settings
from hub.testing import wait_for
from tests.analytics import target_datasets as td
from tests.analytics.datasets import COMMUNE, DIRECTIVE_ID, RECIPIENTS
from tests.gateway import read_scenario
from tests.gateway.test_read_model_targets import _progress

READ_PATHS = ["/v1/directives", "/v1/directives/{document_id}", "/v1/freshness", "/v1/kpi/communes/{code}",
              "/v1/kpi/province", "/v1/targets/communes/{code}", "/v1/targets/province"]
SUBJECT = "feed.kpi.commune.v1-value"  # CommuneKpi v1 (id 4), v2 (id 10) and v3 (id 19) in hub/schemas/registry.json


# --- the document's shape (no broker) ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spec() -> dict:
    return create_app(Settings.from_env(env={}, kafka_bootstrap="127.0.0.1:1")).openapi()


def _param(spec: dict, path: str, name: str) -> dict:
    return next(p["schema"] for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name)


def test_no_route_declares_fastapis_validation_error(spec):
    """FastAPI's 422 "Validation Error" is gone (nothing answers it); the read routes declare 400 bad_parameter
    only where a parameter can be refused, 404 only where a commune or directive can be missing."""
    assert "HTTPValidationError" not in json.dumps(spec)
    declared = {p: sorted(spec["paths"][p]["get"]["responses"]) for p in READ_PATHS}
    assert declared == {
        "/v1/directives": ["200", "400", "401", "403", "503"],
        "/v1/directives/{document_id}": ["200", "401", "403", "404", "503"],
        "/v1/freshness": ["200", "401", "403", "503"],
        "/v1/kpi/communes/{code}": ["200", "400", "401", "403", "404", "503"],
        "/v1/kpi/province": ["200", "400", "401", "403", "503"],
        "/v1/targets/communes/{code}": ["200", "400", "401", "403", "404", "503"],
        "/v1/targets/province": ["200", "400", "401", "403", "503"],
    }


def test_parameters_are_declared_as_the_routes_check_them(spec):
    """limit 1-1000, year 2000-2100, overdue a boolean, period an enum, at a pattern: no "or null"."""
    assert _param(spec, "/v1/directives", "limit").items() >= {"type": "integer", "minimum": 1, "maximum": 1000}.items()
    assert _param(spec, "/v1/directives", "overdue")["type"] == "boolean"
    year = _param(spec, "/v1/targets/province", "year")
    assert year.items() >= {"type": "integer", "minimum": 2000, "maximum": 2100}.items()
    period = _param(spec, "/v1/kpi/province", "period")
    assert (period["type"], period["enum"], "anyOf" in period) == ("string", ["day", "month", "quarter"], False)
    schemas = spec["components"]["schemas"]
    assert schemas["KpiRow"]["properties"]["period_start"] == {"type": "string", "format": "date-time",
                                                               "title": "Period Start"}
    assert schemas["TargetRow"]["properties"]["status"]["enum"] == ["on_track", "behind", "no_report", "done",
                                                                    "unassigned"]


def test_at_pattern_accepts_exactly_the_periods_the_route_reads():
    """Every day, month and quarter of 1989-2101 (and 29-31 of every month): the declared pattern matches exactly
    when hub.analytics.periods reads it (leap years, 2100 not one, the 1990-2100 range)."""
    at = re.compile(AT_PATTERN)
    for y in range(1989, 2102):
        for m in range(0, 14):
            cases = [("month", f"{y:04d}-{m:02d}")] + [("day", f"{y:04d}-{m:02d}-{d:02d}") for d in range(0, 33)]
            for kind, text in cases + [("quarter", f"{y:04d}-Q{m}")]:
                try:
                    pr.parse(kind, text)
                    readable = True
                except pr.PeriodError:
                    readable = False
                assert bool(at.fullmatch(text)) == readable, text  # the route checks with fullmatch
    assert not at.fullmatch("2025-11\n") and not at.fullmatch("２０２５-11")  # what periods' \d and $ let through


def test_declared_enums_are_the_feeds_symbols():
    """priority, steering_type and last_status pass feed.directive.v1's Avro symbols through: the document
    declares exactly the latest schema's symbols (a new symbol fails here until the contract says it)."""
    from hub.contract import codec
    from hub.read import api as read_api

    text = codec.load(Settings.from_env(env={}).schemas_dir).latest(topics.FEED_DIRECTIVE + "-value").text
    enums = {}
    for field in json.loads(text)["fields"]:
        for branch in field["type"] if isinstance(field["type"], list) else [field["type"]]:
            if isinstance(branch, dict) and branch.get("type") == "enum":
                enums[field["name"]] = tuple(branch["symbols"])
    assert enums == {"priority": read_api.PRIORITIES, "steering_type": read_api.STEERING_TYPES,
                     "last_status": read_api.DOCUMENT_STATUSES}


def test_a_parameter_fastapi_refuses_is_the_hubs_declared_400():
    """A route with a typed parameter (none of the gateway's today; a future one): FastAPI's refusal is answered
    400 bad_parameter with the hub's body, and the document declares that 400 instead of the phantom 422 — only
    where FastAPI can refuse (not for a string path parameter)."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from hub.gateway.app import _install_error_handlers, tidy_openapi

    app = FastAPI()
    _install_error_handlers(app)

    @app.get("/typed/{name}")
    async def typed(name: str, count: int = 1) -> dict:
        return {"name": name, "count": count}

    @app.get("/plain/{name}")
    async def plain(name: str) -> dict:
        return {"name": name}

    r = TestClient(app).get("/typed/x", params={"count": "many"})
    assert (r.status_code, r.json()["error"], r.json()["field"], r.json()["stage"]) == (
        400, "bad_parameter", "count", "parse")
    doc = tidy_openapi(app.openapi())
    assert sorted(doc["paths"]["/typed/{name}"]["get"]["responses"]) == ["200", "400"]
    assert sorted(doc["paths"]["/plain/{name}"]["get"]["responses"]) == ["200"]
    assert "HTTPValidationError" not in json.dumps(doc)


# --- a generated client against a seeded gateway --------------------------------------------------------------
def _generate(url: str, out: Path) -> ModuleType:
    """openapi-python-client on the live /openapi.json, as package ``hub_client`` under ``out``."""
    (out / "openapi.json").write_text(httpx.get(f"{url}/openapi.json", timeout=30).text)
    (out / "config.yaml").write_text("project_name_override: hub_client\npackage_name_override: hub_client\n"
                                     "post_hooks: []\n")
    tool = Path(sys.executable).with_name("openapi-python-client")
    proc = subprocess.run([str(tool), "generate", "--path", "openapi.json", "--config", "config.yaml", "--meta",
                           "none", "--output-path", "hub_client"], cwd=out, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sys.path.insert(0, str(out))
    return importlib.import_module("hub_client")


def _operations(package: Path, tag: str) -> dict[str, ModuleType]:
    """URL template -> generated module of each operation under api/<tag>."""
    found = {}
    for path in sorted((package / "api" / tag).glob("*.py")):
        match = re.search(r'"url": "([^"]+)"', path.read_text())
        if match and '"method": "get"' in path.read_text():
            found[match.group(1)] = importlib.import_module(f"hub_client.api.{tag}.{path.stem}")
    return found


def _seed_targets(s: Settings) -> None:
    """The targets dataset's progress rows at T2 (Avro, as the worker writes them) on feed.target.progress.v1."""
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    try:
        for key, value in _progress("T2").items():
            producer.send(s.topic(topics.FEED_TARGET_PROGRESS), key=key.encode(), value=value)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


@pytest.fixture
def client_package(kafka_bootstrap, tmp_path):
    with read_scenario.province(kafka_bootstrap, tmp_path) as sc:
        _seed_targets(sc.settings)
        wait_for(lambda: len(sc.gateway.app.state.read_model.snapshot.target_rows(2025)) == 12, timeout_s=60,
                 what="the read model has the 12 target rows")
        (tmp_path / "gen").mkdir()
        try:
            yield sc, _generate(sc.url, tmp_path / "gen"), tmp_path / "gen" / "hub_client"
        finally:
            sys.path.remove(str(tmp_path / "gen"))
            for name in [n for n in sys.modules if n == "hub_client" or n.startswith("hub_client.")]:
                del sys.modules[name]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.timeout(900)
def test_generated_client_reads_every_read_and_registry_route(client_package):
    sc, hub_client, package = client_package
    client = hub_client.AuthenticatedClient(base_url=sc.url, token=sc.reader_key, timeout=httpx.Timeout(30))
    models = importlib.import_module("hub_client.models")
    read = _operations(package, "read")
    assert sorted(read) == READ_PATHS

    kpi = read["/v1/kpi/communes/{code}"].sync(code=COMMUNE, client=client, period=models.CommuneKpiPeriod.MONTH,
                                               at="2025-11")
    assert isinstance(kpi, models.KpiRow), kpi
    # tests/analytics/reference.md, November at Ia Ly; a Vietnam month starts at 17:00 UTC the day before
    assert (kpi.commune_name, kpi.period, kpi.at, kpi.in_scope, kpi.on_time, kpi.late, kpi.data) == (
        "Xã Ia Ly", models.KpiRowPeriod.MONTH, "2025-11", 11, 6, 5, True)
    assert (kpi.period_start, kpi.period_end) == (_utc("2025-10-31T17:00"), _utc("2025-11-30T17:00"))
    province = read["/v1/kpi/province"].sync(client=client, period=models.ProvinceKpiPeriod.QUARTER, at="2025-Q4")
    assert (province.province_code, province.period, province.at, len(province.communes)) == (
        "52", models.ProvinceKpiPeriod.QUARTER, "2025-Q4", 135)
    refused = read["/v1/kpi/province"].sync(client=client, period=models.ProvinceKpiPeriod.DAY, at="2025-11")
    assert isinstance(refused, models.ErrorBody) and (refused.error, refused.field) == ("bad_parameter", "at")

    listed = read["/v1/directives"].sync(client=client, overdue=True, limit=5)
    assert isinstance(listed, models.DirectiveList) and listed.count == 1
    directive = read["/v1/directives/{document_id}"].sync(document_id=DIRECTIVE_ID, client=client)
    assert isinstance(directive, models.OneDirective), directive
    assert isinstance(directive.data_as_of, datetime) and isinstance(listed.data_as_of, datetime)
    assert directive.document_id == DIRECTIVE_ID and listed.directives[0].document_id == DIRECTIVE_ID
    assert [r.commune_code for r in directive.recipients] == sorted(RECIPIENTS)
    assert directive.not_accepted_communes == ["23767"]  # Ia Hrung never accepted it
    assert all(isinstance(r.computed_at, datetime) for r in directive.recipients)
    statuses = {r.commune_code: r.last_status for r in directive.recipients}
    assert all(s is None or isinstance(s, models.RecipientLastStatusType0) for s in statuses.values()), statuses

    fresh = read["/v1/freshness"].sync(client=client)
    assert isinstance(fresh, models.Freshness) and fresh.silent_systems == 6 and len(fresh.unseen_communes) == 130
    ialy = next(c for c in fresh.communes if c.commune_code == COMMUNE)
    dossiers = next(s for s in ialy.systems if s.kind == models.SystemFreshnessKind.DOSSIER)
    # D12's acceptance, 2025-11-21 08:00 Vietnam time, reached the hub 30 s later
    assert (dossiers.source_system, dossiers.last_event_time, dossiers.last_ingest_time) == (
        "onestop-ialy", _utc("2025-11-21T01:00"), _utc("2025-11-21T01:00:30"))

    targets = read["/v1/targets/communes/{code}"].sync(code=td.A, client=client, year=2025)
    assert isinstance(targets, models.CommuneTargets), targets
    assert [t.indicator_code for t in targets.targets] == ["HO_THOAT_NGHEO", "VON_SN", "TIEU_CHI", "VON_DTPT"]
    assert all(isinstance(t.status, models.TargetRowStatus) for t in targets.targets)
    assert sum(targets.statuses.additional_properties.values()) == 4
    rollup = read["/v1/targets/province"].sync(client=client, year=2025, program="gnbv")
    assert isinstance(rollup, models.ProvinceTargets) and rollup.program == "GNBV" and rollup.year == 2025
    assert {r.commune_code for r in rollup.attention} == {td.A, td.B, td.C}

    _registry(models, _operations(package, "registry"), client)


def _plain(parsed):
    """A generated client's answer as JSON values: its models (``to_dict``), in lists too."""
    if isinstance(parsed, list):
        return [_plain(item) for item in parsed]
    return parsed.to_dict() if hasattr(parsed, "to_dict") else parsed


def _registry(models, routes: dict[str, ModuleType], client) -> None:
    """Every registry GET route, on CommuneKpi v2 (id 10): the Confluent answers standard tools read."""
    expected = {
        "/registry/": {},
        "/registry/subjects/{subject}/versions": [1, 2, 3],
        "/registry/subjects/{subject}/versions/{version}/referencedby": [],
        "/registry/schemas/ids/{schema_id}/versions": [{"subject": SUBJECT, "version": 2}],
        "/registry/schemas/ids/{schema_id}/subjects": [SUBJECT],
        "/registry/schemas/types": ["AVRO"],
        "/registry/mode": {"mode": "READONLY"},
    }
    args = {"subject": SUBJECT, "version": "2", "schema_id": "10", "guid": "no-such-guid"}
    answers = {}
    for url, module in routes.items():
        names = re.findall(r"{(\w+)}", url)
        answer = module.sync_detailed(client=client, **{n: args[n] for n in names})
        answers[url] = answer
        assert answer.status_code == (404 if "guid" in names else 200), (url, answer.content[:300])
        assert answer.parsed is not None, url
        parsed = _plain(answer.parsed)
        if url in expected:
            assert parsed == expected[url], url
    assert set(expected) | {"/registry/subjects", "/registry/subjects/{subject}/versions/{version}",
                            "/registry/schemas/ids/{schema_id}", "/registry/config"} <= set(answers)
    assert SUBJECT in answers["/registry/subjects"].parsed
    version = answers["/registry/subjects/{subject}/versions/{version}"].parsed
    assert isinstance(version, models.SchemaObject), version
    assert (version.subject, version.version, version.id) == (SUBJECT, 2, 10)
    assert json.loads(version.schema)["name"] == "CommuneKpi"
    assert json.loads(answers["/registry/schemas/ids/{schema_id}"].parsed.schema)["name"] == "CommuneKpi"
    assert answers["/registry/config"].parsed.compatibility_level == "FULL_TRANSITIVE"
    if "/registry/schemas/guids/{guid}" in answers:
        assert isinstance(answers["/registry/schemas/guids/{guid}"].parsed, models.RegistryError)

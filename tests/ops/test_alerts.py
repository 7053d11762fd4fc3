"""Alert rules and the Grafana dashboard: promtool accepts and unit-tests the rules, and every expression of
both names only metrics that the real worker, gateway and SDK outbox export (read off their /metrics)."""

from __future__ import annotations

import re
import shutil
import subprocess

import orjson
import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from tests.ops import stack

pytestmark = pytest.mark.integration

RULES = stack.ROOT / "ops" / "prometheus" / "alerts.yml"
RULE_TESTS = stack.ROOT / "ops" / "prometheus" / "alerts.test.yml"
SCRAPE = stack.ROOT / "ops" / "prometheus" / "prometheus.yml"
DASHBOARD = stack.ROOT / "ops" / "grafana" / "hub.json"
RUNBOOK = stack.ROOT / "docs" / "operations.md"
PROMETHEUS_OWN = {"up"}  # synthesized by Prometheus for every scrape target, not exported by a process
# The alerts issue 12 asks for, by the name alerts.yml gives them.
ASKED = {"HubWorkerDown", "HubWorkerLagGrowing", "HubDeadLettersAboveNormal", "HubSystemSilent", "HubOutboxBacklog",
         "HubDirectiveOverdue"}
_KEYWORDS = {"by", "without", "and", "or", "unless", "on", "ignoring", "group_left", "group_right", "bool",
             "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are no function, keyword or label."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals (label values)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # grouping labels
    text = re.sub(r"\boffset\s+\w+", "", text)
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        if m.group(2) is None and m.group(1).lower() not in _KEYWORDS:
            names.add(m.group(1))
    return names


def rule_exprs() -> dict[str, str]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {r["alert"]: r["expr"] for g in doc["groups"] for r in g["rules"]}


def dashboard_exprs() -> dict[str, list[str]]:
    dash = orjson.loads(DASHBOARD.read_bytes())
    return {p["title"]: [t["expr"] for t in p["targets"]] for p in dash["panels"] if p["type"] != "row"}


def test_metric_names_are_read_from_promql_as_prometheus_would():
    """Functions, keywords, grouping labels, label matchers, ranges and offsets are not metric names."""
    expr = ('sum by (kind, reason) (rate(hub_a_total{job="x", reason=~"a|b"}[5m])) / on (kind) group_left '
            'sum(rate(hub_b_total[1d] offset 1d)) > 2 and absent(up{job="w"}) or histogram_quantile(0.9, '
            'sum by (le) (rate(hub_c_bucket[5m:1m])))')
    assert metric_names(expr) == {"hub_a_total", "hub_b_total", "up", "hub_c_bucket"}


def test_promtool_accepts_and_unit_tests_the_rules_and_the_scrape_config():
    """`promtool check rules`, `promtool test rules` (each alert fires on its series, neighbours do not) and
    `promtool check config` all succeed."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: apt-get install prometheus (Debian package) provides it"
    for args in (["check", "rules", str(RULES)], ["test", "rules", str(RULE_TESTS)],
                 ["check", "config", str(SCRAPE)]):
        proc = subprocess.run([promtool, *args], capture_output=True, timeout=120, cwd=RULES.parent)
        assert proc.returncode == 0, (args, proc.stdout.decode()[-3000:], proc.stderr.decode()[-3000:])
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text(encoding="utf-8")))
    assert tested == set(rule_exprs())  # every rule has a unit test


def test_the_rules_cover_the_issue_and_each_points_at_its_runbook_section():
    """Every alert the issue asks for exists, and every rule's runbook annotation names a heading of
    docs/operations.md."""
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules = [r for g in doc["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= ASKED
    headings = {re.sub(r"[^a-z0-9 _-]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
                for line in RUNBOOK.read_text(encoding="utf-8").splitlines() if line.startswith("#")}
    for r in rules:
        assert r["labels"]["severity"] in ("warning", "critical"), r["alert"]
        page, _, anchor = r["annotations"]["runbook"].partition("#")
        assert page == "docs/operations.md" and anchor in headings, (r["alert"], anchor)


def test_dashboard_is_grafana_json_with_one_query_per_target():
    """Unique panel ids, each panel with queries and distinct refIds, panels side by side never overlapping."""
    dash = orjson.loads(DASHBOARD.read_bytes())
    panels = dash["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = set()
    for p in panels:
        g = p["gridPos"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells and g["x"] + g["w"] <= 24, p["title"]
        cells |= mine
        if p["type"] != "row":
            refs = [t["refId"] for t in p["targets"]]
            assert refs and len(set(refs)) == len(refs) and all(t["expr"] for t in p["targets"]), p["title"]
    # The worker metrics issue 12 names each have a panel.
    names = set().union(*(metric_names(e) for es in dashboard_exprs().values() for e in es))
    for wanted in ("hub_worker_events_in_total", "hub_worker_events_out_total", "hub_worker_events_rejected_total",
                   "hub_worker_events_duplicate_total", "hub_worker_batch_size_bucket",
                   "hub_worker_batch_seconds_bucket", "hub_worker_consumer_lag", "hub_source_last_record_age_seconds",
                   "hub_worker_alerts_total", "hub_outbox_depth", "hub_outbox_oldest_age_seconds"):
        assert wanted in names, wanted


def test_every_rule_and_panel_names_only_metrics_the_processes_export(make_settings, hub_process, tmp_path):
    """Worker and gateway run for real; their /metrics plus an SDK outbox's registry give the names an expression
    may use, and every name of alerts.yml and the dashboard is among them (or Prometheus' own `up`)."""
    from connectors.outbox import Outbox

    s = make_settings()
    hub = stack.start(s, hub_process)
    worker_status, worker_text = stack.get(hub.worker_url + "/metrics")
    gateway_status, gateway_text = stack.get(hub.gateway_url + "/metrics")
    assert worker_status == 200 and gateway_status == 200
    registry = CollectorRegistry()
    with Outbox(s, "onestop-ialy", forward=False, path=tmp_path / "outbox.sqlite3", metrics_registry=registry):
        outbox_text = generate_latest(registry).decode()
    exported = {"worker": stack.exported_names(worker_text.decode()),
                "gateway": stack.exported_names(gateway_text.decode()), "outbox": stack.exported_names(outbox_text)}
    assert {"hub_worker_events_in_total", "hub_worker_consumer_lag", "hub_source_silent_communes"} <= exported["worker"]
    assert "hub_gateway_events_rejected_total" in exported["gateway"] and "hub_outbox_depth" in exported["outbox"]
    known = PROMETHEUS_OWN.union(*exported.values())
    exprs = {f"alert {a}": [e] for a, e in rule_exprs().items()} | {f"panel {t}": es for t, es in
                                                                      dashboard_exprs().items()}
    used = set()
    for where, es in exprs.items():
        for e in es:
            names = metric_names(e)
            assert names, (where, e)
            assert names <= known, (where, sorted(names - known))
            used |= names
            # A selector on a job names a metric that job's process exports.
            for job, process in (("hub-worker", "worker"), ("hub-gateway", "gateway")):
                for name in re.findall(r'([a-zA-Z_:][\w:]*)\{[^}]*job="' + job + '"', e):
                    assert name in exported[process] | PROMETHEUS_OWN, (where, name, job)
    assert "hub_worker_alerts_total" in used and "hub_outbox_oldest_age_seconds" in used

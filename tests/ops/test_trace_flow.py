"""Issue 12's acceptance: a small flow through gateway, SDK, worker and a DLQ replay, rebuilt per trace id.

Six events, each with its own trace: A valid through the gateway (W3C traceparent), B invalid at the
gateway (422), C a re-send of A (duplicate), D valid through the SDK outbox, E invalid through the SDK
(dead-lettered), F outside its system's scope through the SDK (dead-lettered), replayed after the
scope is fixed (published). Every process runs with HUB_LOG_LEVEL=DEBUG and its output is kept.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from conftest import ROOT, settings_env

from hub import systems
from hub.contract import codec, topics
from hub.contract import headers as h
from hub.testing import group_lag, read_topic, wait_for
from tests.ops import stack
from tests.pipeline import payloads

pytestmark = pytest.mark.integration

ENTRY = {"gateway_accepted", "gateway_rejected", "publish_stored", "dlq_replayed", "sim_sent", "import_file_done"}
TERMINAL = {"event_published", "event_rejected", "event_duplicate", "gateway_rejected"}
COMPARED = ("received", "published", "rejected", "duplicate", "replayed")  # stages both Kafka and logs can show
INVALID = {"MaTTHC": "1.001193", "TrangThaiHoSo": "2"}  # no MaHoSo: missing_field


def catalogue() -> dict[str, set[str]]:
    """{log event: keys it always carries}, read from the README's table (the contract under test)."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Watching it", 1)[1].split("\n## ", 1)[0]
    out: dict[str, set[str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        for event in re.findall(r"`([a-z_]+)`", cells[0]):
            out[event] = set(re.findall(r"`([a-z_]+)`", cells[2]))
    return out


def _post(url: str, key: str, body: dict, **headers: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/events/dossier", content=orjson.dumps(body), timeout=30,
                      headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers})


def _publish(s, tmp_path, name: str, body: dict, trace_id: str, *extra: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{name}.json"
    path.write_bytes(orjson.dumps(body))
    proc = subprocess.run([sys.executable, "-m", "hub", "publish", "--system", "sdk-ialy", "--kind", "dossier",
                           "--format", "dvcqg-json", "--trace-id", trace_id, "--timeout", "60", *extra, str(path)],
                          env=settings_env(s), cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return proc


def _json_lines(text: str) -> list[dict]:
    lines = []
    for raw in text.splitlines():
        if raw.strip():
            lines.append(orjson.loads(raw))  # every line a process writes is one JSON object
    return lines


def _deliveries(lines: list[dict]) -> dict[tuple, list[dict]]:
    """{ingest coordinates: terminal lines about that ingest record} from one trace's log lines."""
    coords = lambda ln: (ln["topic"], ln["partition"], ln["offset"])  # noqa: E731
    out: dict[tuple, list[dict]] = {coords(ln): [] for ln in lines
                                    if ln["event"] in ("gateway_accepted", "publish_forwarded", "dlq_replayed")}
    normalized = {ln["event_id"]: coords(ln) for ln in lines if ln["event"] == "event_normalized"}
    for ln in lines:
        if ln["event"] in ("event_rejected", "event_duplicate"):
            out[coords(ln)].append(ln)
        elif ln["event"] == "event_published":
            out[normalized[ln["event_id"]]].append(ln)
    return out


def _projection(rep: dict) -> set[tuple]:
    """What both sources must agree on: each compared step with its coordinates (never timestamps)."""
    def c(d):
        return None if d is None else (d["topic"], d["partition"], d["offset"])
    out = set()
    for st in rep["steps"]:
        if st["stage"] in ("received", "published", "replayed"):
            out.add((st["stage"], c(st["at"]), c(st["origin"]) if st["stage"] != "received" else None))
        elif st["stage"] in ("rejected", "duplicate"):
            out.add((st["stage"], None, c(st["origin"])))
    return out


def test_each_event_of_a_small_flow_is_rebuilt_from_its_trace_id_alone(make_settings, hub_process, cli, tmp_path):
    """Every event has an entry line and exactly one terminal line per delivery, every line carries the README's
    keys, `hub trace` prints the same path from Kafka as from the logs, and /metrics counts what was sent."""
    s = make_settings(log_level="DEBUG", outbox_path=str(tmp_path / "outbox.sqlite3"))
    key = systems.add(s, "onestop-ialy", ["23734"], ["dossier"])
    systems.add(s, "sdk-ialy", ["23734"], ["dossier"])
    hub = stack.start(s, hub_process)
    t = {name: uuid.uuid4().hex for name in "ABCDEF"}
    base = datetime.now(UTC) - timedelta(hours=2)
    a, d, f = (payloads.dossier(i, base=base) for i in (1, 2, 3))
    f["MaXa"] = "23728"  # Ia Khươl: not in sdk-ialy's scope yet

    ok = _post(hub.gateway_url, key, a, traceparent=f"00-{t['A']}-{'b' * 16}-01", **{"Idempotency-Key": "a-1"})
    assert ok.status_code == 202, ok.text
    a_ingest = (ok.json()["accepted"][0]["topic"], ok.json()["accepted"][0]["partition"],
                ok.json()["accepted"][0]["offset"])
    refused = _post(hub.gateway_url, key, INVALID, **{"X-Trace-Id": t["B"]})
    assert refused.status_code == 422 and refused.json()["trace_id"] == t["B"]
    again = _post(hub.gateway_url, key, a, **{"X-Trace-Id": t["C"], "Idempotency-Key": "a-1"})
    assert again.status_code == 202
    outputs = {"publish-D": _publish(s, tmp_path, "d", d, t["D"], "--commune", "23734").stdout.decode(),
               "publish-E": _publish(s, tmp_path, "e", INVALID, t["E"], "--commune", "23734").stdout.decode(),
               "publish-F": _publish(s, tmp_path, "f", f, t["F"]).stdout.decode()}

    feed, dlq, ingest = (s.topic(n) for n in (topics.FEED_DOSSIER, topics.DLQ, topics.INGEST_DOSSIER))
    wait_for(lambda: len(read_topic(s, dlq)) == 2 and len(read_topic(s, feed)) == 2 and group_lag(s, ingest) == 0,
             timeout_s=120, what="A and D published, E and F dead-lettered, C consumed")
    systems.add(s, "sdk-ialy", ["23734", "23728"], ["dossier"])  # the fix: F's commune joins the scope
    replay = subprocess.run([sys.executable, "-m", "hub", "dlq", "replay", "--reason", "commune_not_in_scope",
                             "--yes"], env=settings_env(s), cwd=ROOT, capture_output=True, timeout=120)
    assert replay.returncode == 0 and b"replayed: 1 dead letters" in replay.stdout, replay.stderr[-2000:]
    outputs["dlq-replay"] = replay.stderr.decode()  # `hub dlq` keeps stdout for its table: logs go to stderr
    wait_for(lambda: len(read_topic(s, feed)) == 3 and group_lag(s, ingest) == 0, timeout_s=120,
             what="F published after the replay")

    # /metrics of the worker: its counters are the events sent, by kind, source system and reason.
    expected = {
        ("hub_worker_events_in_total", (("kind", "dossier"), ("source_system", "onestop-ialy"))): 2.0,  # A, C
        ("hub_worker_events_in_total", (("kind", "dossier"), ("source_system", "sdk-ialy"))): 4.0,  # D, E, F, F'
        ("hub_worker_events_out_total", (("kind", "dossier"), ("source_system", "onestop-ialy"))): 1.0,
        ("hub_worker_events_out_total", (("kind", "dossier"), ("source_system", "sdk-ialy"))): 2.0,
        ("hub_worker_events_rejected_total",
         (("kind", "dossier"), ("reason", "missing_field"), ("writer", "unverified"))): 1.0,
        ("hub_worker_events_rejected_total",
         (("kind", "dossier"), ("reason", "commune_not_in_scope"), ("writer", "unverified"))): 1.0,
        ("hub_worker_events_duplicate_total", (("kind", "dossier"),)): 1.0,
    }

    def events_counters() -> dict:
        status, body = stack.get(hub.worker_url + "/metrics")
        assert status == 200
        return {k: v for k, v in stack.counters(body.decode()).items() if k[0].startswith("hub_worker_events_")}

    wait_for(lambda: events_counters() == expected, timeout_s=30, what=f"worker counters {expected}")

    # The derived KPI rows of Ia Ly name the traces of the dossiers that changed them.
    schemas = codec.load(s.schemas_dir)
    wait_for(lambda: any(t["A"] in (codec.decode_plain(schemas, r.value).get("trace_ids") or ())
                         for r in read_topic(s, s.topic(topics.FEED_KPI))), timeout_s=60, what="a KPI row names A")

    outputs.update(hub.logs())
    files = []
    for name, text in outputs.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text(text, encoding="utf-8")
        files.append(str(path))

    # 1. Every line of every process is JSON with the keys the README's catalogue promises.
    keys = catalogue()
    by_trace: dict[str, list[dict]] = defaultdict(list)
    for name, text in outputs.items():
        for line in _json_lines(text):
            missing = {"event", "level", "timestamp", *keys.get(line["event"], ())} - {
                k for k, v in line.items() if v is not None}
            assert not missing, f"{name}: {line['event']} lacks {sorted(missing)}: {line}"
            if line.get("trace_id") in t.values():
                by_trace[line["trace_id"]].append(line)

    # 2. Each event: an entry line, and exactly one terminal line per delivery (ingest record).
    outcomes = {}
    for name, trace_id in t.items():
        lines = sorted(by_trace[trace_id], key=lambda ln: ln["timestamp"])
        assert any(ln["event"] in ENTRY for ln in lines), (name, lines)
        deliveries = _deliveries(lines)
        for coords, terminal in deliveries.items():
            assert len(terminal) == 1, (name, coords, terminal)
        outcomes[name] = [terminal[0]["event"] for terminal in deliveries.values()]
        if not deliveries:
            outcomes[name] = [ln["event"] for ln in lines if ln["event"] in TERMINAL]
    assert outcomes == {"A": ["event_published"], "B": ["gateway_rejected"], "C": ["event_duplicate"],
                        "D": ["event_published"], "E": ["event_rejected"],
                        "F": ["event_rejected", "event_published"]}
    assert any(ln["event"] == "dlq_replayed" for ln in by_trace[t["F"]])
    assert [ln["reason"] for ln in by_trace[t["E"]] if ln["event"] == "event_rejected"] == ["missing_field"]

    # 3. `hub trace` prints the same path from Kafka as from the collected logs.
    def trace(*args: str) -> tuple[int, dict]:
        rc, out, _err = cli(s, "trace", *args, "--json", "--since", "1h")
        return rc, orjson.loads(out)

    for name, trace_id in t.items():
        rc_k, from_kafka = trace(trace_id)
        rc_l, from_logs = trace(trace_id, "--no-kafka", "--logs", *files)
        assert rc_l == 0 and from_logs["found"], name
        if name == "B":  # refused at the gateway: it never reached Kafka
            assert rc_k == 1 and not from_kafka["found"] and from_kafka["steps"] == []
            assert [st["stage"] for st in from_logs["steps"]] == ["refused"]
            continue
        assert rc_k == 0, name
        assert _projection(from_kafka) == _projection(from_logs), name
        assert [d["outcomes"] for d in from_kafka["deliveries"]] == [d["outcomes"] for d in from_logs["deliveries"]]
    rc, a_path = trace(t["A"])
    feed_a = [r for r in read_topic(s, feed) if r.headers[h.TRACE_ID] == t["A"]]
    assert len(feed_a) == 1
    assert _projection(a_path) == {("received", a_ingest, None),
                                   ("published", (feed, feed_a[0].partition, feed_a[0].offset), a_ingest)}
    assert any(st["stage"] == "derived" and st["at"]["topic"] == s.topic(topics.FEED_KPI) for st in a_path["steps"])
    assert [d["outcomes"] for d in trace(t["F"])[1]["deliveries"]] == [["rejected"], ["published"]]
    assert [d["outcomes"] for d in trace(t["C"])[1]["deliveries"]] == [["duplicate"]]

    # Both sources together: one step per fact, seen in both; the text form names the stages.
    _rc, both = trace(t["D"], "--logs", *files)
    seen = {st["stage"]: st["seen"] for st in both["steps"]}
    assert seen["received"] == ["kafka", "logs"] and seen["published"] == ["kafka", "logs"]
    assert seen["stored"] == ["logs"]
    rc, text, _ = cli(s, "trace", t["F"], "--since", "1h")
    assert rc == 0 and all(word in text for word in ("received", "rejected", "replayed", "published",
                                                      "commune_not_in_scope"))
    rc, text, _ = cli(s, "trace", uuid.uuid4().hex, "--since", "1h")
    assert rc == 1 and "not found" in text

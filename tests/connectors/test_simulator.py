"""Province simulator: valid content per dialect, exact summary of what reached the ingest topics."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from conftest import ROOT, settings_env

from connectors import scenarios, source_ids
from connectors.simulator import SimConfig, Simulator, wanted_systems
from hub import reference, systems
from hub.contract import topics
from hub.errors import Rejected
from hub.gateway.server import ServerThread
from hub.normalize import normalize
from hub.normalize.context import Context, Envelope, Scope
from hub.testing import read_topic

NOW = datetime(2025, 10, 15, 3, 0, tzinfo=UTC)


def _ctx(communes, **overrides) -> Context:
    """What the worker knows once the simulator registered its systems."""
    systems = wanted_systems("52", communes)
    organs = {o: (cs[0] if len(cs) == 1 else "52") for _id, cs, _k, os_ in systems for o in os_}
    scopes = {sid: Scope(frozenset(cs), frozenset(ks), frozenset(os_)) for sid, cs, ks, os_ in systems}
    return Context(province="52", pseudonym_key=b"test", organs=organs, scope_of=scopes.get, **overrides)


def _events(seed: int, n: int, communes, bad_ratio: float = 0.1) -> list[scenarios.Event]:
    gen = scenarios.Province("52", communes, random.Random(seed), bad_ratio)
    return [gen.next(NOW) for _ in range(n)]


def test_organ_scheme():
    """Commune OrganIds split the 5-digit code as 2+3 digits; the province committee is 000.00.00.H41."""
    assert scenarios.commune_organ("23734", "52") == "000.23.734.H41"
    assert scenarios.province_organ("52") == "000.00.00.H41"
    assert scenarios.commune_organ("00004", "01") == "000.00.004.H01"


def test_generated_content_normalizes_as_announced():
    """Good events yield exactly their announced feed records; bad ones are rejected for their reason."""
    communes = reference.province_communes("52")[:7]
    ctx = _ctx(communes)
    seen = Counter()
    for i, ev in enumerate(_events(11, 3000, communes)):
        env = Envelope(ev.kind, ev.format, ev.system, "trace", int(NOW.timestamp() * 1000), ev.commune, f"ev-{i}")
        if ev.bad:
            with pytest.raises(Rejected) as err:
                normalize(ev.payload, env, ctx)
            assert err.value.reason == ev.bad, ev.payload[:300]
        else:
            records = normalize(ev.payload, env, ctx)
            assert len(records) == ev.feed_records, ev.label
            assert {r["commune_code"] for r in records} <= {c.code for c in communes}
        seen[ev.label] += 1
    assert {"dossier_status", "progress", "directive", "report", "status"} <= set(seen)
    assert {f"bad_{t}" for t in scenarios.BAD_TYPES} <= set(seen)


def test_dossier_content_is_realistic_and_stripped_by_the_hub():
    """Dossiers carry names, 12-digit citizen ids of the province, phone and email; feeds do not."""
    communes = reference.province_communes("52")[:3]
    ctx = _ctx(communes)
    payloads = [orjson.loads(e.payload) for e in _events(5, 800, communes, 0) if e.label == "dossier_status"]
    statuses = Counter(p["TrangThaiHoSo"] for p in payloads)
    assert {"1", "2", "4", "5", "7", "9", "10"} <= set(statuses)
    assert {p["KenhThucHien"] for p in payloads} == {"1", "2", "3"}
    late = [p for p in payloads if p["TrangThaiHoSo"] == "9" and p["NgayKetThucXuLy"] > p["NgayHenTra"]]
    assert late, "some dossiers finish after their due date"
    for p in payloads:
        assert len(p["SoGiayToChuHoSo"]) == 12 and p["SoGiayToChuHoSo"].startswith("052")
        assert len(p["NgayTiepNhan"]) == 14 and p["NgayTiepNhan"] <= p["NgayHenTra"]
        env = Envelope("dossier", "dvcqg-json", f"sim-onestop-{p['MaXa']}", "t", int(NOW.timestamp() * 1000),
                       p["MaXa"], "e")
        flat = orjson.dumps(normalize(orjson.dumps(p), env, ctx)).decode()
        for personal in (p["ChuHoSo"], p["SoGiayToChuHoSo"], p["SoDienThoai"], p["Email"]):
            assert personal not in flat


# Every instant of a canonical record that says when something happened (not due dates: they lie ahead).
OCCURRED = ("event_time", "status_time", "received_at", "finished_at", "returned_at", "refused_at")


@pytest.mark.parametrize("start", [NOW, datetime(2026, 1, 2, 18, 30, tzinfo=UTC)],
                         ids=["october", "3-january-before-the-targets-are-assigned"])
def test_no_generated_time_is_after_its_send_instant(start):
    """Issue 22: over a long seeded run whose clock moves on irregularly (several events in one millisecond,
    then gaps up to an hour), every time an event carries is at or before the instant it was generated for
    sending — statuses queued for later included; the hub refuses events from the future."""
    communes = reference.province_communes("52")[:12]
    ctx = _ctx(communes, max_future_skew_ms=10**13)  # the bound is checked here, by hand, not by the hub
    gen = scenarios.Province("52", communes, random.Random(7), 0.02)
    steps = random.Random(8)
    now, seen = start, Counter()
    for i in range(5000):
        now += timedelta(milliseconds=steps.choice([0, 0, 1, 400, 2_500, 30_000, 3_600_000]))
        ev = gen.next(now)
        if ev.bad:
            continue
        sent = int(now.timestamp() * 1000)
        today = (now + timedelta(hours=7)).date().isoformat()  # the Vietnam calendar day of sending
        for rec in normalize(ev.payload, Envelope(ev.kind, ev.format, ev.system, "t", sent, ev.commune,
                                                  f"ev-{i}"), ctx):
            late = {f: rec[f] - sent for f in OCCURRED if rec.get(f) is not None and rec[f] > sent}
            assert not late, (ev.label, late, ev.payload[:400])
            assert (rec.get("as_of") or "") <= today, (ev.label, rec["as_of"], today)
        seen[ev.label] += 1
    assert {"dossier_status", "progress", "directive", "report", "status", "target_assigned"} <= set(seen)
    assert seen["status"] > 200


def test_seed_replays_the_same_content():
    """The same seed and clock give byte-identical events; another seed does not."""
    communes = reference.province_communes("52")[:4]
    first = [e.payload for e in _events(42, 300, communes)]
    assert first == [e.payload for e in _events(42, 300, communes)]
    assert first != [e.payload for e in _events(43, 300, communes)]


def _by_event_id(records) -> Counter:
    return Counter("bad" if "-bad-" in r.headers["hub.source_event_id"] else "good" for r in records)


@pytest.mark.integration
def test_cli_run_matches_its_summary(make_settings, tmp_path):
    """`hub simulate` registers idempotently and the ingest topics hold exactly what its summary reports."""
    s = make_settings(outbox_path=str(tmp_path / "outbox.sqlite3"))
    args = [sys.executable, "-m", "hub", "simulate", "--communes", "5", "--rate", "50", "--duration", "3",
            "--bad-ratio", "0.1", "--seed", "9"]
    proc = subprocess.run(args, env=settings_env(s), cwd=ROOT, capture_output=True, timeout=180)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    summary = orjson.loads(proc.stdout)  # stdout is the summary alone; logs go to stderr
    assert summary["forwarded"] and summary["seed"] == 9 and summary["communes"] == 5
    assert 100 <= summary["sent"] <= 160
    assert summary["good"] + summary["bad"] == summary["sent"] and summary["bad"] > 0
    assert b"sim_registered" in proc.stderr

    by_kind = {kind: read_topic(s, s.topic(topics.INGEST_BY_KIND[kind]), expect=summary["by_kind"].get(kind, 0))
               for kind in topics.KINDS}
    records = [r for kind in topics.KINDS for r in by_kind[kind]]
    assert {kind: len(rs) for kind, rs in by_kind.items() if rs} == summary["by_kind"]
    assert summary["by_label"]["target_assigned"] == 20  # 5 communes x 4 targets, at the start of the run
    assert Counter(r.headers["hub.format"] for r in records) == summary["by_format"]
    assert _by_event_id(records) == {"good": summary["good"], "bad": summary["bad"]}
    assert len({r.headers["hub.source_event_id"] for r in records}) == summary["sent"]
    assert Counter(r.headers["hub.source_event_id"].rsplit("-bad-", 1)[1] for r in records
                   if "-bad-" in r.headers["hub.source_event_id"]) == summary["bad_by_type"]
    assert {r.headers["hub.source"] for r in records} <= {sid for sid, *_ in wanted_systems(
        "52", sorted(reference.province_communes("52"), key=lambda c: c.code)[:5])}

    # The expected feed counts are what the normalizer makes of the good events.
    communes = sorted(reference.province_communes("52"), key=lambda c: c.code)[:5]
    ctx, feed = _ctx(communes), Counter()
    for r in records:
        if "-bad-" in r.headers["hub.source_event_id"]:
            continue
        kind = next(k for k, topic in topics.INGEST_BY_KIND.items() if r.topic.endswith(topic))
        # received when Kafka stored it, as the worker would (the record's timestamp)
        env = Envelope(kind, r.headers["hub.format"], r.headers["hub.source"], "t", r.timestamp,
                       r.headers.get("hub.commune"), r.headers["hub.source_event_id"])
        feed[topics.FEED_BY_KIND[kind]] += len(normalize(r.value, env, ctx))
    assert feed[topics.FEED_DOSSIER] == summary["expected"][topics.FEED_DOSSIER]
    assert feed[topics.FEED_DOCUMENT] == summary["expected"][topics.FEED_DOCUMENT]
    assert feed[topics.FEED_TARGET] == summary["expected"][topics.FEED_TARGET] > 20
    assert summary["expected"][topics.DLQ] == summary["bad"]

    current = systems.read(s)
    assert len([x for x in current.list() if x.id.startswith("sim-")]) == 11
    again = Simulator(s, SimConfig(communes=5, rate=1, duration_s=0.1))
    assert again.register(current) == {}  # nothing re-added: onboarding is idempotent


@pytest.mark.integration
def test_part_of_the_traffic_goes_through_the_gateway_under_the_trace_ids_it_logged(make_settings, tmp_path):
    """With --gateway part goes through the gateway; every ingest record carries the trace id of its sim_sent line."""
    s = make_settings(outbox_path=str(tmp_path / "outbox.sqlite3"))
    with ServerThread(s) as srv:
        proc = subprocess.run([sys.executable, "-m", "hub", "simulate", "--communes", "3", "--rate", "40",
                               "--duration", "2", "--bad-ratio", "0.05", "--seed", "4", "--gateway", srv.url,
                               "--gateway-share", "0.5"], env=settings_env(s), cwd=ROOT, capture_output=True,
                              timeout=180)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    summary = orjson.loads(proc.stdout)
    assert summary["forwarded"] and summary["gateway_refused"] == {}
    assert summary["by_path"]["gateway"] > 0 and summary["by_path"]["sdk"] > 0
    records = [r for kind in topics.KINDS
               for r in read_topic(s, s.topic(topics.INGEST_BY_KIND[kind]), expect=summary["by_kind"].get(kind, 0))]
    assert len(records) == summary["sent"]
    assert _by_event_id(records) == {"good": summary["good"], "bad": summary["bad"]}

    sent = [orjson.loads(x) for x in proc.stderr.splitlines() if b'"sim_sent"' in x]
    assert len(sent) == summary["sent"] and Counter(x["path"] for x in sent) == summary["by_path"]
    logged = {x["trace_id"]: x["source_event_id"] for x in sent}
    assert len(logged) == summary["sent"], "one trace per event"
    assert {r.headers["hub.trace_id"]: r.headers["hub.source_event_id"] for r in records} == logged


def test_simulated_events_have_distinct_natural_keys():
    """Every simulated event is a distinct event by its natural key, so none is deduplicated away."""
    communes = reference.province_communes("52")[:40]
    events = _events(3, 6000, communes, bad_ratio=0.05)
    assert len({source_ids.derive(e.format, e.payload) for e in events}) == len(events)

"""Simulated targets: every event normalizes, and the province's section shows on track, behind and silent communes."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

from connectors import target_scenarios
from hub import reference
from hub.analytics import targets
from hub.normalize import normalize
from hub.normalize.context import Context, Envelope, Scope

NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)


def _rows(communes, seed: int = 5) -> list[dict]:
    plan = target_scenarios.TargetPlan("52", communes, random.Random(seed), NOW)
    scope = Scope(frozenset(c.code for c in communes), frozenset({"target"}))
    ctx = Context(province="52", pseudonym_key=b"test", scope_of=lambda _system: scope)
    states: dict[str, dict] = {}
    events = plan.events()
    assert [e.label for e in events[:4 * len(communes)]] == ["target_assigned"] * 4 * len(communes)
    received_ms = int(NOW.timestamp() * 1000)  # the hub receives each event at NOW (none is from its future)
    for i, ev in enumerate(events):
        [rec] = normalize(ev.payload, Envelope("target", ev.format, ev.system, "t", received_ms, ev.commune, f"e{i}"),
                          ctx)
        assert rec["commune_code"] == ev.commune
        states[targets.key(rec)] = targets.merge(states.get(targets.key(rec)), rec)
    now_ms = int(NOW.timestamp() * 1000)
    return [targets.row(s, now_ms, targets.TargetConfig()) for s in states.values()]


def test_the_section_shows_every_status():
    """Eight communes: four targets each, the silent and the stopped one no_report, the fourth-in-line behind."""
    communes = sorted(reference.province_communes("52"), key=lambda c: c.code)[:8]
    rows = _rows(communes)
    assert len(rows) == 32 and all(r["year"] == 2025 and r["flags"] == [] for r in rows)
    by_commune = {c.code: Counter(r["status"] for r in rows if r["commune_code"] == c.code) for c in communes}
    silent, stopped, behind = communes[1].code, communes[3].code, communes[2].code
    assert by_commune[silent] == {"no_report": 4}
    assert by_commune[stopped] == {"no_report": 4}
    assert by_commune[behind]["behind"] >= 3
    assert by_commune[communes[0].code]["on_track"] + by_commune[communes[0].code]["done"] == 4
    assert {r["actual_value"] for r in rows if r["commune_code"] == silent} == {None}


def test_reports_come_as_hub_json_and_as_vietnamese_spreadsheet_rows():
    """A third of the communes report from a sheet: CSV with Vietnamese headers and dotted thousands."""
    communes = sorted(reference.province_communes("52"), key=lambda c: c.code)[:3]
    plan = target_scenarios.TargetPlan("52", communes, random.Random(1), NOW)
    sheets = [e.payload.decode() for e in plan.events() if e.format == "csv"]
    assert sheets and all(s.startswith("Mã xã;Năm;Chương trình;Mã chỉ tiêu") for s in sheets)
    assert any(".000.000;" in s for s in sheets)

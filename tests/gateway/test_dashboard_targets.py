"""hub.gateway.dashboard_targets (pure): Vietnamese numbers, the section's order (behind, then no_report
first) and escaping of what publishers wrote."""

from __future__ import annotations

import re

from hub.analytics import targets as tg
from hub.gateway.dashboard_targets import number, section
from tests.analytics import target_datasets as d
from tests.gateway.test_read_model_targets import CFG


def _rows(today: str) -> list[dict]:
    states: dict[str, dict] = {}
    for rec in d.known_at(today):
        states[tg.key(rec)] = tg.merge(states.get(tg.key(rec)), rec)
    return [tg.row(s, d.TODAY[today], CFG) for s in states.values()]


def test_numbers_are_written_the_vietnamese_way():
    """Thousands with '.', decimals with ',', a dash for no value."""
    assert [number(v) for v in (2_400_000_000.0, 40.0, 12.5, 1234.25, None)] == [
        "2.400.000.000", "40", "12,5", "1.234,25", "—"]


def test_section_puts_behind_then_no_report_communes_first():
    """At T1 (targets_reference.md) the recurrent-capital list is 23728 behind (183/920), 23734 behind (137/920),
    then 23722 no_report; a publisher's indicator name is escaped; no year without rows gives a note."""
    rows = [{**r, "indicator_name": "<script>x</script>"} if r["indicator_code"] == "TIEU_CHI" else r
            for r in _rows("T1")]
    html = section(2025, rows)
    block = html.split('<ol class="targets" data-indicator="VON_SN">')[1].split("</ol>")[0]
    assert re.findall(r'data-commune="(\d+)" data-status="(\w+)"', block) == [
        (d.B, "behind"), (d.A, "behind"), (d.C, "no_report")]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Chưa có chỉ tiêu nào được giao cho năm 2026" in section(2026, [])

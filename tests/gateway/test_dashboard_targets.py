"""hub.dashboard.targets (pure): Vietnamese numbers, the section's order (behind, then no_report
first) and escaping of what publishers wrote."""

from __future__ import annotations

import re

from hub.analytics import targets as tg
from hub.dashboard.targets import amount, commune_section, money, number, section
from tests.analytics import target_datasets as d
from tests.analytics.datasets import vn
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


# --- province totals, program filter, commune section (issue 23) ---------------------------------------------
# Hand-made rows evaluated on 30/06/2025, where every indicator has one milestone "50% by 30/06/2025", so the
# expected share is exactly 50% for all of them (docs/targets.md: the curve reaches the milestone that day).
NOW = vn("2025-06-30 12:00")
HALF = [{"date": "2025-06-30", "share": 0.5}]
NAMES = {"VON_DTPT": "Giải ngân vốn đầu tư phát triển", "VON_SN": "Giải ngân vốn sự nghiệp",
         "HO_THOAT_NGHEO": "Số hộ thoát nghèo"}


def _target(commune: str, program: str, indicator: str, unit: str, target: float, actual: float | None,
            as_of: str | None) -> dict:
    inputs = {"progress_key": f"{commune}|2025|{program}|{indicator}", "commune_code": commune, "province_code": "52",
              "year": 2025, "program": program, "indicator_code": indicator, "indicator_name": NAMES[indicator],
              "unit": unit, "target_value": target, "milestones": HALF, "document_number": None,
              "assigned_at": vn("2025-01-10 09:00"), "actual_value": actual, "actual_as_of": as_of,
              "reported_at": None if as_of is None else NOW, "flags": [], "trace_ids": []}
    return tg.evaluate(inputs, NOW, tg.TargetConfig())


FIXTURE = [
    # NTM capital in đồng: A 50% done (on track), B 20% (30 points behind), C never reported (171 days since 10/01)
    _target(d.A, "NTM", "VON_DTPT", "VND", 2_000_000_000, 1_000_000_000, "2025-06-20"),
    _target(d.B, "NTM", "VON_DTPT", "VND", 1_000_000_000, 200_000_000, "2025-06-25"),
    _target(d.C, "NTM", "VON_DTPT", "VND", 500_000_000, None, None),
    # GNBV capital in triệu đồng: A 50% (on track), B all of it (done)
    _target(d.A, "GNBV", "VON_SN", "million_VND", 950, 475, "2025-06-28"),
    _target(d.B, "GNBV", "VON_SN", "million_VND", 1366, 1366, "2025-06-15"),
    # GNBV households: A 25% (behind by 25 points), C 50% (on track)
    _target(d.A, "GNBV", "HO_THOAT_NGHEO", "household", 40, 10, "2025-06-29"),
    _target(d.C, "GNBV", "HO_THOAT_NGHEO", "household", 20, 10, "2025-06-29"),
]


def _cells(html: str, indicator: str) -> list[str]:
    row = html.split(f'<tr data-program="{"NTM" if indicator == "VON_DTPT" else "GNBV"}" '
                     f'data-indicator="{indicator}">')[1].split("</tr>")[0]
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def test_money_is_written_in_ty_dong():
    """1 tỷ = 10^9 đồng = 1000 triệu đồng; two decimals with a comma, rounded half up; plain 0."""
    assert money(2_316_000_000, "VND") == "2,32 tỷ đồng"
    assert money(950, "million_VND") == "0,95 tỷ đồng"
    assert money(0, "VND") == "0 tỷ đồng"
    assert money(475, "million_VND") == "0,48 tỷ đồng"  # 0,475 rounds up
    assert money(1_234_560_000_000, "VND") == "1.234,56 tỷ đồng"
    assert [amount(40, "household"), amount(2_500_000_000, "VND"), amount(12.5, "km")] == [
        "40 hộ", "2,50 tỷ đồng", "12,5 km"]


def test_section_starts_with_province_totals_per_program_and_indicator():
    """Totals by hand: VON_DTPT plan 2+1+0,5 = 3,5 tỷ, done 1+0,2 = 1,2 tỷ, expected half of 3,5 = 1,75 tỷ,
    1,2/3,5 = 34,3%; VON_SN plan 950+1366 = 2316 triệu, done 475+1366 = 1841 triệu, expected 1158 triệu,
    1841/2316 = 79,5%; households plan 60, done 20, expected 30, 33,3%. Counts: behind / no_report of assigned."""
    html = section(2025, FIXTURE)
    assert html.index('<table class="target-totals">') < html.index('<ol class="targets"')
    assert _cells(html, "VON_DTPT") == ["Giải ngân vốn đầu tư phát triển (VON_DTPT)", "tỷ đồng", "3,50 tỷ đồng",
                                        "1,20 tỷ đồng", "1,75 tỷ đồng", "34,3% / 50,0%", "1 / 3", "1 / 3"]
    assert _cells(html, "VON_SN") == ["Giải ngân vốn sự nghiệp (VON_SN)", "tỷ đồng", "2,32 tỷ đồng", "1,84 tỷ đồng",
                                      "1,16 tỷ đồng", "79,5% / 50,0%", "0 / 2", "0 / 2"]
    assert _cells(html, "HO_THOAT_NGHEO") == ["Số hộ thoát nghèo (HO_THOAT_NGHEO)", "hộ", "60 hộ", "20 hộ", "30 hộ",
                                              "33,3% / 50,0%", "1 / 2", "0 / 2"]
    assert "2.316" not in html and "3.500.000.000" not in html  # no full đồng anywhere


def test_only_communes_needing_attention_are_listed_the_rest_folded():
    """Listed outside <details>: VON_DTPT B (behind) then C (no_report), households A (behind) — 3 of 7 rows;
    the other 4 (on track or done) are inside <details>."""
    html = section(2025, FIXTURE)
    outside = re.sub(r"<details.*?</details>", "", html)
    assert re.findall(r'data-commune="(\d+)" data-status="(\w+)" data-indicator="(\w+)"', outside) == [
        (d.B, "behind", "VON_DTPT"), (d.C, "no_report", "VON_DTPT"), (d.A, "behind", "HO_THOAT_NGHEO")]
    folded = "".join(re.findall(r"<details.*?</details>", html))
    assert sorted(re.findall(r'data-commune="(\d+)" data-status="(\w+)"', folded)) == sorted([
        (d.A, "on_track"), (d.A, "on_track"), (d.B, "done"), (d.C, "on_track")])
    assert "Các xã còn lại: 2 xã (1 đúng tiến độ, 1 hoàn thành)" in html
    assert "Không xã nào chậm tiến độ hay chưa báo cáo." in html  # VON_SN has nobody behind
    assert "0,20 / 1,00 tỷ đồng, số liệu đến 25/06/2025" in html
    assert "Chưa báo cáo; kế hoạch 0,50 tỷ đồng (171 ngày không báo cáo)" in html


def test_program_filter_links_and_a_filtered_section():
    """Links only to programs with rows; ?program=gnbv (any case) keeps GNBV's totals and communes only."""
    html = section(2025, FIXTURE)
    assert re.findall(r'<nav class="programs".*?</nav>', html)[0].count("<a ") == 3
    assert re.findall(r'href="(/dashboard[^"]*#targets)"', html) == [
        "/dashboard#targets", "/dashboard?program=NTM#targets", "/dashboard?program=GNBV#targets"]
    gnbv = section(2025, FIXTURE, "gnbv")
    assert '<a href="/dashboard?program=GNBV#targets" title="Chương trình MTQG giảm nghèo bền vững" ' \
           'aria-current="page">GNBV</a>' in gnbv
    assert 'data-indicator="VON_DTPT"' not in gnbv and 'data-program="NTM"' not in gnbv.split("</nav>")[1]
    # GNBV: VON_SN A on track, B done; households A behind, C on track
    assert "4 chỉ tiêu của các xã: 2 đúng tiến độ, 1 chậm tiến độ, 1 hoàn thành." in gnbv


def test_unknown_program_is_said_in_vietnamese():
    """A program with no rows this year, or not a program code at all: a sentence, the links, no table."""
    for asked, shown in (("DTTS", "DTTS"), ("<b>x", "&lt;b&gt;x")):
        html = section(2025, FIXTURE, asked)
        assert f"Năm 2025 không có chỉ tiêu nào của chương trình “{shown}”. Chọn một chương trình ở trên." in html
        assert "<table" not in html and "<b>" not in html and html.endswith("</section>")


def test_commune_section_lists_every_target_of_the_commune():
    """Ia Ly (23734): NTM first, then GNBV by indicator code; money in tỷ đồng, households in hộ, status in words;
    its own export link; no rows: a clear sentence."""
    html = commune_section(2025, [r for r in FIXTURE if r["commune_code"] == d.A])
    assert html.startswith('<section id="targets">')
    assert re.findall(r'data-program="(\w+)"', html) == ["NTM", "GNBV"]
    items = re.findall(r'data-status="(\w+)" data-indicator="(\w+)">.*?<span class="status \w+">([^<]+)</span>'
                       r'<span class="detail">([^<]+)</span>', html)
    assert items == [
        ("on_track", "VON_DTPT", "Đúng tiến độ", "1,00 / 2,00 tỷ đồng, số liệu đến 20/06/2025"),
        ("behind", "HO_THOAT_NGHEO", "Chậm tiến độ", "10 / 40 hộ, số liệu đến 29/06/2025"),
        ("on_track", "VON_SN", "Đúng tiến độ", "0,48 / 0,95 tỷ đồng, số liệu đến 28/06/2025")]
    assert html.count('<svg class="progress"') == 3 and "commune=23734" in html
    assert "Xã chưa được giao chỉ tiêu nào cho năm 2025." in commune_section(2025, [])

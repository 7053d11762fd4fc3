"""The dashboard's targets and disbursement section in a real headless Chromium: the hand-built targets
dataset (tests/analytics/targets_reference.md) at T2 through a real worker and gateway; the behind and
no_report communes come first with the hand-computed rates, no script runs and no request leaves the
gateway; var/screenshots/targets.png is kept for people to look at."""

from __future__ import annotations

import pytest

from tests.analytics import target_datasets as d
from tests.browser.test_dashboard import SHOTS, Watch, _login, browser, on_phone  # noqa: F401 - `browser` is a fixture
from tests.gateway import targets_scenario

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def scenario(kafka_bootstrap, tmp_path_factory):
    """The targets dataset as known on 2025-10-31 (T2) through one worker and one gateway on that clock."""
    with targets_scenario.province(kafka_bootstrap, tmp_path_factory.mktemp("browser-targets"), "T2") as sc:
        yield sc


# Per indicator, the communes as targets_reference.md ranks them at T2 (behind, then no_report, largest gap
# first within a status, then the others): (commune, status, "done / expected by today").
EXPECTED_ORDER = {
    "VON_DTPT": [(d.C, "no_report", "0,0% / 81,7%"), (d.B, "no_report", "50,0% / 81,7%"),
                 (d.A, "on_track", "83,3% / 81,7%")],  # 94/115 = 81,7%
    "TIEU_CHI": [(d.B, "behind", "40,0% / 83,3%"), (d.C, "no_report", "0,0% / 83,3%"),
                 (d.A, "on_track", "75,0% / 83,3%")],  # 304/365 = 83,3%
    "HO_THOAT_NGHEO": [(d.C, "no_report", "0,0% / 83,3%"), (d.A, "on_track", "82,5% / 83,3%"),
                       (d.B, "on_track", "83,3% / 83,3%")],
    "VON_SN": [(d.B, "behind", "60,0% / 80,1%"), (d.C, "no_report", "0,0% / 80,1%"),
               (d.A, "on_track", "76,0% / 80,1%")],  # 737/920 = 80,1%
}


def test_targets_section_shows_the_behind_communes_first(browser, scenario):  # noqa: F811 - the fixture
    """At T2 Ia Khươl (23728) is behind on criteria and recurrent capital and shows first there, Chư Păh (never
    reported) is marked no_report, each bar has the hand-computed done and expected shares."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    watch = Watch(page, scenario.url)
    _login(page, scenario)
    section = page.locator("#targets")
    assert section.locator("h2").inner_text() == "Chỉ tiêu và giải ngân — năm 2025"
    assert "Đánh giá ngày 31/10/2025" in section.locator(".asof").inner_text()
    assert [p.get_attribute("data-program") for p in section.locator("div.program").all()] == ["NTM", "GNBV"]
    for indicator, want in EXPECTED_ORDER.items():
        items = section.locator(f'ol.targets[data-indicator="{indicator}"] li').all()
        # text_content: the on-track communes are folded in a closed <details> (not rendered, no inner text)
        got = [(li.get_attribute("data-commune"), li.get_attribute("data-status"),
                li.locator(".value").text_content()) for li in items]
        assert got == want, indicator
    behind = section.locator('li[data-status="behind"]')
    assert behind.count() == 2
    assert {behind.nth(i).locator("a").inner_text() for i in range(2)} == {"Xã Ia Khươl"}
    assert behind.first.locator(".status").inner_text() == "Chậm tiến độ"
    assert "2 / 5 tiêu chí, số liệu đến 10/10/2025" in behind.first.locator(".detail").inner_text()
    silent = section.locator(f'ol.targets[data-indicator="VON_DTPT"] li[data-commune="{d.C}"]')
    assert silent.locator(".status").inner_text() == "Chưa báo cáo"
    assert "294 ngày không báo cáo" in silent.locator(".detail").inner_text()  # no-report clock from 10/01
    assert "báo cáo mới nhất sai đơn vị tính" in section.locator(
        f'ol.targets[data-indicator="VON_DTPT"] li[data-commune="{d.B}"] .detail').inner_text()
    assert section.locator("svg.progress").count() == 12 and page.locator("script").count() == 0
    section.screenshot(path=str(SHOTS / "targets.png"))
    watch.check()
    phone, small, small_watch = on_phone(browser, context, scenario.url)
    small.goto(f"{scenario.url}/dashboard")
    first = small.locator('#targets ol.targets[data-indicator="TIEU_CHI"] li').first
    assert (first.get_attribute("data-commune"), first.locator(".value").inner_text()) == (d.B, "40,0% / 83,3%")
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    small_watch.check()
    phone.close()
    context.close()
    assert (SHOTS / "targets.png").stat().st_size > 5_000


# The province's totals at T2 as targets_reference.md "Province at T2" computes them, written as the page writes
# them: VON_DTPT 6,9 / 3,5 / 5,64 tỷ (35/69 = 50,7%, 94/115 = 81,7%); TIEU_CHI 12 / 5 / 3648/365 = 9,99
# (5/12 = 41,7%, 304/365 = 83,3%); HO_THOAT_NGHEO 125 / 83 / 7600/73 = 104,11 (83/125 = 66,4%); VON_SN
# 1,7 tỷ / 860 triệu / 31.322.500.000/23 = 1.361.847.826 đồng = 1,36 tỷ (43/85 = 50,6%, 737/920 = 80,1%).
# Last two cells: communes behind / no_report of the three assigned.
EXPECTED_TOTALS = {
    "VON_DTPT": ["tỷ đồng", "6,90 tỷ đồng", "3,50 tỷ đồng", "5,64 tỷ đồng", "50,7% / 81,7%", "0 / 3", "2 / 3"],
    "TIEU_CHI": ["tiêu chí", "12 tiêu chí", "5 tiêu chí", "9,99 tiêu chí", "41,7% / 83,3%", "1 / 3", "1 / 3"],
    "HO_THOAT_NGHEO": ["hộ", "125 hộ", "83 hộ", "104,11 hộ", "66,4% / 83,3%", "0 / 3", "1 / 3"],
    "VON_SN": ["tỷ đồng", "1,70 tỷ đồng", "0,86 tỷ đồng", "1,36 tỷ đồng", "50,6% / 80,1%", "1 / 3", "1 / 3"],
}
# Behind or no_report at T2 (targets_reference.md): 23728 on VON_DTPT, TIEU_CHI, VON_SN; 23722 on all four.
ATTENTION_ROWS = 7


def test_targets_totals_first_filter_by_program_and_only_attention_listed(browser, scenario):  # noqa: F811
    """The province totals table comes before any commune; only the 7 behind / no_report rows are shown as list
    items, the 5 others folded in <details> until opened; the GNBV link filters the section; an unknown program
    is a Vietnamese sentence, not an error page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    watch = Watch(page, scenario.url)
    _login(page, scenario)
    section = page.locator("#targets")
    totals = section.locator("table.target-totals")
    assert totals.is_visible()
    for indicator, want in EXPECTED_TOTALS.items():
        cells = totals.locator(f'tr[data-indicator="{indicator}"] td').all_inner_texts()
        assert cells[1:] == want, indicator
    first_list = section.locator("ol.targets").first.bounding_box()
    assert totals.bounding_box()["y"] < first_list["y"]
    assert section.locator("li:visible").count() == ATTENTION_ROWS
    assert section.locator("div.program > ol.targets > li").count() == ATTENTION_ROWS
    assert section.locator("details li").count() == 12 - ATTENTION_ROWS
    rest = section.locator('details[data-indicator="HO_THOAT_NGHEO"]')
    rest.locator("summary").click()  # opening it needs no script
    assert rest.locator("li:visible").count() == 2
    section.screenshot(path=str(SHOTS / "targets-totals.png"))

    filters = section.locator("nav.programs a")
    assert filters.all_inner_texts() == ["Tất cả", "NTM", "GNBV"]
    filters.nth(2).click()
    page.wait_for_url(f"{scenario.url}/dashboard?program=GNBV#targets")
    section = page.locator("#targets")
    assert [p.get_attribute("data-program") for p in section.locator("div.program").all()] == ["GNBV"]
    assert [t.get_attribute("data-indicator") for t in section.locator("table.target-totals tr[data-indicator]")
            .all()] == ["HO_THOAT_NGHEO", "VON_SN"]
    assert section.locator('nav.programs a[aria-current="page"]').inner_text() == "GNBV"

    answer = page.goto(f"{scenario.url}/dashboard?program=DTTS")
    assert answer is not None and answer.status == 200
    assert "Năm 2025 không có chỉ tiêu nào của chương trình “DTTS”" in page.locator("#targets").inner_text()
    assert page.locator("#targets table").count() == 0
    watch.check()
    context.close()

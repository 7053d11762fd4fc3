"""The dashboard's targets and disbursement section in a real headless Chromium: the hand-built targets
dataset (tests/analytics/targets_reference.md) at T2 through a real worker and gateway; the behind and
no_report communes come first with the hand-computed rates, no script runs and no request leaves the
gateway; var/screenshots/targets.png is kept for people to look at."""

from __future__ import annotations

import pytest

from tests.analytics import target_datasets as d
from tests.browser.test_dashboard import SHOTS, Watch, _login, browser  # noqa: F401 - `browser` is a fixture
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
        got = [(li.get_attribute("data-commune"), li.get_attribute("data-status"),
                li.locator(".value").inner_text()) for li in items]
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
    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state(),
                                is_mobile=True)
    small = phone.new_page()
    small_watch = Watch(small, scenario.url)
    small.goto(f"{scenario.url}/dashboard")
    first = small.locator('#targets ol.targets[data-indicator="TIEU_CHI"] li').first
    assert (first.get_attribute("data-commune"), first.locator(".value").inner_text()) == (d.B, "40,0% / 83,3%")
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    small_watch.check()
    phone.close()
    context.close()
    assert (SHOTS / "targets.png").stat().st_size > 5_000

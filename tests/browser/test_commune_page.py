"""A commune's page in a real headless Chromium (hub issue 23): reached by the commune search in the overview's
header, with its 12-month trend charts and tables, at 1440×900 and 390×844 without sideways scrolling on the phone.

The data: the reference datasets through a real worker and gateway (tests/gateway/read_scenario.py, clock
2025-12-10 12:00 Vietnam time). Every reference dossier is Ia Ly's (23734): in November 2025 it has 6 of 11
dossiers on time (tests/analytics/reference.md), and since no other commune has dossiers the province average
of that month is the same 6/11 = 54,5%."""

from __future__ import annotations

import pytest

from tests.analytics.datasets import COMMUNE
from tests.browser.test_dashboard import SHOTS, browser, on_desktop, on_phone, scenario  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration
NO_SIDEWAYS = "document.documentElement.scrollWidth <= window.innerWidth"
# the right edge of every chart and table, in CSS px: none may pass the viewport's width
RIGHT_EDGES = ("Array.from(document.querySelectorAll('#trend svg, #trend table, #directives table'))"
               ".map(e => e.getBoundingClientRect().right)")


def test_search_from_the_overview_reaches_the_commune_page(browser, scenario):  # noqa: F811
    context, page, watch = on_desktop(browser, scenario)
    page.goto(f"{scenario.url}/dashboard?month=2025-11")
    page.get_by_label("Tìm xã").fill("ia ly")  # no diacritics, lower case
    page.click("form.search button")
    page.wait_for_url(f"{scenario.url}/dashboard/communes/{COMMUNE}")
    assert page.inner_text("h1").startswith("Xã Ia Ly")
    assert page.locator("#trend svg.trend").count() == 2
    assert page.locator("#trend svg.trend").first.is_visible()
    assert page.locator("table.trend tbody tr").count() == 12  # 2025-01 … 2025-12
    november = page.locator('table.trend tr[data-month="2025-11"] td')
    assert [november.nth(i).inner_text() for i in (0, 1)] == ["54,5% (6/11)", "54,5% (6/11)"]
    assert november.nth(2).inner_text() == november.nth(3).inner_text()  # online: Ia Ly is the whole province
    # December is the hub's current month: no link to January 2026
    assert page.locator("nav.months a").all_inner_texts() == ["« Tháng 11/2025"]
    page.click("nav.crumbs a")  # back to the province, the same month kept
    page.wait_for_url(f"{scenario.url}/dashboard?month=2025-12")
    page.goto(f"{scenario.url}/dashboard/communes/{COMMUNE}?month=2025-11")
    page.screenshot(path=str(SHOTS / "commune-desktop.png"), full_page=True)
    watch.check()

    phone, small, small_watch = on_phone(browser, context, scenario.url)
    small.goto(f"{scenario.url}/dashboard?month=2025-11")
    small.get_by_label("Tìm xã").fill("Ia Ly")
    small.click("form.search button")
    small.wait_for_url(f"{scenario.url}/dashboard/communes/{COMMUNE}")
    small.goto(f"{scenario.url}/dashboard/communes/{COMMUNE}?month=2025-11")
    assert small.locator("#trend svg.trend").first.is_visible() and small.locator("table.trend").is_visible()
    assert small.evaluate(NO_SIDEWAYS)
    edges = small.evaluate(RIGHT_EDGES)
    assert len(edges) >= 3 and max(edges) <= 390, edges
    small.screenshot(path=str(SHOTS / "commune-phone.png"), full_page=True)
    small_watch.check()
    phone.close()
    context.close()
    assert (SHOTS / "commune-desktop.png").stat().st_size > 10_000
    assert (SHOTS / "commune-phone.png").stat().st_size > 10_000

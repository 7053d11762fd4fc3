"""The directives pages in a real headless Chromium at 1440×900 and 390×844: the directive page names each
recipient commune with its state, the list keeps open and closed apart, and nothing overflows the phone's width
(``document.documentElement.scrollWidth <= innerWidth``); screenshots are kept under var/screenshots/."""

from __future__ import annotations

import pytest

from tests.analytics.datasets import DIRECTIVE_ID
from tests.browser.test_dashboard import SHOTS, Watch, browser  # noqa: F401 - `browser` is a fixture
from tests.gateway import test_dashboard_directives as seeded

pytestmark = pytest.mark.integration

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
PAGE = "/dashboard/directives/000.00.00.H41%2C2025%2F08%2F29%2C456%2FCT-UBND"


@pytest.fixture
def served(make_settings):
    yield from seeded.serve(make_settings)


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", list(SIZES))
def test_directive_pages_at_both_sizes(browser, served, size):  # noqa: F811 - the fixture
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=SIZES[size], locale="vi-VN", is_mobile=size == "phone")
    page = context.new_page()
    watch = Watch(page, served.url)
    page.goto(f"{served.url}/dashboard/login")
    page.fill("#key", served.reader)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served.url}/dashboard")

    # the overview's row links to the directive's own page
    page.click(f'#directives tr[data-document="{DIRECTIVE_ID}"] a')
    page.wait_for_url(f"{served.url}{PAGE}")
    assert page.inner_text("h1") == "Văn bản 456/CT-UBND"
    names = [a.inner_text() for a in page.locator("article.reach h3 a").all()]
    assert names == ["Xã Chư Păh", "Xã Ia Khươl", "Xã Ia Ly", "Xã Ia Phí", "Xã Ia Hrung"]  # by commune code
    hrung = page.locator('article.reach[data-commune="23767"]')
    assert hrung.locator(".state").inner_text() == "Quá hạn: chưa tiếp nhận"
    assert page.locator('article.reach[data-commune="23749"] .state').inner_text() == "Đang xử lý (trễ hạn)"
    assert _fits(page)
    page.screenshot(path=str(SHOTS / f"directive-{size}.png"), full_page=True)

    page.goto(f"{served.url}/dashboard/directives")
    assert page.locator("#open tr[data-document]").count() == 1
    assert page.locator("#closed tr[data-document]").count() == 1
    assert page.locator("#open td.late").inner_text().endswith("Xã Ia Hrung")
    assert _fits(page)
    page.screenshot(path=str(SHOTS / f"directives-{size}.png"), full_page=True)
    watch.check()
    context.close()

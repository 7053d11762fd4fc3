"""The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright): the reference datasets
through a real worker and gateway, a reader logs in, the pages show the hand-computed numbers with no console
error and no request leaving the gateway; screenshots go to var/screenshots/ for people to look at."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.analytics.datasets import COMMUNE, DIRECTIVE_ID
from tests.conftest import ROOT
from tests.gateway import read_scenario

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
# Playwright's own browser download cannot work here: Debian's chromium, with no network side-traffic.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "var" / "screenshots"


@pytest.fixture(scope="module")
def scenario(kafka_bootstrap, tmp_path_factory):
    """The reference datasets through one worker and one gateway (HUB_CLOCK 2025-12-10 12:00 Vietnam time)."""
    with read_scenario.province(kafka_bootstrap, tmp_path_factory.mktemp("browser")) as sc:
        yield sc


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium; a missing browser fails the run with the one line that fixes it."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("chromium is missing: run `apt-get install -y chromium` as root (make test does it when it can)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


class Watch:
    """Console errors, page errors, failed requests and every URL a page asked for."""

    def __init__(self, page, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []
        self.urls: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # ERR_ABORTED: a request of the page the test navigated away from (its icon), not a failure of the page
        page.on("requestfailed", lambda r: r.failure == "net::ERR_ABORTED"
                or self.problems.append(f"request failed: {r.url} {r.failure}"))
        page.on("request", lambda r: self.urls.append(r.url))

    def check(self) -> None:
        assert self.problems == []
        assert self.urls and all(u.startswith(self.origin + "/") for u in self.urls), self.urls


def on_phone(browser, context, url: str):
    """The same logged-in session on a 390×844 phone: (its browser context, a page, the page's Watch)."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state(),
                                is_mobile=True)
    small = phone.new_page()
    return phone, small, Watch(small, url)


def on_desktop(browser, sc):
    """A 1440×900 session logged in with the scenario's reader key: (its browser context, a page, the page's
    Watch — started after the login: going on before the login page's icon arrived aborts that request)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN")
    page = context.new_page()
    _login(page, sc)
    return context, page, Watch(page, sc.url)


def _login(page, sc) -> None:
    page.goto(f"{sc.url}/dashboard")
    assert "/dashboard/login" in page.url  # no session yet: the login form
    page.fill("#key", sc.reader_key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{sc.url}/dashboard")


def test_dashboard_shows_the_reference_numbers(browser, scenario):
    """Ranking, overdue directive with its non-accepting commune, silent systems; cookie HttpOnly + Strict."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    watch = Watch(page, scenario.url)
    _login(page, scenario)
    cookie = next(c for c in context.cookies() if c["name"] == "hub_session")
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/dashboard")
    assert scenario.reader_key not in cookie["value"]
    # The current month by the hub's clock is December 2025: at 12-10 12:00 D4, D7, D12 are in time and
    # D8, D11, D13 overdue -> 3 / 6 (hand computation, tests/analytics/reference.md's dossiers)
    assert "Tháng 12/2025" in page.inner_text("#timeliness h2")
    ialy = page.locator(f'li[data-commune="{COMMUNE}"]')
    assert ialy.locator(".value").inner_text() == "50,0%" and ialy.locator(".detail").inner_text() == "3/6 hồ sơ"
    page.click("text=« Tháng 11/2025")
    page.wait_for_url(f"{scenario.url}/dashboard?month=2025-11")
    first = page.locator("ol.ranking li").first
    assert first.get_attribute("data-commune") == COMMUNE  # the only commune with data ranks first
    assert (first.locator(".value").inner_text(), first.locator(".detail").inner_text()) == ("54,5%", "6/11 hồ sơ")
    silent = page.inner_text("#silent")
    assert "onestop-ialy" in silent and "edoc-province" in silent
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    # The directive was sent on 2025-08-29, before the overview's last 30 days: the directives page over 120 days
    page.goto(f"{scenario.url}/dashboard/directives?days=120")
    directive = page.locator(f'tr[data-document="{DIRECTIVE_ID}"]')
    assert directive.locator("td.waiting").inner_text() == "Xã Ia Hrung"  # 23767 never accepted
    assert "456/CT-UBND" in directive.inner_text()
    page.goto(f"{scenario.url}/dashboard?month=2025-11")
    watch.check()

    page.click(f'li[data-commune="{COMMUNE}"] a')
    page.wait_for_url(f"{scenario.url}/dashboard/communes/{COMMUNE}")
    assert "Xã Ia Ly" in page.inner_text("h1")
    day = page.locator("table.days tr", has_text="14/11/2025")
    assert day.inner_text().split("\t")[1:] == ["50,0%", "3/6"]  # reference.md, the day 2025-11-14
    assert page.locator("svg.chart rect.day").count() >= 1
    page.screenshot(path=str(SHOTS / "commune.png"), full_page=True)
    watch.check()

    phone, small, small_watch = on_phone(browser, context, scenario.url)
    small.goto(f"{scenario.url}/dashboard?month=2025-11")
    assert small.locator(f'li[data-commune="{COMMUNE}"] .value').inner_text() == "54,5%"
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    small.screenshot(path=str(SHOTS / "dashboard-phone.png"), full_page=True)
    small_watch.check()
    phone.close()
    context.close()
    assert (SHOTS / "dashboard.png").stat().st_size > 10_000


def test_a_publisher_key_cannot_open_the_dashboard(browser, scenario):
    """A publisher's key at the login form is refused (403) and no session cookie is set."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{scenario.url}/dashboard/login")
    page.fill("#key", scenario.publisher_key)
    with page.expect_response(f"{scenario.url}/dashboard/login") as answer:
        page.click("button[type=submit]")
    assert answer.value.status == 403
    assert "khóa đọc" in page.inner_text(".error")
    assert [c for c in context.cookies() if c["name"] == "hub_session"] == []
    context.close()


def _inside(box: dict | None, width: int, height: int) -> bool:
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width \
        and box["y"] + box["height"] <= height


def test_the_first_screen_says_who_to_call_and_why(browser, scenario):
    """November 2025 (Ia Ly: 6/11 on time, the only commune with 10+ dossiers, so the lowest ranked) and the
    overdue directive 456/CT-UBND that Ia Hrung never accepted: both inside the first 1440×900 screen after
    login, with their reasons in words; then the same page at 390×844."""
    context, page, watch = on_desktop(browser, scenario)
    page.goto(f"{scenario.url}/dashboard?month=2025-11")
    commune = page.locator(f'#attention li[data-kind="commune"][data-call="{COMMUNE}"]')
    assert "Đúng hạn 54,5% (6/11 hồ sơ), xếp 1/1" in commune.inner_text()
    directive = page.locator(f'#attention li[data-kind="directive"][data-call="{DIRECTIVE_ID}"]')
    assert "456/CT-UBND" in directive.inner_text() and "chưa tiếp nhận: Xã Ia Hrung" in directive.inner_text()
    assert "Quá hạn tiếp nhận" in directive.inner_text()
    assert _inside(commune.bounding_box(), 1440, 900) and _inside(directive.bounding_box(), 1440, 900)
    # the rows' computed_at (the worker's frozen clock, 2025-12-10 12:00); test_dashboard_attention.py shows
    # it differs from the request's time when the rows are older
    assert page.inner_text("p.asof").startswith("Số liệu đến 12:00 ngày 10/12/2025")
    page.screenshot(path=str(SHOTS / "dashboard-first-screen.png"))
    watch.check()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state(),
                                is_mobile=True)
    small = phone.new_page()
    small.goto(f"{scenario.url}/dashboard?month=2025-11")
    assert small.locator(f'#attention li[data-call="{COMMUNE}"]').is_visible()
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    small.screenshot(path=str(SHOTS / "dashboard-first-screen-phone.png"))
    phone.close()
    context.close()


def test_worst_first_by_default_and_small_communes_apart(browser, scenario):
    """December 2025: Ia Ly has 6 dossiers in scope, under HUB_KPI_MIN_VOLUME (10): listed apart, not ranked.
    The ranking says worst first; the link (no script) turns it to best first and back."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN")
    page = context.new_page()
    _login(page, scenario)
    assert page.locator("ol.ranking[data-order]").count() == 0  # nobody ranked this month
    assert "Chưa có xã nào có từ 10 hồ sơ trở lên trong kỳ." in page.inner_text("#timeliness")
    assert page.inner_text("#unranked") == "1 xã có dưới 10 hồ sơ — không xếp hạng"
    apart = page.locator(f'ol.ranking.unranked li[data-commune="{COMMUNE}"]')
    assert apart.locator(".rank").inner_text() == "–" and apart.locator(".detail").inner_text() == "3/6 hồ sơ"
    assert "từ thấp đến cao" in page.inner_text("#timeliness p.order")
    page.goto(f"{scenario.url}/dashboard?month=2025-11")
    assert page.get_attribute("ol.ranking", "data-order") == "worst"
    page.click("text=Xếp từ cao đến thấp")
    page.wait_for_url(f"{scenario.url}/dashboard?month=2025-11&order=best")
    assert page.get_attribute("ol.ranking", "data-order") == "best"
    assert "từ cao đến thấp" in page.inner_text("#timeliness p.order")
    page.click("text=Xếp từ thấp đến cao")
    page.wait_for_url(f"{scenario.url}/dashboard?month=2025-11")
    context.close()

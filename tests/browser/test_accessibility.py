"""WCAG 2.1 AA in a real headless Chromium (hub issue 23): axe-core (npm's axe-core, fetched and checked by
``ops/preflight.sh axe`` into var/axe/) finds no serious or critical violation on the overview, a commune page,
a directive page and the login page at 1440×900 and 390×844; no page scrolls sideways on a phone; a keyboard user
reaches the skip link first and the targets section through the overview's table of contents.

The data: the reference datasets through a real worker and gateway (tests/gateway/read_scenario.py: ranking,
directives, silent systems, a commune's 30 days), plus the targets dataset's progress rows at T2 written on the
progress feed, so that every section of the overview has rows for axe to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from hub.contract import topics
from hub.testing import wait_for
from tests.analytics.datasets import COMMUNE
from tests.browser.test_dashboard import Watch, _login, browser  # noqa: F401 - `browser` is a fixture
from tests.conftest import ROOT
from tests.gateway import read_scenario
from tests.gateway.read_scenario import Scenario
from tests.gateway.test_read_model_targets import _progress

pytestmark = pytest.mark.integration

AXE = ROOT / "var" / "axe" / "axe.min.js"
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
DIRECTIVE_PAGE = "/dashboard/directives/000.00.00.H41%2C2025%2F08%2F29%2C456%2FCT-UBND"
PAGES = {  # name: path (None: the login page, seen without a session)
    "overview": "/dashboard?month=2025-11",
    "commune": f"/dashboard/communes/{COMMUNE}?month=2025-11",
    "directive": DIRECTIVE_PAGE,
    "login": None,
}
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture(scope="module")
def scenario(kafka_bootstrap, tmp_path_factory) -> Iterator[Scenario]:
    """The reference datasets through a worker and a gateway (clock 2025-12-10 12:00 Vietnam time), then the
    targets dataset's 12 progress rows at T2 (plan year 2025) on the progress feed, read by the same gateway."""
    with read_scenario.province(kafka_bootstrap, tmp_path_factory.mktemp("a11y")) as sc:
        rows = _progress("T2")
        producer = KafkaProducer(bootstrap_servers=sc.settings.kafka_bootstrap, acks="all")
        try:
            for key, value in rows.items():
                producer.send(sc.settings.topic(topics.FEED_TARGET_PROGRESS), key=key.encode(), value=value)
            producer.flush(timeout=30)
        finally:
            producer.close(timeout=10)
        wait_for(lambda: len(sc.gateway.app.state.read_model.snapshot.target_rows(2025)) == len(rows) == 12,
                 timeout_s=60, what="the 12 target progress rows in the read model")
        yield sc


def axe_script() -> Path:
    """var/axe/axe.min.js, put there by ``ops/preflight.sh axe`` (make test); missing means a failed run."""
    if not AXE.exists():
        pytest.fail("var/axe/axe.min.js is missing: run `ops/preflight.sh axe` (make test does)")
    return AXE


def serious(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate("rules => axe.run(document, {runOnly: rules})", RULES)
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict]) -> str:
    return "\n".join(f'{v["id"]} ({v["impact"]}): {v["help"]} — '
                     f'{[n["target"] for n in v["nodes"][:3]]}' for v in violations)


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def session_context(browser, sc: Scenario, size: str, **extra):  # noqa: F811 - the fixture's name
    """A logged-in browser context at ``size``; ``extra`` goes to new_context."""
    context = browser.new_context(viewport=SIZES[size], locale="vi-VN", is_mobile=size == "phone", **extra)
    page = context.new_page()
    _login(page, sc)
    return context, page


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violation(browser, scenario, name, size):  # noqa: F811 - the fixture
    # bypass_csp for this test only: the pages' CSP (script-src none) would refuse the injected axe script; the
    # pages themselves run no script, and the other browser tests keep the CSP on
    context = browser.new_context(viewport=SIZES[size], locale="vi-VN", is_mobile=size == "phone", bypass_csp=True)
    page = context.new_page()
    path = PAGES[name]
    if path is None:
        page.goto(f"{scenario.url}/dashboard/login")
        assert page.locator("form[action='/dashboard/login']").count() == 1
    else:
        _login(page, scenario)
        watch = Watch(page, scenario.url)
        page.goto(f"{scenario.url}{path}")
        assert "/dashboard/login" not in page.url
        watch.check()
    if name == "overview":  # every section has rows for axe to look at
        assert page.locator("ol.ranking li[data-commune]").count() >= 1
        assert page.locator("#targets svg.progress").count() == 12
        assert page.locator("#silent tbody tr").count() >= 1 and page.locator("#attention li").count() >= 1
    if name == "commune":
        assert page.locator("svg.chart rect.day").count() >= 1
    found = serious(page)
    sideways = size == "phone" and not fits(page)
    assert (found, sideways) == ([], False), f"{name} at {size}, scrolls sideways: {sideways}\n{describe(found)}"
    context.close()


def test_chart_labels_are_at_least_12px_on_a_phone(browser, scenario):  # noqa: F811
    """The daily chart's axis labels, as drawn at 390 px wide (the SVG scales with its box)."""
    context, page = session_context(browser, scenario, "phone")
    page.goto(f"{scenario.url}/dashboard/communes/{COMMUNE}?month=2025-11")
    heights = page.eval_on_selector_all(
        "figure.daily .yaxis span, figure.daily .xaxis span span, figure.daily svg text",
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize)"
        " * (e.ownerSVGElement ? e.ownerSVGElement.getBoundingClientRect().width"
        " / e.ownerSVGElement.viewBox.baseVal.width : 1))")
    assert len(heights) == 3 + 5  # 0/50/100 %, and a date every 6 days of the 30: days 1, 7, 13, 19, 25
    assert min(heights) >= 12, heights
    context.close()



# each trend figure's axis labels as drawn: [font size px, left, top, right, bottom] per label, for every figure
TREND_LABELS = """Array.from(document.querySelectorAll('#trend figure.trend')).map(f =>
  Array.from(f.querySelectorAll('.yaxis span, .xaxis span span')).map(e => {
    const b = e.getBoundingClientRect();
    return [parseFloat(getComputedStyle(e).fontSize), b.left, b.top, b.right, b.bottom];
  }))"""


def test_trend_chart_labels_are_at_least_12px_and_apart_on_a_phone(browser, scenario):  # noqa: F811
    """The commune page's two 12-month charts at 390 px: every axis label (0/50/100 %, and a month every other
    month, six of the twelve) at least 12 px, none overlapping another of its chart, and no SVG text left to
    shrink with the chart."""
    context, page = session_context(browser, scenario, "phone")
    page.goto(f"{scenario.url}/dashboard/communes/{COMMUNE}?month=2025-11")
    figures = page.evaluate(TREND_LABELS)
    assert [len(labels) for labels in figures] == [3 + 6, 3 + 6]
    assert page.locator("#trend svg text").count() == 0
    # of the twelve months 2024-12 … 2025-11, every other one ending with November: 2025-01, -03, … -11
    assert page.locator("#trend figure.trend").first.locator(".xaxis span span").all_inner_texts() == [
        "1/25", "3/25", "5/25", "7/25", "9/25", "11/25"]
    sizes = [size for labels in figures for size, *_box in labels]
    assert min(sizes) >= 12, sizes
    for labels in figures:
        boxes = [box for _size, *box in labels]
        assert all(right - left > 0 and bottom - top > 0 for left, top, right, bottom in boxes), boxes
        overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                    if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]
        assert overlaps == [], overlaps
    context.close()

def test_a_keyboard_user_skips_to_the_content_and_reaches_the_targets(browser, scenario):  # noqa: F811
    """Tab from the page's start: the skip link is the first stop and leads to <main>; the overview's table of
    contents links to the targets section, reached in a handful of Tab presses (the issue counted 137)."""
    context, page = session_context(browser, scenario, "desktop")
    page.goto(f"{scenario.url}/dashboard?month=2025-11")
    hidden = page.locator("a.skip").bounding_box()
    assert hidden is not None and hidden["y"] + hidden["height"] <= 0  # above the screen until focused
    page.keyboard.press("Tab")
    first = page.evaluate("[document.activeElement.className, document.activeElement.getAttribute('href')]")
    assert first == ["skip", "#main"]
    assert page.locator("main#main").count() == 1
    shown = page.locator("a.skip").bounding_box()
    assert shown is not None and shown["y"] >= 0  # on the screen while it has the focus
    page.keyboard.press("Enter")
    presses = 0
    while page.evaluate("document.activeElement.getAttribute('href')") != "#targets":
        page.keyboard.press("Tab")
        presses += 1
        assert presses <= 10, "the targets link is not among the first 10 Tab stops after the skip link"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#targets"
    assert page.locator("#targets h2").is_visible()
    box = page.locator("#targets h2").bounding_box()
    # the anchor scrolls the section's top to the screen's top (less than a pixel off, sub-pixel layout)
    assert box is not None and -1 <= box["y"] < 900
    context.close()

"""The overview printed by a real Chromium (``page.pdf``, A4): at most three pages, with every one of the
province's 135 communes ranked (the worst case for length: without the print stylesheet that page prints on
8 A4 pages), the navigation and download links left out and the ranking cut after 30 rows with a note that the
full list is in the Excel file. The PDF and a screenshot are kept under var/screenshots/."""

from __future__ import annotations

import re

import pytest
from kafka import KafkaProducer

from hub import reference, systems
from hub.contract import topics
from hub.gateway.server import ServerThread
from hub.testing import wait_for
from tests.browser.test_dashboard import SHOTS, Watch, browser  # noqa: F401 - the browser fixture
from tests.gateway.test_dashboard_attention import CLOCK_MS, MINUTE, _row

pytestmark = pytest.mark.integration

PROVINCE_COMMUNES = 135  # Gia Lai (52) in the national list: tests/gateway/test_dashboard_attention.py


def pdf_pages(pdf: bytes) -> int:
    """Page objects in a PDF (``/Type /Page``, not ``/Type /Pages``): Chromium writes them uncompressed."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_page_counting_tells_pages_from_the_page_tree():
    assert pdf_pages(b"<< /Type /Pages /Kids [3 0 R 4 0 R] >> << /Type /Page >> << /Type/Page /Parent 2 0 R >>") == 2


@pytest.fixture
def crowded(make_settings):
    """A gateway at 2025-12-10 12:00 Vietnam time whose read model holds a December 2025 row for every commune
    of the province (12 to 146 dossiers in scope, all ranked), and a reader key."""
    s = make_settings(clock="2025-12-10T05:00:00Z")
    reader = systems.add(s, "office", role="reader")
    communes = [c.code for c in reference.province_communes("52")]
    assert len(communes) == PROVINCE_COMMUNES
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    try:
        for n, code in enumerate(communes):
            key, value = _row(code, n % 12, 12 + n, n % 3, 10.0, CLOCK_MS - MINUTE)
            producer.send(s.topic(topics.FEED_KPI), key=key.encode(), value=value)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)
    with ServerThread(s) as srv:
        wait_for(lambda: srv.app.state.read_model.snapshot.caught_up
                 and len(srv.app.state.read_model.snapshot.kpi_period("month", "2025-12")) == PROVINCE_COMMUNES,
                 timeout_s=60, what="read model holding the 135 rows")
        yield srv, reader


def test_the_printed_overview_fits_three_a4_pages(browser, crowded):  # noqa: F811
    srv, reader = crowded
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN")
    page = context.new_page()
    watch = Watch(page, srv.url)
    page.goto(f"{srv.url}/dashboard")
    page.fill("#key", reader)
    page.click("button[type=submit]")
    page.wait_for_url(f"{srv.url}/dashboard")
    assert page.locator("ol.ranking li[data-commune]").count() == PROVINCE_COMMUNES
    screen_height = page.evaluate("document.documentElement.scrollHeight")
    pdf = page.pdf(format="A4", print_background=True)
    (SHOTS / "print-overview.pdf").write_bytes(pdf)
    # on screen the ranking alone is taller than three A4 pages (1123 CSS px each at 96 dpi): the test can fail
    assert screen_height > 3 * 1123
    assert 1 <= pdf_pages(pdf) <= 3
    page.emulate_media(media="print")
    page.screenshot(path=str(SHOTS / "print-overview.png"), full_page=True)
    # what print hides and keeps, as the print stylesheet says
    assert page.locator("header").is_hidden() and page.locator("nav.months").is_hidden()
    assert page.locator("p.export").first.is_hidden() and page.locator("footer").is_visible()
    rows = page.locator("ol.ranking:not(.unranked) > li")
    assert rows.nth(29).is_visible() and rows.nth(30).is_hidden()
    note = page.evaluate("getComputedStyle(document.querySelector('ol.ranking'), '::after').content")
    assert "xem bản đầy đủ trong tệp Excel" in note
    watch.check()
    context.close()

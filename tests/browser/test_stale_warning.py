"""Hub issue 23's acceptance point "with the worker stopped, the page shows the warning within one refresh", in
a real headless Chromium: a real `hub worker` (HUB_KPI_REFRESH_S=2) and a real gateway (HUB_DASHBOARD_REFRESH_S=3)
on the real clock; the test stops the worker and never reloads the page itself — the page's own
``<meta http-equiv="refresh">`` brings the warning."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import httpx
import orjson
import pytest

from connectors.publisher import Publisher
from hub import systems
from hub.dashboard import attention
from hub.gateway.server import ServerThread
from hub.testing import wait_for
from tests.analytics.datasets import COMMUNE, ONESTOP
from tests.browser.test_dashboard import SHOTS, Watch, browser  # noqa: F401 - the module-scoped fixture

pytestmark = pytest.mark.integration  # the slow tier: tests/browser (tests/conftest.py tier_of)

KPI_REFRESH_S, PAGE_REFRESH_S, READ_MODEL_MS = 2, 3, 1000
VIETNAM = timezone(timedelta(hours=7))
STALE = "Số liệu chưa được cập nhật trong"  # the start of dashboard_attention.as_of_line's warning


def _dossiers(now: datetime) -> list[dict]:
    """Three dossiers received an hour ago, due in five days, still being processed (status 4): the worker keeps
    recomputing the current day and month of COMMUNE every HUB_KPI_REFRESH_S."""
    fmt = "%Y%m%d%H%M%S"
    return [{"event_id": f"stale-{n}", "commune_code": COMMUNE, "dossier_code": f"STALE-{n}", "status": "4",
             "received_at": (now - timedelta(hours=1)).strftime(fmt), "event_time": now.strftime(fmt),
             "due_at": (now + timedelta(days=5)).strftime(fmt)} for n in range(3)]


@pytest.fixture
def live(make_settings, hub_process):
    """(the worker's Proc, gateway URL, reader key): no HUB_CLOCK, so data time moves; the worker is
    stopped by hub_process's teardown whatever happens, the gateway by its context manager."""
    s = make_settings(kpi_refresh_s=KPI_REFRESH_S, dashboard_refresh_s=PAGE_REFRESH_S,
                      read_model_interval_ms=READ_MODEL_MS, analytics_timer_s=1)
    systems.add(s, ONESTOP, [COMMUNE], ["dossier"])
    reader = systems.add(s, "province-office", role="reader")
    with Publisher(ONESTOP, s) as pub:
        for event in _dossiers(datetime.now(VIETNAM)):
            pub.send_async("dossier", orjson.dumps(event), format="hub-json", commune=COMMUNE,
                           event_id=event["event_id"])
        pub.flush()
    worker = hub_process(["worker"], s)
    with ServerThread(s) as gateway:
        wait_for(lambda: httpx.get(f"{gateway.url}/readyz", timeout=10).status_code == 200, timeout_s=60,
                 what="gateway ready (read model caught up)")
        yield worker, gateway.url, reader


def _state(page) -> tuple[str | None, str | None, list[str]]:
    """(data-as-of of the data-time line, COMMUNE's counts in the unranked list, the warnings) of whatever the
    page shows now; (None, None, []) mid-navigation."""
    try:
        asof = page.locator("p.asof[data-as-of]")
        as_of = asof.get_attribute("data-as-of", timeout=1000) if asof.count() else None
        row = page.locator(f'ol.ranking.unranked li[data-commune="{COMMUNE}"] .detail')
        counts = row.inner_text(timeout=1000) if row.count() else None
        return as_of, counts, page.locator("p.error.stale").all_inner_texts()
    except Exception:  # noqa: BLE001 - the meta refresh replaced the document between two calls
        return None, None, []


def test_a_stopped_worker_shows_the_warning_within_one_refresh(browser, live):  # noqa: F811 - fixture
    worker, url, reader = live
    stale_s = attention.stale_after_ms(KPI_REFRESH_S, READ_MODEL_MS) / 1000
    assert stale_s == 7  # 3 × 2 s + 1 s, by hand
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{url}/dashboard")
    page.fill("#key", reader)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/dashboard")
    watch = Watch(page, url)
    # Automatic reload is off by default (WCAG 2.2.1): the official of a wall screen turns it on with the link.
    assert 'http-equiv="refresh"' not in page.content()
    page.click(f"text=Tự động tải lại mỗi {PAGE_REFRESH_S} giây")
    page.wait_for_url(f"{url}/dashboard")
    assert f'<meta http-equiv="refresh" content="{PAGE_REFRESH_S}">' in page.content()

    seen: set[str] = set()

    def live_data() -> bool:
        """COMMUNE's three dossiers (under HUB_KPI_MIN_VOLUME: listed unranked), no stale warning, and the data
        time seen at two values: the worker's recomputations, not only the read model's start, date the page."""
        as_of, counts, warnings = _state(page)
        if counts != "3/3 hồ sơ" or as_of is None or any(w.startswith(STALE) for w in warnings):
            return False
        seen.add(as_of)
        return len(seen) >= 2

    # The worker's first rows take a while (startup, first transactions): the page reloads itself meanwhile.
    wait_for(live_data, timeout_s=180, interval_s=0.5, what="the page shows the worker's rows moving, no warning")
    worker.stop()
    assert worker.popen.returncode is not None  # exited (SIGTERM, else SIGKILL after 30 s)
    loads = []
    page.on("load", lambda _page: loads.append(1))

    def warned() -> str | None:
        return next((w for w in _state(page)[2] if w.startswith(STALE)), None)

    # Rows are at most KPI_REFRESH_S old when the worker stops: the warning is due within stale_s of the stop and
    # shows at the page's next refresh after that; one more refresh and 20 s of margin for a loaded machine.
    warning = wait_for(warned, timeout_s=stale_s + 2 * PAGE_REFRESH_S + 20, interval_s=0.5,
                       what="the stale warning after the page's own refresh")
    assert loads, "the warning came without a reload: the page must have reloaded itself (meta refresh)"
    assert re.fullmatch(r"Số liệu chưa được cập nhật trong (\d+ giây|1 phút): bộ xử lý số liệu đang chậm hoặc đã dừng; "
                        r"các con số dưới đây có thể đã cũ\.", warning), warning
    assert page.locator(f'ol.ranking.unranked li[data-commune="{COMMUNE}"]').count() == 1  # the old data stays
    assert page.locator("p.error.stale[role=alert]").count() >= 1
    page.screenshot(path=str(SHOTS / "stale-warning-desktop.png"))
    watch.check()
    context.close()
    assert (SHOTS / "stale-warning-desktop.png").stat().st_size > 10_000

"""Screenshots of every dashboard page at 1440×900 and 390×844 (hub issue 23), kept under var/screenshots/ as
``<page>-desktop.png`` / ``<page>-phone.png`` for people to look at: the overview (whole and its first screen),
a commune page, the directive list, a directive page, the targets section, the login page and a 404 message.
Each file is checked to be a PNG as wide as the screen it was taken on, and at least as tall."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.analytics.datasets import COMMUNE
from tests.browser.test_accessibility import DIRECTIVE_PAGE, SIZES, scenario  # noqa: F401 - a fixture
from tests.browser.test_dashboard import SHOTS, Watch, _login, browser  # noqa: F401 - a fixture

pytestmark = pytest.mark.integration

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# name: (path, whole page?) — the first screen and the targets section are what the screen shows there
PAGES = {
    "overview": ("/dashboard?month=2025-11", True),
    "overview-first-screen": ("/dashboard?month=2025-11", False),
    "commune": (f"/dashboard/communes/{COMMUNE}?month=2025-11", True),
    "directives": ("/dashboard/directives?days=120", True),
    "directive": (DIRECTIVE_PAGE, True),
    "targets": ("/dashboard#targets", False),
    "not-found": ("/dashboard/communes/00000", True),
}


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (the first, right after the 8-byte signature)."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_png_size_reads_the_header(tmp_path):
    """A hand-made header: 8-byte signature, IHDR length 13, 'IHDR', width 390, height 1200."""
    made = tmp_path / "x.png"
    made.write_bytes(PNG_SIGNATURE + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 390, 1200) + b"\x08\x06")
    assert png_size(made) == (390, 1200)
    (tmp_path / "y.png").write_bytes(b"GIF89a" + bytes(20))
    with pytest.raises(AssertionError):
        png_size(tmp_path / "y.png")


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_at_both_sizes(browser, scenario, size):  # noqa: F811 - the fixtures
    SHOTS.mkdir(parents=True, exist_ok=True)
    width, height = SIZES[size]["width"], SIZES[size]["height"]
    context = browser.new_context(viewport=SIZES[size], locale="vi-VN", is_mobile=size == "phone")
    page = context.new_page()
    page.goto(f"{scenario.url}/dashboard/login")
    assert page.locator("#key").count() == 1
    shots = {"login": SHOTS / f"login-{size}.png"}
    page.screenshot(path=str(shots["login"]), full_page=True)
    _login(page, scenario)
    watch = Watch(page, scenario.url)
    for name, (path, whole) in PAGES.items():
        answer = page.goto(f"{scenario.url}{path}")
        assert answer is not None and answer.status == (404 if name == "not-found" else 200), name
        shots[name] = SHOTS / f"{name}-{size}.png"
        page.screenshot(path=str(shots[name]), full_page=whole)
    assert "Không tìm thấy" in page.inner_text("h1")  # the last page: the 404 message
    # the 404 itself is a failed resource to the console; nothing else may be
    assert [p for p in watch.problems if "404" not in p] == []
    context.close()
    for name, shot in shots.items():
        w, h = png_size(shot)
        assert w == width and h >= height, (name, w, h)
    assert set(shots) == {*PAGES, "login"}

"""A commune's page (hub issue 23): 12 months of timeliness and online rate against the province average, its
directives with its state for each, links (breadcrumb, ranking place, month navigation without future months) —
and the commune search in every page's header. On a fixed snapshot whose numbers are chosen by hand below,
served by a real gateway whose clock is DIRECTIVE_NOW (2025-09-05 12:00 Vietnam time).

KPI fixture (month: commune on time/in scope, received online/received), dossiers received = in scope:

- 2025-09: Ia Ly 23734 6/12, 3/12; Chư Păh 23722 9/10, 8/10; Ia Hrung 23767 18/20, 10/20; and 00004 (a ward of
  Hà Nội, not of this province) 100/100, 100/100, which the province average must leave out.
  Province: on time (6+9+18)/(12+10+20) = 33/42 = 78,6%; online (3+8+10)/42 = 21/42 = 50,0%.
  Ranking (at least 10 dossiers; best first, ties by more dossiers): Ia Hrung 90% (20), Chư Păh 90% (10),
  Ia Ly 50% -> Ia Ly is 3rd of 3.
- 2025-03: Ia Ly 0/5, 0/5; Chư Păh 4/5, 1/5. Province 4/10 = 40,0%; online 1/10 = 10,0%.
- 2024-10: Chư Păh 7/8, 2/8 only. Ia Ly has no row (—, 0/0); province 7/8 = 87,5%; online 2/8 = 25,0%.
- 2024-09: Ia Ly 1/1 — the 13th month back, outside the 12 months (2024-10 … 2025-09).
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from hub import reference, systems
from hub.admin import users
from hub.analytics import kpi
from hub.analytics import periods as pr
from hub.analytics.config import AnalyticsConfig
from hub.contract import codec, topics
from hub.dashboard import commune as dc
from hub.gateway.server import ServerThread
from hub.read.model import FeedSnapshot, apply
from hub.settings import Settings
from hub.testing import wait_for
from tests.analytics.datasets import COMMUNE, DIRECTIVE_ID, DIRECTIVE_NOW, DOSSIER_EVENTS, NOW
from tests.analytics.test_kpi import fold as fold_dossiers
from tests.gateway.test_dashboard import post_login
from tests.gateway.test_dashboard_directives import CLOSED_ID, OLD_ID, PASSWORD, reach_rows
from tests.gateway.test_read_model_targets import _progress

SCHEMAS = codec.load(Settings.from_env(env={}).schemas_dir)
KPI = [  # (month, commune, on time, in scope, online)
    ("2025-09", "23734", 6, 12, 3), ("2025-09", "23722", 9, 10, 8), ("2025-09", "23767", 18, 20, 10),
    ("2025-09", "00004", 100, 100, 100),
    ("2025-03", "23734", 0, 5, 0), ("2025-03", "23722", 4, 5, 1),
    ("2024-10", "23722", 7, 8, 2),
    ("2024-09", "23734", 1, 1, 1),
]
BASE = kpi.to_avro(kpi.compute(fold_dossiers(DOSSIER_EVENTS).values(), COMMUNE, pr.parse("month", "2025-09"), NOW),
                   "52")


def _kpi(month: str, commune: str, on_time: int, in_scope: int, online: int) -> tuple[str, bytes]:
    """A real KPI row of the reference data set with its commune, month and counts replaced."""
    key = f"{commune}|month|{month}"
    row = {**BASE, "commune_code": commune, "period_key": key, "dossiers_in_scope": in_scope,
           "dossiers_on_time": on_time, "timeliness_rate": on_time / in_scope, "dossiers_received": in_scope,
           "online_dossiers": online, "online_rate": online / in_scope, "computed_at": DIRECTIVE_NOW - 60_000}
    return key, codec.encode(SCHEMAS.latest(topics.FEED_KPI + "-value"), row)


def snapshot() -> FeedSnapshot:
    cfg = AnalyticsConfig.from_settings(Settings.from_env(env={}))
    reach = {k: codec.encode(SCHEMAS.latest(topics.FEED_DIRECTIVE + "-value"), v) for k, v in reach_rows(cfg).items()}
    # targets: tests/analytics/target_datasets.py at T1, four targets for each of 23734, 23728 and 23722
    return apply(FeedSnapshot(SCHEMAS), {"kpi": dict(_kpi(*k) for k in KPI), "directive": reach,
                                         "target": _progress("T1")})


def test_twelve_months_against_the_summed_province_average():
    points = dc.trend(snapshot(), "52", "23734", pr.parse("month", "2025-09"))
    assert [p.period.at for p in points] == [
        "2024-10", "2024-11", "2024-12", "2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06",
        "2025-07", "2025-08", "2025-09"]
    shown = {p.period.at: (p.on_time, p.province_on_time, p.online, p.province_online) for p in points
             if p.province_on_time[1]}
    assert shown == {
        "2025-09": ((6, 12), (33, 42), (3, 12), (21, 42)),  # 00004 (Hà Nội) is not in the sums
        "2025-03": ((0, 5), (4, 10), (0, 5), (1, 10)),
        "2024-10": ((0, 0), (7, 8), (0, 0), (2, 8)),
    }
    html = dc.trend_section(points)
    row = re.search(r'<tr data-month="2025-09">(.*?)</tr>', html).group(1)
    assert re.findall(r"<td[^>]*>([^<]+) <small>\(([^)]+)\)</small>", row) == [
        ("50,0%", "6/12"), ("78,6%", "33/42"), ("25,0%", "3/12"), ("50,0%", "21/42")]
    empty = re.search(r'<tr data-month="2024-10">(.*?)</tr>', html).group(1)
    assert re.findall(r"<td[^>]*>([^<]+) <small>\(([^)]+)\)</small>", empty) == [
        ("—", "0/0"), ("87,5%", "7/8"), ("—", "0/0"), ("25,0%", "2/8")]
    # two labelled charts; 0 % in 2025-03 is a visible stub (4 units), a month without rows only the grey mark
    assert html.count('role="img"') == 2 and "<title>Tỷ lệ giải quyết đúng hạn của xã (cột)" in html
    assert len(re.findall(r'<rect class="mine" [^>]*height="4.0"', html)) == 2  # 0/5 on time and 0/5 online
    assert len(re.findall(r'<rect class="mine"', html)) == 4  # 2025-09 and 2025-03, in each chart
    assert len(re.findall(r'<rect class="nodata"', html)) == 2 * 10  # the other ten months of each chart
    assert "<script" not in html
    # labels are HTML (SVG text would shrink with the chart on a phone): a month every other month, ending with
    # the last (indexes 1, 3, … 11 of 2024-10 … 2025-09), and 0/50/100 % on the y axis
    assert "<text" not in html
    assert re.findall(r"<span><span>([^<]+)</span></span>", html) == 2 * [
        "11/24", "1/25", "3/25", "5/25", "7/25", "9/25"]
    assert html.count('<div class="xaxis" aria-hidden="true">') == 2 and html.count("<span></span>") == 2 * 6
    assert html.count('<span class="y100">100%</span><span class="y50">50%</span><span class="y0">0%</span>') == 2
    # the on-time province line: 7/8 in 2024-10 (x 5), 4/10 in 2025-03 (x 55), 33/42 in 2025-09 (x 115), at
    # y = 100 - rate: 12.5, 60.0 and 100 - 78.57 = 21.4; kept 2 px wide by a non-scaling stroke
    assert ('<polyline class="province" points="5,12.5 55,60.0 115,21.4" vector-effect="non-scaling-stroke"/>'
            in html)
    assert html.count('<path class="province dot"') == 2 * 3  # three months in each chart
    assert 'preserveAspectRatio="none"' in html and "Đường nét đứt có chấm tròn: bình quân tỉnh" in html


def test_the_place_links_to_the_communes_own_ranking_row():
    """Ranked or too small, the commune has a row (``id="rank-<code>"``) in the overview's ranking of that month;
    without dossiers in scope it has none, and the link goes to the ranking's top."""
    sept = pr.parse("month", "2025-09")
    ranked = dc.place_line(sept, 3, 3, 12, 10, code="23734")
    assert "Xếp thứ 3/3 xã về tỷ lệ đúng hạn trong Tháng 9/2025" in ranked
    assert '<a href="/dashboard?month=2025-09#rank-23734">xem bảng xếp hạng tỉnh</a>' in ranked
    small = dc.place_line(sept, None, 3, 5, 10, code="23734")
    assert "dưới 10 hồ sơ" in small and 'href="/dashboard?month=2025-09#rank-23734"' in small
    empty = dc.place_line(sept, None, 3, 0, 10, code="23734")
    assert 'href="/dashboard?month=2025-09#timeliness"' in empty


def test_the_communes_directives_with_its_own_state():
    """tests/gateway/test_dashboard_directives.py EXPECTED at DIRECTIVE_NOW: Ia Hrung has not accepted 456 and is
    overdue; Ia Phí accepted 456 late (no longer overdue) and never accepted the July directive, still open
    although older than 30 days; Ia Ly completed 456 and 460 (460 closed: both its communes completed it, sent
    09-01)."""
    snap = snapshot()
    assert [(d.document_id, d.closed) for d in dc.received(snap, "23734", DIRECTIVE_NOW)] == [
        (CLOSED_ID, True), (DIRECTIVE_ID, False)]
    assert [(d.document_id, d.closed) for d in dc.received(snap, "23749", DIRECTIVE_NOW)] == [
        (DIRECTIVE_ID, False), (OLD_ID, False)]
    html = dc.directives_section(dc.received(snap, "23767", DIRECTIVE_NOW))
    assert "(1 đang mở, 1 đang quá hạn)" in html
    row = re.search(rf'<tr data-document="{re.escape(DIRECTIVE_ID)}" ([^>]*)>(.*?)</tr>', html)
    assert row.group(1) == 'data-accepted="false" data-overdue="true"'
    assert 'href="/dashboard/directives/000.00.00.H41%2C2025%2F08%2F29%2C456%2FCT-UBND"' in row.group(2)
    assert "Chưa tiếp nhận</td>" in row.group(2) and "Quá hạn: chưa tiếp nhận</td>" in row.group(2)
    # Ia Phí: 456 accepted late, so no longer overdue; the July directive was never accepted: overdue
    phi = dc.directives_section(dc.received(snap, "23749", DIRECTIVE_NOW))
    assert "(2 đang mở, 1 đang quá hạn)" in phi and "Đang xử lý (trễ hạn)</td>" in phi
    assert re.findall(r'<tr data-document="([^"]+)" data-accepted="(\w+)" data-overdue="(\w+)"', phi) == [
        (DIRECTIVE_ID, "true", "false"), (OLD_ID, "false", "true")]


def test_search_folds_diacritics_and_case():
    gia_lai = reference.province_communes("52")
    assert dc.fold("  Xã CHƯ   Păh ") == "xa chu pah" and dc.fold("Đức Cơ") == "duc co"
    assert [c.code for c in dc.search("ia ly", gia_lai)] == ["23734"]
    assert [c.code for c in dc.search("chu pah", gia_lai)] == ["23722"]
    assert [c.code for c in dc.search("23734", gia_lai)] == ["23734"]
    assert [c.name for c in dc.search("đức", gia_lai)] == ["Xã Đức Cơ", "Xã Vạn Đức"]
    assert {"Xã Chư Păh", "Xã Chư Prông", "Xã Chư Pưh"} <= {c.name for c in dc.search("Chư", gia_lai)}
    assert dc.search("hoan kiem", gia_lai) == []  # a Hà Nội ward: not of this province


def _clock() -> str:
    return datetime.fromtimestamp(DIRECTIVE_NOW / 1000, UTC).isoformat()


@pytest.fixture
def served(make_settings) -> Iterator[tuple[str, str]]:
    """(url, reader key) of a gateway on DIRECTIVE_NOW serving :func:`snapshot`; a commune account for Ia Hrung."""
    s = make_settings(clock=_clock())
    reader = systems.add(s, "office", role="reader")
    users.add(s, "xa.iahrung", users.COMMUNE, "23767", PASSWORD)
    with ServerThread(s) as srv:
        wait_for(lambda: srv.app.state.read_model.snapshot.caught_up, timeout_s=60, what="read model caught up")
        model = srv.app.state.read_model
        srv.app.state.read_model = types.SimpleNamespace(snapshot=snapshot())
        try:
            yield srv.url, reader
        finally:
            srv.app.state.read_model = model  # the gateway stops its own read model on shutdown


def test_the_commune_page_links_back_and_forward(served):
    url, reader = served
    with httpx.Client(base_url=url, timeout=30) as client:
        assert post_login(client, reader).status_code == 303
        now = client.get("/dashboard/communes/23734")
        august = client.get("/dashboard/communes/23734?month=2025-08")
        overview = client.get("/dashboard")
    assert now.status_code == august.status_code == overview.status_code == 200
    text = now.text
    assert '<a href="/dashboard?month=2025-09">Toàn tỉnh — Tháng 9/2025</a>' in text  # the breadcrumb
    assert "Xếp thứ 3/3 xã về tỷ lệ đúng hạn trong Tháng 9/2025" in text
    # the same month's ranking (the anchor itself: test_the_place_links_to_the_communes_own_ranking_row), where
    # every ranked or too-small commune's row carries its id
    assert 'href="/dashboard?month=2025-09#rank-23734">xem bảng xếp hạng tỉnh</a>' in text
    assert '<li id="rank-23734" data-commune="23734">' in overview.text
    assert '<li id="rank-23767" data-commune="23767">' in overview.text
    months = re.search(r'<nav class="months"[^>]*>(.*?)</nav>', text).group(1)
    assert months == '<a href="/dashboard/communes/23734?month=2025-08">« Tháng 8/2025</a>'  # no October: future
    assert 'href="/dashboard/communes/23734?month=2025-09">Tháng 9/2025 »</a>' in august.text
    province_nav = re.search(r'<nav class="months"[^>]*>(.*?)</nav>', overview.text).group(1)
    assert "month=2025-10" not in province_nav and "month=2025-08" in province_nav
    assert re.findall(r'<tr data-document="([^"]+)"', text.split('<section id="directives">')[1]) == [
        DIRECTIVE_ID, CLOSED_ID]  # 456 open (as a whole), then 460 closed in the last 30 days
    assert 'id="trend"' in text
    # its own four targets of 2025 (target_datasets.PLAN["23734"]), not the twelve of the three communes
    targets = text.split('<section id="targets">')[1].split("</section>")[0]
    assert "năm 2025" in targets
    assert sorted(re.findall(r'data-status="\w+" data-indicator="(\w+)"', targets)) == [
        "HO_THOAT_NGHEO", "TIEU_CHI", "VON_DTPT", "VON_SN"]
    # every page: the skip link first, one <main id="main">, the search form with its label
    for page in (text, overview.text):
        assert page.split("<body>")[1].startswith('<a class="skip" href="#main">Bỏ qua, đến nội dung chính</a>')
        assert page.count("<main") == 1 and '<main id="main">' in page and page.count("<h1>") == 1
        assert '<label for="search-q">Tìm xã</label><input id="search-q" name="q"' in page


def test_search_redirects_lists_or_says_why(served):
    url, reader = served
    with httpx.Client(base_url=url, timeout=30) as client:
        outside = client.get("/dashboard/search", params={"q": "ia ly"})
        assert outside.status_code == 303 and outside.headers["location"].startswith("/dashboard/login")
        assert post_login(client, reader).status_code == 303
        one = client.get("/dashboard/search", params={"q": "IA LY"})
        pah = client.get("/dashboard/search", params={"q": "chu pah"})
        code = client.get("/dashboard/search", params={"q": "23722"})
        several = client.get("/dashboard/search", params={"q": "chư"})
        none = client.get("/dashboard/search", params={"q": "hoàn kiếm"})
        bad = [client.get("/dashboard/search", params=p) for p in ({"q": "  "}, {"q": "a" * 101}, {})]
    assert (one.status_code, one.headers["location"]) == (303, "/dashboard/communes/23734")
    assert (pah.status_code, pah.headers["location"]) == (303, "/dashboard/communes/23722")
    assert (code.status_code, code.headers["location"]) == (303, "/dashboard/communes/23722")
    assert several.status_code == 200
    assert '<a href="/dashboard/communes/23722">Xã Chư Păh</a>' in several.text
    assert '<a href="/dashboard/communes/23887">Xã Chư Prông</a>' in several.text
    assert none.status_code == 200 and "Không tìm thấy xã, phường nào khớp với “hoàn kiếm”" in none.text
    assert [b.status_code for b in bad] == [400, 400, 400]
    assert "Hãy nhập tên hoặc mã xã, từ 1 đến 100 ký tự." in bad[1].text


def test_a_commune_account_finds_only_its_own_commune(served):
    url, _reader = served
    with httpx.Client(base_url=url, timeout=30) as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/dashboard/login").text).group(1)
        login = client.post("/dashboard/login", data={"username": "xa.iahrung", "password": PASSWORD, "csrf": csrf})
        assert login.status_code == 303
        own = client.get("/dashboard/search", params={"q": "ia hrung"})
        other = client.get("/dashboard/search", params={"q": "ia ly"})
        page = client.get("/dashboard/communes/23767")
    assert (own.status_code, own.headers["location"]) == (303, "/dashboard/communes/23767")
    assert other.status_code == 200 and "Không tìm thấy" in other.text and "/dashboard/communes/23734" not in other.text
    assert page.status_code == 200
    mine = page.text.split('<section id="directives">')[1].split("</section>")[0]
    assert re.findall(r'<tr data-document="([^"]+)" data-accepted="(\w+)" data-overdue="(\w+)"', mine) == [
        (DIRECTIVE_ID, "false", "true")]

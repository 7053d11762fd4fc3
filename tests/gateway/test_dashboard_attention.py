"""The overview's first screen (hub issue 23): the ranking worst first with the province average marked and small
communes apart, the attention cards, and the data time ("Số liệu đến") with its stale warning — on a fixed
snapshot whose numbers are chosen by hand, served by a real gateway whose clock is HUB_CLOCK."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import types

import httpx
import pytest

from hub import systems
from hub.analytics import kpi
from hub.analytics import periods as pr
from hub.contract import codec, topics
from hub.dashboard import attention, html
from hub.gateway.server import ServerThread
from hub.read.model import FeedSnapshot, apply
from hub.read.queries import province_ranking
from hub.settings import Settings
from hub.testing import wait_for
from tests.analytics.datasets import COMMUNE, DOSSIER_EVENTS, NOW
from tests.analytics.test_kpi import fold as fold_dossiers
from tests.gateway.test_dashboard import post_login

SCHEMAS = codec.load(Settings.from_env(env={}).schemas_dir)
CLOCK_MS = 1_765_342_800_000  # 2025-12-10 05:00 UTC = 12:00 Vietnam time
MINUTE = 60_000
# month 2025-12: (commune, on time, in scope, overdue open, Decision 766 score of 20 measured points);
# HUB_KPI_MIN_VOLUME is 10 by default
ROWS = [("23734", 6, 12, 0, 12.5), ("23767", 18, 20, 0, 5.0), ("23749", 3, 10, 3, 8.0), ("23728", 0, 4, 0, 1.0)]
# Hand computation: rates 50%, 90%, 30%, 0%; 23728 has 4 < 10 dossiers: not ranked. Best first: 23767 (1),
# 23734 (2), 23749 (3). Province average = (6 + 18 + 3 + 0) / (12 + 20 + 10 + 4) = 27/46 = 58.70%.


def _row(commune: str, on_time: int, in_scope: int, overdue: int, score: float, computed_at: int
         ) -> tuple[str, bytes]:
    """A real KPI row of the reference data set with its commune, counts, score and computed_at replaced."""
    row = kpi.to_avro(kpi.compute(fold_dossiers(DOSSIER_EVENTS).values(), COMMUNE, pr.parse("month", "2025-12"),
                                  NOW), "52")
    key = f"{commune}|month|2025-12"
    row.update(commune_code=commune, period_key=key, dossiers_in_scope=in_scope, dossiers_on_time=on_time,
               timeliness_rate=on_time / in_scope, overdue_open_dossiers=overdue, score_766=score,
               score_766_measured_max=20.0, computed_at=computed_at)
    return key, codec.encode(SCHEMAS.latest(topics.FEED_KPI + "-value"), row)


def _snapshot(computed_at: dict[str, int], built_ms: int) -> FeedSnapshot:
    changes = {"kpi": dict(_row(*values, computed_at[values[0]]) for values in ROWS)}
    return dataclasses.replace(apply(FeedSnapshot(SCHEMAS), changes), built_ms=built_ms)


def test_ranking_is_worst_first_with_the_average_marked_and_small_communes_apart():
    snap = _snapshot({c: CLOCK_MS for c, *_rest in ROWS}, CLOCK_MS)
    ranked = province_ranking(snap, "52", "month", "2025-12")
    best, small, empty = attention.split(ranked, 10)
    assert [c.code for c, _r in best] == ["23767", "23734", "23749"]
    assert [c.code for c, _r in small] == ["23728"] and len(empty) == 135 - 4
    average = attention.province_average(r for _c, r in ranked)
    assert average == (27, 46)
    places = {c.code: n for n, (c, _r) in enumerate(best, 1)}
    worst = html.ranking([(places[c.code], c, r) for c, r in attention.worst_first(best)], small, empty, average,
                         worst_first=True, min_volume=10)
    ranked_part, unranked = worst.split('<h3 id="unranked">')
    order = re.findall(r'<li (?:class="average" |id="rank-\d+" )?data-(commune="\d+"|average)', ranked_part)
    assert order == ['commune="23749"', 'commune="23734"', "average", 'commune="23767"']
    assert re.findall(r'<span class="rank">([^<]+)</span>', ranked_part) == ["3", "2", "TB", "1"]
    assert "58,7%" in ranked_part and "27/46 hồ sơ" in ranked_part
    assert unranked.startswith("1 xã có dưới 10 hồ sơ — không xếp hạng") and 'data-commune="23728"' in unranked
    best_html = html.ranking([(places[c.code], c, r) for c, r in best], small, empty, average, worst_first=False,
                             min_volume=10)
    assert re.findall(r'<span class="rank">([^<]+)</span>', best_html.split("<h3")[0]) == ["1", "TB", "2", "3"]


def test_attention_names_the_low_communes_with_their_reasons():
    """Under 90%: 23749 (30%) then 23734 (50%); 23767 at exactly 90% is not under it, but has the lowest
    Decision 766 score of the ranked communes (5 < 8 < 12.5; 23728's 1.0 is not ranked): listed after them."""
    snap = _snapshot({c: CLOCK_MS for c, *_rest in ROWS}, CLOCK_MS)
    best, _small, _empty = attention.split(province_ranking(snap, "52", "month", "2025-12"), 10)
    low = attention.low_communes(best, (27, 46))
    assert [(c.code, reason) for c, reason in low] == [
        ("23749", "Đúng hạn 30,0% (3/10 hồ sơ), xếp 3/3; bình quân tỉnh 58,7%; 3 hồ sơ quá hạn chưa giải quyết; "
                  "điểm 766: 8/20"),
        ("23734", "Đúng hạn 50,0% (6/12 hồ sơ), xếp 2/3; bình quân tỉnh 58,7%; điểm 766: 12,5/20"),
        ("23767", "Đúng hạn 90,0% (18/20 hồ sơ), xếp 1/3; bình quân tỉnh 58,7%; điểm 766: 5/20"),
    ]


def test_data_time_is_the_newest_row_capped_by_the_reading():
    assert attention.data_as_of(1000, [{"computed_at": 400}, {"computed_at": 700}, None]) == 700
    assert attention.data_as_of(500, [{"computed_at": 700}]) == 500  # not newer than when it was read
    assert attention.data_as_of(900, []) == 900 and attention.data_as_of(0, []) is None
    assert attention.stale_after_ms(60, 1000) == 181_000  # 3 × 60 s + 1 s


def test_a_warning_under_a_minute_old_counts_seconds():
    """7 s threshold (HUB_KPI_REFRESH_S=2): data 8.5 s old says "8 giây", not "0 phút"; 61 s says "1 phút"."""
    now = CLOCK_MS
    assert "trong 8 giây:" in attention.as_of_line(now - 8_500, now, 7_000, 0)
    assert "trong 1 phút:" in attention.as_of_line(now - 61_000, now, 7_000, 0)
    assert 'class="error stale"' not in attention.as_of_line(now - 6_000, now, 7_000, 0)


@contextlib.contextmanager
def _clocked_gateway(s: Settings):
    """A gateway on ``s`` (its systems registered beforehand) logged in; yields ``show(snapshot)``."""
    reader = systems.add(s, "office", role="reader")
    with ServerThread(s) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        wait_for(lambda: srv.app.state.read_model.snapshot.caught_up, timeout_s=60, what="read model caught up")
        assert post_login(client, reader).status_code == 303
        model = srv.app.state.read_model

        def show(snap: FeedSnapshot, path: str = "/dashboard", status: int = 200) -> str:
            srv.app.state.read_model = types.SimpleNamespace(snapshot=snap)
            try:
                page = client.get(path)
            finally:
                srv.app.state.read_model = model
            assert page.status_code == status
            return page.headers.get("location", "") if status == 303 else page.text

        yield show


@pytest.fixture
def clocked(make_settings):
    """A gateway whose clock is 2025-12-10 12:00 (Vietnam), logged in; ``show(snapshot)`` answers /dashboard
    as it renders that snapshot."""
    with _clocked_gateway(make_settings(clock="2025-12-10T05:00:00Z")) as show:
        yield show


def test_the_page_shows_the_datas_time_and_warns_when_it_is_old(clocked):
    """Fresh: the newest computed_at is 11:59 (not the request's 12:00), one minute old: no warning. Old: every
    row computed at 11:30, 30 minutes before the clock, over the 181 s threshold: the warning says so."""
    fresh = clocked(_snapshot({"23734": CLOCK_MS - MINUTE, "23767": CLOCK_MS - 10 * MINUTE,
                               "23749": CLOCK_MS - 10 * MINUTE, "23728": CLOCK_MS - 10 * MINUTE},
                              built_ms=CLOCK_MS - 30_000))
    assert re.search(r'<p class="asof"[^>]*>([^<]+)</p>', fresh).group(1) == "Số liệu đến 11:59 ngày 10/12/2025"
    assert 'class="error stale"' not in fresh
    # automatic reload is off until the viewer turns it on (WCAG 2.2.1: a timed reload the user can stop)
    assert 'http-equiv="refresh"' not in fresh
    assert '<a href="/dashboard/autoreload?on=1&amp;next=/dashboard">Tự động tải lại mỗi 60 giây</a>' in fresh
    assert 'data-order="worst"' in fresh and "feed.kpi" not in fresh  # no topic names for officials
    old = clocked(_snapshot({c: CLOCK_MS - 30 * MINUTE for c, *_rest in ROWS}, built_ms=CLOCK_MS - 29 * MINUTE))
    assert re.search(r'<p class="asof"[^>]*>([^<]+)</p>', old).group(1) == "Số liệu đến 11:30 ngày 10/12/2025"
    warning = re.findall(r'<p class="error stale" role="alert">([^<]+)</p>', old)
    assert len(warning) == 1 and warning[0].startswith("Số liệu chưa được cập nhật trong 30 phút")
    commune = clocked(_snapshot({c: CLOCK_MS - 30 * MINUTE for c, *_rest in ROWS}, built_ms=CLOCK_MS),
                      "/dashboard/communes/23734?month=2025-12")
    assert "Số liệu đến 11:30 ngày 10/12/2025" in commune and 'class="error stale"' in commune


# --- focal contacts --------------------------------------------------------------------------------
OFFICE_B = systems.Contact("Văn phòng HĐND-UBND xã", "0269 3845 123", "vanphong@iaphi.gialai.gov.vn")
OFFICE_C = systems.Contact("Công chức Văn phòng - Thống kê", "0269 3999 000")
HOUR = 60 * MINUTE


def _publisher(sid: str, communes: tuple[str, ...], contact: systems.Contact | None, revoked: int | None = None
               ) -> systems.System:
    return systems.System(sid, frozenset(communes), frozenset({"dossier"}), frozenset(), "h" + sid, 1, revoked,
                          systems.PUBLISHER, contact)


def _li(page: str, kind: str, value: str) -> str:
    match = re.search(rf'<li data-kind="{kind}" data-call="{value}">.*?</li>', page)
    assert match, (kind, value)
    return match.group(0)


def test_each_named_commune_shows_its_focal_contact():
    """23749 is covered by a-none (no contact), b-office and c-office: b-office's contact, the first by id with
    one. 23734's only contact is on a revoked system: none shown. Every card names its commune's contact."""
    known = attention.contacts([
        _publisher("c-office", ("23749",), OFFICE_C), _publisher("a-none", ("23749", "23767"), None),
        _publisher("b-office", ("23749",), OFFICE_B), _publisher("0-old", ("23734",), OFFICE_C, revoked=5),
    ])
    assert known == {"23749": OFFICE_B}
    snap = _snapshot({c: CLOCK_MS for c, *_rest in ROWS}, CLOCK_MS)
    best, _small, _empty = attention.split(province_ranking(snap, "52", "month", "2025-12"), 10)
    waiting = {"overdue": True, "acceptance_deadline": CLOCK_MS - 2 * HOUR, "code_notation": "12/CT-UBND"}
    overdue = [("doc-1", {c: dict(waiting) for c in ("23734", "23749", "23728", "23767")})]
    silent = [{"commune_code": "23749", "source_system": "iaphi-motcua", "kind": "dossier",
               "last_ingest_time": CLOCK_MS - HOUR}]
    page = attention.section(best, (27, 46), overdue, silent, [], CLOCK_MS, known)
    office_b = ('Đầu mối: Văn phòng HĐND-UBND xã · <a href="tel:02693845123">0269 3845 123</a> · '
                '<a href="mailto:vanphong@iaphi.gialai.gov.vn">vanphong@iaphi.gialai.gov.vn</a>')
    assert office_b in _li(page, "commune", "23749") and office_b in _li(page, "silent", "23749")
    assert "Chưa đăng ký đầu mối liên hệ" in _li(page, "commune", "23734")
    assert "Chưa đăng ký đầu mối liên hệ" in _li(page, "commune", "23767")
    # waiting communes sorted by code: 23728, 23734, 23749 shown with their contacts, 23767 counted
    directive = _li(page, "directive", "doc-1")
    assert re.findall(r'<span class="detail contact[^"]*">([^<]+)', directive) == [
        "Xã Ia Khươl — Chưa đăng ký đầu mối liên hệ", "Xã Ia Ly — Chưa đăng ký đầu mối liên hệ",
        "Xã Ia Phí — Đầu mối: Văn phòng HĐND-UBND xã · "]
    assert 'href="tel:02693845123"' in directive and "và 1 xã khác" in directive
    plain = attention.section(best, (27, 46), [], [], [], CLOCK_MS)  # no contacts known: three low communes
    assert "Đầu mối:" not in plain and plain.count("Chưa đăng ký đầu mối liên hệ") == 3
    assert attention.contact_html(systems.Contact(phone="+84 (269) 3845.123")) == (
        '<span class="detail contact">Đầu mối: <a href="tel:+842693845123">+84 (269) 3845.123</a></span>')


def test_the_served_page_shows_the_registered_contact(make_settings):
    """Through a real gateway: a publisher registered with a contact on the systems topic is read by the
    gateway's follower and shown next to its commune in the attention card."""
    s = make_settings(clock="2025-12-10T05:00:00Z")
    systems.add(s, "iaphi-motcua", ["23749"], ["dossier"], contact=OFFICE_B)
    systems.add(s, "ialy-motcua", ["23734"], ["dossier"])
    with _clocked_gateway(s) as show:
        page = show(_snapshot({c: CLOCK_MS for c, *_rest in ROWS}, CLOCK_MS))
    assert 'href="tel:02693845123"' in _li(page, "commune", "23749")
    assert "Chưa đăng ký đầu mối liên hệ" in _li(page, "commune", "23734")


def test_automatic_reload_turns_on_and_off_and_comes_back_to_the_page(clocked):
    snap = _snapshot({c: CLOCK_MS - MINUTE for c, *_rest in ROWS}, built_ms=CLOCK_MS - 30_000)
    page = "/dashboard/communes/23734?month=2025-12"
    assert clocked(snap, f"/dashboard/autoreload?on=1&next={page}", status=303) == page
    on = clocked(snap, page)
    assert '<meta http-equiv="refresh" content="60">' in on
    assert ('<a href="/dashboard/autoreload?on=0&amp;next=/dashboard/communes/23734%3Fmonth%3D2025-12">'
            "Tắt tự động tải lại</a>") in on
    assert '<meta http-equiv="refresh" content="60">' in clocked(snap)  # every page of this browser
    assert clocked(snap, "/dashboard/autoreload?on=0&next=/dashboard", status=303) == "/dashboard"
    assert 'http-equiv="refresh"' not in clocked(snap)
    # only back to a dashboard page of this gateway; a bad switch is a 400 in words
    for elsewhere in ("https://evil.example/", "//evil.example/dashboard", "/dashboard//evil", "/v1/kpi"):
        assert clocked(snap, f"/dashboard/autoreload?on=1&next={elsewhere}", status=303) == "/dashboard"
    assert "Tham số on phải là 1" in clocked(snap, "/dashboard/autoreload?on=yes", status=400)

"""The dashboard's directives (hub issue 23): open and closed apart, overdue and not-accepted communes named, a
page per directive with each commune's timeline, the period filter, and a commune account's view — through a
real broker and gateway whose read model reads directive-reach rows written on feed.directive.v1.

The rows are the reference directive (tests/analytics/datasets.py DIRECTIVE_EVENTS, sent 2025-08-29 15:00 to
five communes) and two more built here, folded by hub.analytics.directives as the worker does and evaluated at
DIRECTIVE_NOW (2025-09-05 12:00 Vietnam time), the gateway's clock too. Expected states come from
tests/analytics/reference.md "Directive dataset" and are written below as literals.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from kafka import KafkaProducer

from hub import systems
from hub.admin import users
from hub.analytics import directives as dr
from hub.analytics.config import AnalyticsConfig
from hub.contract import codec, topics
from hub.gateway.server import ServerThread
from hub.settings import Settings
from hub.testing import wait_for
from tests.analytics.datasets import DIRECTIVE_EVENTS, DIRECTIVE_ID, DIRECTIVE_NOW, directive, status, vn
from tests.gateway.test_dashboard import post_login

CLOSED_ID = "000.00.00.H41,2025/09/01,460/CT-UBND"  # sent 09-01 to Ia Ly and Ia Khươl, both completed by 09-04
OLD_ID = "000.00.00.H41,2025/07/01,300/CT-UBND"  # sent 07-01 to Ia Phí: 66 days before the clock
PASSWORD = "mat-khau-dung-1"
# 460's subject has markup in it (shown as text: escaped); 300's subject is withheld on the document feed
CLOSED_SUBJECT = 'Về việc <b>kiểm tra</b> & báo cáo "số hóa"'
CLOSED_SUBJECT_HTML = "Về việc &lt;b&gt;kiểm tra&lt;/b&gt; &amp; báo cáo &quot;số hóa&quot;"
# reference.md at 2025-09-05 12:00: 23749 accepted late, 23767 never accepted -> overdue; the others in time
EXPECTED = {  # commune: (name, overdue, accepted, status in words)
    "23722": ("Xã Chư Păh", "false", "true", "Đang xử lý"),
    "23728": ("Xã Ia Khươl", "false", "true", "Đang xử lý"),
    "23734": ("Xã Ia Ly", "false", "true", "Đã hoàn thành"),
    "23749": ("Xã Ia Phí", "true", "true", "Đang xử lý (trễ hạn)"),
    "23767": ("Xã Ia Hrung", "true", "false", "Quá hạn: chưa tiếp nhận"),
}


def _other(doc: str, record: dict[str, Any], at: str | None = None) -> dict[str, Any]:
    """A DIRECTIVE_EVENTS-shaped record about another directive (its own event id; sent at ``at``)."""
    number = doc.rpartition(",")[2].partition("/")[0]  # "460" of "...,460/CT-UBND"
    out = {**record, "document_id": doc, "event_id": f"{record['event_id']}-{doc[-10:]}", "code_number": number}
    if at is not None:
        out.update(event_time=vn(at), ingest_time=vn(at) + 2000)
    return out


EVENTS = [
    *DIRECTIVE_EVENTS,
    *(_other(CLOSED_ID, {**directive(c), "subject": CLOSED_SUBJECT}, "2025-09-01 08:00") for c in ("23734", "23728")),
    *(_other(CLOSED_ID, status(c, "COMPLETED", "2025-09-04 10:00")) for c in ("23734", "23728")),
    _other(OLD_ID, {**directive("23749"), "subject": None, "subject_withheld": True}, "2025-07-01 08:00"),
]


def reach_rows(cfg: AnalyticsConfig) -> dict[str, dict[str, Any]]:
    """``doc|commune`` -> the DirectiveReach record the worker would write at DIRECTIVE_NOW."""
    states: dict[str, dict] = {}
    for e in EVENTS:
        for k in dr.route(e, cfg):
            states[k] = dr.merge(states.get(k), e, k)
    return {k: dr.to_avro(dr.row(st, DIRECTIVE_NOW, cfg)) for k, st in states.items() if dr.tracked(st)}


def seed(s: Settings) -> None:
    schema = codec.load(s.schemas_dir).latest(topics.FEED_DIRECTIVE + "-value")
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    try:
        for key, row in reach_rows(AnalyticsConfig.from_settings(s)).items():
            producer.send(s.topic(topics.FEED_DIRECTIVE), key=key.encode(), value=codec.encode(schema, row))
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


@dataclass(frozen=True)
class Served:
    url: str
    reader: str


def clock() -> str:
    return datetime.fromtimestamp(DIRECTIVE_NOW / 1000, UTC).isoformat()


def serve(make_settings) -> Iterator[Served]:
    """A gateway on DIRECTIVE_NOW whose read model holds the three directives; a reader and a commune account."""
    s = make_settings(clock=clock())
    seed(s)
    reader = systems.add(s, "office", role="reader")
    users.add(s, "xa.iahrung", users.COMMUNE, "23767", PASSWORD)
    with ServerThread(s) as srv:
        wait_for(lambda: len(srv.app.state.read_model.snapshot.directive_ids()) == 3, timeout_s=60,
                 what="the three directives in the read model")
        yield Served(srv.url, reader)


@pytest.fixture
def served(make_settings) -> Iterator[Served]:
    yield from serve(make_settings)


@contextlib.contextmanager
def _reader(sv: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sv.url, timeout=30) as client:
        assert post_login(client, sv.reader).status_code == 303
        yield client


def _documents(text: str, section: str) -> list[str]:
    part = text.split(f'<section id="{section}">')[1].split("</section>")[0]
    return re.findall(r'<tr data-document="([^"]+)"', part)


def test_directive_page_names_each_recipient_with_its_state(served):
    with _reader(served) as client:
        page = client.get("/dashboard/directives/000.00.00.H41%2C2025%2F08%2F29%2C456%2FCT-UBND")
        assert page.status_code == 200
        text = page.text
    assert "<h1>Văn bản 456/CT-UBND</h1>" in text and "Đang mở" in text
    articles = re.findall(r'<article class="reach" data-commune="(\d+)" data-overdue="(\w+)" '
                          r'data-accepted="(\w+)" data-done="\w+"><h3><a href="/dashboard/communes/\d+">([^<]+)</a> '
                          r'<span class="state \w+">([^<]+)</span>', text)
    assert {c: (name, overdue, accepted, state) for c, overdue, accepted, name, state in articles} == EXPECTED
    # named, not counted: only Ia Hrung is still overdue (Ia Phí accepted, late) and still not accepted
    assert '<strong>Xã đang quá hạn:</strong> <span class="late">Xã Ia Hrung</span>' in text
    assert '<strong>Xã chưa tiếp nhận:</strong> <span class="waiting">Xã Ia Hrung</span>' in text
    hrung = text.split('data-commune="23767"')[1].split("</article>")[0]
    # sent 08-29 15:00, arrived 15:10; acceptance due Wednesday 09-03 15:00 (the National Day holidays skipped)
    assert '<span class="what">Gửi</span> <time>29/08/2025 15:00</time>' in hrung
    assert '<span class="what">Đến</span> <time>29/08/2025 15:10</time> <span class="due">hạn 29/08/2025 16:00' in hrung
    assert ('<li class="late"><span class="what">Tiếp nhận</span> <time>—</time> <span class="due">hạn 03/09/2025 '
            '15:00</span> <strong class="flag">quá hạn</strong>') in hrung
    # the subject (trích yếu) under the number; the legend says how subjects are scrubbed or withheld
    assert '<h1>Văn bản 456/CT-UBND</h1><p class="subject">Về việc đẩy mạnh số hóa hồ sơ</p>' in text
    assert "văn bản có thể nêu tên công dân thì không hiển thị trích yếu" in text


def test_open_and_closed_apart_and_the_period_filter(served):
    with _reader(served) as client:
        default = client.get("/dashboard/directives")
        wider = client.get("/dashboard/directives?days=90")
        july = client.get("/dashboard/directives?days=&from=2025-07-01&to=2025-07-31")  # as the form sends it
        overview = client.get("/dashboard")
        bad = [client.get(f"/dashboard/directives?{q}") for q in
               ("days=abc", "days=0", "from=2025-02-30", "from=2025-09-05&to=2025-09-01", "to=2025-09-01",
                "days=3&from=2025-09-01")]
    assert default.status_code == wider.status_code == july.status_code == overview.status_code == 200
    # last 30 days by default: the old directive (07-01) is hidden; 460 is closed (both communes completed)
    assert _documents(default.text, "open") == [DIRECTIVE_ID]
    assert _documents(default.text, "closed") == [CLOSED_ID]
    assert "gửi trong 30 ngày qua" in default.text and "<strong>460/CT-UBND</strong>" in default.text
    assert _documents(wider.text, "open") == [DIRECTIVE_ID, OLD_ID]
    assert _documents(july.text, "open") == [OLD_ID] and _documents(july.text, "closed") == []
    assert "gửi từ 01/07/2025 đến 31/07/2025" in july.text
    # the overview lists the open ones with their names and links to the page of each
    assert _documents(overview.text, "directives") == [DIRECTIVE_ID]
    row = overview.text.split(f'<tr data-document="{DIRECTIVE_ID}">')[1].split("</tr>")[0]
    assert 'href="/dashboard/directives/000.00.00.H41%2C2025%2F08%2F29%2C456%2FCT-UBND"' in row
    assert '<td class="late" data-label="Đang quá hạn">Xã Ia Hrung</td>' in row
    assert [b.status_code for b in bad] == [400] * 6
    assert "Tham số days phải là số ngày nguyên từ 1 đến 3660." in bad[0].text
    assert "Tham số from phải là một ngày có dạng YYYY-MM-DD" in bad[2].text
    assert "Ngày bắt đầu (from) phải trước hoặc trùng ngày kết thúc (to)." in bad[3].text


def test_a_commune_account_sees_only_its_own_row(served):
    with httpx.Client(base_url=served.url, timeout=30) as client:
        page = client.get("/dashboard/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        login = client.post("/dashboard/login", data={"username": "xa.iahrung", "password": PASSWORD, "csrf": csrf})
        assert login.status_code == 303
        mine = client.get(f"/dashboard/directives/{DIRECTIVE_ID}")
        other = client.get(f"/dashboard/directives/{CLOSED_ID}")  # sent to Ia Ly and Ia Khươl only
        listing = client.get("/dashboard/directives?days=90")
        missing = client.get("/dashboard/directives/000.00.00.H41,2025/01/01,1/CT-UBND")
    assert mine.status_code == 200
    assert re.findall(r'<article class="reach" data-commune="(\d+)"', mine.text) == ["23767"]
    assert "Xã Ia Ly" not in mine.text and "Xã Ia Phí" not in mine.text
    assert other.status_code == 403 and "không nhận văn bản chỉ đạo này" in other.text
    assert _documents(listing.text, "open") == [DIRECTIVE_ID] and _documents(listing.text, "closed") == []
    assert missing.status_code == 404


def _row(text: str, doc: str) -> str:
    return text.split(f'<tr data-document="{doc}">')[1].split("</tr>")[0]


def test_the_subject_is_shown_escaped_and_a_missing_one_says_so(served):
    with _reader(served) as client:
        listing = client.get("/dashboard/directives?days=90")
        closed = client.get("/dashboard/directives/" + CLOSED_ID.replace("/", "%2F"))
        old = client.get("/dashboard/directives/" + OLD_ID.replace("/", "%2F"))
    assert listing.status_code == closed.status_code == old.status_code == 200
    assert ('<strong>456/CT-UBND</strong></a><p class="subject">Về việc đẩy mạnh số hóa hồ sơ</p>'
            in _row(listing.text, DIRECTIVE_ID))
    assert f'<strong>460/CT-UBND</strong></a><p class="subject">{CLOSED_SUBJECT_HTML}</p>' in _row(listing.text,
                                                                                                   CLOSED_ID)
    assert '<p class="subject none">(không có trích yếu)</p>' in _row(listing.text, OLD_ID)
    assert "<b>kiểm tra</b>" not in listing.text and "<b>kiểm tra</b>" not in closed.text
    assert f'<h1>Văn bản 460/CT-UBND</h1><p class="subject">{CLOSED_SUBJECT_HTML}</p>' in closed.text
    assert '<h1>Văn bản 300/CT-UBND</h1><p class="subject none">(không có trích yếu)</p>' in old.text

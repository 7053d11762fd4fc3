"""Dashboard sessions (signed, expiring, bound to the reader's current key) and the pages over HTTP: login,
cookie attributes, Content-Security-Policy, redirects and refusals."""

from __future__ import annotations

import dataclasses
import re

import httpx
import pytest

from hub import systems
from hub.dashboard.pages import CSP
from hub.dashboard.sessions import Sessions
from hub.gateway.server import ServerThread
from hub.systems import READER, System, SystemsSnapshot
from hub.testing import wait_for

NOW = 1_765_342_800_000  # 2025-12-10 05:00 UTC
READER_SYSTEM = System("office", frozenset(), frozenset(), frozenset(), "ab" * 32, 0, None, READER)


def _systems(*entries: System) -> SystemsSnapshot:
    return SystemsSnapshot.build(entries, province="52")


def test_a_session_names_its_reader_until_it_expires():
    """A token issued to a reader is accepted until HUB_SESSION_HOURS have passed, then refused."""
    sessions = Sessions("s3cret", hours=12)
    token = sessions.issue(READER_SYSTEM, NOW)
    assert sessions.check(token, _systems(READER_SYSTEM), NOW + 1000) == READER_SYSTEM
    assert sessions.check(token, _systems(READER_SYSTEM), NOW + 12 * 3_600_000) is None


def test_forged_revoked_and_rekeyed_sessions_are_refused():
    """A changed token, another secret, a revoked reader, a new key for the reader or a publisher: refused."""
    sessions = Sessions("s3cret", hours=12)
    token = sessions.issue(READER_SYSTEM, NOW)
    body, signature = token.split(".")
    forged = Sessions("other", hours=12).issue(READER_SYSTEM, NOW)
    for bad in (body + "x." + signature, forged, "", "a.b.c", "not-a-token"):
        assert sessions.check(bad, _systems(READER_SYSTEM), NOW) is None
    revoked = dataclasses.replace(READER_SYSTEM, revoked_at=NOW - 1)
    rekeyed = dataclasses.replace(READER_SYSTEM, key_hash="cd" * 32)
    publisher = dataclasses.replace(READER_SYSTEM, role="publisher")
    for changed in (revoked, rekeyed, publisher):
        assert sessions.check(token, _systems(changed), NOW) is None
    assert sessions.check(token, _systems(), NOW) is None


def form_token(client) -> str:
    """GET the login form (it sets the hub_login cookie in the client) and return its CSRF field."""
    page = client.get("/dashboard/login")
    assert page.status_code == 200 and "hub_login=" in page.headers["set-cookie"]
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def post_login(client, key: str, **extra: str):
    return client.post("/dashboard/login", data={"key": key, "csrf": form_token(client), **extra})


@pytest.fixture
def served(make_settings):
    """A gateway with a reader and a publisher, its read model caught up with the (empty) feeds."""
    s = make_settings()
    reader = systems.add(s, "office", role="reader")
    publisher = systems.add(s, "ialy", ["23734"], ["dossier"])
    with ServerThread(s) as srv:
        wait_for(lambda: srv.app.state.read_model.snapshot.caught_up, timeout_s=60, what="read model caught up")
        yield srv, reader, publisher


def test_login_sets_a_strict_http_only_cookie_and_opens_the_pages(served):
    """Without a session: 303 to the login form. With the reader key: a HttpOnly, SameSite=Strict cookie that
    opens the province and commune pages, served with the Content-Security-Policy; logout ends it."""
    srv, reader, _publisher = served
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        first = client.get("/dashboard/communes/23734?month=2025-11")
        assert first.status_code == 303
        assert first.headers["location"] == "/dashboard/login?next=/dashboard/communes/23734%3Fmonth%3D2025-11"
        login = post_login(client, reader, next="/dashboard/communes/23734")
        assert login.status_code == 303 and login.headers["location"] == "/dashboard/communes/23734"
        cookie = login.headers["set-cookie"]
        assert cookie.startswith("hub_session=") and reader not in cookie
        assert {"HttpOnly", "Path=/dashboard", "SameSite=strict"} <= {p.strip() for p in cookie.split(";")}
        assert "Secure" not in cookie  # plain http here; https sets it
        page = client.get("/dashboard")
        assert page.status_code == 200 and page.headers["content-security-policy"] == CSP
        assert "Tỉnh Gia Lai" in page.text and "Tỷ lệ giải quyết hồ sơ đúng hạn" in page.text
        assert "Chỉ tiêu và giải ngân — năm" in page.text and "Chưa có chỉ tiêu nào được giao" in page.text
        commune = client.get("/dashboard/communes/23734")
        assert commune.status_code == 200 and "Xã Ia Ly" in commune.text
        assert client.get("/dashboard?month=2025-13").status_code == 400
        assert client.get("/dashboard/communes/00004").status_code == 404  # a ward of Hà Nội
        css = client.get("/dashboard/static/dashboard.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert client.get("/dashboard/static/../pages.py").status_code == 404
        logout_csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        assert client.post("/dashboard/logout", data={"csrf": logout_csrf}).status_code == 303
        assert client.get("/dashboard").status_code == 303


def test_wrong_keys_and_foreign_redirects_are_refused(served):
    """An unknown key is 401 and a publisher key 403 (no cookie either way); `next` never leaves /dashboard."""
    srv, reader, publisher = served
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        unknown = post_login(client, "hubk_" + "Q" * 43)
        assert unknown.status_code == 401 and "hub_session" not in unknown.headers.get("set-cookie", "")
        refused = post_login(client, publisher)
        assert refused.status_code == 403 and "hub_session" not in refused.headers.get("set-cookie", "")
        away = post_login(client, reader, next="https://example.org/")
        assert away.status_code == 303 and away.headers["location"] == "/dashboard"
        for elsewhere in ("//example.org/dashboard", "/dashboard//example.org", "/v1/kpi/province"):
            assert post_login(client, reader, next=elsewhere).headers["location"] == "/dashboard"
        # a page with its parameters is a dashboard page: the login returns to it as it was
        kept = post_login(client, reader, next="/dashboard?month=2025-11&order=best")
        assert kept.status_code == 303 and kept.headers["location"] == "/dashboard?month=2025-11&order=best"


def test_login_before_the_systems_list_is_read_is_503_not_a_bad_key(make_settings):
    """Until the systems list has been read every key looks unknown: the form says "try later" (503), not 401."""
    from fastapi.testclient import TestClient

    from hub.gateway.app import create_app

    app = create_app(make_settings(create_topics=False))  # no lifespan: the systems follower never starts
    assert app.state.systems.loaded is False
    client = TestClient(app, follow_redirects=False)
    for key in ("hubk_" + "Q" * 43, "not-a-hub-key"):  # the second is refused without any re-read
        answer = post_login(client, key)
        assert answer.status_code == 503 and "hub_session" not in answer.headers.get("set-cookie", "")
        assert "thử lại sau" in answer.text


def test_a_day_at_zero_percent_has_a_bar_and_a_day_without_data_is_marked_apart():
    """The review: "days at 0 % show no bar". 0/4 on time is a result (a stub of the bar's colour, 2 of 100
    units high); a day with no row is a grey mark of class nodata."""
    from hub.dashboard.html import daily_chart

    day = 20_400  # 2025-11-08 (days since 1970-01-01)
    chart = daily_chart([(day, {"timeliness_rate": 0.0, "dossiers_on_time": 0, "dossiers_in_scope": 4}),
                         (day + 1, None),
                         (day + 2, {"timeliness_rate": 0.5, "dossiers_on_time": 1, "dossiers_in_scope": 2})])
    bars = re.findall(r'<rect class="day" x="([\d.]+)" y="([\d.]+)" width="7" height="([\d.]+)"><title>([^<]+)',
                      chart)
    assert bars == [("1.5", "98.0", "2.0", "08/11/2025: 0,0% (0/4)"),
                    ("21.5", "50.0", "50.0", "10/11/2025: 50,0% (1/2)")]
    assert re.findall(r'<rect class="nodata" x="(\d+)"[^>]*><title>([^<]+)', chart) == [
        ("12", "09/11/2025: không có dữ liệu")]

"""People's accounts through a real gateway and broker: login with a name and a password, the session cookie,
wrong passwords and the rate limit, what a commune account may open, disable, reset and logout."""

from __future__ import annotations

import re

import httpx
import pytest

from hub import systems
from hub.admin import users
from hub.gateway.server import ServerThread
from hub.testing import wait_for

PASSWORD = "mat-khau-dung-1"
OWN, OTHER_COMMUNE = "23734", "23728"  # Ia Ly and another commune of Gia Lai (52)


@pytest.fixture
def served(make_settings):
    """A gateway (3 failed logins allowed per 300 s) with a province and a commune account, read model caught up."""
    s = make_settings(login_max_failures=3, login_window_s=300)
    users.add(s, "tinh", users.PROVINCE, None, PASSWORD)
    users.add(s, "xa.ialy", users.COMMUNE, OWN, PASSWORD)
    reader = systems.add(s, "office", role="reader")
    with ServerThread(s) as srv:
        wait_for(lambda: srv.app.state.read_model.snapshot.caught_up, timeout_s=60, what="read model caught up")
        yield srv, s, reader


def _client(srv) -> httpx.Client:
    return httpx.Client(base_url=srv.url, follow_redirects=False, timeout=30)


def _login(client: httpx.Client, name: str, password: str, next_path: str = "/dashboard") -> httpx.Response:
    page = client.get("/dashboard/login")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/dashboard/login", data={"username": name, "password": password, "csrf": csrf,
                                                  "next": next_path})


def _session(client: httpx.Client) -> str:
    return client.cookies.get("hub_session", path="/dashboard")


def test_a_person_logs_in_with_name_and_password_and_the_cookie_opens_the_dashboard(served):
    srv, _s, _reader = served
    with _client(srv) as client:
        answer = _login(client, "tinh", PASSWORD, next_path=f"/dashboard/communes/{OTHER_COMMUNE}")
        assert answer.status_code == 303 and answer.headers["location"] == f"/dashboard/communes/{OTHER_COMMUNE}"
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
        assert PASSWORD not in cookie and "argon2" not in cookie
        assert client.get("/dashboard").status_code == 200
        assert client.get(f"/dashboard/communes/{OTHER_COMMUNE}").status_code == 200  # province: every commune


def test_a_reader_key_still_logs_in_from_the_same_form(served):
    srv, _s, reader = served
    with _client(srv) as client:
        page = client.get("/dashboard/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        assert 'name="username"' in page.text and 'name="password"' in page.text and 'name="key"' in page.text
        answer = client.post("/dashboard/login", data={"username": "", "password": "", "key": reader, "csrf": csrf,
                                                       "next": "/dashboard"})
        assert answer.status_code == 303
        assert client.get("/dashboard").status_code == 200


def test_wrong_passwords_are_401_then_429_with_when_to_retry(served):
    srv, _s, _reader = served
    with _client(srv) as client:
        for _ in range(3):  # HUB_LOGIN_MAX_FAILURES=3 in this fixture
            wrong = _login(client, "tinh", "not-the-password")
            assert wrong.status_code == 401 and "hub_session" not in wrong.headers.get("set-cookie", "")
        limited = _login(client, "tinh", PASSWORD)  # even the right password: the account is cooling down
        assert limited.status_code == 429
        retry = int(limited.headers["retry-after"])
        assert 1 <= retry <= 301  # the window is 300 s
        assert f"thử lại sau {retry} giây" in limited.text
        assert _session(client) is None


def test_unknown_names_from_one_address_are_limited_too(served):
    srv, _s, _reader = served
    with _client(srv) as client:
        for name in ("a1", "a2", "a3"):  # three different names, one address (127.0.0.1)
            assert _login(client, name, "whatever-password").status_code == 401
        assert _login(client, "xa.ialy", PASSWORD).status_code == 429


def test_a_commune_account_sees_the_ranking_and_its_commune_only(served):
    srv, _s, _reader = served
    with _client(srv) as client:
        assert _login(client, "xa.ialy", PASSWORD).status_code == 303
        assert client.get("/dashboard").status_code == 200  # the province ranking
        assert client.get(f"/dashboard/communes/{OWN}").status_code == 200
        assert client.get(f"/dashboard/communes/{OTHER_COMMUNE}").status_code == 403
        # A machine route with the session (a browser would not even send it: Path=/dashboard): 403, not 401.
        machine = httpx.get(f"{srv.url}/v1/kpi/province", headers={"Cookie": f"hub_session={_session(client)}"})
        assert machine.status_code == 403 and machine.json()["error"] == "role_not_allowed"


def test_disabling_an_account_refuses_its_open_session_at_the_next_request(served):
    srv, s, _reader = served
    with _client(srv) as client:
        assert _login(client, "xa.ialy", PASSWORD).status_code == 303
        assert client.get(f"/dashboard/communes/{OWN}").status_code == 200
        users.disable(s, "xa.ialy")
        refused = client.get(f"/dashboard/communes/{OWN}")
        assert refused.status_code == 303 and refused.headers["location"].startswith("/dashboard/login")
        assert _login(client, "xa.ialy", PASSWORD).status_code == 401  # and it cannot log in again


def test_a_password_reset_ends_the_sessions_of_the_old_password(served):
    srv, s, _reader = served
    with _client(srv) as client:
        assert _login(client, "tinh", PASSWORD).status_code == 303
        users.reset(s, "tinh", "mat-khau-moi-22")
        assert client.get("/dashboard").status_code == 303


def test_logout_ends_the_session_on_the_server(served):
    srv, _s, _reader = served
    with _client(srv) as client:
        assert _login(client, "tinh", PASSWORD).status_code == 303
        kept = _session(client)
        page = client.get("/dashboard")
        assert page.status_code == 200
        logout_csrf = re.search(r'action="/dashboard/logout".*?name="csrf" value="([^"]+)"', page.text).group(1)
        assert client.post("/dashboard/logout", data={"csrf": logout_csrf}).status_code == 303
    with _client(srv) as replay:
        replay.cookies.set("hub_session", kept, path="/dashboard")
        refused = replay.get("/dashboard")
        assert refused.status_code == 303 and refused.headers["location"].startswith("/dashboard/login")

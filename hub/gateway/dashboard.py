"""``GET /dashboard``: the provincial office's page, server-rendered from the read model.

Login: a form takes a **reader key** (``hub systems add --id NAME --role reader``); the gateway
checks it like a Bearer key and answers with a session cookie. The cookie holds a signed
session, not the key: ``base64url({"sid": system id, "kh": 16 hex of the key's hash, "jti": session id,
"iat": ms, "exp": ms})`` and its HMAC-SHA256 under ``HUB_SESSION_KEY`` (random per process when unset). Why not the key:
a reader key is a long-lived credential that also opens the JSON read API; a session cookie
expires (``HUB_SESSION_HOURS``), works only on ``/dashboard`` and cannot be replayed as a Bearer
key. Every request re-checks the session against the systems list, so revoking the reader — or
re-registering it with a new key — ends its sessions at once. The cookie is ``HttpOnly``,
``SameSite=Strict``, ``Path=/dashboard`` and ``Secure`` when the page is served over https.
Logout revokes the session id in this gateway process (a kept cookie is refused afterwards; behind
several gateways the others still accept it until it expires — keep HUB_SESSION_HOURS short there).
The login and logout forms carry CSRF tokens (see :class:`Sessions`).

Pages make no external request: a Content-Security-Policy allows only this server's stylesheet
and icon (no script at all), and every chart is inline SVG.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import re
import secrets
import time
from importlib import resources
from urllib.parse import parse_qs, quote

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub import log, reference
from hub.analytics import periods as pr
from hub.analytics import targets as tg
from hub.errors import TransientError
from hub.gateway import auth, dashboard_targets, login_page
from hub.gateway import dashboard_attention as attention
from hub.gateway import dashboard_directives as directives
from hub.gateway import dashboard_html as html
from hub.gateway.limits import read_body
from hub.gateway.read_model import FeedSnapshot
from hub.gateway.read_queries import overdue_directives, province_ranking, silent_systems, targets_today
from hub.systems import READER, System
from hub.users import User

router = APIRouter(include_in_schema=False, dependencies=[Depends(auth.follow_users)])  # people: hub.users
COOKIE = "hub_session"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
# Where a login may return to: the overview or a commune (a month), a directive list or page; nothing else.
_NEXT = re.compile(r"^/dashboard((/communes/[0-9]{5})?(\?month=[0-9]{4}-[0-9]{2})?"
                   r"|/directives(/[A-Za-z0-9.,/%-]{1,200})?)$")
_MAX_FORM = 4096
LOGIN_COOKIE = "hub_login"  # the login form's CSRF nonce (see Sessions)
LOGIN_TTL_S = 1800  # how long a login form stays usable
MAX_REVOKED = 50_000  # logged-out session ids remembered at most (~100 bytes each)
_STATIC = {"dashboard.css": "text/css; charset=utf-8", "icon.svg": "image/svg+xml"}


# --- sessions ------------------------------------------------------------------------------------
class Sessions:
    """Signed, expiring session tokens bound to a reader system and its current key; logout revokes one.

    Also the login form's CSRF token: the form page sets a random pre-login cookie (``hub_login``,
    SameSite=Strict, LOGIN_TTL_S) and carries ``HMAC(key, "login|" + cookie)`` in a hidden field; the POST
    needs both. A cross-site page can post a form to the gateway but cannot read the field nor make the
    browser send the Strict cookie with it, so it cannot log a victim in under the attacker's key. The logout
    form carries ``HMAC(key, "logout|" + session id)`` the same way.
    """

    def __init__(self, secret: str, hours: int, *, max_revoked: int = MAX_REVOKED) -> None:
        self._key = secret.encode() if secret else secrets.token_bytes(32)
        self.max_age_s = hours * 3600
        self.max_revoked = max_revoked
        self._revoked: dict[str, int] = {}  # session id -> its expiry (ms): refused until then
        self._expiries: list[tuple[int, str, str, int]] = []  # heap of (exp, jti, sid, iat) to prune in order
        self._cutoff: dict[str, int] = {}  # system id -> sessions issued at or before this (ms) are refused

    def _mac(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest())

    def issue(self, system: System, now_ms: int | None = None) -> str:
        now_ms = _now_ms() if now_ms is None else now_ms
        payload = orjson.dumps({"sid": system.id, "kh": system.key_hash[:16], "jti": secrets.token_urlsafe(12),
                                "iat": now_ms, "exp": now_ms + self.max_age_s * 1000})
        return f"{_b64(payload)}.{self._mac(payload)}"

    def claims(self, token: str | None, now_ms: int | None = None) -> dict | None:
        """The claims of a genuine, unexpired, not revoked token (whatever the systems list says)."""
        if not token or len(token) > 512 or token.count(".") != 1:
            return None
        body, signature = token.split(".")
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            return None
        if not hmac.compare_digest(self._mac(payload), signature):
            return None
        try:
            claims = orjson.loads(payload)
            sid, jti, iat, exp = claims["sid"], claims["jti"], int(claims["iat"]), int(claims["exp"])
        except (ValueError, KeyError, TypeError):
            return None
        now_ms = _now_ms() if now_ms is None else now_ms
        if (exp <= now_ms or not isinstance(sid, str) or not isinstance(jti, str) or jti in self._revoked
                or iat <= self._cutoff.get(sid, -1)):
            return None
        return claims

    def check(self, token: str | None, systems, now_ms: int | None = None) -> System | None:
        """The active reader a token was issued to; None when forged, expired, logged out, revoked or re-keyed."""
        claims = self.claims(token, now_ms)
        if claims is None:
            return None
        system = systems.get(claims["sid"])
        if (system is None or not system.active or system.role != READER
                or not hmac.compare_digest(system.key_hash[:16], str(claims.get("kh")))):
            return None
        return system

    def revoke(self, claims: dict, now_ms: int | None = None) -> None:
        """End a session server-side: its cookie is refused from now on, in this gateway process.

        The list holds at most ``max_revoked`` ids and drops each once its session would have expired
        anyway. Full with live entries (an insider logging in and out thousands of times a day), the entry
        nearest its expiry gives way to a cut-off for its system: sessions of that reader issued up to
        that one's are refused — more sessions end than asked for, none comes back to life.
        """
        now_ms = _now_ms() if now_ms is None else now_ms
        while self._expiries and self._expiries[0][0] <= now_ms:
            self._revoked.pop(heapq.heappop(self._expiries)[1], None)
        if len(self._revoked) >= self.max_revoked:
            _exp, jti, sid, iat = heapq.heappop(self._expiries)
            self._revoked.pop(jti, None)
            self._cutoff[sid] = max(self._cutoff.get(sid, -1), iat)
        self._revoked[claims["jti"]] = int(claims["exp"])
        heapq.heappush(self._expiries, (int(claims["exp"]), claims["jti"], claims["sid"], int(claims["iat"])))

    def revoked_count(self) -> int:
        return len(self._revoked)

    # --- CSRF ----------------------------------------------------------------------------------------
    def login_nonce(self, now_ms: int | None = None) -> str:
        """The pre-login cookie's value: random, with its expiry."""
        now_ms = _now_ms() if now_ms is None else now_ms
        return f"{secrets.token_urlsafe(16)}.{now_ms + LOGIN_TTL_S * 1000}"

    def login_field(self, nonce: str) -> str:
        return self._mac(b"login|" + nonce.encode())

    def login_ok(self, nonce: str | None, field: str, now_ms: int | None = None) -> bool:
        if not nonce or len(nonce) > 128 or not field:
            return False
        expiry = nonce.rpartition(".")[2]
        now_ms = _now_ms() if now_ms is None else now_ms
        return expiry.isdigit() and int(expiry) > now_ms and hmac.compare_digest(self.login_field(nonce), field)

    def logout_field(self, claims: dict) -> str:
        return self._mac(b"logout|" + str(claims["jti"]).encode())


def _now_ms() -> int:
    return int(time.time() * 1000)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- helpers -------------------------------------------------------------------------------------
def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _viewer(request: Request) -> System | User | None:
    sessions, token = request.app.state.sessions, request.cookies.get(COOKIE)
    system = auth.session_viewer(request, token)  # a reader system or a person (hub.users)
    if system is not None:
        html.LOGOUT_TOKEN.set(sessions.logout_field(sessions.claims(token)))
    return system


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    next_path = target if _NEXT.match(target) else "/dashboard"
    return RedirectResponse(f"/dashboard/login?next={quote(next_path, safe='/')}", status_code=303, headers=HEADERS)


class _Refused(Exception):
    """A page that cannot be shown: the response that says why."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _context(request: Request, month: str | None) -> tuple[pr.Period, FeedSnapshot]:
    """The month asked for (default: the current one by the hub's clock) and the read model's snapshot."""
    if _viewer(request) is None:
        raise _Refused(_to_login(request))
    try:
        period = pr.containing("month", request.app.state.now()) if month is None else pr.parse("month", month)
    except pr.PeriodError:
        raise _Refused(_html(html.message("Tháng không hợp lệ", "Tham số month phải có dạng YYYY-MM."), 400)) \
            from None
    snap = request.app.state.read_model.snapshot
    if not snap.caught_up:
        raise _Refused(_html(html.message("Chưa sẵn sàng", "Hub đang đọc số liệu từ các luồng dữ liệu; vui lòng "
                                          "tải lại trang sau ít giây."), 503))
    return period, snap


# --- pages ---------------------------------------------------------------------------------------
def _top(settings, snap: FeedSnapshot, rows, now_ms: int, silent: int) -> str:
    """The data time of ``rows`` and the stale / stopped-source warnings (dashboard_attention.as_of_line)."""
    stale_ms = attention.stale_after_ms(settings.kpi_refresh_s, settings.read_model_interval_ms)
    return attention.as_of_line(attention.data_as_of(snap.built_ms, rows), now_ms, stale_ms, silent)


@router.get("/dashboard")
async def dashboard(request: Request, month: str | None = None, order: str | None = None) -> Response:
    try:
        period, snap = _context(request, month)
    except _Refused as refused:
        return refused.response
    settings, now = request.app.state.settings, request.app.state.now()
    worst = order != "best"  # worst first unless asked: the page is for finding who needs a call
    ranked = province_ranking(snap, settings.province, "month", period.at)
    best, small, empty = attention.split(ranked, settings.kpi_min_volume)
    places = {c.code: n for n, (c, _r) in enumerate(best, 1)}
    shown = attention.worst_first(best) if worst else best
    average = attention.province_average(r for _c, r in ranked)
    year = target_year(snap, now)
    target_rows = targets_today(snap, year, now, tg.TargetConfig.from_settings(settings))
    overdue, silent = overdue_directives(snap), silent_systems(snap)
    behind = sorted((r for r in target_rows if r["status"] == "behind"), key=tg.attention_key)
    # The data time: the rows on the page, and the current month's (the worker rewrites those every
    # HUB_KPI_REFRESH_S, so they say whether it is still running even when a past month is shown).
    current = snap.kpi_period("month", pr.containing("month", now).at).values()
    rows = [*(r for _c, r in ranked), *current, *snap.freshness_rows(),
            *(r for _doc, recipients in overdue for r in recipients.values())]
    top = _top(settings, snap, rows, now, len(silent)) + attention.section(best, average, overdue, silent, behind,
                                                                           now)
    ranking_html = html.ranking([(places[c.code], c, r) for c, r in shown], small, empty, average,
                                worst_first=worst, min_volume=settings.kpi_min_volume)
    return _html(html.province(
        reference.provinces().get(settings.province, settings.province), period, top=top,
        ranking_html=ranking_html, ranked_count=len(best), total=len(ranked), overdue=overdue, silent=silent,
        now_ms=now, targets=dashboard_targets.section(year, target_rows), worst_first=worst,
        refresh_s=settings.dashboard_refresh_s, directives=directives.section(request, snap, now)))


def target_year(snap: FeedSnapshot, now_ms: int) -> int:
    """The plan year the targets section shows: the current one (Vietnam calendar) once it has rows; before
    that (early January, nothing assigned yet) the latest earlier year that has some."""
    current = pr.civil_from_days(pr.vn_day(now_ms))[0]
    return next((y for y in snap.target_years() if y <= current), current)


@router.get("/dashboard/communes/{code}")
async def commune_page(request: Request, code: str, month: str | None = None) -> Response:
    try:
        period, snap = _context(request, month)
    except _Refused as refused:
        return refused.response
    if not auth.may_see_commune(request, code):  # a commune account: its own commune only
        return _html(html.message("Không có quyền", "Tài khoản của xã chỉ xem được trang của xã mình."), 403)
    unit = reference.communes().get(code)
    if unit is None or unit.province_code != request.app.state.settings.province:
        return _html(html.message("Không tìm thấy", "Mã xã không thuộc tỉnh này."), 404)
    now = request.app.state.now()
    today = pr.vn_day(now)
    days = [(day, snap.kpi_row("day", pr.containing("day", pr.day_start(day)).at, code))
            for day in range(today - 29, today + 1)]  # the last 30 days, today included
    row, fresh = snap.kpi_row("month", period.at, code), snap.freshness_row(code)
    silent = sum(1 for s in (fresh or {}).get("systems") or () if s.get("silent"))
    current = snap.kpi_row("month", pr.containing("month", now).at, code)
    top = _top(request.app.state.settings, snap, [row, current, fresh, *(d for _day, d in days)], now, silent)
    return _html(html.commune(unit, period, row, days, fresh, top=top,
                              refresh_s=request.app.state.settings.dashboard_refresh_s))


# --- login / logout ------------------------------------------------------------------------------
def _login_page(request: Request, error: str | None, next_path: str, status: int = 200) -> Response:
    """The login form with a fresh CSRF pair: the nonce in a Strict cookie, its MAC in a hidden field."""
    sessions = request.app.state.sessions
    nonce = sessions.login_nonce()
    response = _html(login_page.render(error, next_path, csrf=sessions.login_field(nonce)), status)
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=LOGIN_TTL_S, path="/dashboard", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


def _form(body: bytes) -> dict[str, str]:
    form = parse_qs(body[:_MAX_FORM].decode("utf-8", "replace"), max_num_fields=5)
    return {name: values[0] for name, values in form.items()}


@router.get("/dashboard/login")
async def login_form(request: Request, next_path: str | None = Query(None, alias="next")) -> Response:
    return _login_page(request, None, next_path if next_path and _NEXT.match(next_path) else "/dashboard")


@router.post("/dashboard/login")
async def login(request: Request) -> Response:
    body = await read_body(request, _MAX_FORM, "the login form's size")
    form = _form(body)
    key = form.get("key", "").strip()
    next_path = form.get("next", "/dashboard")
    next_path = next_path if _NEXT.match(next_path) else "/dashboard"
    sessions = request.app.state.sessions
    if not sessions.login_ok(request.cookies.get(LOGIN_COOKIE), form.get("csrf", "")):
        # Checked first: a forged cross-site post learns nothing about the key it carries.
        log.get().info("dashboard_login_refused", reason="csrf")
        return _login_page(request, "Biểu mẫu đăng nhập đã hết hạn hoặc không gửi từ trang này; vui lòng nhập "
                                    "lại khóa.", next_path, 403)
    if form.get("username", "").strip():  # a person (hub.users); otherwise a reader key
        return await auth.person_login(request, form, next_path)
    keys = request.app.state.keys
    try:
        if not keys.follower.loaded:  # every key would look unknown: say "later", not "bad key"
            raise TransientError("the systems list has not been read yet")
        system = await keys.system(key) if key else None
    except TransientError:
        return _login_page(request, "Hub chưa đọc được danh sách hệ thống; vui lòng thử lại sau.", next_path, 503)
    if system is None:
        log.get().info("dashboard_login_refused", reason="unauthorized")
        return _login_page(request, "Khóa không hợp lệ hoặc đã bị thu hồi.", next_path, 401)
    if system.role != READER:
        log.get().info("dashboard_login_refused", reason="role_not_allowed", source_system=system.id)
        return _login_page(request, "Khóa này thuộc một hệ thống gửi dữ liệu; trang điều hành cần khóa đọc.",
                           next_path, 403)
    response = RedirectResponse(next_path, status_code=303, headers=HEADERS)
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, sessions.issue(system), max_age=sessions.max_age_s, path="/dashboard",
                        httponly=True, samesite="strict", secure=secure)
    response.delete_cookie(LOGIN_COOKIE, path="/dashboard", httponly=True, samesite="strict", secure=secure)
    log.get().info("dashboard_login", source_system=system.id)
    return response


@router.post("/dashboard/logout")
async def logout(request: Request) -> Response:
    """Ends the session server-side (its cookie is refused afterwards, even if kept) and clears the cookie;
    a post without the page's logout token (a cross-site form) changes nothing."""
    form = _form(await read_body(request, _MAX_FORM, "the logout form's size"))
    sessions = request.app.state.sessions
    claims = sessions.claims(request.cookies.get(COOKIE))
    if claims is not None:
        if not hmac.compare_digest(sessions.logout_field(claims), form.get("csrf", "")):
            log.get().info("dashboard_logout_refused", reason="csrf", source_system=claims["sid"])
            return _html(html.message("Không đăng xuất được", "Yêu cầu đăng xuất không gửi từ trang này."), 403)
        sessions.revoke(claims)
        log.get().info("dashboard_logout", source_system=claims["sid"])
    response = RedirectResponse("/dashboard/login", status_code=303, headers=HEADERS)
    response.delete_cookie(COOKIE, path="/dashboard", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response


@router.get("/dashboard/static/{name}")
async def static(name: str) -> Response:
    media_type = _STATIC.get(name)
    if media_type is None:
        return _html(html.message("Không tìm thấy", "Không có tệp này."), 404)
    content = resources.files("hub.gateway").joinpath("static", name).read_bytes()
    return Response(content, media_type=media_type,
                    headers={**HEADERS, "Cache-Control": "public, max-age=3600"})

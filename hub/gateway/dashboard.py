"""``GET /dashboard``: the provincial office's page, server-rendered from the read model.

Login: a form takes a **reader key** (``hub systems add --id NAME --role reader``); the gateway
checks it like a Bearer key and answers with a session cookie. The cookie holds a signed
session, not the key: ``base64url({"sid": system id, "kh": 16 hex of the key's hash, "exp": ms})``
and its HMAC-SHA256 under ``HUB_SESSION_KEY`` (random per process when unset). Why not the key:
a reader key is a long-lived credential that also opens the JSON read API; a session cookie
expires (``HUB_SESSION_HOURS``), works only on ``/dashboard`` and cannot be replayed as a Bearer
key. Every request re-checks the session against the systems list, so revoking the reader — or
re-registering it with a new key — ends its sessions at once. The cookie is ``HttpOnly``,
``SameSite=Strict``, ``Path=/dashboard`` and ``Secure`` when the page is served over https.

Pages make no external request: a Content-Security-Policy allows only this server's stylesheet
and icon (no script at all), and every chart is inline SVG.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from importlib import resources
from urllib.parse import parse_qs, quote

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub import log, reference
from hub.analytics import periods as pr
from hub.analytics import targets as tg
from hub.errors import TransientError
from hub.gateway import dashboard_html as html
from hub.gateway import dashboard_targets
from hub.gateway.limits import read_body
from hub.gateway.read_model import FeedSnapshot
from hub.gateway.read_queries import overdue_directives, province_ranking, silent_systems, targets_today
from hub.systems import READER, System

router = APIRouter(include_in_schema=False)
COOKIE = "hub_session"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
_NEXT = re.compile(r"^/dashboard(/communes/[0-9]{5})?(\?month=[0-9]{4}-[0-9]{2})?$")
_MAX_FORM = 4096
_STATIC = {"dashboard.css": "text/css; charset=utf-8", "icon.svg": "image/svg+xml"}


# --- sessions ------------------------------------------------------------------------------------
class Sessions:
    """Signed, expiring session tokens bound to a reader system and its current key."""

    def __init__(self, secret: str, hours: int) -> None:
        self._key = secret.encode() if secret else secrets.token_bytes(32)
        self.max_age_s = hours * 3600

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest())

    def issue(self, system: System, now_ms: int | None = None) -> str:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        payload = orjson.dumps({"sid": system.id, "kh": system.key_hash[:16], "exp": now_ms + self.max_age_s * 1000})
        return f"{_b64(payload)}.{self._sign(payload)}"

    def check(self, token: str | None, systems, now_ms: int | None = None) -> System | None:
        """The active reader a token was issued to; None when forged, expired, revoked or re-keyed."""
        if not token or len(token) > 512 or token.count(".") != 1:
            return None
        body, signature = token.split(".")
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            return None
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            claims = orjson.loads(payload)
            sid, kh, exp = claims["sid"], claims["kh"], int(claims["exp"])
        except (ValueError, KeyError, TypeError):
            return None
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        system = systems.get(sid) if isinstance(sid, str) else None
        if (exp <= now_ms or system is None or not system.active or system.role != READER
                or not hmac.compare_digest(system.key_hash[:16], str(kh))):
            return None
        return system


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- helpers -------------------------------------------------------------------------------------
def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _viewer(request: Request) -> System | None:
    return request.app.state.sessions.check(request.cookies.get(COOKIE), request.app.state.systems.snapshot)


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
@router.get("/dashboard")
async def dashboard(request: Request, month: str | None = None) -> Response:
    try:
        period, snap = _context(request, month)
    except _Refused as refused:
        return refused.response
    settings, now = request.app.state.settings, request.app.state.now()
    ranked = province_ranking(snap, settings.province, "month", period.at)
    year = target_year(snap, now)
    targets = dashboard_targets.section(year, targets_today(snap, year, now, tg.TargetConfig.from_settings(settings)))
    return _html(html.province(reference.provinces().get(settings.province, settings.province), period, ranked,
                               overdue_directives(snap), silent_systems(snap), now, targets))


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
    unit = reference.communes().get(code)
    if unit is None or unit.province_code != request.app.state.settings.province:
        return _html(html.message("Không tìm thấy", "Mã xã không thuộc tỉnh này."), 404)
    now = request.app.state.now()
    today = pr.vn_day(now)
    days = [(day, snap.kpi_row("day", pr.containing("day", pr.day_start(day)).at, code))
            for day in range(today - 29, today + 1)]  # the last 30 days, today included
    return _html(html.commune(unit, period, snap.kpi_row("month", period.at, code), days,
                              snap.freshness_row(code), now))


# --- login / logout ------------------------------------------------------------------------------
@router.get("/dashboard/login")
async def login_form(request: Request, next_path: str | None = Query(None, alias="next")) -> Response:
    return _html(html.login(next_path=next_path if next_path and _NEXT.match(next_path) else "/dashboard"))


@router.post("/dashboard/login")
async def login(request: Request) -> Response:
    body = await read_body(request)
    form = parse_qs(body[:_MAX_FORM].decode("utf-8", "replace"), max_num_fields=4)
    key = (form.get("key") or [""])[0].strip()
    next_path = (form.get("next") or ["/dashboard"])[0]
    next_path = next_path if _NEXT.match(next_path) else "/dashboard"
    keys = request.app.state.keys
    try:
        if not keys.follower.loaded:  # every key would look unknown: say "later", not "bad key"
            raise TransientError("the systems list has not been read yet")
        system = await keys.system(key) if key else None
    except TransientError:
        return _html(html.login("Hub chưa đọc được danh sách hệ thống; vui lòng thử lại sau.", next_path), 503)
    if system is None:
        log.get().info("dashboard_login_refused", reason="unauthorized")
        return _html(html.login("Khóa không hợp lệ hoặc đã bị thu hồi.", next_path), 401)
    if system.role != READER:
        log.get().info("dashboard_login_refused", reason="role_not_allowed", source_system=system.id)
        return _html(html.login("Khóa này thuộc một hệ thống gửi dữ liệu; trang điều hành cần khóa đọc.",
                                next_path), 403)
    sessions = request.app.state.sessions
    response = RedirectResponse(next_path, status_code=303, headers=HEADERS)
    response.set_cookie(COOKIE, sessions.issue(system), max_age=sessions.max_age_s, path="/dashboard",
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    log.get().info("dashboard_login", source_system=system.id)
    return response


@router.post("/dashboard/logout")
async def logout(request: Request) -> Response:
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

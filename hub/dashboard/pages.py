"""``GET /dashboard``: the provincial office's page, server-rendered from the read model.

Login: a form takes a person's name and password (:mod:`hub.admin.users`) or a **reader key** (``hub systems add
--id NAME --role reader``) and answers with a session cookie (:mod:`hub.dashboard.sessions`: signed, expiring,
revocable; never the key itself). The login and logout forms carry CSRF tokens.

Pages make no external request: a Content-Security-Policy allows only this server's stylesheet
and icon (no script at all), and every chart is inline SVG.
"""

from __future__ import annotations

import hmac
import re
from importlib import resources
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub import log, reference
from hub.admin.users import User
from hub.analytics import periods as pr
from hub.analytics import targets as tg
from hub.dashboard import attention, directives, html, login_page
from hub.dashboard import commune as commune_html
from hub.dashboard import targets as dashboard_targets
from hub.dashboard.sessions import LOGIN_TTL_S
from hub.errors import TransientError
from hub.gateway import auth
from hub.gateway.limits import read_body
from hub.read.model import FeedSnapshot
from hub.read.queries import overdue_directives, province_ranking, silent_systems, targets_today
from hub.systems import READER, System

router = APIRouter(include_in_schema=False, dependencies=[Depends(auth.follow_users)])  # people: hub.admin.users
COOKIE = "hub_session"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
_MAX_FORM = 4096
LOGIN_COOKIE = "hub_login"  # the login form's CSRF nonce (see Sessions)
RELOAD_COOKIE = "hub_reload"  # "1": this browser's pages reload themselves (hub.dashboard.html.Reload)
# Where a login or the automatic-reload link may send back to: a dashboard page of this gateway, nothing else.
_LOCAL = re.compile(r"^/dashboard(/[A-Za-z0-9.,/%_-]{0,300})?(\?[A-Za-z0-9=&.,%_-]{0,300})?$")
_STATIC = {"dashboard.css": "text/css; charset=utf-8", "icon.svg": "image/svg+xml"}


# --- helpers -------------------------------------------------------------------------------------
def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _viewer(request: Request) -> System | User | None:
    sessions, token = request.app.state.sessions, request.cookies.get(COOKIE)
    system = auth.session_viewer(request, token)  # a reader system or a person (hub.admin.users)
    if system is not None:
        html.LOGOUT_TOKEN.set(sessions.logout_field(sessions.claims(token)))
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        html.RELOAD.set(html.Reload(on=request.cookies.get(RELOAD_COOKIE) == "1",
                                    here=local(here)))
    return system


def local(path: str | None) -> str:
    """``path`` when it is a dashboard page of this gateway (never another site: no scheme, no ``//``), else
    the overview: the one check for every "go back to" a request carries."""
    return path if path and _LOCAL.match(path) and "//" not in path else "/dashboard"


def _to_login(request: Request) -> RedirectResponse:
    next_path = local(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
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
    """The data time of ``rows`` and the stale / stopped-source warnings (hub.dashboard.attention.as_of_line)."""
    stale_ms = attention.stale_after_ms(settings.kpi_refresh_s, settings.read_model_interval_ms)
    return attention.as_of_line(attention.data_as_of(snap.built_ms, rows), now_ms, stale_ms, silent)


@router.get("/dashboard")
async def dashboard(request: Request, month: str | None = None, order: str | None = None,
                    program: str | None = None) -> Response:
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
    known = attention.contacts(request.app.state.systems.snapshot.list())
    top = _top(settings, snap, rows, now, len(silent)) + attention.section(best, average, overdue, silent, behind,
                                                                           now, known)
    ranking_html = html.ranking([(places[c.code], c, r) for c, r in shown], small, empty, average,
                                worst_first=worst, min_volume=settings.kpi_min_volume)
    return _html(html.province(
        reference.provinces().get(settings.province, settings.province), period, top=top,
        ranking_html=ranking_html, ranked_count=len(best), total=len(ranked), overdue=overdue, silent=silent,
        now_ms=now, targets=dashboard_targets.section(year, target_rows, program),
        worst_first=worst,
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
    settings = request.app.state.settings
    top = _top(settings, snap, [row, current, fresh, *(d for _day, d in days)], now, silent)
    best, _small, _empty = attention.split(province_ranking(snap, settings.province, "month", period.at),
                                           settings.kpi_min_volume)
    place = next((n for n, (c, _r) in enumerate(best, 1) if c.code == code), None)
    year = target_year(snap, now)
    target_rows = targets_today(snap, year, now, tg.TargetConfig.from_settings(settings), commune=code)
    return _html(commune_html.page(
        unit, period, row, days, fresh, top=top, now_ms=now,
        place=commune_html.place_line(period, place, len(best), (row or {}).get("dossiers_in_scope") or 0,
                                      settings.kpi_min_volume, code=code),
        trend_points=commune_html.trend(snap, settings.province, code, period),
        received_items=commune_html.received(snap, code, now),
        target_year=year, target_rows=target_rows,
        refresh_s=settings.dashboard_refresh_s))


router.add_api_route("/dashboard/search", commune_html.search_route, methods=["GET"])  # in every page's header


@router.get("/dashboard/autoreload")
async def autoreload(request: Request, on: str = "1", next_path: str | None = Query(None, alias="next")) -> Response:
    """Turn this browser's automatic reload on (``on=1``) or off (``on=0``), then back to the page it came from."""
    if on not in ("0", "1"):
        return _html(html.message("Tham số không hợp lệ", "Tham số on phải là 1 (bật) hoặc 0 (tắt)."), 400)
    response = RedirectResponse(local(next_path), status_code=303, headers=HEADERS)
    if on == "1":
        response.set_cookie(RELOAD_COOKIE, "1", max_age=365 * 86_400, path="/dashboard", httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
    else:
        response.delete_cookie(RELOAD_COOKIE, path="/dashboard")
    return response


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
    return _login_page(request, None, local(next_path))


@router.post("/dashboard/login")
async def login(request: Request) -> Response:
    body = await read_body(request, _MAX_FORM, "the login form's size")
    form = _form(body)
    key = form.get("key", "").strip()
    next_path = local(form.get("next"))
    sessions = request.app.state.sessions
    if not sessions.login_ok(request.cookies.get(LOGIN_COOKIE), form.get("csrf", "")):
        # Checked first: a forged cross-site post learns nothing about the key it carries.
        log.get().info("dashboard_login_refused", reason="csrf")
        return _login_page(request, "Biểu mẫu đăng nhập đã hết hạn hoặc không gửi từ trang này; vui lòng nhập "
                                    "lại khóa.", next_path, 403)
    if form.get("username", "").strip():  # a person (hub.admin.users); otherwise a reader key
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
    content = resources.files("hub.dashboard").joinpath("static", name).read_bytes()
    return Response(content, media_type=media_type,
                    headers={**HEADERS, "Cache-Control": "public, max-age=3600"})

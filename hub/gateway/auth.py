"""Bearer-key authentication against the systems snapshot, and the role of each route.

Lookups read the follower's current snapshot: no lock, no I/O on the event loop. A key the
snapshot does not know may have been printed by ``hub systems add`` a moment ago, so the gateway
re-reads the topic once (off the loop) before answering 401. Those re-reads are shared and
rate-limited: all requests waiting meet in one read, a new read starts at most every
``MIN_REFRESH_INTERVAL_S``, and a key still unknown after a re-read is remembered, so a
key-guessing client cannot make the gateway re-read the topic constantly.

People (``hub users``) log in to the dashboard with a name and a password; their sessions are the same
signed tokens as a reader's (``hub.dashboard.sessions.Sessions``) with ``sid = "user:<name>"`` and the
account's password fingerprint, checked against ``hub.users.v1`` read to its end on every such request
(so ``hub users disable`` or ``reset`` ends them at the next request). A person's session opens the
dashboard only: on a machine route (``/v1/*``) it is 403 ``role_not_allowed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from collections import deque
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub import log
from hub.admin import users
from hub.errors import AuthError, Rejected, TransientError
from hub.systems import PUBLISHER, READER, System, SystemsFollower, hash_key

MIN_REFRESH_INTERVAL_S = 0.5
_UNKNOWN_MAX = 10_000  # remembered unknown key hashes; the memory is cleared when it fills up

# auto_error=False: a missing or non-Bearer header must become our JSON 401 body, not FastAPI's.
bearer = HTTPBearer(auto_error=False, scheme_name="systemKey",
                    description="The key printed once by `hub systems add` (starts with `hubk_`).")


class KeyCheck:
    """Authenticates keys against ``follower.snapshot``; one shared, rate-limited re-read on a miss."""

    def __init__(self, follower: SystemsFollower, *, min_interval_s: float = MIN_REFRESH_INTERVAL_S) -> None:
        self.follower = follower
        self.min_interval_s = min_interval_s
        self._pending: asyncio.Task | None = None  # a re-read not started yet: newcomers join it
        self._current: asyncio.Task | None = None  # the re-read in progress
        self._last_start = float("-inf")
        self._unknown: set[str] = set()
        self.refreshes = 0  # re-reads done on behalf of unknown keys (tests and metrics read it)

    async def system(self, key: str) -> System | None:
        found = self.follower.snapshot.authenticate(key)
        if found is not None or not key.startswith("hubk_"):
            return found
        digest = hash_key(key)
        if digest in self._unknown:
            return None
        await self.refresh()
        found = self.follower.snapshot.authenticate(key)
        if found is None:
            if len(self._unknown) >= _UNKNOWN_MAX:
                self._unknown.clear()
            self._unknown.add(digest)
        return found

    async def refresh(self) -> None:
        """Re-read hub.systems.v1 once (shared with every other waiting request, rate-limited).

        Also for a request whose OrganId or scope was onboarded a moment ago (see ingest)."""
        # A re-read already in progress may have passed the record we look for: wait for the next one.
        if self._pending is None:
            self._pending = asyncio.get_running_loop().create_task(self._run_after(self._current))
        await asyncio.shield(self._pending)

    async def _run_after(self, previous: asyncio.Task | None) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous
        loop = asyncio.get_running_loop()
        delay = self._last_start + self.min_interval_s - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        self._pending, self._current = None, asyncio.current_task()
        self._last_start = loop.time()
        self.refreshes += 1
        await asyncio.to_thread(self.follower.refresh_now)


def log_context(request: Request) -> dict:
    """Per-request keys for the decision log line (filled as they become known)."""
    ctx = getattr(request.state, "log", None)
    if ctx is None:
        ctx = request.state.log = {}
    return ctx


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
# What a route that checks the key itself (without the dependency) declares in OpenAPI.
SECURITY: dict[str, Any] = {"security": [{bearer.scheme_name: []}]}


async def authenticate(request: Request, role: str | None = None) -> System:
    """The active system owning the request's bearer key, of ``role`` when given.

    401 ``unauthorized`` for a missing, malformed, unknown or revoked key; 403 ``role_not_allowed``
    for a key of another role; 503 while the systems list has never been read. The hot ingest
    routes call this directly: FastAPI's dependency machinery costs more than the check itself.
    """
    keys: KeyCheck = request.app.state.keys
    if not keys.follower.loaded:
        # Without the list every key would look unknown; say "retry" rather than "bad key".
        raise TransientError("the systems list has not been read from Kafka yet")
    scheme, _, key = (request.headers.get("authorization") or "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        if _person_claims(request) is not None:
            raise Rejected("role_not_allowed", "a person's dashboard session opens the dashboard only; programs "
                           "use a reader key (Authorization: Bearer)", stage="auth")
        raise AuthError("missing or malformed Authorization header; expected 'Authorization: Bearer <key>'")
    system = await keys.system(key)
    if system is None:
        raise AuthError("the bearer key is unknown or has been revoked")
    log_context(request)["source_system"] = system.id
    if role is not None and system.role != role:
        raise Rejected("role_not_allowed", f"system {system.id!r} is a {system.role}; this route is for "
                       f"{role}s", stage="auth")
    return system


async def current_system(request: Request, _creds: Credentials) -> System:
    """Dependency: the active system (any role) owning the presented key; 401 otherwise."""
    return await authenticate(request)


async def current_publisher(request: Request, _creds: Credentials) -> System:
    """Dependency: a publishing system; a reader key is 403 ``role_not_allowed``."""
    return await authenticate(request, PUBLISHER)


async def current_reader(request: Request, _creds: Credentials) -> System:
    """Dependency: a reading system (read API, dashboard); a publisher key is 403 ``role_not_allowed``."""
    return await authenticate(request, READER)


# --- people: named accounts on the dashboard ------------------------------------------------------
SESSION_COOKIE = "hub_session"  # hub.dashboard.pages.COOKIE (that module imports this one)
USER_SID = "user:"  # a system id never holds ':', so a person's session cannot pass for a reader's


@dataclass(frozen=True)
class _Person:
    """What ``Sessions.issue`` binds a session to: for a person, the password's fingerprint."""

    id: str
    key_hash: str


class LoginLimiter:
    """Failed logins per account and per client address in a sliding window; at the limit, 429 until the oldest
    failure leaves it. In this gateway process only (several gateways each allow the limit)."""

    def __init__(self, max_failures: int, window_s: float, *, max_keys: int = 100_000) -> None:
        self.max_failures, self.window_s, self.max_keys = max_failures, window_s, max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key) or deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, keys: tuple[str, ...], now: float | None = None) -> int:
        """Seconds until another attempt is allowed for all of ``keys`` (0: allowed now)."""
        now = time.monotonic() if now is None else now
        waits = [times[0] + self.window_s - now for key in keys
                 if len(times := self._recent(key, now)) >= self.max_failures]
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, keys: tuple[str, ...], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self._failures) >= self.max_keys:  # a flood of names: forget the lot rather than grow
            self._failures.clear()
        for key in keys:
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


def users_reader(app: FastAPI) -> users.UsersReader:
    """The gateway's reader of hub.users.v1, made on first use (it opens no connection until read)."""
    reader = getattr(app.state, "users_reader", None)
    if reader is None:
        reader = app.state.users_reader = users.UsersReader(app.state.settings)
    return reader


def login_limiter(app: FastAPI) -> LoginLimiter:
    limiter = getattr(app.state, "login_limiter", None)
    if limiter is None:
        s = app.state.settings
        limiter = app.state.login_limiter = LoginLimiter(s.login_max_failures, s.login_window_s)
    return limiter


async def _read_users(app: FastAPI) -> users.UsersSnapshot:
    """hub.users.v1 read to its end; when Kafka does not answer, the last list read (never read: empty)."""
    reader = users_reader(app)
    try:
        return await asyncio.to_thread(reader.refresh_now, app.state.settings.systems_refresh_timeout_ms / 1000)
    except TransientError as exc:
        log.get().warning("users_refresh_failed", topic=reader.topic, error=str(exc)[:300])
        return reader.snapshot


def _person_claims(request: Request) -> dict | None:
    claims = request.app.state.sessions.claims(request.cookies.get(SESSION_COOKIE))
    return claims if claims is not None and str(claims["sid"]).startswith(USER_SID) else None


async def follow_users(request: Request) -> None:
    """Dependency of the dashboard's routes: a request with a person's session first reads the accounts to
    their end, so a disabled or reset account is refused on this very request."""
    # The stylesheet and icon are the same for everyone: no read for them.
    if not request.url.path.startswith("/dashboard/static/") and _person_claims(request) is not None:
        await _read_users(request.app)


def session_viewer(request: Request, token: str | None) -> System | users.User | None:
    """Who a dashboard session belongs to: an active reader system or an active person; None otherwise."""
    sessions = request.app.state.sessions
    claims = sessions.claims(token)
    viewer: System | users.User | None = None
    if claims is not None and str(claims["sid"]).startswith(USER_SID):
        user = users_reader(request.app).snapshot.get(claims["sid"][len(USER_SID):])
        if user is not None and user.active and hmac.compare_digest(user.fingerprint, str(claims.get("kh"))):
            viewer = user
    elif claims is not None:
        viewer = sessions.check(token, request.app.state.systems.snapshot)
    request.state.viewer = viewer
    return viewer


def may_see_commune(request: Request, code: str) -> bool:
    """A commune account sees its own commune's page only (the province ranking stays open to it)."""
    viewer = getattr(request.state, "viewer", None)
    return not (isinstance(viewer, users.User) and viewer.role == users.COMMUNE and viewer.commune != code)


async def person_login(request: Request, form: dict[str, str], next_path: str) -> Response:
    """The login form posted with a user name (its CSRF pair already checked by the caller)."""
    from hub.dashboard import pages as dashboard  # here, not at the top: dashboard imports this module

    name, password = form.get("username", "").strip(), form.get("password", "")
    address = request.client.host if request.client else "-"
    limit_keys = (f"user:{name}", f"addr:{address}")
    limiter = login_limiter(request.app)
    wait = limiter.retry_after(limit_keys)
    if wait:
        log.get().info("dashboard_login_refused", reason="rate_limited", retry_after_s=wait)
        response = dashboard._login_page(request, f"Đăng nhập sai quá nhiều lần; vui lòng thử lại sau {wait} giây.",
                                         next_path, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    snapshot = await _read_users(request.app)
    if not snapshot.loaded:
        return dashboard._login_page(request, "Hub chưa đọc được danh sách tài khoản; vui lòng thử lại sau.",
                                     next_path, 503)
    user = snapshot.get(name)
    # argon2 takes tens of milliseconds of CPU: off the event loop.
    if not await asyncio.to_thread(users.verify, user, password):
        limiter.failed(limit_keys)
        # The name only when it is an account's: a password typed into the name field must not reach the log.
        log.get().info("dashboard_login_refused", reason="unauthorized", user=user.name if user else None)
        return dashboard._login_page(request, "Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đã bị khóa.",
                                     next_path, 401)
    assert user is not None  # verify() is False without an account
    limiter.succeeded(limit_keys[0])
    sessions = request.app.state.sessions
    secure = request.url.scheme == "https"
    response = RedirectResponse(next_path, status_code=303, headers=dashboard.HEADERS)
    response.set_cookie(SESSION_COOKIE, sessions.issue(_Person(USER_SID + user.name, user.fingerprint)),
                        max_age=sessions.max_age_s, path="/dashboard", httponly=True, samesite="strict", secure=secure)
    response.delete_cookie(dashboard.LOGIN_COOKIE, path="/dashboard", httponly=True, samesite="strict", secure=secure)
    log.get().info("dashboard_login", user=user.name, role=user.role, commune=user.commune)
    return response

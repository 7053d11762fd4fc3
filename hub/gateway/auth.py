"""Bearer-key authentication against the systems snapshot, and the role of each route.

Lookups read the follower's current snapshot: no lock, no I/O on the event loop. A key the
snapshot does not know may have been printed by ``hub systems add`` a moment ago, so the gateway
re-reads the topic once (off the loop) before answering 401. Those re-reads are shared and
rate-limited: all requests waiting meet in one read, a new read starts at most every
``MIN_REFRESH_INTERVAL_S``, and a key still unknown after a re-read is remembered, so a
key-guessing client cannot make the gateway re-read the topic constantly.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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
SECURITY = {"security": [{bearer.scheme_name: []}]}


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

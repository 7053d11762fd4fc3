"""Bearer-key authentication of publishing systems against the systems registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.errors import AuthError, TransientError
from hub.systems import System, SystemsRegistry

# auto_error=False: a missing or non-Bearer header must become our JSON 401 body, not FastAPI's.
bearer = HTTPBearer(auto_error=False, scheme_name="systemKey",
                    description="The key printed once by `hub systems add` (starts with `hubk_`).")


def log_context(request: Request) -> dict:
    """Per-request keys for the decision log line (filled as they become known)."""
    ctx = getattr(request.state, "log", None)
    if ctx is None:
        ctx = request.state.log = {}
    return ctx


def registry(request: Request) -> SystemsRegistry:
    return request.app.state.registry


async def current_system(request: Request,
                         creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> System:
    """The active system owning the presented key; raises AuthError (401) otherwise."""
    reg = registry(request)
    if not reg.loaded:
        # Without the registry every key would look unknown; say "retry" rather than "bad key".
        raise TransientError("the systems registry has not been read from Kafka yet")
    if creds is None or not creds.credentials:
        raise AuthError("missing or malformed Authorization header; expected 'Authorization: Bearer <key>'")
    system = reg.authenticate(creds.credentials.strip())
    if system is None:
        raise AuthError("the bearer key is unknown or has been revoked")
    log_context(request)["source_system"] = system.id
    return system

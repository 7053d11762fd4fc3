"""Dashboard sessions: signed, expiring cookies for a reader system or a person, and the login form's CSRF pair.

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
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import secrets
import time

import orjson

from hub.systems import READER, System

LOGIN_TTL_S = 1800  # how long a login form stays usable
MAX_REVOKED = 50_000  # logged-out session ids remembered at most (~100 bytes each)


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

    # --- CSRF: the login form's nonce cookie and field, the logout form's field ---
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

"""Signed ingest records: proof that the system named in ``hub.source`` wrote the record.

Kafka ACLs decide *who may write* ``ingest.*`` (every publisher, the gateway), but they cannot look
into headers: any publisher could write a record whose ``hub.source`` names another system, and the
broker does not tell consumers which principal produced a record. So the record carries its proof:

    hub.signature = "v1=" + hex(HMAC-SHA256(SHA-256(system key), message))

where the message binds the kind, ``hub.source``, ``hub.format``, ``hub.commune``,
``hub.source_event_id`` and the payload (each length-prefixed, so no two different records share
a message). The signing key is the SHA-256 of the system's key (``hubk_...``), which is exactly what
``hub.systems.v1`` stores: the worker verifies with what it already reads, and no new secret is
distributed. Who can make a valid signature for system S? Whoever holds S's key (S itself), and
whoever can read ``hub.systems.v1`` — the hub's own principals (worker, gateway, operators). A
publisher principal cannot read that topic (ACLs), so it can sign only as itself. The gateway
signs records with the hash of the key the request authenticated with, so gateway records are
verified exactly like SDK records (no "trusted because the gateway wrote it", which a record could
not prove either).

What a signature does not stop: a publisher re-sending its own records (deduplicated by event id),
or a hub principal forging (they are the hub). Re-registering a system (a new key) makes records
signed with the old key, still unread in ``ingest.*``, fail verification: drain before rotating.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from functools import lru_cache

from hub import headers as h
from hub.errors import Rejected

VERSION = "v1"
_PREFIX = VERSION + "="
_DOMAIN = b"hub-ingest-v1"
_SIGNED = (h.SOURCE, h.FORMAT, h.COMMUNE, h.SOURCE_EVENT_ID)


def key_of(system_key: str) -> bytes:
    """The signing key of a system key: its SHA-256 (what ``hub.systems.v1`` stores, as hex)."""
    return hashlib.sha256(system_key.encode()).digest()


@lru_cache(maxsize=4096)
def _prepared(key: bytes):
    # HMAC's keyed inner/outer states, built once per key; each signature copies them.
    return hmac.new(key, digestmod=hashlib.sha256)


def _digest(key: bytes, kind: str, headers: Mapping[str, str], payload: bytes) -> str:
    mac = _prepared(key).copy()
    framed = bytearray()  # one update for the framed fields: each update() call costs more than its bytes
    for part in (_DOMAIN, kind.encode(), *((headers.get(name) or "").encode() for name in _SIGNED)):
        framed += len(part).to_bytes(4, "big")
        framed += part
    framed += len(payload).to_bytes(8, "big")
    mac.update(framed)
    mac.update(payload)
    return mac.hexdigest()


def sign(key: bytes, kind: str, headers: Mapping[str, str], payload: bytes) -> str:
    """The ``hub.signature`` value of a record with these hub.* headers and this payload."""
    return _PREFIX + _digest(key, kind, headers, payload)


def valid(key: bytes, kind: str, headers: Mapping[str, str], payload: bytes) -> bool:
    given = headers.get(h.SIGNATURE) or ""
    if not given.startswith(_PREFIX):
        return False
    return hmac.compare_digest(given[len(_PREFIX):], _digest(key, kind, headers, payload))


def check(system_key_hash: str | None, kind: str, headers: Mapping[str, str], payload: bytes | None,
          *, required: bool) -> Rejected | None:
    """None when the record may go on, else the ``bad_signature`` rejection.

    ``system_key_hash`` is the registered key hash of the record's ``hub.source`` (None: unknown
    system, which the normalizer rejects as ``unknown_system``). A record that carries a signature
    must carry a valid one; ``required`` (secure mode) refuses unsigned records too.
    """
    if system_key_hash is None or (not required and h.SIGNATURE not in headers):
        return None
    if h.SIGNATURE not in headers:
        return Rejected("bad_signature", f"record has no {h.SIGNATURE} header (required in secure mode: the "
                        "SDK signs with HUB_SYSTEM_KEY, the gateway with the request's key)", stage="auth",
                        field=h.SIGNATURE)
    if not valid(bytes.fromhex(system_key_hash), kind, headers, payload or b""):
        return Rejected("bad_signature", f"{h.SIGNATURE} was not made with the key of the system named in "
                        f"{h.SOURCE} over this record", stage="auth", field=h.SIGNATURE)
    return None

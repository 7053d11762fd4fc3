"""Signed ingest records: proof that the system named in ``hub.source`` wrote the record.

Kafka ACLs decide *who may write* ``ingest.*`` (every publisher, the gateway), but they cannot look
into headers: any publisher could write a record whose ``hub.source`` names another system, and the
broker does not tell consumers which principal produced a record. So the record carries its proof:

    hub.signature = "v2=" + hex(HMAC-SHA256(SHA-256(system key), message))

where the message binds the kind, every ``hub.*`` header the worker reads — ``hub.source``,
``hub.format``, ``hub.commune``, ``hub.source_event_id``, ``hub.trace_id`` — and the payload (each
length-prefixed after a version-specific domain tag, so no two different records, and no v1 and v2
message, share a message).

Versions. ``v1`` (until December 2026) bound the same fields except ``hub.trace_id``, which any
writer of ``ingest.*`` could therefore change on another system's record. The SDK and the gateway
now sign ``v2``; the worker still verifies ``v1`` for the records already waiting in ingest topics
(at most ``HUB_RAW_RETENTION_HOURS`` old), because what v1 leaves open is narrow: the trace id of a
v1 record is still held to the ingest header rule (``hub.contract.headers``: 1-64 of ``A-Z a-z 0-9 . _ -``),
so a forger can only swap one well-formed diagnostic id for another, never carry data or size in it.
``HUB_SIGNATURE_ACCEPT_V1=false`` refuses v1 once those records are drained.
``hub.replayed`` is not signed: ``hub dlq replay`` adds it to records signed by their publisher, the
worker never decides anything on it (it is a counter for ``hub trace``), and signing it would make
every replay fail verification. ``hub.signature`` itself and non-hub headers are not signed either.
The Kafka key is not signed: it decides only the partition, which the worker checks against the
key (``hub.processors.partitions``).

The signing key is the SHA-256 of the system's key (``hubk_...``), which is exactly what
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

from hub.contract import headers as h
from hub.errors import Rejected

VERSION = "v2"  # what sign() writes
# version -> (domain tag, the hub.* headers its message binds, in order)
_VERSIONS: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "v1": (b"hub-ingest-v1", (h.SOURCE, h.FORMAT, h.COMMUNE, h.SOURCE_EVENT_ID)),
    "v2": (b"hub-ingest-v2", (h.SOURCE, h.FORMAT, h.COMMUNE, h.SOURCE_EVENT_ID, h.TRACE_ID)),
}


def key_of(system_key: str) -> bytes:
    """The signing key of a system key: its SHA-256 (what ``hub.systems.v1`` stores, as hex)."""
    return hashlib.sha256(system_key.encode()).digest()


@lru_cache(maxsize=4096)
def _prepared(key: bytes):
    # HMAC's keyed inner/outer states, built once per key; each signature copies them.
    return hmac.new(key, digestmod=hashlib.sha256)


def _digest(key: bytes, kind: str, headers: Mapping[str, str | None], payload: bytes, version: str = VERSION) -> str:
    domain, signed = _VERSIONS[version]
    mac = _prepared(key).copy()
    framed = bytearray()  # one update for the framed fields: each update() call costs more than its bytes
    for part in (domain, kind.encode(), *((headers.get(name) or "").encode() for name in signed)):
        framed += len(part).to_bytes(4, "big")
        framed += part
    framed += len(payload).to_bytes(8, "big")
    mac.update(framed)
    mac.update(payload)
    return mac.hexdigest()


def sign(key: bytes, kind: str, headers: Mapping[str, str | None], payload: bytes) -> str:
    """The ``hub.signature`` value (current version) of a record with these hub.* headers and this payload."""
    return f"{VERSION}={_digest(key, kind, headers, payload)}"


def valid(key: bytes, kind: str, headers: Mapping[str, str | None], payload: bytes, *, accept_v1: bool = True) -> bool:
    version, _, given = (headers.get(h.SIGNATURE) or "").partition("=")
    if version not in _VERSIONS or (version == "v1" and not accept_v1):
        return False
    return hmac.compare_digest(given, _digest(key, kind, headers, payload, version))


def check(system_key_hash: str | None, kind: str, headers: Mapping[str, str], payload: bytes | None,
          *, required: bool, accept_v1: bool = True) -> Rejected | None:
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
    if not valid(bytes.fromhex(system_key_hash), kind, headers, payload or b"", accept_v1=accept_v1):
        return Rejected("bad_signature", f"{h.SIGNATURE} was not made with the key of the system named in "
                        f"{h.SOURCE} over this record", stage="auth", field=h.SIGNATURE)
    return None

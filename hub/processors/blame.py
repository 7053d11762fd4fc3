"""Who a rejected ingest record is counted against: the system that provably wrote it, never the name it claims.

``hub.source`` is a header anyone with write access to ``ingest.*`` can set; a publisher could send
60,000 broken records naming another system and have them listed, counted and alerted on as that
system's dead letters. The only proof of authorship is ``hub.signature`` (hub.contract.signatures): a valid
signature made with the key of the active system it names. So a dead letter records both — the claimed
``hub.source`` (kept among the original headers) and ``hub.error.writer``: that system's id when the
signature verifies, else ``unverified``. In development mode unsigned records are accepted, but they
are still ``unverified`` here: being allowed through is not being proven.
"""

from __future__ import annotations

from hub.contract import headers as h
from hub.contract import signatures
from hub.errors import Rejected
from hub.processors.metrics import UNKNOWN, UNVERIFIED

_MAX_LOGGED = 128  # header values copied into a log line are cut here (a header can be ~1 MB)


def writer_of(snapshot, kind: str, hdrs: dict[str, str], value: bytes | None, rej: Rejected | None = None) -> str:
    """The verified writer of a record: an active system id whose key signed it, else UNVERIFIED."""
    if (rej is not None and rej.reason == "bad_signature") or h.SIGNATURE not in hdrs:
        return UNVERIFIED
    system = snapshot.get(hdrs.get(h.SOURCE, ""))
    if system is None or not system.active:
        return UNVERIFIED
    try:
        key = bytes.fromhex(system.key_hash)
    except ValueError:
        return UNVERIFIED
    return system.id if signatures.valid(key, kind, hdrs, value or b"") else UNVERIFIED


def system_label(snapshot, source: str | None) -> str:
    """A metric label for a claimed system: its id when it is registered, else UNKNOWN (bounded set)."""
    return source if source and snapshot.get(source) is not None else UNKNOWN


def cut(value: str | None) -> str | None:
    """A header value fit for a log line: at most _MAX_LOGGED characters."""
    return value if value is None or len(value) <= _MAX_LOGGED else value[:_MAX_LOGGED] + "…"

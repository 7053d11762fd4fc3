"""Dead letters bounded by construction: a dead letter never exceeds what the DLQ topic accepts.

A dead letter keeps the original record so that it can be replayed once the hub is fixed. But the
original may be exactly what made it a dead letter: a 1.3 MB value compressed past the broker's
limit, a hundred 100 KB headers, a huge key. Copied as it is, such a dead letter is itself too large
to write, and the transaction that carries it fails forever (hub issue 21). So every dead letter
goes through :func:`letter`:

- the value is kept up to ``HUB_DLQ_MAX_VALUE_BYTES`` (default 256 KiB); beyond it the first
  bytes are kept and ``hub.error.original.size`` / ``hub.error.original.sha256`` describe the whole;
- the key is kept up to :data:`KEY_MAX` bytes;
- original headers keep their names (up to :data:`NAME_MAX` bytes) and values up to
  :data:`VALUE_MAX` bytes, all of them together up to :data:`HEADERS_MAX` bytes (``hub.*`` headers
  first); ``hub.error.headers.cut`` lists ``name:original size`` of what was cut or dropped;
- ``hub.error.truncated`` names what was cut (``key``, ``value``, ``headers``). Such a dead letter
  is not the original any more: ``hub dlq replay`` refuses it (the SHA-256 lets an operator match
  it with the publisher's copy).

The largest dead letter is therefore about 256 KiB + 1 KiB + 16 KiB + the ``hub.error.*``
headers (under 8 KiB), far inside the 1 MiB a default topic accepts.
"""

from __future__ import annotations

import hashlib

TRUNCATED = "hub.error.truncated"  # comma-separated parts cut: key, value, headers
ORIGINAL_SIZE = "hub.error.original.size"  # bytes of the original value
ORIGINAL_SHA256 = "hub.error.original.sha256"  # hex digest of the original value
HEADERS_CUT = "hub.error.headers.cut"  # "name:size,name:size,... (+N more)" of cut or dropped headers

KEY_MAX = 1024
NAME_MAX = 256
VALUE_MAX = 1024
HEADERS_MAX = 16 * 1024
_CUT_NOTE_MAX = 2048
_PER_HEADER = 8  # what a header costs in a record besides its name and value (varints), roughly
VALUE_CEILING = 900_000  # whatever the setting says: a dead letter must stay under the 1 MiB default

Headers = list[tuple[str, bytes]]


def headers(original: Headers | None) -> tuple[Headers, str | None]:
    """The original headers bounded, and the ``hub.error.headers.cut`` note (None: nothing was cut)."""
    items = [(k if isinstance(k, str) else str(k), bytes(v) if v is not None else b"") for k, v in original or ()]
    total = sum(len(k.encode()) + len(v) + _PER_HEADER for k, v in items)
    if total <= HEADERS_MAX and all(len(k.encode()) <= NAME_MAX and len(v) <= VALUE_MAX for k, v in items):
        return items, None
    # The hub's own headers (source, trace id, commune, event id) first: listing and tracing need them.
    ordered = [kv for kv in items if kv[0].startswith("hub.")] + [kv for kv in items if not kv[0].startswith("hub.")]
    kept: Headers = []
    cut: list[str] = []
    used = 0
    for k, v in ordered:
        raw_name = k.encode()
        name = raw_name[:NAME_MAX].decode("utf-8", "ignore")
        value = v[:VALUE_MAX]
        if len(raw_name) > NAME_MAX or len(v) > VALUE_MAX:
            cut.append(f"{name[:64]}:{len(v)}")
        cost = len(name.encode()) + len(value) + _PER_HEADER
        if used + cost > HEADERS_MAX:
            if not (len(raw_name) > NAME_MAX or len(v) > VALUE_MAX):
                cut.append(f"{name[:64]}:{len(v)}")
            continue
        used += cost
        kept.append((name, value))
    return kept, _note(cut)


def _note(cut: list[str]) -> str:
    out: list[str] = []
    size = 0
    for i, item in enumerate(cut):
        if size + len(item) + 1 > _CUT_NOTE_MAX - 16:
            out.append(f"+{len(cut) - i} more")
            break
        out.append(item)
        size += len(item) + 1
    return ",".join(out)


def letter(key: bytes | None, value: bytes | None, hdrs: Headers, max_value_bytes: int
           ) -> tuple[bytes | None, bytes | None, Headers]:
    """(key, value, headers) of a dead letter whose value and key are bounded; ``hdrs`` are the dead
    letter's headers (original ones already bounded by :func:`headers`, plus ``hub.error.*``)."""
    limit = max(0, min(max_value_bytes, VALUE_CEILING))
    parts = [p for p in _get(hdrs, TRUNCATED).split(",") if p]
    extra: Headers = []
    if key is not None and len(key) > KEY_MAX:
        key = key[:KEY_MAX]
        parts.append("key")
    if value is not None and len(value) > limit:
        extra += [(ORIGINAL_SIZE, str(len(value)).encode()),
                  (ORIGINAL_SHA256, hashlib.sha256(value).hexdigest().encode())]
        value = value[:limit]
        parts.append("value")
    if not extra and parts == [p for p in _get(hdrs, TRUNCATED).split(",") if p]:
        return key, value, hdrs
    out = [(k, v) for k, v in hdrs if k != TRUNCATED]
    return key, value, out + extra + [(TRUNCATED, ",".join(dict.fromkeys(parts)).encode())]


def _get(hdrs: Headers, name: str) -> str:
    for k, v in hdrs:
        if k == name:
            return bytes(v).decode("utf-8", "replace")
    return ""


def is_truncated(hdrs: Headers | dict[str, str]) -> bool:
    """Whether a dead letter lost part of the original record (it cannot be replayed)."""
    if isinstance(hdrs, dict):
        return bool(hdrs.get(TRUNCATED))
    return bool(_get(hdrs, TRUNCATED))

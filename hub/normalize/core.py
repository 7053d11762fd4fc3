"""Dialect discovery and the one entry point that turns raw bytes into canonical records."""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from functools import cache
from types import ModuleType

from hub.errors import Rejected
from hub.normalize import validate
from hub.normalize.context import Context, Envelope

_KINDS = ("dossier", "document")


@cache
def formats() -> dict[str, ModuleType]:
    """FORMAT header value -> dialect module, discovered in ``hub.normalize.dialects``."""
    pkg = importlib.import_module("hub.normalize.dialects")

    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        fmt = getattr(mod, "FORMAT", None)
        if fmt is None:
            continue
        if not kinds_of(mod) or not callable(getattr(mod, "parse", None)):
            raise TypeError(f"dialect module {mod.__name__} needs KIND in {_KINDS} (or a tuple of them) "
                            "and parse()")
        if fmt in found:
            raise TypeError(f"dialect format {fmt!r} is defined twice")
        found[fmt] = mod
    return found


def kinds_of(mod: ModuleType) -> tuple[str, ...]:
    """The kinds a dialect serves: ``KIND`` is one kind or a tuple of kinds (e.g. hub-json serves both).

    Returns an empty tuple when ``KIND`` names anything else, so discovery can refuse the module.
    """
    kind = getattr(mod, "KIND", None)
    kinds = (kind,) if isinstance(kind, str) else tuple(kind) if isinstance(kind, tuple) else ()
    return kinds if kinds and all(k in _KINDS for k in kinds) else ()


def event_id(source_system: str, source_event_id: str) -> str:
    """The hub's identity of an event: what deduplication keys on."""
    return hashlib.sha256(f"{source_system}\x1f{source_event_id}".encode()).hexdigest()[:32]


def normalize(raw: bytes, env: Envelope, ctx: Context) -> list[dict]:
    """Parse, map, validate and stamp; returns canonical records or raises :class:`Rejected`."""
    if len(raw) > ctx.max_payload_bytes:
        raise Rejected("payload_too_large",
                       f"event is {len(raw)} bytes; the limit is {ctx.max_payload_bytes}", stage="parse")
    mod = formats().get(env.format)
    if mod is None:
        raise Rejected("unknown_format",
                       f"format {env.format!r} is not one of {', '.join(sorted(formats()))}", stage="parse")
    if env.kind not in kinds_of(mod):
        served = " or ".join(kinds_of(mod))
        raise Rejected("unknown_format", f"format {env.format!r} carries {served} events, not {env.kind}",
                       stage="parse")
    records = mod.parse(raw, env, ctx)
    if not records:
        raise Rejected("missing_field", "the payload holds no event", stage="map")
    content_id = hashlib.sha256(raw).hexdigest()[:32]
    many = len(records) > 1
    for i, rec in enumerate(records):
        own = rec.pop("source_event_id", None)
        base = env.source_event_id or content_id
        sid = str(own) if own else (f"{base}#{i}" if many else base)
        rec["source_system"] = env.source_system
        rec["source_event_id"] = sid
        rec["event_id"] = event_id(env.source_system, sid)
        rec["province_code"] = ctx.province
        rec["ingest_time"] = env.ingest_time_ms
        rec["trace_id"] = env.trace_id
        if rec.get("event_time") is None:
            rec["event_time"] = env.ingest_time_ms
        validate.check(rec, env, ctx)
    return records

"""Dialect discovery and the one entry point that turns raw bytes into canonical records."""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from functools import cache, lru_cache
from types import ModuleType

import orjson

from hub.errors import Rejected
from hub.normalize import budget, validate
from hub.normalize.context import Context, Envelope

_KINDS = ("dossier", "document", "target")


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


_kinds = cache(kinds_of)  # per event: a dialect's KIND does not change after import


def event_id(source_system: str, source_event_id: str) -> str:
    """The hub's identity of an event: what deduplication keys on."""
    return hashlib.sha256(f"{source_system}\x1f{source_event_id}".encode()).hexdigest()[:32]


def content_id(rec: dict) -> str:
    """Id of a record from its canonical content, for records whose publisher gave none.

    Pseudonyms and their key ids are left out: the gateway validates with throw-away keys and must
    answer the ids the worker will publish, and a key rotation must not turn re-sends into new events.
    """
    content = rec.copy()
    for key in _pseudonym_keys(tuple(rec)):
        del content[key]
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


@lru_cache(maxsize=256)
def _pseudonym_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    # A dialect emits a few key layouts: the suffix test runs once per layout, not per key per record.
    return tuple(k for k in keys if k.endswith(("_pseudonym", "_pseudonym_key_id")))


def normalize(raw: bytes, env: Envelope, ctx: Context, *, budget_s: float | None = None) -> list[dict]:
    """Parse, map, validate and stamp; returns canonical records or raises :class:`Rejected`.

    ``budget_s`` is the time budget for this raw event (default ``ctx.max_record_ms``): loops over
    elements, rows and recipients check it and raise ``too_expensive`` once it has passed.

    A record's ``source_event_id`` is, in order: its own id in the payload (hub-json ``event_id``,
    a CSV event-id column, edXML routing), the publisher's id for the event (``hub.source_event_id``)
    when the payload holds one record, ``<publisher id>#<content id>`` when it holds several, else
    its :func:`content_id` — never its position in a batch, so a record re-sent alone, in another
    batch or in another order keeps its id.
    """
    if len(raw) > ctx.max_payload_bytes:
        raise Rejected("payload_too_large",
                       f"event is {len(raw)} bytes; the limit is {ctx.max_payload_bytes}", stage="parse")
    mod = formats().get(env.format)
    if mod is None:
        raise Rejected("unknown_format",
                       f"format {env.format[:32]!r} is not one of {', '.join(sorted(formats()))}", stage="parse")
    if env.kind not in _kinds(mod):
        served = " or ".join(kinds_of(mod))
        raise Rejected("unknown_format", f"format {env.format!r} carries {served} events, not {env.kind}",
                       stage="parse")
    if budget_s is None and ctx.max_record_ms:
        budget_s = ctx.max_record_ms / 1000
    with budget.limit(budget_s):
        try:
            return _stamp(mod.parse(raw, env, ctx), env, ctx)
        except RecursionError:
            raise Rejected("too_expensive", "the payload nests too deeply to map", stage="map") from None
        except MemoryError:
            raise Rejected("too_expensive", "the payload needs more memory to map than the hub allows",
                           stage="map") from None


def _stamp(records: list[dict], env: Envelope, ctx: Context) -> list[dict]:
    if not records:
        raise Rejected("missing_field", "the payload holds no event", stage="map")
    many = len(records) > 1
    for rec in budget.each(records, "records"):
        own = rec.pop("source_event_id", None)
        rec["commune_code"] = validate.resolve_commune(rec, env, ctx)  # part of the content id
        if own:
            sid = str(own)
        elif env.source_event_id:
            sid = f"{env.source_event_id}#{content_id(rec)}" if many else env.source_event_id
        else:
            sid = content_id(rec)
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

"""Checks every canonical record passes, whatever dialect it came from."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from hub import reference
from hub.errors import Rejected
from hub.normalize.context import Context, Envelope

_COMMUNE = re.compile(r"^\d{5}$")
# Codes copied to the feed as sent (README, "Codes"): letters (Vietnamese too: MaLinhVuc G09-LĐ05), digits
# and . - _ / only, starting with a letter or digit, bounded. No spaces, so no full name or sentence fits;
# bounded, so a code cannot carry 100 KB into feed rows. A pattern cannot tell a code from a bare ID
# number: that is what the bound on length and the publisher's signature (who sent it) are for.
_CODE_CHARS = r"[^\W_][\w./-]"
CODES: dict[str, tuple[re.Pattern[str], str, int]] = {
    "dossier_code": (re.compile(_CODE_CHARS + r"{0,63}"), "MaHoSo", 64),  # 000.23.734.H41-251112-0034
    "procedure_code": (re.compile(_CODE_CHARS + r"{0,31}"), "MaTTHC", 32),  # 2.000815
    "field_code": (re.compile(_CODE_CHARS + r"{0,31}"), "MaLinhVuc", 32),  # G09-TP03, HOTICH
}


def check_codes(rec: dict) -> None:
    """``invalid_value`` naming the field (and its DVCQG name) for a code that breaks its pattern."""
    for name, (pattern, dvcqg, size) in CODES.items():
        value = rec.get(name)
        if value is not None and pattern.fullmatch(value) is None:
            raise Rejected("invalid_value", f"{name} ({dvcqg}) must be 1-{size} letters, digits, '.', '-', '_' "
                           "or '/', starting with a letter or digit", stage="validate", field=name)


# Event-time bounds (issue 22). Per kind, the instants a record carries, split by what they may be:
# - OCCURRED: something that happened at the source (the event, a status, a reception, a decision): never
#   later than the hub's receipt (the envelope's ingest time, i.e. the ingest record's timestamp, not the
#   wall clock: replays and fixed-time tests judge alike) plus HUB_MAX_FUTURE_SKEW for clocks a little fast;
# - SCHEDULED: a deadline or a document's date, which may lie ahead (a due date, a promulgation date
#   written ahead of a signature): only the floor applies.
# Every instant, either kind, must be on or after MIN_EVENT_TIME_MS: an earlier one is a zero, an epoch or a
# two-digit year read wrongly (the date parser already refuses years before 1990), and would land
# in no KPI period. A target report's ``as_of`` is a Vietnam
# calendar date: not later than the Vietnam day of receipt plus the skew.
MIN_EVENT_TIME_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
# event_time last: it is often derived from the others, and the message should name the field that was sent.
OCCURRED: dict[str, tuple[tuple[str, str], ...]] = {
    "dossier": (("received_at", "NgayTiepNhan"), ("finished_at", "NgayKetThucXuLy"), ("returned_at", "NgayTra"),
                ("refused_at", "NgayTuChoi"), ("event_time", "event time")),
    "document": (("status_time", "MessageStatus/Timestamp"), ("event_time", "event time")),
    "target": (("event_time", "event time"),),
}
SCHEDULED: dict[str, tuple[tuple[str, str], ...]] = {
    "dossier": (("due_at", "NgayHenTra"),),
    "document": (("due_date", "DueDate"), ("promulgation_date", "PromulgationDate")),
    "target": (),
}
_VIETNAM = timezone(timedelta(hours=7))


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _floor(name: str, label: str, value: int) -> None:
    if value < MIN_EVENT_TIME_MS:
        raise Rejected("implausible_time", f"{name} ({label}) is {_iso(value)}, before {_iso(MIN_EVENT_TIME_MS)}",
                       field=name)


def check_times(rec: dict, env: Envelope, ctx: Context) -> None:
    """``event_in_future`` / ``implausible_time`` naming the first instant out of bounds (module comment)."""
    latest = env.ingest_time_ms + ctx.max_future_skew_ms
    for name, label in OCCURRED.get(env.kind, ()):
        value = rec.get(name)
        if not isinstance(value, int):
            continue
        if value > latest:
            raise Rejected("event_in_future", f"{name} ({label}) is {_iso(value)}, more than HUB_MAX_FUTURE_SKEW "
                           f"({ctx.max_future_skew_ms // 1000} s) after the hub received the event at "
                           f"{_iso(env.ingest_time_ms)}", field=name)
        _floor(name, label, value)
    for name, label in SCHEDULED.get(env.kind, ()):
        value = rec.get(name)
        if isinstance(value, int):
            _floor(name, label, value)
    as_of = rec.get("as_of")
    if isinstance(as_of, str):
        today = datetime.fromtimestamp(latest / 1000, _VIETNAM).strftime("%Y-%m-%d")
        if as_of > today:
            raise Rejected("event_in_future", f"as_of is {as_of}, a later day than the hub received the report "
                           f"({today}, Vietnam time)", field="as_of")


def resolve_commune(rec: dict, env: Envelope, ctx: Context) -> str:
    """Payload first, then the ``hub.commune`` header, then a single-commune registration."""
    code = rec.get("commune_code") or env.commune_hint
    if not code and ctx.scope_of is not None:
        scope = ctx.scope_of(env.source_system)
        if scope is not None and len(scope.communes) == 1:
            code = next(iter(scope.communes))
    if not code:
        raise Rejected("missing_commune", "no commune code in the payload, the hub.commune header or the "
                       "system's registration", field="commune_code")
    code = str(code).strip()
    if not _COMMUNE.match(code):
        raise Rejected("unknown_commune", "commune code is not 5 digits", field="commune_code")
    return code


def check_commune(code: str, env: Envelope, ctx: Context) -> None:
    reference.in_province(code, ctx.province, field="commune_code")
    if ctx.scope_of is None:
        return
    scope = ctx.scope_of(env.source_system)
    if scope is None:
        raise Rejected("unknown_system", f"source system {env.source_system!r} is not registered",
                       stage="auth")
    if env.kind not in scope.kinds:
        raise Rejected("kind_not_allowed", f"system {env.source_system!r} may not publish {env.kind} events",
                       stage="auth")
    if code not in scope.communes:
        raise Rejected("commune_not_in_scope", f"system {env.source_system!r} is not registered for commune "
                       f"{code}", stage="auth", field="commune_code")


def check(rec: dict, env: Envelope, ctx: Context) -> None:
    """Raise :class:`Rejected` unless ``rec`` is a valid canonical record (sets commune_code)."""
    rec["commune_code"] = resolve_commune(rec, env, ctx)
    check_commune(rec["commune_code"], env, ctx)
    check_times(rec, env, ctx)
    if env.kind == "dossier":
        if not rec.get("dossier_code"):
            raise Rejected("missing_field", "dossier code (MaHoSo) is required", field="dossier_code")
        if not rec.get("status"):
            raise Rejected("missing_field", "dossier status (TrangThaiHoSo) is required", field="status")
        check_codes(rec)
        received, due = rec.get("received_at"), rec.get("due_at")
        if received is not None and due is not None and due < received:
            raise Rejected("due_before_received", "due date (NgayHenTra) is earlier than the received date "
                           "(NgayTiepNhan)", field="due_at")

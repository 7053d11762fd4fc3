"""Checks every canonical record passes, whatever dialect it came from."""

from __future__ import annotations

import re

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

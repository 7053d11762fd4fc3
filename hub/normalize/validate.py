"""Checks every canonical record passes, whatever dialect it came from."""

from __future__ import annotations

import re

from hub import reference
from hub.errors import Rejected
from hub.normalize.context import Context, Envelope

_COMMUNE = re.compile(r"^\d{5}$")


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
        received, due = rec.get("received_at"), rec.get("due_at")
        if received is not None and due is not None and due < received:
            raise Rejected("due_before_received", "due date (NgayHenTra) is earlier than the received date "
                           "(NgayTiepNhan)", field="due_at")

"""What the dashboard, the read API and ``hub status`` ask of the read model: pure queries over one
:class:`hub.read.model.FeedSnapshot` (no I/O, no state)."""

from __future__ import annotations

from typing import Any

from hub import reference
from hub.analytics import directives as reach
from hub.analytics import periods as pr
from hub.analytics import targets as tg
from hub.read.model import FeedSnapshot


def province_ranking(snap: FeedSnapshot, province: str, kind: str, at: str, *, by: str = "timeliness"
                     ) -> list[tuple[reference.Commune, dict[str, Any] | None]]:
    """Every commune of the province with its row for the period (None: no row), ranked by timeliness (or
    ``by="score_766"``, the Decision 766 score): highest first, then more dossiers in scope, then by code;
    communes without a value last."""
    rows = snap.kpi_period(kind, at)
    field = "timeliness_rate" if by == "timeliness" else by

    def order(c: reference.Commune) -> tuple:
        row = rows.get(c.code)
        value = None if row is None else row.get(field)
        return (value is None, -(value or 0.0), -((row or {}).get("dossiers_in_scope") or 0), c.code)

    return [(c, rows.get(c.code)) for c in sorted(reference.province_communes(province), key=order)]


def overdue_directives(snap: FeedSnapshot) -> list[tuple[str, dict[str, dict[str, Any]]]]:
    """(document id, {commune: row}) of every directive with an overdue recipient, the latest sent first."""
    return [(doc, snap.directive(doc)) for doc in snap.directive_ids(overdue_only=True)]


def silent_systems(snap: FeedSnapshot) -> list[dict[str, Any]]:
    """Every (commune, system, kind) whose freshness row says silent, the longest silent first."""
    out = []
    for row in snap.freshness_rows():
        out += [{"commune_code": row["commune_code"], **s} for s in row.get("systems") or () if s.get("silent")]
    return sorted(out, key=lambda s: (s["last_ingest_time"], s["commune_code"], s["source_system"], s["kind"]))


_ACCEPTANCE_TIMES = ("rejected_at", "accepted_at", "assigned_at", "completed_at")


def acceptance_met(row: dict[str, Any]) -> bool:
    """Whether the commune answered a directive row: what meets its acceptance SLA
    (hub.analytics.directives.ANSWERS['acceptance']: rejected, accepted, assigned, processing, completed)."""
    return (any(row.get(t) is not None for t in _ACCEPTANCE_TIMES)
            or row.get("last_status") in reach.ANSWERS["acceptance"])


def targets_today(snap: FeedSnapshot, year: int, now_ms: int, cfg: tg.TargetConfig,
                  commune: str | None = None) -> list[dict[str, Any]]:
    """Progress rows of a plan year as of the reader's today (by commune and key).

    A row the worker already evaluated for that day is answered as written. Otherwise — the worker's
    daily timer has not run yet after midnight, or the plan closed since — it is moved to today with
    :func:`hub.analytics.targets.reevaluate`, the worker's own rule, so the read API and the dashboard
    never show yesterday's expected share.
    """
    today = pr.vn_day(now_ms)
    day, final = tg.date_of(min(today, tg.close_day(year))), today > tg.close_day(year)
    return [r if (r["evaluated_for"], r["final"]) == (day, final) else tg.reevaluate(r, now_ms, cfg)
            for r in snap.target_rows(year, commune)]

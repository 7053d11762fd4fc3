"""The read API: the province's answers as JSON, for subscribers without Kafka (reader keys only).

Every answer comes from the gateway's read model (:mod:`hub.gateway.read_model`): the rows the
worker wrote to ``feed.kpi.commune.v1``, ``feed.directive.v1`` and ``feed.freshness.v1``, renamed
for HTTP — never a second computation (the target routes are in :mod:`hub.gateway.read_targets`).
Instants are ISO 8601 UTC strings with milliseconds (``2025-11-14T09:00:00.000Z``), durations
``*_ms`` integers, rates fractions 0-1 (null when the denominator is 0).

A commune of the province without a row for the period answers 200 with zero counts, null rates
and ``"data": false``: the province asked about one of its communes, and "nothing was reported" is
an answer (a digitalization gap), not an error. A commune outside the province is 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from hub import reference
from hub.analytics import periods as pr
from hub.errors import Rejected, TransientError
from hub.gateway.auth import current_reader
from hub.gateway.ingest import ErrorBody
from hub.gateway.read_model import FeedSnapshot
from hub.gateway.read_queries import acceptance_met, province_ranking

_ERRORS = {
    400: "A parameter cannot be read (`bad_parameter`): the message names it and the rule",
    401: "Missing, malformed, unknown or revoked bearer key (`unauthorized`)",
    403: "A publisher's key (`role_not_allowed`): the read API is for reader keys",
    404: "No such commune in the province, or no such directive (`not_found`)",
    503: "The read model has not caught up with the feeds yet, or the systems list is unreadable (`unavailable`)",
}
router = APIRouter(tags=["read"], dependencies=[Depends(current_reader)],
                   responses={code: {"model": ErrorBody, "description": text} for code, text in _ERRORS.items()})

# API name -> CommuneKpi v2 field. The API's names are those of hub.analytics.kpi rows (docs/kpi.md).
KPI_FIELDS = {
    "in_scope": "dossiers_in_scope", "finished": "dossiers_finished", "finished_on_time": "dossiers_finished_on_time",
    "finished_late": "dossiers_finished_late", "open": "open_dossiers",
    "in_progress_in_time": "dossiers_in_progress_in_time", "overdue_open": "overdue_open_dossiers",
    "on_time": "dossiers_on_time", "late": "dossiers_late", "timeliness": "timeliness_rate",
    "received": "dossiers_received", "received_online": "online_dossiers", "online_rate": "online_rate",
    "fully_online": "fully_online_dossiers", "fully_online_rate": "fully_online_rate",
    "fee_bearing": "fee_bearing_dossiers", "paid_online": "paid_online_dossiers",
    "online_payment_rate": "online_payment_rate", "digitized": "digitized_dossiers",
    "digitization_rate": "digitization_rate", "sync_latency_count": "sync_latency_count",
    "sync_latency_p50_ms": "sync_latency_p50_ms", "sync_latency_p90_ms": "sync_latency_p90_ms",
    "sync_latency_p95_ms": "sync_latency_p95_ms", "distinct_handlers": "distinct_handlers",
    "open_with_handler": "open_dossiers_with_handler", "open_per_handler_mean": "open_dossiers_per_handler",
    "open_per_handler_max": "open_dossiers_per_handler_max",
}
# Null (not 0) when the row is missing: rates, percentiles and means have no value without dossiers.
_NULLABLE = frozenset(k for k in KPI_FIELDS if k.endswith(("_rate", "timeliness", "_mean", "_ms")))
_INSTANTS = ("period_start", "period_end", "evaluated_at", "computed_at")
_KINDS = {"enum": list(pr.KINDS)}


# --- response models ----------------------------------------------------------------------------
class KpiRow(BaseModel):
    """Decision 766 indicators of one commune for one period (docs/kpi.md says every rule)."""

    commune_code: str
    commune_name: str
    province_code: str
    period: str = Field(description="day, month or quarter")
    at: str = Field(description="YYYY-MM-DD, YYYY-MM or YYYY-Qn (Vietnam calendar)")
    period_key: str
    data: bool = Field(description="false: the hub has no row for this commune and period (zero counts, null rates)")
    final: bool = Field(description="the period has ended")
    period_start: str
    period_end: str
    evaluated_at: str | None = Field(description="when open dossiers were judged: the period's end, or computed_at")
    computed_at: str | None
    in_scope: int
    finished: int
    finished_on_time: int
    finished_late: int
    open: int
    in_progress_in_time: int
    overdue_open: int
    on_time: int = Field(description="finished on time + in progress in time")
    late: int = Field(description="finished late + overdue open")
    timeliness: float | None = Field(description="on_time / in_scope")
    received: int
    received_online: int
    online_rate: float | None
    fully_online: int
    fully_online_rate: float | None
    fee_bearing: int
    paid_online: int
    online_payment_rate: float | None
    digitized: int
    digitization_rate: float | None
    sync_latency_count: int
    sync_latency_p50_ms: int | None
    sync_latency_p90_ms: int | None
    sync_latency_p95_ms: int | None
    distinct_handlers: int
    open_with_handler: int
    open_per_handler_mean: float | None
    open_per_handler_max: int
    trace_ids: list[str]


class ProvinceKpi(BaseModel):
    province_code: str
    province_name: str
    period: str
    at: str
    communes_with_data: int
    communes: list[KpiRow] = Field(description="every commune of the province, highest timeliness first; "
                                               "communes without a rate (no data, nothing in scope) last")


class Recipient(BaseModel):
    """The directive at one recipient commune: times, latencies from promulgation, SLA deadlines and flags."""

    commune_code: str
    commune_name: str
    sent_at: str | None
    arrived_at: str | None
    rejected_at: str | None
    accepted_at: str | None
    assigned_at: str | None
    completed_at: str | None
    replied_at: str | None
    reply_document_id: str | None
    arrival_latency_ms: int | None
    acceptance_latency_ms: int | None
    assignment_latency_ms: int | None
    completion_latency_ms: int | None
    reply_latency_ms: int | None
    arrival_deadline: str | None
    acceptance_deadline: str | None
    completion_deadline: str | None
    acceptance_met: bool = Field(description="the commune answered: accepted, assigned, processing, completed or "
                                             "rejected (what meets the acceptance SLA)")
    arrival_overdue: bool
    acceptance_overdue: bool
    completion_overdue: bool
    overdue: bool
    last_status: str | None
    last_status_at: str | None
    revoked_at: str | None
    trace_id: str | None
    computed_at: str


class Directive(BaseModel):
    document_id: str
    code_notation: str | None
    issuer_organ_id: str | None
    steering_type: str | None
    priority: str | None
    promulgated_at: str | None
    due_at: str | None
    arrival_sla: str | None
    acceptance_sla: str | None
    overdue: bool
    overdue_communes: list[str]
    not_accepted_communes: list[str]
    recipients: list[Recipient]


class DirectiveList(BaseModel):
    count: int = Field(description="directives matching, before the limit")
    directives: list[Directive]


class SystemFreshness(BaseModel):
    source_system: str
    kind: str
    last_event_time: str
    last_ingest_time: str
    silent_after_ms: int
    silent: bool


class CommuneFreshness(BaseModel):
    commune_code: str
    commune_name: str
    last_event_time: str | None
    last_ingest_time: str | None
    silent: bool = Field(description="every system of the commune is silent")
    computed_at: str
    systems: list[SystemFreshness]


class Freshness(BaseModel):
    communes: list[CommuneFreshness]
    silent_systems: int
    unseen_communes: list[str] = Field(description="communes of the province no system has sent anything for")


# --- conversions ---------------------------------------------------------------------------------
def iso(ms: int | None) -> str | None:
    """An instant (UTC ms) as ISO 8601 UTC with milliseconds."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _name(code: str) -> str:
    unit = reference.communes().get(code)
    return unit.name if unit else code


def kpi_json(commune: reference.Commune, period: pr.Period, row: dict[str, Any] | None, now_ms: int) -> dict:
    """A :class:`KpiRow` from the feed's row (or the empty answer when there is none)."""
    out: dict[str, Any] = {"commune_code": commune.code, "commune_name": commune.name,
                           "province_code": commune.province_code, "period": period.kind, "at": period.at,
                           "period_key": period.key(commune.code), "data": row is not None}
    if row is None:
        out.update({k: None if k in _NULLABLE else 0 for k in KPI_FIELDS}, final=period.end <= now_ms,
                   period_start=iso(period.start), period_end=iso(period.end), evaluated_at=None,
                   computed_at=None, trace_ids=[])
        return out
    out.update({k: row.get(v) for k, v in KPI_FIELDS.items()}, final=row["final"],
               trace_ids=list(row.get("trace_ids") or ()), **{k: iso(row.get(k)) for k in _INSTANTS})
    return out


_RECIPIENT_TIMES = ("sent_at", "arrived_at", "rejected_at", "accepted_at", "assigned_at", "completed_at",
                    "replied_at", "arrival_deadline", "acceptance_deadline", "completion_deadline",
                    "last_status_at", "revoked_at", "computed_at")
_RECIPIENT_PLAIN = ("reply_document_id", "arrival_latency_ms", "acceptance_latency_ms", "assignment_latency_ms",
                    "completion_latency_ms", "reply_latency_ms", "acceptance_overdue", "completion_overdue",
                    "last_status", "trace_id")
def directive_json(document_id: str, rows: dict[str, dict[str, Any]]) -> dict:
    """A :class:`Directive` from its rows on feed.directive.v1, one per recipient commune."""
    recipients = []
    for commune, row in sorted(rows.items()):
        flags = {"arrival_overdue": bool(row.get("arrival_overdue")), "acceptance_overdue": row["acceptance_overdue"],
                 "completion_overdue": row["completion_overdue"]}
        recipients.append({"commune_code": commune, "commune_name": _name(commune),
                           **{k: iso(row.get(k)) for k in _RECIPIENT_TIMES},
                           **{k: row.get(k) for k in _RECIPIENT_PLAIN}, **flags,
                           "overdue": row.get("overdue", any(flags.values())), "acceptance_met": acceptance_met(row)})
    first = rows[min(rows)]
    return {"document_id": document_id, **{k: first.get(k) for k in ("code_notation", "issuer_organ_id",
                                                                     "steering_type", "priority", "arrival_sla",
                                                                     "acceptance_sla")},
            "promulgated_at": iso(first.get("promulgated_at")), "due_at": iso(first.get("due_at")),
            "overdue": any(r["overdue"] for r in recipients),
            "overdue_communes": [r["commune_code"] for r in recipients if r["overdue"]],
            "not_accepted_communes": [r["commune_code"] for r in recipients if not r["acceptance_met"]],
            "recipients": recipients}


def freshness_json(row: dict[str, Any]) -> dict:
    return {"commune_code": row["commune_code"], "commune_name": _name(row["commune_code"]),
            "last_event_time": iso(row.get("last_event_time")), "last_ingest_time": iso(row.get("last_ingest_time")),
            "silent": row["silent"], "computed_at": iso(row["computed_at"]),
            "systems": [{**s, "last_event_time": iso(s["last_event_time"]),
                         "last_ingest_time": iso(s["last_ingest_time"])} for s in row.get("systems") or ()]}


# --- parameters ----------------------------------------------------------------------------------
def snapshot(request: Request) -> FeedSnapshot:
    """The read model's snapshot; 503 until it has read the feeds to their end once."""
    snap = request.app.state.read_model.snapshot
    if not snap.caught_up:
        raise TransientError("the read model has not read the KPI, directive, freshness and target feeds to their "
                             "end yet")
    return snap


def period_of(request: Request, period: str | None, at: str | None) -> pr.Period:
    """The requested period; ``at`` defaults to the current one (by the hub's clock)."""
    kind = period or "month"
    if kind not in pr.KINDS:
        raise Rejected("bad_parameter", f"period must be one of {', '.join(pr.KINDS)}", stage="parse",
                       field="period")
    if at is None:
        return pr.containing(kind, request.app.state.now())
    try:
        return pr.parse(kind, at)
    except pr.PeriodError as exc:
        raise Rejected("bad_parameter", str(exc), stage="parse", field="at") from None


def province_commune(request: Request, code: str) -> reference.Commune:
    province = request.app.state.settings.province
    unit = reference.communes().get(code)
    if unit is None or unit.province_code != province:
        shown = code if code.isdigit() and len(code) <= 10 else "the given code"
        raise Rejected("not_found", f"{shown} is not a commune of province {province}", stage="validate",
                       field="code")
    return unit


def _flag(value: str | None, name: str) -> bool:
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise Rejected("bad_parameter", f"{name} must be true or false", stage="parse", field=name)


def _limit(value: str | None) -> int:
    if value is None:
        return 100
    if not value.isdigit() or not 1 <= int(value) <= 1000:
        raise Rejected("bad_parameter", "limit must be an integer from 1 to 1000", stage="parse", field="limit")
    return int(value)


_PERIOD_Q = Query(None, description="day, month (default) or quarter", json_schema_extra=_KINDS)
_AT_Q = Query(None, description="YYYY-MM-DD (day), YYYY-MM (month) or YYYY-Qn (quarter), Vietnam calendar; "
                                "default: the current period")


# --- routes --------------------------------------------------------------------------------------
@router.get("/v1/kpi/communes/{code}", response_model=KpiRow, summary="KPIs of one commune for one period")
async def commune_kpi(request: Request, code: str, period: str | None = _PERIOD_Q, at: str | None = _AT_Q) -> dict:
    p = period_of(request, period, at)
    unit = province_commune(request, code)
    row = snapshot(request).kpi_row(p.kind, p.at, unit.code)
    return kpi_json(unit, p, row, request.app.state.now())


@router.get("/v1/kpi/province", response_model=ProvinceKpi,
            summary="KPIs of every commune of the province, ranked by timeliness")
async def province_kpi(request: Request, period: str | None = _PERIOD_Q, at: str | None = _AT_Q) -> dict:
    p = period_of(request, period, at)
    province = request.app.state.settings.province
    now = request.app.state.now()
    ranked = province_ranking(snapshot(request), province, p.kind, p.at)
    return {"province_code": province, "province_name": reference.provinces().get(province, province),
            "period": p.kind, "at": p.at, "communes_with_data": sum(1 for _c, row in ranked if row is not None),
            "communes": [kpi_json(c, p, row, now) for c, row in ranked]}


@router.get("/v1/directives", response_model=DirectiveList, summary="Directive reach, the latest sent first")
async def list_directives(request: Request,
                          overdue: str | None = Query(None, description="true: only directives with an overdue "
                                                      "recipient", json_schema_extra={"enum": ["true", "false"]}),
                          limit: str | None = Query(None, description="at most this many directives (1-1000, "
                                                    "default 100)", json_schema_extra={"pattern": "^[0-9]{1,4}$"})
                          ) -> dict:
    only, most = _flag(overdue, "overdue"), _limit(limit)
    snap = snapshot(request)
    ids = snap.directive_ids(overdue_only=only)
    return {"count": len(ids), "directives": [directive_json(d, snap.directive(d)) for d in ids[:most]]}


@router.get("/v1/directives/{document_id:path}", response_model=Directive, summary="Reach of one directive",
            description="`document_id` as in edXML (`OrganId,yyyy/MM/dd,number/notation`); its slashes may be "
                        "sent as they are or percent-encoded.")
async def one_directive(request: Request, document_id: str) -> dict:
    rows = snapshot(request).directive(document_id)
    if not rows:
        raise Rejected("not_found", "no directive with this document id has reached a commune", stage="validate",
                       field="document_id")
    return directive_json(document_id, rows)


@router.get("/v1/freshness", response_model=Freshness,
            summary="Last event time per commune and system, and which are silent")
async def freshness(request: Request) -> dict:
    rows = snapshot(request).freshness_rows()
    seen = {r["commune_code"] for r in rows}
    communes = reference.province_communes(request.app.state.settings.province)
    return {"communes": [freshness_json(r) for r in rows],
            "silent_systems": sum(1 for r in rows for s in r.get("systems") or () if s["silent"]),
            "unseen_communes": sorted(c.code for c in communes if c.code not in seen)}

"""The read API: the province's answers as JSON, for subscribers without Kafka (reader keys only).

Every answer comes from the gateway's read model (:mod:`hub.read.model`): the rows the
worker wrote to ``feed.kpi.commune.v1``, ``feed.directive.v1`` and ``feed.freshness.v1``, renamed
for HTTP — never a second computation (the target routes are in :mod:`hub.read.targets`).
Instants are ISO 8601 UTC strings with milliseconds (``2025-11-14T09:00:00.000Z``), durations
``*_ms`` integers, rates fractions 0-1 (null when the denominator is 0).

A commune of the province without a row for the period answers 200 with zero counts, null rates
and ``"data": false``: the province asked about one of its communes, and "nothing was reported" is
an answer (a digitalization gap), not an error. A commune outside the province is 404.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from hub import reference
from hub.analytics import periods as pr
from hub.analytics import score766
from hub.errors import Rejected, TransientError
from hub.gateway.auth import current_reader
from hub.ingest.routes import ErrorBody
from hub.read.model import FeedSnapshot
from hub.read.queries import acceptance_met, province_ranking
from hub.read.shapes import (  # noqa: F401 - PRIORITIES, STEERING_TYPES, DOCUMENT_STATUSES: re-exported
    DOCUMENT_STATUSES,
    PRIORITIES,
    RANKINGS,
    STEERING_TYPES,
    Directive,
    DirectiveList,
    Freshness,
    KpiRow,
    OneDirective,
    ProvinceKpi,
)

# Every route answers these; 400 and 404 only the routes that can answer them (BAD_PARAMETER, NOT_FOUND):
# the document declares each error as the gateway answers it, and no other.
_ERRORS = {
    401: "Missing, malformed, unknown or revoked bearer key (`unauthorized`)",
    403: "A publisher's key (`role_not_allowed`): the read API is for reader keys",
    503: "The read model has not caught up with the feeds yet, or the systems list is unreadable (`unavailable`)",
}
ROUTER_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in _ERRORS.items()}
BAD_PARAMETER: dict[int | str, dict[str, Any]] = {400: {
    "model": ErrorBody, "description": "A query parameter breaks its declared rule (`bad_parameter`), or `at` "
                                       "is not written as `period` says: the message names it and the rule"}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {
    "model": ErrorBody, "description": "No such commune in the province (`not_found`)"}}
router = APIRouter(tags=["read"], dependencies=[Depends(current_reader)], responses=ROUTER_ERRORS)

# --- the declared shapes: one definition for /openapi.json and for the check the route makes -------------------
_YEAR = "(199[0-9]|20[0-9]{2}|2100)"  # hub.analytics.periods' range, 1990..2100
_LEAP = "(199[26]|20([02468][048]|[13579][26]))"  # its leap years (2100 is not one)
_MONTH = "(0[1-9]|1[0-2])"
# day, month or quarter; a day the calendar has (30 February is no day). JSON Schema's "$" is ECMA's: the end.
AT_PATTERN = (f"^({_YEAR}-{_MONTH}|{_YEAR}-Q[1-4]|{_YEAR}-{_MONTH}-(0[1-9]|1[0-9]|2[0-8])"
              f"|{_YEAR}-(0[13-9]|1[0-2])-(29|30)|{_YEAR}-(0[13578]|1[02])-31|{_LEAP}-02-29)$")
_AT_RE = re.compile(AT_PATTERN)
_LIMIT_RE = re.compile(r"0*([0-9]{1,4})")  # ASCII only: str.isdigit() and int() also take "٣" and "²"


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
    # v3
    "finished_reported_late": "finished_reported_late", "rescheduled_after_due": "rescheduled_after_due",
    "revision": "revision", "score_766": "score_766", "score_766_measured_max": "score_766_measured_max",
}
# Null (not 0) when the row is missing: rates, percentiles, means and the score have no value without dossiers.
_NULLABLE = frozenset(k for k in KPI_FIELDS if k.endswith(("_rate", "timeliness", "_mean", "_ms", "_766")))
_INSTANTS = ("period_start", "period_end", "evaluated_at", "computed_at", "revised_at")


# --- conversions ---------------------------------------------------------------------------------
def iso(ms: int | None) -> str | None:
    """An instant (UTC ms) as ISO 8601 UTC with milliseconds."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _name(code: str) -> str:
    unit = reference.communes().get(code)
    return unit.name if unit else code


def kpi_json(commune: reference.Commune, period: pr.Period, row: dict[str, Any] | None, now_ms: int,
             data_as_of: int) -> dict:
    """A :class:`KpiRow` from the feed's row (or the empty answer when there is none)."""
    out: dict[str, Any] = {"commune_code": commune.code, "commune_name": commune.name,
                           "province_code": commune.province_code, "period": period.kind, "at": period.at,
                           "period_key": period.key(commune.code), "data": row is not None,
                           "data_as_of": iso(data_as_of)}
    if row is None:
        out.update({k: None if k in _NULLABLE else 0 for k in KPI_FIELDS}, final=period.end <= now_ms,
                   period_start=iso(period.start), period_end=iso(period.end), evaluated_at=None,
                   computed_at=None, revised_at=None, trace_ids=[], score_766_groups=[])
        return out
    out.update({k: row.get(v, None if k in _NULLABLE else 0) for k, v in KPI_FIELDS.items()}, final=row["final"],
               trace_ids=list(row.get("trace_ids") or ()), score_766_groups=list(row.get("score_766_groups") or ()),
               **{k: iso(row.get(k)) for k in _INSTANTS})
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
    return {"document_id": document_id, **{k: first.get(k) for k in ("code_notation", "subject", "issuer_organ_id",
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
    """The requested period; ``at`` defaults to the current one (by the hub's clock).

    ``period`` absent is month; present, it is one of the kinds — ``period=`` (empty) included is not."""
    kind = "month" if period is None else period
    if kind not in pr.KINDS:
        raise Rejected("bad_parameter", f"period must be one of {', '.join(pr.KINDS)}", stage="parse",
                       field="period")
    if at is None:
        return pr.containing(kind, request.app.state.now())
    try:
        parsed = pr.parse(kind, at)
    except pr.PeriodError as exc:
        raise Rejected("bad_parameter", str(exc), stage="parse", field="at") from None
    if not _AT_RE.fullmatch(at):  # what periods' \d and $ let through: other scripts' digits, a final newline
        raise Rejected("bad_parameter", "at must be written with the ASCII digits 0-9 and nothing after it",
                       stage="parse", field="at")
    return parsed


def province_commune(request: Request, code: str) -> reference.Commune:
    province = request.app.state.settings.province
    unit = reference.communes().get(code)
    if unit is None or unit.province_code != province:
        shown = code if code.isdigit() and len(code) <= 10 else "the given code"
        raise Rejected("not_found", f"{shown} is not a commune of province {province}", stage="validate",
                       field="code")
    return unit


def _flag(value: str | None, name: str) -> bool:
    """A boolean query parameter as OpenAPI clients write one: ``true`` or ``false``, nothing else."""
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise Rejected("bad_parameter", f"{name} must be true or false", stage="parse", field=name)


def _limit(value: str | None) -> int:
    if value is None:
        return 100
    match = _LIMIT_RE.fullmatch(value)
    if match is None or not 1 <= int(match.group(1)) <= 1000:
        raise Rejected("bad_parameter", "limit must be an integer from 1 to 1000", stage="parse", field="limit")
    return int(match.group(1))


# Declared as the values the route takes (hub.gateway.app drops FastAPI's "or null": a query has no null).
_PERIOD_Q = Query(None, description="day, month or quarter; default month",
                  json_schema_extra={"enum": list(pr.KINDS)})
_AT_Q = Query(None, description="YYYY-MM-DD (day), YYYY-MM (month) or YYYY-Qn (quarter), Vietnam calendar, years "
                                "1990-2100; written as `period` says (`period=day` takes YYYY-MM-DD only: a "
                                "mismatch is 400); default: the current period",
              json_schema_extra={"pattern": AT_PATTERN})
_OVERDUE_Q = Query(None, description="true: only directives with an overdue recipient",
                   json_schema_extra={"type": "boolean"})
_ORDER_Q = Query(None, description="timeliness (default) or score_766: what the communes are ranked by",
                 json_schema_extra={"enum": list(RANKINGS)})
_LIMIT_Q = Query(None, description="at most this many directives; default 100",
                 json_schema_extra={"type": "integer", "minimum": 1, "maximum": 1000})


# --- routes --------------------------------------------------------------------------------------
@router.get("/v1/kpi/communes/{code}", operation_id="commune_kpi",
            response_model=KpiRow, summary="KPIs of one commune for one period",
            responses={**BAD_PARAMETER, **NOT_FOUND})
async def commune_kpi(request: Request, code: str, period: str | None = _PERIOD_Q, at: str | None = _AT_Q) -> dict:
    p = period_of(request, period, at)
    unit = province_commune(request, code)
    snap = snapshot(request)
    return kpi_json(unit, p, snap.kpi_row(p.kind, p.at, unit.code), request.app.state.now(), snap.built_ms)


@router.get("/v1/kpi/province", operation_id="province_kpi",
            response_model=ProvinceKpi, responses=BAD_PARAMETER,
            summary="KPIs of every commune of the province, ranked by timeliness or by the Decision 766 score")
async def province_kpi(request: Request, period: str | None = _PERIOD_Q, at: str | None = _AT_Q,
                       order: str | None = _ORDER_Q) -> dict:
    p = period_of(request, period, at)
    by = "timeliness" if order is None else order
    if by not in RANKINGS:
        raise Rejected("bad_parameter", f"order must be one of {', '.join(RANKINGS)}", stage="parse", field="order")
    province = request.app.state.settings.province
    now = request.app.state.now()
    snap = snapshot(request)
    ranked = province_ranking(snap, province, p.kind, p.at, by=by)
    rows = [kpi_json(c, p, row, now, snap.built_ms) for c, row in ranked]
    total = score766.score(score766.province_counts([r for r in rows if r["data"]]))
    return {"province_code": province, "province_name": reference.provinces().get(province, province),
            "period": p.kind, "at": p.at, "communes_with_data": sum(1 for _c, row in ranked if row is not None),
            "score_766": total["score_766"], "score_766_measured_max": total["score_766_measured_max"],
            "score_766_groups": total["score_766_groups"], "order": by, "data_as_of": iso(snap.built_ms),
            "communes": rows}


@router.get("/v1/directives", operation_id="list_directives",
            response_model=DirectiveList, responses=BAD_PARAMETER,
            summary="Directive reach, the latest sent first")
async def list_directives(request: Request, overdue: str | None = _OVERDUE_Q, limit: str | None = _LIMIT_Q) -> dict:
    only, most = _flag(overdue, "overdue"), _limit(limit)
    snap = snapshot(request)
    ids = snap.directive_ids(overdue_only=only)
    return {"count": len(ids), "directives": [directive_json(d, snap.directive(d)) for d in ids[:most]],
            "data_as_of": iso(snap.built_ms)}


@router.get("/v1/directives/{document_id:path}", operation_id="one_directive",
            response_model=OneDirective, summary="Reach of one directive",
            responses={404: {"model": ErrorBody, "description": "No directive with this id has reached a commune "
                                                                "(`not_found`)"}},
            description="`document_id` as in edXML (`OrganId,yyyy/MM/dd,number/notation`); its slashes may be "
                        "sent as they are or percent-encoded.")
async def one_directive(request: Request, document_id: str) -> dict:
    snap = snapshot(request)
    rows = snap.directive(document_id)
    if not rows:
        raise Rejected("not_found", "no directive with this document id has reached a commune", stage="validate",
                       field="document_id")
    return {**directive_json(document_id, rows), "data_as_of": iso(snap.built_ms)}


@router.get("/v1/freshness", operation_id="freshness",
            response_model=Freshness,
            summary="Last event time per commune and system, and which are silent")
async def freshness(request: Request) -> dict:
    snap = snapshot(request)
    rows = snap.freshness_rows()
    seen = {r["commune_code"] for r in rows}
    communes = reference.province_communes(request.app.state.settings.province)
    return {"communes": [freshness_json(r) for r in rows],
            "silent_systems": sum(1 for r in rows for s in r.get("systems") or () if s["silent"]),
            "unseen_communes": sorted(c.code for c in communes if c.code not in seen), "data_as_of": iso(snap.built_ms)}

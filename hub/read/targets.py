"""The read API's targets and disbursement routes (docs/targets.md): where each commune stands against
what the province assigned, and the province's roll-up — reader keys only, like the rest of the read API.

The rows are those of ``feed.target.progress.v1`` in the read model, moved to the hub's today when the
worker has not done it yet (:func:`hub.read.queries.targets_today`); the roll-up and the attention
order are :func:`hub.analytics.targets.rollup` and :func:`~hub.analytics.targets.attention_key`. Nothing
here decides a status or adds up a number itself.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from hub import reference
from hub.analytics import periods as pr
from hub.analytics import targets as tg
from hub.errors import Rejected
from hub.gateway.auth import current_reader
from hub.read.api import (
    BAD_PARAMETER,
    NOT_FOUND,
    ROUTER_ERRORS,
    iso,
    province_commune,
    snapshot,
)
from hub.read.queries import targets_today
from hub.read.shapes import Day, Instant, enum_of

router = APIRouter(tags=["read"], dependencies=[Depends(current_reader)], responses=ROUTER_ERRORS)
Status = Annotated[str, enum_of(tg.STATUSES)]
Flag = Annotated[str, enum_of(("unassigned_indicator", "unit_mismatch"))]  # hub.analytics.targets' flags
# The codes hub.normalize.targets writes (upper case), asked for in any case; ASCII only ("ß".upper() is "SS").
PROGRAM_PATTERN = "^([Nn][Tt][Mm]|[Gg][Nn][Bb][Vv]|[Dd][Tt][Tt][Ss]|[0-9]{2}(-[A-Za-z0-9_]{1,16})?)$"
_PROGRAM = re.compile(PROGRAM_PATTERN)
_YEAR = re.compile("[0-9]{4}")  # ASCII: str.isdigit() also takes "²", which int() refuses
_YEARS = (2000, 2100)


# --- response models ----------------------------------------------------------------------------
class Milestone(BaseModel):
    date: Day = Field(description="YYYY-MM-DD (Vietnam calendar)")
    share: float = Field(description="share of the target expected by the end of that day, 0-1")


class TargetRow(BaseModel):
    """One target of one commune (commune, year, program, indicator) on the hub's today (docs/targets.md)."""

    progress_key: str = Field(description="<commune>|<year>|<program>|<indicator>, the feed's key")
    commune_code: str
    commune_name: str
    province_code: str
    year: int
    program: str = Field(description="NTM, GNBV, DTTS or the province's own program code")
    indicator_code: str
    indicator_name: str | None
    unit: str | None
    target_value: float | None = Field(description="the assignment in force; null: reported but never assigned")
    milestones: list[Milestone]
    document_number: str | None
    assigned_at: Instant | None
    actual_value: float | None = Field(description="cumulative actual of the counted report; null: none yet")
    actual_as_of: Day | None = Field(description="YYYY-MM-DD the counted report is as of")
    reported_at: Instant | None
    completion_rate: float | None = Field(description="actual / target")
    expected_share: float | None = Field(description="share of the target expected by the evaluation day")
    expected_value: float | None
    gap: float | None = Field(description="expected share - completion rate (positive: behind)")
    gap_value: float | None = Field(description="expected value - actual")
    days_since_report: int | None
    status: Status
    flags: list[Flag] = Field(description="unassigned_indicator, unit_mismatch")
    evaluated_for: Day = Field(description="the Vietnam calendar day the row is evaluated on (today, or the plan's "
                                           "last day, 31 January of the next year, once it has closed)")
    final: bool = Field(description="the plan has closed: the row no longer changes with the days")
    computed_at: Instant | None
    trace_ids: list[str]


class CommuneTargets(BaseModel):
    commune_code: str
    commune_name: str
    province_code: str
    year: int
    statuses: dict[str, int] = Field(description="number of targets per status")
    targets: list[TargetRow] = Field(description="by program and indicator; empty when the commune has none")
    data_as_of: Instant = Field(description="when the gateway's read model last read the feeds to their end: "
                                            "rows written after it are not in this answer")


class RankedCommune(BaseModel):
    commune_code: str
    commune_name: str
    status: Status
    target_value: float | None
    actual_value: float | None
    actual_as_of: Day | None
    completion_rate: float | None
    expected_share: float | None
    gap: float | None
    gap_value: float | None
    days_since_report: int | None
    flags: list[Flag]


class IndicatorRollup(BaseModel):
    """The province's total of one program, indicator and unit."""

    program: str
    indicator_code: str
    indicator_name: str | None
    unit: str | None
    communes: int = Field(description="communes with an assignment")
    reported: int = Field(description="of which have a counted report")
    total_target: float
    total_actual: float = Field(description="nothing reported counts 0")
    completion_rate: float
    total_expected: float
    expected_share: float
    gap: float
    gap_value: float
    statuses: dict[str, int]
    ranking: list[RankedCommune] = Field(description="the communes by gap, largest first")


class AttentionRow(RankedCommune):
    program: str
    indicator_code: str
    indicator_name: str | None
    unit: str | None


class UnassignedReport(BaseModel):
    commune_code: str
    commune_name: str
    program: str
    indicator_code: str
    unit: str | None
    actual_value: float | None
    actual_as_of: Day | None


class ProvinceTargets(BaseModel):
    province_code: str
    province_name: str
    year: int
    program: str | None
    indicators: list[IndicatorRollup]
    data_as_of: Instant = Field(description="when the gateway's read model last read the feeds to their end: "
                                            "rows written after it are not in this answer")
    attention: list[AttentionRow] = Field(description="every target of every commune, behind first, then "
                                                      "no_report, the largest gap first within a status")
    unassigned: list[UnassignedReport] = Field(description="reports for indicators the province has not assigned")


# --- conversions ---------------------------------------------------------------------------------
def _name(code: str) -> str:
    unit = reference.communes().get(code)
    return unit.name if unit else code


def target_json(row: dict[str, Any]) -> dict:
    """A :class:`TargetRow` from a progress row (instants as ISO strings, the commune's name added)."""
    return {**{k: row.get(k) for k in TargetRow.model_fields if k not in ("commune_name", "flags", "trace_ids")},
            "commune_name": _name(row["commune_code"]), "assigned_at": iso(row.get("assigned_at")),
            "reported_at": iso(row.get("reported_at")), "computed_at": iso(row.get("computed_at")),
            "milestones": list(row.get("milestones") or ()), "flags": list(row.get("flags") or ()),
            "trace_ids": list(row.get("trace_ids") or ())}


def _attention(row: dict[str, Any]) -> dict:
    return {**{k: row.get(k) for k in AttentionRow.model_fields if k != "commune_name"},
            "commune_name": _name(row["commune_code"]), "flags": list(row.get("flags") or ())}


def province_json(province: str, year: int, program: str | None, rows: list[dict[str, Any]]) -> dict:
    """A :class:`ProvinceTargets`: :func:`hub.analytics.targets.rollup` of the rows and their attention order."""
    rolled = tg.rollup(rows, year, program)
    for group in rolled["indicators"]:
        for ranked in group["ranking"]:
            ranked["commune_name"] = _name(ranked["commune_code"])
    for item in rolled["unassigned"]:
        item["commune_name"] = _name(item["commune_code"])
    chosen = [r for r in rows if program is None or r["program"] == program]
    return {"province_code": province, "province_name": reference.provinces().get(province, province),
            "year": year, "program": program, "indicators": rolled["indicators"],
            "attention": [_attention(r) for r in sorted(chosen, key=tg.attention_key)],
            "unassigned": rolled["unassigned"]}


# --- parameters ----------------------------------------------------------------------------------
def year_of(request: Request, year: str | None) -> int:
    """The plan year asked for; default the current one by the hub's clock (Vietnam calendar)."""
    if year is None:
        return pr.civil_from_days(pr.vn_day(request.app.state.now()))[0]
    if not (_YEAR.fullmatch(year) and _YEARS[0] <= int(year) <= _YEARS[1]):
        raise Rejected("bad_parameter", f"year must be a year from {_YEARS[0]} to {_YEARS[1]}", stage="parse",
                       field="year")
    return int(year)


def program_of(program: str | None) -> str | None:
    if program is None:
        return None
    if not _PROGRAM.fullmatch(program):
        raise Rejected("bad_parameter", "program must be NTM, GNBV, DTTS or a province program code (52, 52-DTC)",
                       stage="parse", field="program")
    return program.upper()


def _rows(request: Request, year: int, commune: str | None = None) -> list[dict[str, Any]]:
    state = request.app.state
    return targets_today(snapshot(request), year, state.now(), tg.TargetConfig.from_settings(state.settings),
                         commune)


_YEAR_Q = Query(None, description="plan year; default: the current year by the hub's clock",
                json_schema_extra={"type": "integer", "minimum": _YEARS[0], "maximum": _YEARS[1]})
_PROGRAM_Q = Query(None, description="only this program: NTM, GNBV, DTTS or the province's own code (52-DTC), "
                                     "in any case", json_schema_extra={"pattern": PROGRAM_PATTERN})


# --- routes --------------------------------------------------------------------------------------
@router.get("/v1/targets/communes/{code}", operation_id="commune_targets",
            response_model=CommuneTargets, responses={**BAD_PARAMETER, **NOT_FOUND},
            summary="Every target of one commune for a plan year, on the hub's today")
async def commune_targets(request: Request, code: str, year: str | None = _YEAR_Q) -> dict:
    plan_year = year_of(request, year)
    unit = province_commune(request, code)
    rows = tg.commune_rows(_rows(request, plan_year, unit.code), unit.code, plan_year)
    return {"commune_code": unit.code, "commune_name": unit.name, "province_code": unit.province_code,
            "year": plan_year, "statuses": {s: sum(r["status"] == s for r in rows) for s in tg.STATUSES},
            "targets": [target_json(r) for r in rows], "data_as_of": iso(snapshot(request).built_ms)}


@router.get("/v1/targets/province", operation_id="province_targets",
            response_model=ProvinceTargets, responses=BAD_PARAMETER,
            summary="The province's targets: totals per program and indicator, communes needing attention first")
async def province_targets(request: Request, year: str | None = _YEAR_Q, program: str | None = _PROGRAM_Q) -> dict:
    plan_year, code = year_of(request, year), program_of(program)
    return {**province_json(request.app.state.settings.province, plan_year, code, _rows(request, plan_year)),
            "data_as_of": iso(snapshot(request).built_ms)}

"""The read API's declared shapes: the response models and the typed strings /openapi.json shows for them.

One definition serves the document and the answers (hub.read.api and hub.read.targets build
the dicts these models validate)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, Field, WithJsonSchema

from hub.analytics import periods as pr
from hub.contract import topics


def enum_of(values: Iterable[str]) -> WithJsonSchema:
    """Declares a string field as one of ``values`` (the API's value, e.g. the Avro symbol the feed holds):
    ``Annotated[str, enum_of(...)]``, spelt out at each alias so that type checkers see an alias."""
    return WithJsonSchema({"type": "string", "enum": list(values)})


Instant = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]  # ISO 8601 UTC, milliseconds
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]  # YYYY-MM-DD
PeriodKind = Annotated[str, enum_of(pr.KINDS)]
Kind = Annotated[str, enum_of(topics.KINDS)]
# The Avro enums of DirectiveReach (schemas/DirectiveReach.v4.avsc): the feed's symbols, passed through.
PRIORITIES = ("NORMAL", "URGENT", "VERY_URGENT", "EXPRESS", "EXPRESS_FIXED_TIME")
STEERING_TYPES = ("NONE", "DIRECTIVE", "DIRECTIVE_REPORT")
DOCUMENT_STATUSES = ("ARRIVED", "REJECTED", "ACCEPTED", "ASSIGNED", "PROCESSING", "COMPLETED", "TAKE_BACK_REQUESTED",
                     "TAKE_BACK_AGREED", "TAKE_BACK_REFUSED")
Priority = Annotated[str, enum_of(PRIORITIES)]
SteeringType = Annotated[str, enum_of(STEERING_TYPES)]
DocumentStatus = Annotated[str, enum_of(DOCUMENT_STATUSES)]
RANKINGS = ("timeliness", "score_766")
Ranking = Annotated[str, enum_of(RANKINGS)]


# --- response models ----------------------------------------------------------------------------
class ScorePart(BaseModel):
    part: str
    max: int
    points: float | None
    measured: bool = Field(description="whether the hub computes this part at all")
    basis: str


class ScoreGroup(BaseModel):
    """One of Decision 766's five groups (công khai minh bạch 18, tiến độ 20, số hóa 22, trực tuyến 22, hài lòng 18)."""

    group: str
    name: str
    max: int
    measured_max: float
    points: float | None
    parts: list[ScorePart]


class KpiRow(BaseModel):
    """Decision 766 indicators of one commune for one period (docs/kpi.md says every rule)."""

    commune_code: str
    commune_name: str
    province_code: str
    period: PeriodKind = Field(description="day, month or quarter")
    at: str = Field(description="YYYY-MM-DD, YYYY-MM or YYYY-Qn (Vietnam calendar)")
    period_key: str
    data: bool = Field(description="false: the hub has no row for this commune and period (zero counts, null rates)")
    final: bool = Field(description="the period has ended")
    period_start: Instant
    period_end: Instant
    evaluated_at: Instant | None = Field(description="when open dossiers were judged: the period's end, or "
                                                     "computed_at")
    computed_at: Instant | None
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
    finished_reported_late: int = Field(description="finished before period_end, but the finishing event reached the "
                                                    "hub only at or after it (0 while the period is current)")
    rescheduled_after_due: int = Field(description="in scope and given a new appointment after their due date had "
                                                   "passed: still judged by the date they missed")
    revision: int = Field(description="0 for the first final row; +1 each time a final row changed afterwards")
    revised_at: Instant | None = Field(description="when the latest revision was written (null at revision 0)")
    score_766: float | None = Field(description="Decision 766 points of the measured parts (docs/kpi.md); null when "
                                                "nothing is measured")
    score_766_measured_max: float | None = Field(description="what score_766 is out of: the maxima of the parts "
                                                             "that have a value (the Decision's total is 100)")
    score_766_groups: list[ScoreGroup]
    data_as_of: Instant = Field(description="when the gateway's read model last read the feeds to their end: "
                                            "rows written after it are not in this answer")


class ProvinceKpi(BaseModel):
    province_code: str
    province_name: str
    period: PeriodKind
    at: str
    communes_with_data: int
    score_766: float | None = Field(description="the province's Decision 766 points: the parts computed from the "
                                                "communes' summed counts (not an average of their scores)")
    score_766_measured_max: float
    score_766_groups: list[ScoreGroup]
    order: Ranking = Field(description="what the communes are ranked by")
    data_as_of: Instant
    communes: list[KpiRow] = Field(description="every commune of the province, best first by `order` (timeliness "
                                               "or score_766); communes without a value (no data, nothing in "
                                               "scope) last")


class Recipient(BaseModel):
    """The directive at one recipient commune: times, latencies from promulgation, SLA deadlines and flags."""

    commune_code: str
    commune_name: str
    sent_at: Instant | None
    arrived_at: Instant | None
    rejected_at: Instant | None
    accepted_at: Instant | None
    assigned_at: Instant | None
    completed_at: Instant | None
    replied_at: Instant | None
    reply_document_id: str | None
    arrival_latency_ms: int | None
    acceptance_latency_ms: int | None
    assignment_latency_ms: int | None
    completion_latency_ms: int | None
    reply_latency_ms: int | None
    arrival_deadline: Instant | None
    acceptance_deadline: Instant | None
    completion_deadline: Instant | None
    acceptance_met: bool = Field(description="the commune answered: accepted, assigned, processing, completed or "
                                             "rejected (what meets the acceptance SLA)")
    arrival_overdue: bool
    acceptance_overdue: bool
    completion_overdue: bool
    overdue: bool
    last_status: DocumentStatus | None = Field(description="the commune's latest status report")
    last_status_at: Instant | None
    revoked_at: Instant | None
    trace_id: str | None
    computed_at: Instant


class Directive(BaseModel):
    document_id: str
    code_notation: str | None
    subject: str | None = Field(default=None, description="the directive's subject (trích yếu) as it travels on "
                                "feed.document.v1: ID numbers, phones and e-mails scrubbed, at most 512 characters; "
                                "null when withheld (the document may name citizens) or absent")
    issuer_organ_id: str | None
    steering_type: SteeringType | None
    priority: Priority | None
    promulgated_at: Instant | None
    due_at: Instant | None
    arrival_sla: str | None
    acceptance_sla: str | None
    overdue: bool
    overdue_communes: list[str]
    not_accepted_communes: list[str]
    recipients: list[Recipient]


class OneDirective(Directive):
    data_as_of: Instant = Field(description="when the gateway's read model last read the feeds to their end: "
                                            "rows written after it are not in this answer")


class DirectiveList(BaseModel):
    count: int = Field(description="directives matching, before the limit")
    directives: list[Directive]
    data_as_of: Instant = Field(description="when the gateway's read model last read the feeds to their end: "
                                            "rows written after it are not in this answer")


class SystemFreshness(BaseModel):
    source_system: str
    kind: Kind
    last_event_time: Instant
    last_ingest_time: Instant
    silent_after_ms: int
    silent: bool


class CommuneFreshness(BaseModel):
    commune_code: str
    commune_name: str
    last_event_time: Instant | None
    last_ingest_time: Instant | None
    silent: bool = Field(description="every system of the commune is silent")
    computed_at: Instant
    systems: list[SystemFreshness]


class Freshness(BaseModel):
    communes: list[CommuneFreshness]
    silent_systems: int
    unseen_communes: list[str] = Field(description="communes of the province no system has sent anything for")
    data_as_of: Instant = Field(description="when the gateway's read model last read the feeds to their end: "
                                            "rows written after it are not in this answer")

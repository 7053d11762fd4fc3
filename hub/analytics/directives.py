"""Directive reach (văn bản chỉ đạo đến xã): one state per (document id, recipient commune).

Fed from feed.document.v1 (see :func:`route` for which records count):

- the province's INCOMING document for the commune with SteeringType DIRECTIVE (optionally
  every province-to-commune document, ``HUB_DIRECTIVE_ALL_DOCUMENTS``): promulgation, priority,
  due date, subject (trích yếu: only as the document feed carries it, scrubbed, null when withheld;
  an UPDATE/REPLACE with a later event time brings its own); its first delivery (the record's event
  time) starts the SLA clocks; a REVOKE (BussinessDocType 1) stops them;
- the commune's STATUS notifications for it (01 arrived, 02 rejected, 03 accepted, 04 assigned,
  05 processing, 06 completed): the earliest time of each status is kept; they may arrive
  before the directive itself;
- the commune's OUTGOING document whose ``response_for`` names the directive: its reply.

A commune cannot grade itself (issue 21 item 10): a status claimed earlier than the hub received it
(the record's ``ingest_time``) by more than the tolerance (``HUB_STATUS_BACKDATE_TOLERANCE``) counts at
its receipt time, and the row says ``late_report``; within the tolerance the claimed time counts (a
status queued in an outbox for a few minutes keeps its own time). Only packages from a provincial organ
of the directory make or revoke a directive: what a commune's system files about what it received (a
relay, :mod:`hub.normalize.edxml_common`) is never the province's act.

Like the dossier state, :func:`merge` is idempotent and order-insensitive (earliest times are
minima, directive attributes last-writer-wins on (event time, event id)).

SLA rules (docs/kpi.md): any later answer proves arrival (03, 04, 05, 06, 02 count as arrived),
acceptance is met by 03, 04, 05, 06 or by an explicit rejection 02 (the commune answered);
completion is 06 by the end of the due day (DueDate is a date: Vietnam calendar day, as for
dossiers). Deadlines: arrival and acceptance SLAs by priority from the first delivery (a
directive without a priority is NORMAL); see :mod:`hub.analytics.worktime` for working days.
A milestone is overdue when it came after its deadline, or has not come and ``now`` is past it;
a revocation before the deadline waives it. Latencies are from promulgation, as in v1.

Alerts (issue 22, defect 7): a milestone met after its deadline is reported when the status is read;
a milestone *not met yet* is reported only once ``now`` is past the later of its deadline and the
instant the hub first read the directive (:func:`arrive`), plus ``grace_ms`` (``HUB_DIRECTIVE_ALERT_GRACE``),
and only when the caller has read its input to the end (``caught_up``): statuses already on their way
are counted first. A directive first read after a deadline had passed is a back-fill: its row says
``arrived_overdue`` and so does any alert about it.
"""

from __future__ import annotations

import re
from typing import Any

from hub.analytics import bounds
from hub.analytics.config import AnalyticsConfig
from hub.analytics.periods import day_start, vn_day
from hub.errors import ConfigError

State = dict[str, Any]
STATUSES = ("ARRIVED", "REJECTED", "ACCEPTED", "ASSIGNED", "PROCESSING", "COMPLETED")
ANSWERS = {  # milestone -> statuses that meet it
    "arrival": ("ARRIVED", "REJECTED", "ACCEPTED", "ASSIGNED", "PROCESSING", "COMPLETED"),
    "acceptance": ("REJECTED", "ACCEPTED", "ASSIGNED", "PROCESSING", "COMPLETED"),
    "completion": ("COMPLETED",),
}
MILESTONES = tuple(ANSWERS)
DEFAULT_BACKDATE_TOLERANCE_MS = 3_600_000  # HUB_STATUS_BACKDATE_TOLERANCE's default, 1h
_TOLERANCE = re.compile(r"^(\d{1,6})(m|h)$")


def parse_tolerance(text: str, what: str = "HUB_STATUS_BACKDATE_TOLERANCE") -> int:
    """``30m`` / ``1h`` -> milliseconds; anything else is a ConfigError naming the setting."""
    match = _TOLERANCE.match(text.strip())
    if match is None:
        raise ConfigError(f"{what}: {text.strip()[:20]!r} must be <n>m or <n>h (e.g. 30m, 1h)")
    return int(match.group(1)) * (60_000 if match.group(2) == "m" else 3_600_000)


def key(document_id: str, commune_code: str) -> str:
    """Table and feed key: ``<document id>|<commune>``."""
    return f"{document_id}|{commune_code}"


def _reply_targets(record: dict[str, Any]) -> list[str]:
    refs = record.get("response_for")
    if refs is None:
        return []
    return [refs] if isinstance(refs, str) else [r for r in refs if r]


def route(record: dict[str, Any], cfg: AnalyticsConfig, from_province: bool = True) -> list[str]:
    """Keys of the states a DocumentEvent updates (empty: not about directive reach).

    ``from_province``: whether the sender (from_organ_id) is a provincial organ, by the organ
    directory; only needed with ``HUB_DIRECTIVE_ALL_DOCUMENTS``.
    """
    commune = record.get("commune_code")
    if not commune:
        return []
    kind, direction, doc = record.get("message_type"), record.get("direction"), record.get("document_id")
    if direction == "INCOMING" and doc:
        if kind == "STATUS" and record.get("status") in STATUSES:
            return [key(doc, commune)]
        # Only the province makes or revokes a directive: a commune's relay of a package "from" an
        # organ outside the province (or from another commune) must not open or waive SLA clocks.
        if kind == "DOCUMENT" and from_province and (record.get("business_doc_type") == "REVOKE"
                                                     or record.get("steering_type") == "DIRECTIVE"
                                                     or cfg.all_documents):
            return [key(doc, commune)]
    if direction == "OUTGOING" and kind == "DOCUMENT":
        return [key(ref, commune) for ref in _reply_targets(record)]
    return []


def arrive(state: State, now_ms: int, cfg: AnalyticsConfig) -> State:
    """Remember when the hub first read the directive (``seen``) and whether a deadline had passed by then
    (``ao``: arrived overdue). Unchanged for statuses alone and once remembered. Kept apart from
    :func:`merge`, which is a pure fold of the records and knows no clock."""
    if state["d"] is None or "seen" in state:
        return state
    passed = any(d is not None and now_ms > d for d in deadlines(state, cfg).values())
    return {**state, "seen": now_ms, "ao": passed}


def _judged_at(state: State, deadline: int, grace_ms: int) -> int:
    """When a missing answer may be alerted: after the deadline and after the hub read the directive, plus
    the grace (states written before ``seen`` existed: from the deadline)."""
    return max(deadline, state.get("seen") or 0) + grace_ms


def counted_time(record: dict[str, Any], tolerance_ms: int = DEFAULT_BACKDATE_TOLERANCE_MS) -> tuple[int, bool]:
    """(time a status counts at, whether it is a late report): its claimed time (``status_time``, else
    the event time), unless that is more than ``tolerance_ms`` before the hub received it (``ingest_time``)
    — then the receipt time, flagged."""
    claimed = record.get("status_time") or record["event_time"]
    received = record.get("ingest_time")
    if received is not None and claimed < received - tolerance_ms:
        return received, True
    return claimed, False


def merge(state: State | None, record: dict[str, Any], state_key: str,
          backdate_tolerance_ms: int = DEFAULT_BACKDATE_TOLERANCE_MS) -> State:
    """Fold one DocumentEvent (routed to ``state_key`` by :func:`route`) into the state.

    A status entry is ``[time, trace]``, or ``[time, trace, 1]`` when that time is a late report's
    receipt time (:func:`counted_time`); states written before the flag existed read as on time."""
    doc, _, commune = state_key.rpartition("|")
    if state is None:
        state = {"doc": doc, "c": commune, "p": record.get("province_code"), "d": None, "rev": None,
                 "st": {}, "last": None, "hint": None, "reply": None, "flag": [], "tr": None}
    out = dict(state)
    t = record["event_time"]
    trace = bounds.trace(record.get("trace_id")) or ""  # oversized: dropped, the state stays small
    if out["tr"] is None or [t, trace] > out["tr"]:
        out["tr"] = [t, trace]
    kind, direction = record.get("message_type"), record.get("direction")
    if kind == "STATUS":
        at, late = counted_time(record, backdate_tolerance_ms)
        name = record["status"]
        st = dict(state["st"])
        if name not in st or [at, trace] < st[name][:2]:
            st[name] = [at, trace, 1] if late else [at, trace]
        out["st"] = st
        if out["last"] is None or [at, name] > out["last"]:
            out["last"] = [at, name]
        hint = record.get("promulgation_date")
        if hint is not None and (out["hint"] is None or hint < out["hint"]):
            out["hint"] = hint
    elif direction == "OUTGOING":
        reply = [t, bounds.ident(record.get("document_id") or ""), trace]
        if out["reply"] is None or reply < out["reply"]:
            out["reply"] = reply
    elif record.get("business_doc_type") == "REVOKE":
        if out["rev"] is None or t < out["rev"]:
            out["rev"] = t
    else:
        out["d"] = _directive(state["d"], record, t, trace)
    return out


def _directive(cur: dict | None, record: dict[str, Any], t: int, trace: str) -> dict:
    tag = [t, bounds.ident(record.get("event_id") or "")]
    sent = t if cur is None else min(cur["sent"], t)
    if cur is not None and cur["tag"] >= tag:
        return cur if cur["sent"] == sent else {**cur, "sent": sent}
    return {"tag": tag, "sent": sent, "prom": record.get("promulgation_date"), "prio": record.get("priority"),
            "due": record.get("due_date"), "code": bounds.ident(_notation(record)),
            "issuer": bounds.ident(record.get("from_organ_id")),
            "steer": record.get("steering_type"), "trace": trace, "subj": _subject(record)}


def _subject(record: dict[str, Any]) -> str | None:
    # Only the subject as the document feed carries it (already scrubbed, null when withheld): the
    # withheld flag is checked too so that a record carrying both never lets the text through.
    if record.get("subject_withheld"):
        return None
    return bounds.text(record.get("subject") or None)


def _notation(record: dict[str, Any]) -> str | None:
    number, notation = record.get("code_number"), record.get("code_notation")
    if number and notation:
        return f"{number}/{notation}"
    return notation or number


def tracked(state: State) -> bool:
    """Whether the directive record itself has been seen (statuses alone make no row)."""
    return state["d"] is not None


def _met(state: State, milestone: str) -> int | None:
    times = [state["st"][s][0] for s in ANSWERS[milestone] if s in state["st"]]
    return min(times) if times else None


def deadlines(state: State, cfg: AnalyticsConfig) -> dict[str, int | None]:
    """Deadline of each milestone (None: unknown — no directive yet, or no due date)."""
    d = state["d"]
    if d is None:
        return dict.fromkeys(MILESTONES)
    prio = d["prio"] or "NORMAL"
    due = d["due"]
    return {"arrival": cfg.arrival_sla[prio].deadline(d["sent"], cfg.holidays),
            "acceptance": cfg.acceptance_sla[prio].deadline(d["sent"], cfg.holidays),
            "completion": None if due is None else day_start(vn_day(due) + 1)}


def overdue(state: State, now_ms: int, cfg: AnalyticsConfig) -> dict[str, bool]:
    """Whether each milestone is overdue at ``now_ms``."""
    out = {}
    for milestone, deadline in deadlines(state, cfg).items():
        met = _met(state, milestone)
        waived = state["rev"] is not None and state["rev"] <= (deadline or 0)
        out[milestone] = (deadline is not None and not waived
                          and (met > deadline if met is not None else now_ms > deadline))
    return out


def overdue_transitions(state: State, now_ms: int, cfg: AnalyticsConfig, *, grace_ms: int = 0,
                        caught_up: bool = True) -> tuple[State, list[dict[str, Any]]]:
    """SLA breaches true at ``now_ms`` that were never reported, and the state that remembers them.

    Call it after each merge and when the timer of :func:`next_deadline` fires; the engine emits
    one ``directive_overdue`` record and log line per breach, and stores the returned state in
    the same transaction, so each breach is reported once. A milestone not met yet waits for the
    grace and for ``caught_up`` (module docstring); one met late is reported at once.
    """
    breaches = []
    marks = deadlines(state, cfg)
    for milestone, is_overdue in overdue(state, now_ms, cfg).items():
        if not is_overdue or milestone in state["flag"]:
            continue
        met = _met(state, milestone)
        if met is None and not (caught_up and now_ms > _judged_at(state, marks[milestone] or 0, grace_ms)):
            continue  # an answer may be on its way: judged again by the timer
        breaches.append({"document_id": bounds.ident(state["doc"]), "commune_code": state["c"],
                         "milestone": milestone, "deadline": marks[milestone], "met_at": met,
                         "priority": state["d"]["prio"] or "NORMAL", "trace_id": bounds.trace(state["d"]["trace"]),
                         "arrived_overdue": bool(state.get("ao"))})
    if not breaches:
        return state, []
    return {**state, "flag": sorted(state["flag"] + [b["milestone"] for b in breaches])}, breaches


def next_deadline(state: State, now_ms: int, cfg: AnalyticsConfig, grace_ms: int = 0) -> int | None:
    """The earliest instant at which :func:`overdue_transitions` can report a breach with no further
    event (the later of a deadline and the directive's first reading, plus the grace, + 1 ms; at or before
    ``now_ms`` means: look now); None: nothing pending."""
    pending = []
    for milestone, deadline in deadlines(state, cfg).items():
        if deadline is None or milestone in state["flag"] or _met(state, milestone) is not None:
            continue
        if state["rev"] is not None and state["rev"] <= deadline:
            continue
        pending.append(_judged_at(state, deadline, grace_ms) + 1)
    return min(pending) if pending else None


def row(state: State, now_ms: int, cfg: AnalyticsConfig) -> dict[str, Any] | None:
    """The reach of the directive at the commune, evaluated at ``now_ms``; None until the directive is known."""
    d = state["d"]
    if d is None:
        return None
    prom = d["prom"] if d["prom"] is not None else state["hint"]
    st = state["st"]

    def at(name: str) -> int | None:
        return st[name][0] if name in st else None

    def since(t: int | None) -> int | None:
        return None if t is None or prom is None else t - prom

    prio = d["prio"] or "NORMAL"
    marks = deadlines(state, cfg)
    flags = overdue(state, now_ms, cfg)
    reply = state["reply"]
    out = {
        "document_id": state["doc"], "commune_code": state["c"], "province_code": state["p"],
        "code_notation": d["code"], "issuer_organ_id": d["issuer"], "steering_type": d["steer"],
        "subject": bounds.text(d.get("subj")),  # states written before v4 hold no subject: null
        "promulgated_at": prom, "priority": d["prio"], "due_at": d["due"], "sent_at": d["sent"],
        "arrived_at": at("ARRIVED"), "rejected_at": at("REJECTED"), "accepted_at": at("ACCEPTED"),
        "assigned_at": at("ASSIGNED"), "completed_at": at("COMPLETED"),
        "replied_at": reply and reply[0], "reply_document_id": reply and reply[1],
        "arrival_sla": cfg.arrival_sla[prio].label, "acceptance_sla": cfg.acceptance_sla[prio].label,
        "sla_hours": cfg.acceptance_sla[prio].hours,
        "arrival_deadline": marks["arrival"], "acceptance_deadline": marks["acceptance"],
        "completion_deadline": marks["completion"],
        "arrival_overdue": flags["arrival"], "acceptance_overdue": flags["acceptance"],
        "completion_overdue": flags["completion"], "overdue": any(flags.values()),
        "last_status": state["last"] and state["last"][1], "last_status_at": state["last"] and state["last"][0],
        "revoked_at": state["rev"], "trace_id": bounds.trace(state["tr"][1]) if state["tr"] else None,
        "computed_at": now_ms,
        "late_report": any(len(v) > 2 and v[2] for v in st.values()),
        "arrived_overdue": bool(state.get("ao")),
    }
    for name in _ID_FIELDS:  # bounded whatever the state holds (hub.analytics.bounds)
        out[name] = bounds.ident(out[name])
    for name, t in (("arrival", out["arrived_at"]), ("acceptance", out["accepted_at"]),
                    ("assignment", out["assigned_at"]), ("completion", out["completed_at"]),
                    ("reply", out["replied_at"])):
        out[f"{name}_latency_ms"] = since(t)
    return out


_ID_FIELDS = ("document_id", "commune_code", "province_code", "code_notation", "issuer_organ_id",
              "reply_document_id")


def to_avro(r: dict[str, Any]) -> dict[str, Any]:
    """A DirectiveReach v4 record (feed.directive.v1) from a :func:`row`."""
    return {k: r[k] for k in AVRO_FIELDS}


AVRO_FIELDS = (
    "document_id", "code_notation", "issuer_organ_id", "promulgated_at", "priority", "due_at", "commune_code",
    "province_code", "arrived_at", "accepted_at", "assigned_at", "completed_at", "arrival_latency_ms",
    "acceptance_latency_ms", "assignment_latency_ms", "completion_latency_ms", "sla_hours", "acceptance_overdue",
    "completion_overdue", "last_status", "last_status_at", "computed_at",
    # v2
    "steering_type", "sent_at", "rejected_at", "replied_at", "reply_document_id", "reply_latency_ms",
    "arrival_sla", "acceptance_sla", "arrival_deadline", "acceptance_deadline", "completion_deadline",
    "arrival_overdue", "overdue", "revoked_at", "trace_id",
    # v3
    "late_report", "arrived_overdue",
    # v4
    "subject",
)

"""Hand-built datasets for the analytics core, reusable by end-to-end tests (gateway -> worker -> feeds).

Every record is a canonical feed record (DossierEvent v2 / DocumentEvent v1 fields plus the coming
``response_for``), so it can be Avro-encoded as is; :func:`hub_json` turns a dossier event into the
hub-json object a publisher would POST. The expected numbers are in tests/analytics/reference.md,
computed by hand.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.normalize.core import event_id
from hub.normalize.fields import VIETNAM

COMMUNE = "23734"  # Ia Ly, Gia Lai
PROVINCE = "52"
ONESTOP = "onestop-ialy"


def vn(text: str) -> int:
    """UTC ms of a Vietnam-time ``YYYY-MM-DD HH:MM``."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=VIETNAM).timestamp() * 1000)


DOSSIER_FIELDS = ("procedure_code", "procedure_name", "field_code", "applicant_type", "applicant_pseudonym",
                  "refused_at", "handling_unit", "handler_role", "digitized_document_count")


def _dossier(code: str, n: int, status: str, at: str, latency_s: int, *, system: str = ONESTOP,
             commune: str = COMMUNE, **fields: Any) -> dict[str, Any]:
    """DossierEvent ``n`` of dossier ``code`` at Vietnam time ``at``; the hub got it ``latency_s`` later."""
    source_id = f"{code}-{n}"
    t = vn(at)
    rec: dict[str, Any] = {
        "event_id": event_id(system, source_id), "source_system": system, "source_event_id": source_id,
        "commune_code": commune, "province_code": PROVINCE, "record_type": "DOSSIER", "dossier_code": code,
        "status": status, "channel": None, "service_level": None, "received_at": None, "due_at": None,
        "finished_at": None, "returned_at": None, "handler_pseudonym": None, "has_digitized_components": None,
        "paid_online": None, "fee_bearing": None, **dict.fromkeys(DOSSIER_FIELDS),
        "event_time": t, "ingest_time": t + latency_s * 1000, "trace_id": f"tr-{code}-{n}",
    }
    for key, value in fields.items():
        rec[key] = vn(value) if key.endswith("_at") and isinstance(value, str) else value
    return rec


def _d(code: str, received: str, due: str | None, channel: str, level: int, handler: str | None,
       fee: bool | None = None, paid: bool | None = None, digitized: bool | None = None) -> dict[str, Any]:
    """The attributes every snapshot of one dossier repeats."""
    return {"received_at": received, "due_at": due, "channel": channel, "service_level": level,
            "handler_pseudonym": handler, "fee_bearing": fee, "paid_online": paid,
            "has_digitized_components": digitized}


D1 = _d("D1", "2025-11-03 08:00", "2025-11-10 17:00", "ONLINE", 4, "h1", True, True, True)
D2 = _d("D2", "2025-11-10 09:00", "2025-11-14 08:00", "IN_PERSON", 3, "h2", True, False, True)
D3 = _d("D3", "2025-11-04 09:00", "2025-11-12 17:00", "ONLINE", 3, "h1", False, None, False)
D4 = _d("D4", "2025-11-06 08:00", "2025-11-13 17:00", "POSTAL", 2, "h2")
D5 = _d("D5", "2025-11-07 08:00", "2025-11-20 17:00", "ONLINE", 4, "h3", True, False, False)
D6 = _d("D6", "2025-11-08 08:00", "2025-11-18 17:00", "ONLINE", 3, None)
D7 = _d("D7", "2025-11-20 08:00", "2025-12-15 17:00", "IN_PERSON", 2, "h1", True, True, True)
D8 = _d("D8", "2025-11-12 08:00", "2025-11-25 17:00", "ONLINE", 3, "h1")
D9 = _d("D9", "2025-10-20 08:00", "2025-10-31 17:00", "IN_PERSON", 2, "h2", False, None, False)
D10 = _d("D10", "2025-10-01 08:00", "2025-10-10 17:00", "ONLINE", 3, "h3", True, True, True)
D11 = _d("D11", "2025-11-03 08:00", "2025-11-07 17:00", "ONLINE", 4, "h3")
D12 = _d("D12", "2025-11-21 08:00", None, "IN_PERSON", 2, None)
D13 = _d("D13", "2025-09-25 08:00", "2025-10-05 17:00", "IN_PERSON", 2, "h2")

# One row per event: dossier, n, status, event time (Vietnam), latency (s), extra fields.
DOSSIER_EVENTS: list[dict[str, Any]] = [
    # D1 early: finished 11-05, due 11-10; result returned the same day
    _dossier("D1", 1, "ACCEPTED", "2025-11-03 08:00", 60, **D1),
    _dossier("D1", 2, "PROCESSING_FINISHED", "2025-11-05 10:00", 120, finished_at="2025-11-05 10:00", **D1),
    _dossier("D1", 3, "RESULT_RETURNED", "2025-11-05 14:00", 30, finished_at="2025-11-05 10:00",
             returned_at="2025-11-05 14:00", **D1),
    # D2 on time by calendar day: due 11-14 08:00, finished 11-14 16:00
    _dossier("D2", 1, "ACCEPTED", "2025-11-10 09:00", 300, **D2),
    _dossier("D2", 2, "PROCESSING_FINISHED", "2025-11-14 16:00", 600, finished_at="2025-11-14 16:00", **D2),
    # D3 late: due 11-12, finished 11-18, returned 11-19
    _dossier("D3", 1, "PROCESSING", "2025-11-04 09:00", 60, **D3),
    _dossier("D3", 2, "RESULT_RETURNED", "2025-11-19 09:00", 3600, finished_at="2025-11-18 10:00",
             returned_at="2025-11-19 09:00", **D3),
    # D4 paused (supplement requested) on 11-12, before its due date 11-13: the clock stops
    _dossier("D4", 1, "PROCESSING", "2025-11-06 08:00", 120, **D4),
    _dossier("D4", 2, "SUPPLEMENT_REQUESTED", "2025-11-12 10:00", 60, **D4),
    # D5 withdrawn by the applicant on 11-11 (no NgayKetThucXuLy): finished at the withdrawal, on time
    _dossier("D5", 1, "ACCEPTED", "2025-11-07 08:00", 60, **D5),
    _dossier("D5", 2, "WITHDRAWN", "2025-11-11 09:00", 900, **D5),
    # D6 not accepted: out of scope, not a received dossier
    _dossier("D6", 1, "NOT_ACCEPTED", "2025-11-08 10:00", 7200, refused_at="2025-11-08 10:00", **D6),
    # D7 in progress, due 12-15: in time
    _dossier("D7", 1, "PROCESSING", "2025-11-20 08:00", 60, **D7),
    # D8 in progress, due 11-25: overdue at the end of November, in time on 11-14
    _dossier("D8", 1, "PROCESSING", "2025-11-12 08:00", 180, **D8),
    # D9 received in October, finished 11-03 after its due date 10-31: late in November
    _dossier("D9", 1, "PROCESSING", "2025-10-20 08:00", 60, **D9),
    _dossier("D9", 2, "PROCESSING_FINISHED", "2025-11-03 09:00", 240, finished_at="2025-11-03 09:00", **D9),
    # D10 finished in October, before November: out of November's scope, on time in Q4
    _dossier("D10", 1, "ACCEPTED", "2025-10-01 08:00", 60, **D10),
    _dossier("D10", 2, "RESULT_RETURNED", "2025-10-08 10:00", 60, finished_at="2025-10-08 10:00",
             returned_at="2025-10-08 10:00", **D10),
    # D11 paused on 11-10, after its due date 11-07: the pause does not clear the delay (overdue)
    _dossier("D11", 1, "PROCESSING", "2025-11-03 08:00", 60, **D11),
    _dossier("D11", 2, "SUPPLEMENT_REQUESTED", "2025-11-10 09:00", 120, **D11),
    # D12 accepted, no due date: in time
    _dossier("D12", 1, "ACCEPTED", "2025-11-21 08:00", 30, **D12),
    # D13 received in September, due 10-05, still processing: overdue everywhere
    _dossier("D13", 1, "PROCESSING", "2025-09-25 08:00", 60, **D13),
]

NOW = vn("2025-12-10 12:00")  # November and 2025-11-14 are over; Q4 is the current quarter
PERIODS = {"day": "2025-11-14", "month": "2025-11", "quarter": "2025-Q4"}


def hub_json(rec: dict[str, Any]) -> dict[str, Any]:
    """The hub-json object (docs/hub-json.schema.json) a publisher sends for a dossier event; the
    handler becomes ``handler_id`` (the hub pseudonymizes it), dates are yyyyMMddHHmmss Vietnam time."""
    out: dict[str, Any] = {"event_id": rec["source_event_id"], "commune_code": rec["commune_code"],
                           "dossier_code": rec["dossier_code"], "status": rec["status"]}
    for key in ("received_at", "due_at", "finished_at", "returned_at", "refused_at", "event_time"):
        if rec.get(key) is not None:
            out[key] = datetime.fromtimestamp(rec[key] / 1000, VIETNAM).strftime("%Y%m%d%H%M%S")
    for key in ("channel", "service_level", "fee_bearing", "paid_online", "has_digitized_components"):
        if rec.get(key) is not None:
            out[key] = rec[key]
    if rec.get("handler_pseudonym"):
        out["handler_id"] = rec["handler_pseudonym"]
    return out


# --- directive reach: one directive to five communes -------------------------------------------------

PROVINCE_ORGAN = "000.00.00.H41"
DIRECTIVE_ID = "000.00.00.H41,2025/08/29,456/CT-UBND"
RECIPIENTS = ("23734", "23728", "23722", "23749", "23767")
DIRECTIVE_SENT = vn("2025-08-29 15:00")  # a Friday; Mon 09-01 and Tue 09-02 are National Day holidays
ACCEPTANCE_DEADLINE = vn("2025-09-03 15:00")  # NORMAL: 1 working day -> Wednesday, same time
EDOC = "edoc-province"


def _document(n: str, commune: str, message_type: str, direction: str, t: int, **fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "event_id": event_id(EDOC, n), "source_system": EDOC, "source_event_id": n, "commune_code": commune,
        "province_code": PROVINCE, "message_type": message_type, "direction": direction, "dialect": "hub-json",
        "document_id": DIRECTIVE_ID, "code_number": None, "code_notation": None, "from_organ_id": None,
        "to_organ_ids": [], "document_type": None, "document_type_name": None, "subject": None,
        "promulgation_date": None, "due_date": None, "priority": None, "steering_type": None,
        "business_doc_type": None, "status": None, "status_time": None, "attachment_count": 0,
        "attachment_names": [], "event_time": t, "ingest_time": t + 2000, "trace_id": f"tr-{n}",
        "response_for": None,
    }
    rec.update(fields)
    return rec


def directive(commune: str) -> dict[str, Any]:
    """The province's directive as the commune's INCOMING document record."""
    return _document(f"dir-{commune}", commune, "DOCUMENT", "INCOMING", DIRECTIVE_SENT,
                     code_number="456", code_notation="CT-UBND", from_organ_id=PROVINCE_ORGAN,
                     to_organ_ids=[f"000.{c[:2]}.{c[2:]}.H41" for c in RECIPIENTS], document_type="3",
                     document_type_name="Chỉ thị", subject="Về việc đẩy mạnh số hóa hồ sơ",
                     promulgation_date=vn("2025-08-29 00:00"), due_date=vn("2025-09-15 00:00"),
                     priority="NORMAL", steering_type="DIRECTIVE", business_doc_type="NEW")


def status(commune: str, code: str, at: str) -> dict[str, Any]:
    """The commune's status notification (MessageStatus) for the directive."""
    t = vn(at)
    return _document(f"st-{commune}-{code}", commune, "STATUS", "INCOMING", t, status=code, status_time=t,
                     from_organ_id=f"000.{commune[:2]}.{commune[2:]}.H41", to_organ_ids=[PROVINCE_ORGAN],
                     code_number="456", code_notation="CT-UBND", promulgation_date=vn("2025-08-29 00:00"))


def reply(commune: str, at: str) -> dict[str, Any]:
    """The commune's report answering the directive (its ResponseFor names it)."""
    own = f"000.{commune[:2]}.{commune[2:]}.H41,2025/09/10,12/BC-UBND"
    return _document(f"reply-{commune}", commune, "DOCUMENT", "OUTGOING", vn(at), document_id=own,
                     from_organ_id=f"000.{commune[:2]}.{commune[2:]}.H41", to_organ_ids=[PROVINCE_ORGAN],
                     code_number="12", code_notation="BC-UBND", steering_type="DIRECTIVE_REPORT",
                     business_doc_type="NEW", priority="NORMAL", response_for=DIRECTIVE_ID)


# 23734, 23728, 23722 accept in time (23722's statuses come before the directive record itself),
# 23749 accepts late, 23767 arrives but never accepts.
DIRECTIVE_EVENTS: list[dict[str, Any]] = [
    status("23722", "ARRIVED", "2025-08-29 15:02"),
    status("23722", "ACCEPTED", "2025-09-03 14:59"),
    *[directive(c) for c in RECIPIENTS],
    status("23734", "ARRIVED", "2025-08-29 15:05"),
    status("23734", "ACCEPTED", "2025-09-03 09:00"),
    status("23734", "ASSIGNED", "2025-09-03 11:00"),
    status("23734", "COMPLETED", "2025-09-10 16:00"),
    reply("23734", "2025-09-10 17:00"),
    status("23728", "ARRIVED", "2025-08-29 15:20"),
    status("23728", "ACCEPTED", "2025-08-29 16:30"),
    status("23749", "ARRIVED", "2025-08-29 15:40"),
    status("23749", "ACCEPTED", "2025-09-04 08:00"),
    status("23767", "ARRIVED", "2025-08-29 15:10"),
]
DIRECTIVE_NOW = vn("2025-09-05 12:00")  # after every event, before the due date 09-15


# --- freshness ---------------------------------------------------------------------------------------

def feed_record(commune: str, system: str, event_at: str, ingest_at: str) -> dict[str, Any]:
    """The fields freshness reads from any feed record."""
    return {"commune_code": commune, "province_code": PROVINCE, "source_system": system,
            "event_time": vn(event_at), "ingest_time": vn(ingest_at)}


FRESHNESS_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("dossier", feed_record("23734", "onestop-ialy", "2025-11-20 07:50", "2025-11-20 08:00")),
    ("dossier", feed_record("23734", "onestop-ialy", "2025-11-19 07:00", "2025-11-20 06:00")),
    ("document", feed_record("23734", "edoc-ialy", "2025-11-19 08:00", "2025-11-19 08:00")),
    ("dossier", feed_record("23728", "onestop-iakhuol", "2025-11-10 09:00", "2025-11-10 09:01")),
]
FRESHNESS_NOW = vn("2025-11-21 09:00")

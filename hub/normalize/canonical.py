"""Flat objects in the hub's own vocabulary (hub-json keys) -> canonical records.

hub-json payloads and CSV rows (after header matching) both arrive here as ``{key: value}``
with the English snake_case keys of ``docs/hub-json.schema.json``. Values are accepted in the
forms people actually type: codes as numbers or strings (``4``, ``"04"``), enum names
(``PROCESSING``), Vietnamese labels (``Đang xử lý``, ``Trực tuyến``), booleans as
``true``/``1``/``Có``. Anything else is a reason code naming the field.

Personal data is never copied: ``applicant_id`` and ``handler_id`` become keyed pseudonyms;
names, phones, emails, addresses and summaries are simply not read.
"""

from __future__ import annotations

from typing import Any

from hub.contract.headers import SOURCE_EVENT_ID_MAX, valid_source_event_id
from hub.errors import Rejected
from hub.normalize import attachments, budget
from hub.normalize import fields as f
from hub.normalize.context import Context
from hub.normalize.edxml_common import MAX_RECIPIENTS
from hub.normalize.fields import fold
from hub.normalize.personal_data import scrub, subject_fields

DOSSIER_DATES = ("received_at", "due_at", "finished_at", "returned_at", "refused_at")


def labels(table: dict[str, list[str]]) -> dict[str, str]:
    """Folded label -> name, for matching what people type without case or diacritics."""
    return {fold(label): name for name, spellings in table.items() for label in spellings}


STATUS_LABELS = labels({
    "NEWLY_REGISTERED": ["Mới đăng ký", "Mới tiếp nhận trực tuyến", "Chờ tiếp nhận"],
    "ACCEPTED": ["Được tiếp nhận", "Đã tiếp nhận", "Tiếp nhận"],
    "NOT_ACCEPTED": ["Không được tiếp nhận", "Không tiếp nhận", "Từ chối tiếp nhận"],
    "PROCESSING": ["Đang xử lý", "Đang giải quyết"],
    "SUPPLEMENT_REQUESTED": ["Yêu cầu bổ sung", "Yêu cầu bổ sung hồ sơ", "Bổ sung hồ sơ"],
    "FINANCIAL_OBLIGATION_REQUESTED": ["Yêu cầu thực hiện nghĩa vụ tài chính",
                                       "Chờ thực hiện nghĩa vụ tài chính"],
    "WITHDRAWN": ["Công dân xin rút", "Xin rút hồ sơ", "Rút hồ sơ"],
    "STOPPED": ["Dừng xử lý", "Dừng giải quyết"],
    "PROCESSING_FINISHED": ["Đã xử lý xong", "Đã giải quyết xong", "Hoàn thành xử lý"],
    "RESULT_RETURNED": ["Đã trả kết quả", "Trả kết quả"],
})
CHANNEL_LABELS = labels({"IN_PERSON": ["Trực tiếp"], "ONLINE": ["Trực tuyến", "Qua mạng"],
                          "POSTAL": ["Bưu chính", "Dịch vụ bưu chính", "Bưu chính công ích"]})
APPLICANT_LABELS = labels({"CITIZEN": ["Công dân", "Cá nhân"], "BUSINESS": ["Doanh nghiệp", "Tổ chức"],
                            "STATE_AGENCY": ["Cơ quan nhà nước"], "OTHER": ["Khác"]})
_TRUE = {"1", "true", "yes", "y", "co", "x"}
_FALSE = {"0", "3", "false", "no", "n", "khong"}  # DVCQG sends "3" for "not paid online"


def string(obj: dict, key: str) -> str | None:
    """NFC text of a string or number; any other JSON type is ``invalid_value``."""
    return f.scalar(obj.get(key), key)


def own_event_id(obj: dict) -> str | None:
    """The object's own ``event_id``: the feed's source_event_id, so held to the hub.source_event_id rule."""
    value = string(obj, "event_id")
    if value is not None and not valid_source_event_id(value):
        raise Rejected("invalid_value", f"event_id must be 1-{SOURCE_EVENT_ID_MAX} printable ASCII characters "
                       "without spaces", stage="map", field="event_id")
    return value


def enum(obj: dict, key: str, codes: dict[str, str], labels: dict[str, str] | None = None,
         reason: str = "invalid_value") -> str | None:
    """A national code (``4``, ``"04"``), the enum name (``PROCESSING``) or a Vietnamese label."""
    value = obj.get(key)
    if isinstance(value, bool):
        raise Rejected(reason, f"{key} must be a code or a name, not a boolean", stage="map", field=key)
    raw = string(obj, key)
    if raw is None:
        return None
    if raw.upper() in codes.values():
        return raw.upper()
    if labels and (name := labels.get(fold(raw))):
        return name
    if not raw.isdigit():
        raise Rejected(reason, f"{key} is not a known code or name", stage="map", field=key)
    return f.code(raw, key, codes, reason=reason)


def boolean(obj: dict, key: str) -> bool | None:
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raw = string(obj, key)
    if raw is None:
        return None
    folded = fold(raw)
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise Rejected("invalid_value", f"{key} is not a yes/no value", stage="map", field=key)


def integer(obj: dict, key: str, lo: int = 0, hi: int = 2**31 - 1) -> int | None:
    value = obj.get(key)
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise Rejected("invalid_value", f"{key} must be an integer", stage="map", field=key)
    if isinstance(value, float):
        value = int(value) if abs(value) < 2**53 else str(value)
    return f.integer(string({key: value}, key), key, lo, hi)


def timestamp(obj: dict, key: str) -> int | None:
    return f.timestamp_ms(string(obj, key), key)


def string_list(obj: dict, key: str, bound: int) -> list[str]:
    """Distinct non-empty strings of an array (or of a CSV cell ``a; b``), at most ``bound`` of them."""
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, str):  # CSV cells: "a; b" or "a, b"
        value = value.replace(";", ",").split(",")
    if not isinstance(value, list):
        raise Rejected("invalid_value", f"{key} must be an array of strings", stage="map", field=key)
    budget.bound(len(value), 2 * bound, key)  # before the work: repeats may be many, not absurdly many
    out = f.unique(f.scalar(item, key) for item in budget.each(value, key))
    budget.bound(len(out), bound, key)
    return out


def attachment_list(obj: dict) -> list[dict[str, Any]]:
    """``attachments`` objects (``mime_type``, ``size_bytes``, ``sha256``; names are read for the MIME type
    only) or, as before, ``attachment_names`` — names never reach the record."""
    items = obj.get("attachments")
    if items is None:  # every name is one file, also when two files share a name
        names = obj.get("attachment_names")
        names = names.replace(";", ",").split(",") if isinstance(names, str) else names
        if names is None:
            return []
        if not isinstance(names, list):
            raise Rejected("invalid_value", "attachment_names must be an array of strings", stage="map",
                           field="attachment_names")
        budget.bound(len(names), attachments.MAX_ATTACHMENTS, "attachment_names")
        return [{"mime_type": attachments.mime_from_name(name), "size_bytes": None, "sha256": None}
                for item in names if (name := f.scalar(item, "attachment_names"))]
    if not isinstance(items, list) or not all(isinstance(a, dict) for a in items):
        raise Rejected("invalid_value", "attachments must be an array of objects", stage="map", field="attachments")
    budget.bound(len(items), attachments.MAX_ATTACHMENTS, "attachments")
    out = []
    for item in budget.each(items, "attachments"):
        sha = string(item, "sha256")
        if sha is not None and (len(sha) != 64 or not all(c in "0123456789abcdefABCDEF" for c in sha)):
            raise Rejected("invalid_value", "attachments[].sha256 must be 64 hex digits", stage="map",
                           field="attachments.sha256")
        mime = attachments.declared_mime(string(item, "mime_type")) or attachments.mime_from_name(
            string(item, "name") or string(item, "file_name"))
        out.append({"mime_type": mime, "size_bytes": integer(item, "size_bytes", 0, 2**62),
                    "sha256": sha.lower() if sha else None})
    return out


def dossier(obj: dict, ctx: Context) -> dict[str, Any]:
    """A DossierEvent record from a hub-json dossier object (or a matched CSV row)."""
    rec: dict[str, Any] = {}
    kind = (string(obj, "record_type") or "DOSSIER").upper()
    if kind not in ("DOSSIER", "PROGRESS"):
        raise Rejected("invalid_value", "record_type is not DOSSIER or PROGRESS", stage="map",
                       field="record_type")
    rec["record_type"] = kind
    code = string(obj, "dossier_code")
    if code is None:
        raise Rejected("missing_field", "dossier_code is required", stage="map", field="dossier_code")
    rec["dossier_code"] = code
    if string(obj, "status") is None:
        raise Rejected("missing_field", "status is required", stage="map", field="status")
    rec["status"] = enum(obj, "status", f.DOSSIER_STATUS, STATUS_LABELS, reason="unknown_status")
    rec["procedure_code"], rec["field_code"] = string(obj, "procedure_code"), string(obj, "field_code")
    for key in ("procedure_name", "handling_unit", "handler_role"):  # labels, but typed by people
        rec[key] = scrub(string(obj, key))
    rec["channel"] = enum(obj, "channel", f.CHANNEL, CHANNEL_LABELS)
    rec["service_level"] = integer(obj, "service_level", 1, 4)
    rec["applicant_type"] = enum(obj, "applicant_type", f.APPLICANT_TYPE, APPLICANT_LABELS)
    rec.update(ctx.applicant(string(obj, "applicant_id")))
    rec.update(ctx.handler(string(obj, "handler_id")))
    for key in DOSSIER_DATES:
        rec[key] = timestamp(obj, key)
    for key in ("has_digitized_components", "paid_online", "fee_bearing"):
        rec[key] = boolean(obj, key)
    rec["digitized_document_count"] = integer(obj, "digitized_document_count")
    if rec["digitized_document_count"] and rec["has_digitized_components"] is None:
        rec["has_digitized_components"] = True
    rec["commune_code"] = string(obj, "commune_code")
    rec["source_event_id"] = own_event_id(obj)
    times = [rec[k] for k in DOSSIER_DATES if k != "due_at" and rec[k] is not None]
    rec["event_time"] = timestamp(obj, "event_time") or (max(times) if times else None)
    return rec


def document(obj: dict, ctx: Context, dialect: str) -> dict[str, Any]:
    """A DocumentEvent record from a hub-json document object."""
    rec: dict[str, Any] = {"dialect": dialect}
    status_given = string(obj, "status_code") is not None
    kind = (string(obj, "message_type") or ("STATUS" if status_given else "DOCUMENT")).upper()
    if kind not in ("DOCUMENT", "STATUS"):
        raise Rejected("invalid_value", "message_type is not DOCUMENT or STATUS", stage="map",
                       field="message_type")
    rec["message_type"] = kind
    for key in ("document_id", "code_number", "code_notation", "from_organ_id", "document_type",
                "document_type_name", "subject", "response_for"):
        rec[key] = string(obj, key)
    rec["to_organ_ids"] = string_list(obj, "to_organ_ids", MAX_RECIPIENTS)
    rec.update(subject_fields(rec, ctx.organs, ctx.citizen_subjects))
    rec["document_type_name"] = scrub(rec["document_type_name"])  # free text from the publisher: it travels
    rec["promulgation_date"] = timestamp(obj, "promulgation_date")
    rec["due_date"] = timestamp(obj, "due_date")
    rec["priority"] = enum(obj, "priority", f.PRIORITY)
    rec["steering_type"] = enum(obj, "steering_type", f.STEERING)
    rec["business_doc_type"] = enum(obj, "business_doc_type", f.BUSINESS_DOC_TYPE)
    rec["status"] = enum(obj, "status_code", f.DOCUMENT_STATUS, reason="unknown_status")
    if kind == "STATUS" and rec["status"] is None:
        raise Rejected("missing_field", "status_code is required for a STATUS message", stage="map",
                       field="status_code")
    rec["status_time"] = timestamp(obj, "status_time")
    rec["attachments"] = attachment_list(obj)
    count = integer(obj, "attachment_count")
    rec["attachment_count"] = len(rec["attachments"]) if count is None else count
    rec["commune_code"] = string(obj, "commune_code")
    if rec["commune_code"] is None:  # a commune's own organ sent or reported it
        rec["commune_code"] = _commune_only(ctx.organ_commune(rec["from_organ_id"]))
    rec["direction"] = _direction(obj, rec, ctx)
    rec["source_event_id"] = own_event_id(obj)
    rec["event_time"] = timestamp(obj, "event_time") or rec["status_time"] or rec["promulgation_date"]
    return rec


def _commune_only(code: str | None) -> str | None:
    return code if code and len(code) == 5 and code.isdigit() else None


def _direction(obj: dict, rec: dict, ctx: Context) -> str:
    given = string(obj, "direction")
    if given is not None:
        if given.upper() not in ("INCOMING", "OUTGOING"):
            raise Rejected("invalid_value", "direction is not INCOMING or OUTGOING", stage="map", field="direction")
        return given.upper()
    # Unsaid, as in edXML: a document sent by the commune's own organ is outgoing, anything else
    # reached it; a status is the commune's report on what it received, unless a provincial body
    # reports on the commune's outgoing document.
    code = ctx.organ_commune(rec["from_organ_id"])
    if rec["message_type"] == "STATUS":
        return "OUTGOING" if code is not None and _commune_only(code) is None else "INCOMING"
    return "OUTGOING" if code is not None and code == rec["commune_code"] else "INCOMING"

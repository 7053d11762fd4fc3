"""What the two edXML dialects share: the MessageHeader / MessageStatus vocabulary and routing.

A dialect module only knows where its elements live (:class:`View`); this module maps them to
canonical ``DocumentEvent`` fields and decides which commune(s) a message concerns through the
organization directory (``ctx.organ_commune``: OrganId -> 5-digit commune or 2-digit province):

* a package **from a commune organ** is OUTGOING for that commune;
* a package **from a provincial body** yields one INCOMING record per recipient commune — a
  directive to five communes is five events, each with its own ``source_event_id``
  (``<base>|<commune>``), so each recipient's reach is tracked and re-sends still deduplicate;
* a **status notification** belongs to the commune of its ``From`` organ (INCOMING: the commune
  reports on a document it received), or — when a provincial body reports — to the commune that
  sent the answered document (OUTGOING);
* the ``hub.commune`` header (``env.commune_hint``) names the publishing commune when the
  directory cannot: an unknown OrganId without a hint is ``unknown_organ``, never a guess.

Dropped on purpose (personal or free text): ``Content``, ``SignerInfo``, ``StaffInfo``,
``Description``, organ contact details, and attachment content (only count and names stay).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

import orjson

from hub.errors import Rejected
from hub.normalize import fields as f
from hub.normalize import xml
from hub.normalize.context import Context, Envelope

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
EDOC_NS = "http://www.go.vn/eDoc"


@dataclass(frozen=True)
class View:
    """Where a dialect keeps the parts of one message; ``header`` xor ``status`` is set."""

    dialect: str
    root: Element
    header: Element | None = None  # MessageHeader of a document package
    status: Element | None = None  # MessageStatus (status notification)
    trace: Element | None = None  # TraceHeaderList


def parse_document(raw: bytes, env: Envelope, ctx: Context) -> list[dict]:
    """Parse either dialect (chosen by the root's namespace) into routed canonical records.

    Both format names accept both namespaces: the gateway labels any ``application/xml`` body
    ``edxml``, and a vendor's namespace says more about its dialect than the label does.
    """
    from hub.normalize.dialects import edoc_go, edxml  # the dialects import this module

    root = xml.parse(raw)
    ns = xml.namespace(root)
    readers = {EDXML_NS: edxml.view, EDOC_NS: edoc_go.view}
    reader = readers.get(ns)
    if reader is None:
        raise Rejected("unknown_document_root", f"root <{xml.local(root.tag)[:40]}> in namespace "
                       f"{ns[:80]!r} is neither edXML ({EDXML_NS}) nor eDoc ({EDOC_NS})", stage="parse")
    view = reader(root)
    if view.status is not None:
        return route_status(status_fields(view), raw, env, ctx)
    return route_package(package_fields(view), raw, env, ctx)


def package_fields(view: View) -> dict[str, Any]:
    """Canonical fields of a document package (before routing)."""
    h = view.header
    rec: dict[str, Any] = {"message_type": "DOCUMENT", "dialect": view.dialect}
    rec["document_id"] = xml.text(h, "DocumentId")
    rec["from_organ_id"] = xml.text(h, "From/OrganId")
    rec["to_organ_ids"] = _unique(xml.text(t, "OrganId") for t in xml.children(h, "To"))
    rec["code_number"] = xml.text(h, "Code/CodeNumber")
    rec["code_notation"] = xml.text(h, "Code/CodeNotation")
    rec["promulgation_date"] = f.timestamp_ms(xml.text(h, "PromulgationInfo/PromulgationDate"),
                                              "PromulgationDate")
    doc_type = xml.child(h, "DocumentType")
    rec["document_type"] = xml.text(doc_type, "Type")
    # eDoc puts the type name as the element's own text; edXML has Type/TypeName children
    rec["document_type_name"] = xml.text(doc_type, "TypeName") or (xml.text(doc_type) if doc_type is not None
                                                                      and len(doc_type) == 0 else None)
    rec["subject"] = xml.text(h, "Subject")
    rec["due_date"] = f.timestamp_ms(xml.text(h, "DueDate"), "DueDate")
    rec["priority"] = f.code(xml.text(h, "OtherInfo/Priority"), "Priority", f.PRIORITY)
    rec["steering_type"] = f.code(xml.text(h, "SteeringType"), "SteeringType", f.STEERING)
    business = next(xml.descendants(view.trace, "Bussiness"), None) if view.trace is not None else None
    rec["business_doc_type"] = f.code(xml.text(business, "BussinessDocType"), "BussinessDocType",
                                      f.BUSINESS_DOC_TYPE)
    rec["attachment_count"], rec["attachment_names"] = attachments(view.root)
    sent = [t for th in xml.descendants(view.trace, "TraceHeader")
            if (t := f.timestamp_ms(xml.text(th, "Timestamp") or xml.text(th, "Time"),
                                    "TraceHeader/Timestamp"))]
    rec["event_time"] = max(sent) if sent else rec["promulgation_date"]
    return rec


def status_fields(view: View) -> dict[str, Any]:
    """Canonical fields of a status notification (before routing)."""
    s = view.status
    rec: dict[str, Any] = {"message_type": "STATUS", "dialect": view.dialect}
    answered = xml.child(s, "ResponseFor")
    rec["document_id"] = xml.text(answered, "DocumentId")
    number, notation = split_code(xml.text(answered, "Code") or _code_of(rec["document_id"]))
    rec["code_number"], rec["code_notation"] = number, notation
    rec["from_organ_id"] = xml.text(s, "From/OrganId")
    rec["to_organ_ids"] = _unique([xml.text(answered, "OrganId")])
    code = xml.text(s, "StatusCode")
    if code is None:
        raise Rejected("missing_field", "MessageStatus/StatusCode is required", stage="map",
                       field="StatusCode")
    rec["status"] = f.code(code, "StatusCode", f.DOCUMENT_STATUS, reason="unknown_status")
    rec["status_time"] = f.timestamp_ms(xml.text(s, "Timestamp"), "Timestamp")
    rec["event_time"] = rec["status_time"]
    rec["promulgation_date"] = f.timestamp_ms(xml.text(answered, "PromulgationDate"),
                                              "ResponseFor/PromulgationDate")
    return rec


def attachments(root: Element) -> tuple[int, list[str]]:
    """(count, file names) of the attachments; their content is never read further."""
    items = list(xml.descendants(root, "Attachment"))
    refs = [r for m in [*xml.descendants(root, "edXMLManifest"), *xml.descendants(root, "Manifest")]
            for r in xml.children(m, "Reference")]
    names = [n for r in refs if (n := xml.text(r, "AttachmentName"))]
    if not names:
        names = [n for a in items if (n := _attachment_name(a))]
    return max(len(items), len(refs)), names


def _attachment_name(el: Element) -> str | None:
    for tag in ("AttachmentName", "FileName", "Name"):
        if name := xml.text(el, tag):
            return name
    return f.text(el.get("AttachmentName") or el.get("FileName") or el.get("name"))


def split_code(value: str | None) -> tuple[str | None, str | None]:
    """``173/2025/NĐ-CP`` -> (``173``, ``2025/NĐ-CP``); a code without a leading number is all notation."""
    if not value:
        return None, None
    head, sep, rest = value.partition("/")
    if sep and head.strip().isdigit() and rest.strip():
        return head.strip(), rest.strip()
    return None, value


def _code_of(document_id: str | None) -> str | None:
    """The ``number/notation`` part of a DocumentId ``OrganId,yyyy/MM/dd,number/notation``."""
    parts = (document_id or "").split(",")
    return parts[2].strip() or None if len(parts) >= 3 else None


def _unique(values: Any) -> list[str]:
    out: list[str] = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return out


def _is_commune(code: str | None) -> bool:
    return bool(code) and len(code) == 5 and code.isdigit()


def _emit(rec: dict, commune: str, direction: str, base: str) -> dict:
    # copy the lists: each recipient's record must be independent of the others
    return {**rec, "to_organ_ids": list(rec["to_organ_ids"]),
            "attachment_names": list(rec.get("attachment_names", [])),
            "commune_code": commune, "direction": direction, "source_event_id": f"{base}|{commune}"}


def _unknown(organs: list[str]) -> Rejected:
    return Rejected("unknown_organ", f"OrganId {', '.join(o[:40] for o in organs[:5])} is not in the "
                    "organization directory (add it with `hub systems add --organ-id` or HUB_ORGANS)",
                    stage="map", field="OrganId")


def _package_base(rec: dict, raw: bytes, env: Envelope) -> str:
    if env.source_event_id:
        return env.source_event_id
    if rec["document_id"]:
        # An update (BussinessDocType 2) keeps its DocumentId: the digest of what the feed would
        # say tells an update from a re-send of the same package.
        digest = hashlib.sha256(orjson.dumps(rec, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
        return f"{rec['document_id']}#{digest}"
    return hashlib.sha256(raw).hexdigest()[:32]


def route_package(rec: dict, raw: bytes, env: Envelope, ctx: Context) -> list[dict]:
    """One OUTGOING record for a sending commune, or INCOMING records per recipient commune."""
    sender = rec["from_organ_id"]
    if sender is None:
        raise Rejected("missing_field", "MessageHeader/From/OrganId is required", stage="map", field="From")
    base = _package_base(rec, raw, env)
    sender_code = ctx.organ_commune(sender)
    hint = env.commune_hint
    if _is_commune(sender_code) and (not hint or hint == sender_code):
        return [_emit(rec, sender_code, "OUTGOING", base)]
    if hint:  # the publishing commune's own system reports a package it received
        return [_emit(rec, hint, "INCOMING", base)]
    if sender_code is None:
        raise _unknown([sender])
    unknown = [t for t in rec["to_organ_ids"] if ctx.organ_commune(t) is None]
    if unknown:
        raise _unknown(unknown)
    communes = _unique(c for t in rec["to_organ_ids"] if _is_commune(c := ctx.organ_commune(t)))
    if not communes:
        raise Rejected("missing_commune", f"package from {sender} names no commune among its recipients",
                       stage="map", field="To")
    return [_emit(rec, c, "INCOMING", base) for c in communes]


def route_status(rec: dict, raw: bytes, env: Envelope, ctx: Context) -> list[dict]:
    """The reporting commune (INCOMING), or the commune whose outgoing document a province answers."""
    reporter = rec["from_organ_id"]
    if reporter is None:
        raise Rejected("missing_field", "MessageStatus/From/OrganId is required", stage="map", field="From")
    base = env.source_event_id or "status|" + "|".join(str(rec[k] or "") for k in
                                                ("document_id", "status", "status_time", "from_organ_id"))
    code = ctx.organ_commune(reporter)
    hint = env.commune_hint
    if _is_commune(code) and (not hint or hint == code):
        return [_emit(rec, code, "INCOMING", base)]
    if hint:
        return [_emit(rec, hint, "INCOMING" if code is None else "OUTGOING", base)]
    if code is None:
        raise _unknown([reporter])
    sender = rec["to_organ_ids"][0] if rec["to_organ_ids"] else None
    sender_code = ctx.organ_commune(sender)
    if sender and sender_code is None:
        raise _unknown([sender])
    if not _is_commune(sender_code):
        raise Rejected("missing_commune", f"status from {reporter} answers no commune's document",
                       stage="map", field="ResponseFor")
    return [_emit(rec, sender_code, "OUTGOING", base)]

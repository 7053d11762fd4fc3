"""What the two edXML dialects share: the MessageHeader / MessageStatus vocabulary and routing.

A dialect module only knows where its elements live (:class:`View`); this module maps them to
canonical ``DocumentEvent`` fields and decides which commune(s) a message concerns through the
organization directory (``ctx.organ_commune``: OrganId -> 5-digit commune or 2-digit province).
The Kafka key never enters routing; ``env.commune_hint`` is only the explicit ``hub.commune``
header (``X-Hub-Commune`` at the gateway). The rule, exactly:

**Document packages** (sender = ``From/OrganId``, recipients = every ``To/OrganId``; H = the hint):

1. sender is a **commune** C in the directory:
   a. no H, or H = C: one OUTGOING record for C;
   b. H != C, and H is a recipient (a ``To`` OrganId maps to H) or some recipient is unknown to
      the directory: one INCOMING record for H (H's system reports a package it received from C);
   c. otherwise the payload decides: one OUTGOING record for C (the scope check then tells
      whether H's system may publish for C).
2. sender is a **non-commune organ in the directory** (a provincial body): one INCOMING record per
   distinct recipient commune, *whatever H says*; a recipient unknown to the directory is
   ``unknown_organ`` naming it (a directive must never lose a recipient silently); no recipient
   commune at all is ``missing_commune``.
3. sender **unknown** to the directory, or absent (a citizen's petition registered as an incoming
   document has no OrganId): with H, and H a recipient or some recipient unknown, one INCOMING
   record for H (e.g. a ministry outside the directory wrote to the commune). Otherwise
   ``unknown_organ`` naming the sender (``missing_field`` when there is none) — never a guess: a
   commune's own report from an OrganId the directory does not know yet is refused, not turned into
   an INCOMING record.

**Status notifications** (reporter = ``From/OrganId``, answered = ``ResponseFor/OrganId``, H):

1. reporter is a **commune** C: no H or H = C: INCOMING for C (C reports on a document it
   received); H != C and the answered organ is H: OUTGOING for H (C answers H's document, H's
   system publishes the answer); otherwise INCOMING for C.
2. reporter is a **non-commune organ in the directory**: OUTGOING for the commune of the answered
   organ; an answered organ unknown to the directory is ``unknown_organ``; no answered organ: OUTGOING
   for H when given, else ``missing_commune``; an answered organ that is not a commune is
   ``missing_commune``.
3. reporter **unknown**: with H, OUTGOING for H when the answered organ is H (an outside body
   answers H's document), else INCOMING for H (H reports on a document it received); without H,
   ``unknown_organ`` naming the reporter.

**Who may say it** (:mod:`hub.normalize.speakers`). A record that is the sender's or the reporter's own
act — a package by rules 1a, 1c and 2, a status by rule 1's INCOMING for C and by rule 2 — is accepted only
from a system that registered that OrganId, else ``organ_not_in_scope``; so a commune cannot publish a
"province directive". What stays open to the receiving commune's system: rule 1b, rule 3 and a status's
OUTGOING for H (it files what it received or the answer to its own document).

Every record of one message gets ``source_event_id`` ``<base>|<commune>``: ``base`` is the
publisher's id, else for a package ``DocumentId#<digest>`` (a digest of what the message says, so
an update — BussinessDocType 2 keeps its DocumentId — is a new event while a re-send is not) and for
a status ``status#<digest>`` of every status field (document, code, reporter, answered organ, status,
time), so two different statuses never share an id.

Dropped on purpose (personal or free text): ``Content``, ``SignerInfo``, ``StaffInfo``,
``Description``, organ contact details, attachment names and content (see
:mod:`hub.normalize.attachments`); the subject follows :mod:`hub.normalize.personal_data`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, TypeGuard
from xml.etree.ElementTree import Element

import orjson

from hub.errors import Rejected
from hub.normalize import attachments, budget, decode, speakers, xml
from hub.normalize import fields as f
from hub.normalize.context import Context, Envelope
from hub.normalize.personal_data import STATE_ORGAN_ID, scrub, subject_fields

MAX_RECIPIENTS = 5_000  # distinct To OrganIds; a national distribution list (3,321 communes) fits
EDXML_NS, EDOC_NS = decode.EDXML_NS, decode.EDOC_NS


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
    from hub.normalize.core import formats  # the dialects import this module

    root = decode.xml_root(raw)
    view = formats()[decode.xml_dialect(root)].view(root)
    if view.status is not None:
        return route_status(status_fields(view), env, ctx)
    rec = package_fields(view)
    base = env.source_event_id or _package_base(rec)
    rec.update(subject_fields(rec, ctx.organs, ctx.citizen_subjects))
    rec["document_type_name"] = scrub(rec["document_type_name"])  # free text from the publisher: it travels
    return route_package(rec, base, env, ctx)


def package_fields(view: View) -> dict[str, Any]:
    """Canonical fields of a document package (before routing; ``subject`` still as sent)."""
    h = view.header
    rec: dict[str, Any] = {"message_type": "DOCUMENT", "dialect": view.dialect}
    rec["document_id"] = xml.text(h, "DocumentId")
    rec["from_organ_id"] = xml.text(h, "From/OrganId")
    recipients = xml.children(h, "To")
    budget.bound(len(recipients), 2 * MAX_RECIPIENTS, "MessageHeader/To")  # before the work; repeats allowed
    rec["to_organ_ids"] = f.unique(xml.text(t, "OrganId") for t in recipients)
    budget.bound(len(rec["to_organ_ids"]), MAX_RECIPIENTS, "MessageHeader/To")
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
    rec["response_for"] = next((d for r in xml.children(h, "ResponseFor") if (d := xml.text(r, "DocumentId"))),
                               None)
    business = next(xml.descendants(view.trace, "Bussiness"), None) if view.trace is not None else None
    rec["business_doc_type"] = f.code(xml.text(business, "BussinessDocType"), "BussinessDocType",
                                      f.BUSINESS_DOC_TYPE)
    rec["attachments"] = attachments.from_xml(view.root)
    rec["attachment_count"] = len(rec["attachments"])
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
    rec["to_organ_ids"] = f.unique([xml.text(answered, "OrganId")])
    code = xml.text(s, "StatusCode")
    if code is None:
        raise Rejected("missing_field", "MessageStatus/StatusCode is required", stage="map",
                       field="StatusCode")
    rec["status"] = f.code(code, "StatusCode", f.DOCUMENT_STATUS, reason="unknown_status")
    rec["status_time"] = f.timestamp_ms(xml.text(s, "Timestamp"), "Timestamp")
    rec["event_time"] = rec["status_time"]
    rec["promulgation_date"] = f.timestamp_ms(xml.text(answered, "PromulgationDate"),
                                              "ResponseFor/PromulgationDate")
    rec.update(attachments=[], attachment_count=0, subject=None, subject_withheld=False, response_for=None)
    return rec


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


def _is_commune(code: str | None) -> TypeGuard[str]:
    return code is not None and len(code) == 5 and code.isdigit()


def _digest(rec: dict, skip: tuple[str, ...] = ()) -> str:
    content = {k: v for k, v in rec.items() if k not in skip}
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _package_base(rec: dict) -> str:
    # The dialect is how it was said, not what: the same package in the other dialect is a re-send.
    digest = _digest(rec, skip=("dialect",))
    return f"{rec['document_id']}#{digest[:16]}" if rec["document_id"] else f"document#{digest}"


def _status_base(rec: dict) -> str:
    return "status#" + _digest(rec, skip=("dialect", "event_time", "message_type", "attachments",
                                          "attachment_count", "subject", "subject_withheld", "response_for"))


def _emit(rec: dict, commune: str, direction: str, base: str) -> dict:
    # copy the lists: each recipient's record must be independent of the others
    return {**rec, "to_organ_ids": list(rec["to_organ_ids"]), "attachments": list(rec["attachments"]),
            "commune_code": commune, "direction": direction, "source_event_id": f"{base}|{commune}"}


def _shown(organ_id: str) -> str:
    """An OrganId for a message: electronic ids are public; anything else is not echoed."""
    return organ_id if STATE_ORGAN_ID.match(organ_id) else "(not an electronic organ id)"


def _unknown(organs: list[str], field: str) -> Rejected:
    shown = ", ".join(_shown(o) for o in organs[:5]) + (f" and {len(organs) - 5} more" if len(organs) > 5 else "")
    return Rejected("unknown_organ", f"{field} {shown} is not in the organization directory (add it with "
                    "`hub systems add --organ-id` or HUB_ORGANS)", stage="map", field=field)


def route_package(rec: dict, base: str, env: Envelope, ctx: Context) -> list[dict]:
    """The records of a document package, by the rule in the module docstring."""
    sender = rec["from_organ_id"]
    hint = env.commune_hint
    sender_code = ctx.organ_commune(sender)
    codes = [ctx.organ_commune(t) for t in budget.each(rec["to_organ_ids"], "MessageHeader/To")]
    received_by_hint = bool(hint) and (hint in codes or None in codes)
    if _is_commune(sender_code):
        if hint and hint != sender_code and received_by_hint:
            return [_emit(rec, hint, "INCOMING", base)]
        speakers.own(sender, env, ctx, "MessageHeader/From/OrganId")
        return [_emit(rec, sender_code, "OUTGOING", base)]
    if sender_code is None:
        if received_by_hint and hint:  # (received_by_hint implies a hint)
            return [_emit(rec, hint, "INCOMING", base)]
        if sender is None:
            raise Rejected("missing_field", "MessageHeader/From/OrganId is required (or, for a document received "
                           "from outside the organ directory, the hub.commune header of a recipient)",
                           stage="map", field="From")
        raise _unknown([sender], "From/OrganId")
    speakers.own(sender, env, ctx, "MessageHeader/From/OrganId")
    unknown = [t for t, c in zip(rec["to_organ_ids"], codes, strict=True) if c is None]
    if unknown:
        raise _unknown(unknown, "To/OrganId")
    communes = f.unique(c for c in codes if _is_commune(c))
    if not communes:
        raise Rejected("missing_commune", f"package from {_shown(sender)} names no commune among its recipients",
                       stage="map", field="To")
    return [_emit(rec, c, "INCOMING", base) for c in budget.each(communes, "recipient communes")]


def route_status(rec: dict, env: Envelope, ctx: Context) -> list[dict]:
    """The record of a status notification, by the rule in the module docstring."""
    reporter = rec["from_organ_id"]
    if reporter is None:
        raise Rejected("missing_field", "MessageStatus/From/OrganId is required", stage="map", field="From")
    base = env.source_event_id or _status_base(rec)
    hint = env.commune_hint
    code = ctx.organ_commune(reporter)
    answered = rec["to_organ_ids"][0] if rec["to_organ_ids"] else None
    answered_code = ctx.organ_commune(answered)
    if _is_commune(code):
        if hint and hint != code and answered_code == hint:
            return [_emit(rec, hint, "OUTGOING", base)]
        speakers.own(reporter, env, ctx, "MessageStatus/From/OrganId")
        return [_emit(rec, code, "INCOMING", base)]
    if code is None:
        if not hint:
            raise _unknown([reporter], "MessageStatus/From/OrganId")
        return [_emit(rec, hint, "OUTGOING" if answered_code == hint else "INCOMING", base)]
    speakers.own(reporter, env, ctx, "MessageStatus/From/OrganId")
    if answered is None and hint:
        return [_emit(rec, hint, "OUTGOING", base)]
    if answered is not None and answered_code is None:
        raise _unknown([answered], "ResponseFor/OrganId")
    if _is_commune(answered_code):
        return [_emit(rec, answered_code, "OUTGOING", base)]
    raise Rejected("missing_commune", f"status from {_shown(reporter)} answers no commune's document",
                   stage="map", field="ResponseFor")

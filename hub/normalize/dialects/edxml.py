"""edXML document packages and status notifications, QCVN 102:2016/BTTTT.

Namespace ``http://www.mic.gov.vn/TBT/QCVN_102_2016``. A package is::

    edXML
      edXMLEnvelope
        edXMLHeader
          MessageHeader     From, To[], Code, PromulgationInfo, DocumentType, Subject, Content,
                            SignerInfo, DueDate, ToPlaces, OtherInfo, ResponseFor, SteeringType,
                            DocumentId
          TraceHeaderList   TraceHeader[] (OrganId, Timestamp), Bussiness (BussinessDocType, StaffInfo)
          Signature
        edXMLBody           edXMLManifest / Reference[] (ContentId, ContentType, AttachmentName)
      AttachmentEncoded     Attachment[] (ContentId, ContentTransferEncoded: base64)

A status notification is ``MessageStatus`` (``ResponseFor``, ``From``, ``StatusCode``,
``Description``, ``Timestamp``, ``StaffInfo``) either as the root or inside ``edXMLHeader``
(some SDKs call it ``Status``). The root ``edXMLEnvelope`` without the ``edXML`` wrapper is
tolerated. Mapping and commune routing are shared with the eDoc dialect in
:mod:`hub.normalize.edxml_common`; an eDoc document posted with this format is read as eDoc.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from hub.errors import Rejected
from hub.normalize import decode, xml
from hub.normalize import edxml_common as common
from hub.normalize.context import Context, Envelope

FORMAT = "edxml"
KIND = "document"
NAMESPACE = decode.EDXML_NS
_STATUS = ("MessageStatus", "Status")


def view(root: Element) -> common.View:
    """Locate the header, status and trace parts of an edXML root."""
    name = xml.local(root.tag)
    if name in _STATUS:
        return common.View("edxml", root, status=root)
    envelope = {"edXML": xml.child(root, "edXMLEnvelope"), "edXMLEnvelope": root}.get(name)
    if envelope is None:
        raise Rejected("unknown_document_root", "edXML root must be <edXML>, <edXMLEnvelope> or "
                       f"<MessageStatus>, not <{name[:40]}>", stage="parse")
    header = xml.child(envelope, "edXMLHeader")
    trace = xml.child(header, "TraceHeaderList")
    for tag in _STATUS:
        if (status := xml.child(header, tag)) is not None:
            return common.View("edxml", root, status=status, trace=trace)
    message = xml.child(header, "MessageHeader")
    if message is None:
        raise Rejected("missing_field", "edXMLHeader has neither MessageHeader nor MessageStatus",
                       stage="map", field="MessageHeader")
    return common.View("edxml", root, header=message, trace=trace)


def parse(raw: bytes, env: Envelope, ctx: Context) -> list[dict]:
    return common.parse_document(raw, env, ctx)

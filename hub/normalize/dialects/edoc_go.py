"""The eDoc dialect (namespace ``http://www.go.vn/eDoc``, root ``EdXMLEnvelope``), inline attachments.

Seen in the field (vendor SDKs following the interconnection guideline of Decision 28/2018/QĐ-TTg)::

    EdXMLEnvelope
      MessageHeader       From, To[], Code, PromulgationInfo, DocumentType, Subject, SignerInfo,
                          DueDate, OtherInfo, SteeringType, DocumentId, and often TraceHeaderList
      Manifest            Attachment[] (FileName, FileType, Content: base64 inline)

Element names not confirmed by a public specification, chosen to mirror edXML and documented
here so vendors can be told exactly what the hub reads:

* ``EdXMLHeader`` / ``EdXMLBody`` wrappers are optional: ``MessageHeader``, ``MessageStatus``
  and ``TraceHeaderList`` are looked up under ``EdXMLHeader`` when present, else directly under
  the root (``TraceHeaderList`` also inside ``MessageHeader``);
* attachments are any ``Attachment`` element (``Manifest/Attachment``,
  ``EdXMLBody/Attachments/Attachment``); its type is ``FileType`` (a MIME type or an extension),
  else the extension of ``FileName`` (or ``AttachmentName``/``Name`` child, or a ``FileName``
  attribute); size and SHA-256 come from ``Content``; neither the name nor the content is
  carried (:mod:`hub.normalize.attachments`);
* ``DocumentType`` may hold the type name as text (``<DocumentType>Công văn</DocumentType>``)
  or edXML's ``Type``/``TypeName`` children;
* trace times are ``TraceHeader/Time`` (edXML: ``Timestamp``); both are read;
* a status notification is ``MessageStatus`` with edXML's children, as the root or in the header.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from hub.errors import Rejected
from hub.normalize import decode, xml
from hub.normalize import edxml_common as common
from hub.normalize.context import Context, Envelope

FORMAT = "edoc-go"
KIND = "document"
NAMESPACE = decode.EDOC_NS
_STATUS = ("MessageStatus", "Status")


def view(root: Element) -> common.View:
    """Locate the header, status and trace parts of an eDoc root."""
    name = xml.local(root.tag)
    if name in _STATUS:
        return common.View("edoc-go", root, status=root)
    if name != "EdXMLEnvelope":
        raise Rejected("unknown_document_root", f"eDoc root must be <EdXMLEnvelope> or <MessageStatus>, "
                       f"not <{name[:40]}>", stage="parse")
    header = xml.child(root, "EdXMLHeader")
    if header is None:
        header = root
    message = xml.child(header, "MessageHeader")
    trace = xml.child(header, "TraceHeaderList")
    if trace is None:
        trace = xml.child(message, "TraceHeaderList")
    for tag in _STATUS:
        if (status := xml.child(header, tag)) is not None:
            return common.View("edoc-go", root, status=status, trace=trace)
    if message is None:
        raise Rejected("missing_field", "EdXMLEnvelope has neither MessageHeader nor MessageStatus",
                       stage="map", field="MessageHeader")
    return common.View("edoc-go", root, header=message, trace=trace)


def parse(raw: bytes, env: Envelope, ctx: Context) -> list[dict]:
    return common.parse_document(raw, env, ctx)

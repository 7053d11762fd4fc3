"""Attachments (tệp đính kèm) as the feeds describe them: never a name, never content.

A file name often names a person (``Đơn của Nguyễn Văn A.pdf``), so names never leave the hub.
Each attachment becomes ``{"mime_type", "size_bytes", "sha256"}``:

* ``mime_type``: the declared type (edXML ``Reference/ContentType``, eDoc ``FileType`` when it
  holds a ``type/subtype``), else guessed from the file name's extension with a fixed table
  (the same on every machine, unlike :mod:`mimetypes`), else null;
* ``size_bytes`` and ``sha256``: of the decoded base64 content when the package carries it
  (edXML ``AttachmentEncoded/Attachment/ContentTransferEncoded``, eDoc ``Attachment/Content``);
  content that is not valid base64 is ``invalid_value`` (the receiving organ could not open it
  either). The digest lets a subscriber recognise the same file across documents without
  reading it.

edXML pairs manifest ``Reference`` elements with encoded ``Attachment`` elements by
``ContentId`` (in order when ids are missing); the count is the larger of the two lists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any
from xml.etree.ElementTree import Element

from hub.errors import Rejected
from hub.normalize import budget, xml
from hub.normalize import fields as f

_MIME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")  # RFC 6838 names
MAX_ATTACHMENTS = 1_000  # a package with more attachments than this is not a document but a dump
_MIME_BY_EXTENSION = {
    "pdf": "application/pdf", "doc": "application/msword", "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint", "rtf": "application/rtf", "txt": "text/plain", "xml": "application/xml",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "tif": "image/tiff", "tiff": "image/tiff",
    "zip": "application/zip", "rar": "application/vnd.rar", "7z": "application/x-7z-compressed",
}


def mime_from_name(name: str | None) -> str | None:
    """MIME type by the extension of a file name (or a bare extension such as ``pdf``)."""
    if not name:
        return None
    return _MIME_BY_EXTENSION.get(name.rpartition(".")[2].strip().lower())


def declared_mime(value: str | None) -> str | None:
    """A declared MIME type when it looks like one (``type/subtype``), else the type of a bare extension."""
    if value and len(value) <= 128 and _MIME.match(value):
        return value.lower()
    return mime_from_name(value)  # eDoc's FileType is sometimes just "pdf"


def content_facts(encoded: str | None, where: str) -> tuple[int | None, str | None]:
    """(size in bytes, hex SHA-256) of base64 content; (None, None) without content."""
    if not encoded:
        return None, None
    try:
        data = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Rejected("invalid_value", f"{where} is not valid base64", stage="map", field=where) from None
    return len(data), hashlib.sha256(data).hexdigest()


def _name(el: Element | None) -> str | None:
    for tag in ("AttachmentName", "FileName", "Name"):
        if name := xml.text(el, tag):
            return name
    return None if el is None else f.text(el.get("AttachmentName") or el.get("FileName") or el.get("name"))


def _describe(meta: Element | None, content: Element | None) -> dict[str, Any]:
    mime = None
    for el in (meta, content):
        for tag in ("ContentType", "MimeType", "FileType"):
            mime = mime or declared_mime(xml.text(el, tag))
    mime = mime or mime_from_name(_name(meta) or _name(content))
    encoded = xml.text(content, "ContentTransferEncoded") or xml.text(content, "Content")
    size, digest = content_facts(encoded, "Attachment/Content")
    return {"mime_type": mime, "size_bytes": size, "sha256": digest}


def from_xml(root: Element) -> list[dict[str, Any]]:
    """The attachments of an edXML or eDoc package, manifest references paired with their content."""
    found = list(xml.descendants(root, "Attachment", "edXMLManifest", "Manifest"))  # one walk of the tree
    items = [el for el in found if xml.local(el.tag) == "Attachment"]
    refs = [r for m in found if xml.local(m.tag) != "Attachment" for r in xml.children(m, "Reference")]
    budget.bound(max(len(items), len(refs)), MAX_ATTACHMENTS, "the attachment list")
    by_id = {cid: a for a in items if (cid := xml.text(a, "ContentId"))}
    paired: list[tuple[Element | None, Element | None]] = []
    unpaired_refs = []
    for ref in refs:
        content = by_id.pop(cid, None) if (cid := xml.text(ref, "ContentId")) else None
        if content is None:
            unpaired_refs.append(len(paired))
        paired.append((ref, content))
    used = {id(c) for _, c in paired if c is not None}
    leftover = iter([a for a in items if id(a) not in used])
    for i in unpaired_refs:  # manifests without ContentIds: pair in document order
        paired[i] = (paired[i][0], next(leftover, None))
    paired += [(a, a) for a in leftover]
    return [_describe(meta, content) for meta, content in budget.each(paired, "attachments")]

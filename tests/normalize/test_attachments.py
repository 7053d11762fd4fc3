"""Attachments are described by MIME type, size and digest; names and content never reach a record."""

from __future__ import annotations

import pytest

from hub.errors import Rejected
from hub.normalize import attachments, decode

NS = 'xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"'
PDF_B64, PDF_SHA = "JVBERi0xLjQK", "e5c62df5dab5c87b6a015ef3d43597074d1eec433b15f51aec63b8582d0e4ab4"  # b"%PDF-1.4\n"


def _edxml(refs: str, encoded: str) -> list[dict]:
    raw = (f"<edXML {NS}><edXMLEnvelope><edXMLBody><edXMLManifest>{refs}</edXMLManifest></edXMLBody>"
           f"</edXMLEnvelope><AttachmentEncoded>{encoded}</AttachmentEncoded></edXML>").encode()
    return attachments.from_xml(decode.xml_root(raw))


def test_references_pair_with_content_by_content_id():
    """Manifest references find their encoded content by ContentId, whatever the order."""
    refs = ("<Reference><ContentId>b</ContentId><AttachmentName>Đơn của bà A.docx</AttachmentName></Reference>"
            "<Reference><ContentId>a</ContentId><ContentType>application/pdf</ContentType></Reference>")
    encoded = (f"<Attachment><ContentId>a</ContentId><ContentTransferEncoded>{PDF_B64}</ContentTransferEncoded>"
               "</Attachment>")
    assert _edxml(refs, encoded) == [
        {"mime_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "size_bytes": None,
         "sha256": None},
        {"mime_type": "application/pdf", "size_bytes": 9, "sha256": PDF_SHA},
    ]


def test_references_without_ids_pair_in_order_and_extra_content_counts():
    """Without ContentIds references pair in document order; unreferenced content is one more attachment."""
    refs = "<Reference><AttachmentName>a.pdf</AttachmentName></Reference>"
    encoded = (f"<Attachment><ContentTransferEncoded>{PDF_B64}</ContentTransferEncoded></Attachment>"
               "<Attachment><ContentTransferEncoded>AAEC</ContentTransferEncoded></Attachment>")
    got = _edxml(refs, encoded)
    assert got == [{"mime_type": "application/pdf", "size_bytes": 9, "sha256": PDF_SHA},
                   {"mime_type": None, "size_bytes": 3,
                    "sha256": "ae4b3280e56e2faf83f414a6e3dabe9d5fbe18976544c05fed121accb85b53fc"}]


def test_base64_with_line_breaks_is_content():
    """MIME-style base64 wrapped over lines decodes to the same bytes."""
    encoded = "<Attachment><ContentTransferEncoded>JVBE\n  Ri0x\r\nLjQK</ContentTransferEncoded></Attachment>"
    assert _edxml("", encoded)[0]["sha256"] == PDF_SHA


def test_content_that_is_not_base64_is_invalid_value():
    """Corrupt content is invalid_value naming the field (the receiving organ could not open it either)."""
    with pytest.raises(Rejected) as info:
        _edxml("", "<Attachment><ContentTransferEncoded>not*base64!</ContentTransferEncoded></Attachment>")
    assert (info.value.reason, info.value.field) == ("invalid_value", "Attachment/Content")
    assert "not*base64" not in info.value.message


@pytest.mark.parametrize(("name", "mime"), [("Báo cáo.PDF", "application/pdf"), ("scan.jpeg", "image/jpeg"),
                                            ("x.unknownext", None), ("noextension", None), ("pdf", "application/pdf")])
def test_mime_from_the_extension_uses_a_fixed_table(name, mime):
    """The MIME type of a name comes from a fixed table, the same on every machine."""
    assert attachments.mime_from_name(name) == mime


def test_an_absurd_number_of_attachments_is_too_expensive():
    """More than 1,000 attachments in one package is a structural bound: too_expensive."""
    with pytest.raises(Rejected) as info:
        _edxml("", "<Attachment/>" * 1_001)
    assert info.value.reason == "too_expensive"


@pytest.mark.parametrize(("declared", "mime"), [("application/PDF", "application/pdf"), ("pdf", "application/pdf"),
                                                ("Nguyễn/Văn", None), ("text/plain; charset=utf-8", None), ("", None)])
def test_declared_types_must_look_like_mime_types(declared, mime):
    """Only a type/subtype of RFC 6838 characters is taken as declared; free text never travels as a MIME type."""
    assert attachments.declared_mime(declared) == mime

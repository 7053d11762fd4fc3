"""eDoc (go.vn) packages with inline attachments and status notifications."""

from __future__ import annotations

import pytest
from fixtures.load import HERE

from hub.errors import Rejected
from hub.normalize import normalize

from .support import cases_in, check_case, context, envelope

CASES = cases_in("edoc_go")


def _run(raw: bytes, fmt: str = "edoc-go") -> list[dict]:
    return normalize(raw, envelope(fmt, "document"), context())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture(case):
    """Each eDoc fixture normalizes to exactly its expected records (or its rejection)."""
    check_case(case)


def test_inline_attachment_content_is_dropped():
    """Inline base64 Content is counted and named, never carried."""
    records = _run((HERE / "edoc_go" / "incoming_congvan_inline_attachments.xml").read_bytes())
    assert records[0]["attachment_count"] == 3
    assert "JVBERi0" not in repr(records)


def test_signer_and_promulgator_are_dropped():
    """Signer and promulgator names (personal) do not reach the record."""
    assert "Đoàn Văn Khánh" not in repr(_run((HERE / "edoc_go" / "incoming_congvan_inline_attachments.xml")
                                             .read_bytes()))


def test_edxml_namespace_is_accepted_under_the_edoc_format():
    """An edXML package posted as edoc-go is read as edXML."""
    raw = (HERE / "edxml" / "outgoing_report_from_commune.xml").read_bytes()
    assert [r["dialect"] for r in _run(raw)] == ["edxml"]


def test_wrong_root_in_edoc_namespace():
    """A go.vn document whose root is not EdXMLEnvelope is unknown_document_root."""
    with pytest.raises(Rejected) as info:
        _run(b'<Envelope xmlns="http://www.go.vn/eDoc"><MessageHeader/></Envelope>')
    assert info.value.reason == "unknown_document_root"


def test_envelope_without_header_is_missing_field():
    """An EdXMLEnvelope with neither MessageHeader nor MessageStatus is missing_field."""
    with pytest.raises(Rejected) as info:
        _run(b'<EdXMLEnvelope xmlns="http://www.go.vn/eDoc"><Manifest/></EdXMLEnvelope>')
    assert info.value.reason == "missing_field"

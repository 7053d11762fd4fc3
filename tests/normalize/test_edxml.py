"""edXML (QCVN 102:2016) packages and status notifications: fixtures and commune routing."""

from __future__ import annotations

import pytest
from fixtures.load import HERE

from hub.errors import Rejected
from hub.normalize import fields, normalize

from .support import cases_in, check_case, context, envelope

CASES = cases_in("edxml")
DIRECTIVE = (HERE / "edxml" / "directive_province_to_communes.xml").read_bytes()


def _run(raw: bytes, hint: str | None = None, event_id: str | None = None, **ctx) -> list[dict]:
    return normalize(raw, envelope("edxml", "document", hint, event_id), context(**ctx))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture(case):
    """Each edXML fixture normalizes to exactly its expected records (or its rejection)."""
    check_case(case)


def test_status_fixtures_cover_every_status_code():
    """Status notifications 01-06, 13, 15 and 16 all have a fixture."""
    seen = {r["status"] for c in CASES if not c.reject for r in c.expected if r["message_type"] == "STATUS"}
    assert seen == set(fields.DOCUMENT_STATUS.values())


def test_directive_fans_out_one_event_per_recipient_commune():
    """A directive to three communes and a department yields three INCOMING events with distinct ids."""
    records = _run(DIRECTIVE)
    assert [r["commune_code"] for r in records] == ["23734", "23728", "23722"]
    assert {r["direction"] for r in records} == {"INCOMING"}
    assert len({r["event_id"] for r in records}) == 3
    assert all(r["source_event_id"].endswith("|" + r["commune_code"]) for r in records)


def test_resend_keeps_ids_and_an_update_changes_them():
    """Re-sending the same package gives the same event ids; a changed deadline gives new ones."""
    first = [r["event_id"] for r in _run(DIRECTIVE)]
    reindented = DIRECTIVE.replace(b"  <edXML:edXMLEnvelope", b"<edXML:edXMLEnvelope")
    assert [r["event_id"] for r in _run(reindented)] == first
    updated = DIRECTIVE.replace(b"2025/12/15", b"2025/12/20")
    assert not set(first) & {r["event_id"] for r in _run(updated)}


def test_publisher_event_id_is_kept_per_commune():
    """A publisher's own event id (hub.source_event_id) becomes the base of each recipient's id."""
    records = _run(DIRECTIVE, event_id="vb-1234")
    assert [r["source_event_id"] for r in records] == ["vb-1234|23734", "vb-1234|23728", "vb-1234|23722"]


def test_attachment_content_is_never_carried():
    """Only attachment count and names reach the record, never the base64 content."""
    text = repr(_run(DIRECTIVE))
    assert "JVBERi0" not in text and "UEsDBB" not in text


def test_unknown_recipient_is_named_and_not_guessed():
    """A provincial package to an OrganId outside the directory is unknown_organ naming that id."""
    organs = {k: v for k, v in context().organs.items() if k != "000.23.728.H41"}
    with pytest.raises(Rejected) as info:
        _run(DIRECTIVE, organs=organs)
    assert info.value.reason == "unknown_organ" and "000.23.728.H41" in info.value.message


def test_status_from_province_on_unknown_sender_is_unknown_organ():
    """A provincial status answering a document of an unknown organ is unknown_organ."""
    raw = (HERE / "edxml" / "status_03_from_province.xml").read_bytes()
    raw = raw.replace(b"000.23.749.H41", b"000.77.77.H41")
    with pytest.raises(Rejected) as info:
        _run(raw)
    assert info.value.reason == "unknown_organ" and "000.77.77.H41" in info.value.message


def test_status_without_code_is_missing_field():
    """A MessageStatus without StatusCode is missing_field."""
    raw = (HERE / "edxml" / "status_01.xml").read_bytes().replace(b"<StatusCode>01</StatusCode>", b"")
    with pytest.raises(Rejected) as info:
        _run(raw)
    assert info.value.reason == "missing_field"


def test_edoc_namespace_is_accepted_under_the_edxml_format():
    """An eDoc (go.vn) package posted as edxml is read as eDoc and says so in ``dialect``."""
    raw = (HERE / "edoc_go" / "outgoing_with_header_body.xml").read_bytes()
    assert [r["dialect"] for r in _run(raw)] == ["edoc-go"]


@pytest.mark.parametrize("raw", [
    b'<root xmlns="urn:other"/>',
    b"<edXML/>",
    b'<Other xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>',
])
def test_foreign_roots_are_unknown_document_root(raw):
    """A root outside both namespaces, or an unexpected edXML element, is unknown_document_root."""
    with pytest.raises(Rejected) as info:
        _run(raw)
    assert info.value.reason == "unknown_document_root"


def test_response_for_names_the_answered_document():
    """A report's MessageHeader/ResponseFor/DocumentId becomes response_for (the first of several)."""
    raw = (HERE / "edxml" / "outgoing_report_from_commune.xml").read_bytes()
    [rec] = _run(raw)
    assert rec["response_for"] == "000.00.00.H41,2025/11/27,1234/UBND-KGVX"
    second = (b"<ResponseFor><OrganId>000.00.12.H41</OrganId>"
              b"<DocumentId>000.00.12.H41,2025/11/18,2210/SNV-CCVC</DocumentId></ResponseFor><SteeringType>")
    [rec] = _run(raw.replace(b"<SteeringType>", second, 1))
    assert rec["response_for"] == "000.00.00.H41,2025/11/27,1234/UBND-KGVX"
    assert [r["response_for"] for r in _run(DIRECTIVE)] == [None, None, None]

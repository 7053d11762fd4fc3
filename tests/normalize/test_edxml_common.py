"""edXML routing (which commune, which direction) and message ids, case by case as edxml_common documents them."""

from __future__ import annotations

import pytest
from fixtures.load import HERE

from hub.errors import Rejected
from hub.normalize import normalize

from .support import context, envelope

DIRECTIVE = (HERE / "edxml" / "directive_province_to_communes.xml").read_bytes()  # province -> 3 communes + dept
REPORT = (HERE / "edxml" / "outgoing_report_from_commune.xml").read_bytes()  # 23749 -> province
STATUS = (HERE / "edxml" / "status_01.xml").read_bytes()  # 23734 reports on a province document


def _routes(raw: bytes, hint: str | None = None, **ctx) -> list[tuple[str, str]]:
    records = normalize(raw, envelope("edxml", "document", hint), context(**ctx))
    return [(r["commune_code"], r["direction"]) for r in records]


def _reason(raw: bytes, hint: str | None = None, **ctx) -> str:
    with pytest.raises(Rejected) as info:
        normalize(raw, envelope("edxml", "document", hint), context(**ctx))
    return info.value.reason


def _without(organ_id: str) -> dict[str, str]:
    return {k: v for k, v in context().organs.items() if k != organ_id}


@pytest.mark.parametrize("hint", [None, "23728", "23767"])
def test_province_package_fans_out_to_every_recipient_whatever_the_hint(hint):
    """A provincial package to three communes is three INCOMING records, with or without a hint."""
    assert _routes(DIRECTIVE, hint) == [("23734", "INCOMING"), ("23728", "INCOMING"), ("23722", "INCOMING")]


def test_province_package_with_an_unknown_recipient_is_unknown_organ_even_with_a_hint():
    """A recipient missing from the directory is never dropped silently, hint or not."""
    organs = _without("000.23.728.H41")
    assert _reason(DIRECTIVE, None, organs=organs) == "unknown_organ"
    assert _reason(DIRECTIVE, "23734", organs=organs) == "unknown_organ"


@pytest.mark.parametrize("hint", [None, "23749", "23734"])
def test_commune_own_package_is_outgoing_for_it(hint):
    """A package from a commune's own OrganId is OUTGOING for it, also when a non-recipient is hinted."""
    assert _routes(REPORT, hint) == [("23749", "OUTGOING")]


def test_commune_to_commune_package_reported_by_the_recipient():
    """A package from commune A to commune B, published with B's hint, is INCOMING for B."""
    raw = REPORT.replace(b"<OrganId>000.00.00.H41</OrganId>\n          <OrganName>",
                         b"<OrganId>000.23.734.H41</OrganId>\n          <OrganName>", 1)
    assert _routes(raw, "23734") == [("23734", "INCOMING")]
    assert _routes(raw) == [("23749", "OUTGOING")]


def test_report_from_an_organ_the_directory_does_not_know_is_refused_not_misrouted():
    """A commune's report from an OrganId unknown to the directory is unknown_organ, not INCOMING for the hint."""
    organs = _without("000.23.749.H41")
    assert _reason(REPORT, "23749", organs=organs) == "unknown_organ"
    assert _reason(REPORT, None, organs=organs) == "unknown_organ"


def test_package_from_outside_the_directory_received_by_the_hinted_commune():
    """A ministry (not in the directory) writing to a commune is INCOMING for the hinted recipient."""
    raw = (HERE / "edxml" / "external_ministry_with_hint.xml").read_bytes()
    assert _routes(raw, "23767") == [("23767", "INCOMING")]
    assert _reason(raw, None) == "unknown_organ"
    assert _reason(raw, "23734", organs=context().organs) == "unknown_organ"  # 23734 is not a recipient


def test_status_from_a_commune_is_incoming_for_it():
    """A commune's status on a document it received is INCOMING for that commune."""
    assert _routes(STATUS) == [("23734", "INCOMING")]
    assert _routes(STATUS, "23734") == [("23734", "INCOMING")]


def test_status_answering_a_document_of_the_hinted_commune_is_outgoing_for_it():
    """Commune A's status on a document commune B sent, published by B, is OUTGOING for B."""
    raw = STATUS.replace(b"<OrganId>000.00.00.H41</OrganId>", b"<OrganId>000.23.749.H41</OrganId>", 1)
    assert _routes(raw, "23749") == [("23749", "OUTGOING")]


def test_status_with_an_unrelated_hint_follows_the_payload():
    """A commune's status with the hint of a commune it does not answer stays INCOMING for the reporter."""
    assert _routes(STATUS, "23728") == [("23734", "INCOMING")]


def test_status_from_an_unknown_reporter():
    """Unknown reporter: unknown_organ without a hint; with one, OUTGOING if it answers the hinted commune."""
    unknown = STATUS.replace(b"<OrganId>000.23.734.H41</OrganId>", b"<OrganId>000.23.999.H41</OrganId>")
    assert _reason(unknown) == "unknown_organ"
    assert _routes(unknown, "23734") == [("23734", "INCOMING")]
    answers_hint = unknown.replace(b"<OrganId>000.00.00.H41</OrganId>", b"<OrganId>000.23.767.H41</OrganId>", 1)
    assert _routes(answers_hint, "23767") == [("23767", "OUTGOING")]


def test_status_from_province_goes_to_the_commune_that_sent_the_document():
    """A provincial body's status is OUTGOING for the commune of the answered document."""
    raw = (HERE / "edxml" / "status_03_from_province.xml").read_bytes()
    assert _routes(raw) == [("23749", "OUTGOING")]
    no_organ = raw.replace(b"<OrganId>000.23.749.H41</OrganId>", b"")
    assert _reason(no_organ) == "missing_commune"
    assert _routes(no_organ, "23749") == [("23749", "OUTGOING")]


def _status(code: str, notation: str, time: str = "2025-11-27T15:43:02+07:00") -> bytes:
    return (f'<MessageStatus xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><ResponseFor>'
            f"<OrganId>000.00.00.H41</OrganId><Code>{code}/{notation}</Code></ResponseFor>"
            f"<From><OrganId>000.23.734.H41</OrganId></From><StatusCode>03</StatusCode>"
            f"<Timestamp>{time}</Timestamp></MessageStatus>").encode()


def test_distinct_statuses_get_distinct_ids():
    """Two statuses that differ only in the answered document's code (no DocumentId) are two events."""
    first = normalize(_status("12", "UBND"), envelope("edxml", "document"), context())
    second = normalize(_status("13", "UBND"), envelope("edxml", "document"), context())
    assert first[0]["event_id"] != second[0]["event_id"]
    again = normalize(_status("12", "UBND"), envelope("edxml", "document"), context())
    assert again[0]["event_id"] == first[0]["event_id"]  # a re-send is still the same event


def test_status_ids_survive_a_dialect_change():
    """The same status said in the eDoc dialect keeps its id (the id is what it says, not how)."""
    edxml = _status("12", "UBND")
    edoc = edxml.replace(b"http://www.mic.gov.vn/TBT/QCVN_102_2016", b"http://www.go.vn/eDoc")
    ids = [normalize(raw, envelope("edxml", "document"), context())[0]["event_id"] for raw in (edxml, edoc)]
    assert ids[0] == ids[1]

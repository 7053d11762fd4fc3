"""A system may only send as the OrganIds registered to it (issue 21 item 10a): a commune cannot publish a
"province directive", a status as another organ, or the province's acknowledgement; what it received it
may still file for itself."""

from __future__ import annotations

import orjson
import pytest
from fixtures.load import HERE

from hub.errors import Rejected
from hub.normalize import normalize
from hub.normalize.context import Envelope, Scope

from .support import INGEST_MS, context

EDXML = HERE / "edxml"
DIRECTIVE = (EDXML / "update_directive_to_one_commune.xml").read_bytes()  # 000.00.01.H41 (province) -> 23767
REPORT = (EDXML / "outgoing_report_from_commune.xml").read_bytes()  # 000.23.749.H41 -> province
STATUS = (EDXML / "status_01.xml").read_bytes()  # 000.23.734.H41 reports on a province document
PROVINCE_ACK = (EDXML / "status_03_from_province.xml").read_bytes()  # 000.00.00.H41 answers 23749's document
MINISTRY = (EDXML / "external_ministry_with_hint.xml").read_bytes()  # 000.00.00.G12 (not in the directory)

SCOPES = {
    "province": Scope(frozenset({"23722", "23728", "23734", "23749", "23767"}), frozenset({"document"}),
                      frozenset({"000.00.00.H41", "000.00.01.H41"})),
    "iahrung": Scope(frozenset({"23767"}), frozenset({"document"}), frozenset({"000.23.767.H41"})),
    "ialy": Scope(frozenset({"23734"}), frozenset({"document"}), frozenset({"000.23.734.H41"})),
    "iaphi": Scope(frozenset({"23749"}), frozenset({"document"}), frozenset({"000.23.749.H41"})),
    "iaphi-noorgan": Scope(frozenset({"23749"}), frozenset({"document"})),  # registered without --organ-id
    "ialy-onestop": Scope(frozenset({"23734"}), frozenset({"dossier"})),
}


def _run(raw: bytes, system: str, hint: str | None = None, fmt: str = "edxml") -> list[tuple[str, str]]:
    env = Envelope(kind="document", format=fmt, source_system=system, trace_id="t", ingest_time_ms=INGEST_MS,
                   commune_hint=hint)
    return [(r["commune_code"], r["direction"]) for r in normalize(raw, env, context(scope_of=SCOPES.get))]


def _refusal(raw: bytes, system: str, hint: str | None = None, fmt: str = "edxml") -> Rejected:
    with pytest.raises(Rejected) as info:
        _run(raw, system, hint, fmt)
    return info.value


@pytest.mark.parametrize("hint", [None, "23767"])
def test_a_commune_cannot_publish_a_province_directive_to_itself(hint):
    """Ia Hrung's system sends the province's directive to Ia Hrung: organ_not_in_scope (403), naming the field."""
    err = _refusal(DIRECTIVE, "iahrung", hint)
    assert (err.reason, err.http_status, err.field, err.stage) == ("organ_not_in_scope", 403,
                                                                   "MessageHeader/From/OrganId", "auth")
    assert err.message == ("MessageHeader/From/OrganId 000.00.01.H41 is not registered to system 'iahrung': a "
                           "system may only send as OrganIds registered to it (`hub systems add --organ-id`)")


def test_the_province_system_sends_its_directive():
    """The system that registered 000.00.01.H41 publishes the same bytes: one INCOMING record for Ia Hrung."""
    assert _run(DIRECTIVE, "province") == [("23767", "INCOMING")]


def test_a_commune_report_only_from_the_system_owning_its_organ():
    """Ia Phí's report: accepted from the system with 000.23.749.H41; refused from one registered without OrganIds
    and from another commune's system hinting Ia Phí (before: commune_not_in_scope; the sender is checked first)."""
    assert _run(REPORT, "iaphi") == [("23749", "OUTGOING")]
    assert _refusal(REPORT, "iaphi-noorgan").reason == "organ_not_in_scope"
    assert _refusal(REPORT, "ialy", "23749").reason == "organ_not_in_scope"


def test_a_status_only_from_the_system_owning_its_reporter():
    """Ia Ly's status 01 counts for Ia Ly only from Ia Ly's system; the province's acknowledgement only from the
    province's system."""
    assert _run(STATUS, "ialy") == [("23734", "INCOMING")]
    err = _refusal(STATUS, "iaphi-noorgan", "23749")  # 23749 is not the answered organ: INCOMING for 23734
    assert (err.reason, err.field) == ("organ_not_in_scope", "MessageStatus/From/OrganId")
    assert _run(PROVINCE_ACK, "province") == [("23749", "OUTGOING")]
    assert _refusal(PROVINCE_ACK, "iaphi").reason == "organ_not_in_scope"


def test_what_a_commune_received_it_may_still_file_for_itself():
    """Relays stay open, for the hinted commune only: Ia Ly files Ia Phí's package it received, a ministry's
    letter, and Ia Ly's status on Ia Phí's document is Ia Phí's to file (OUTGOING)."""
    to_ialy = REPORT.replace(b"<OrganId>000.00.00.H41</OrganId>\n          <OrganName>",
                             b"<OrganId>000.23.734.H41</OrganId>\n          <OrganName>", 1)
    assert _run(to_ialy, "ialy", "23734") == [("23734", "INCOMING")]
    assert _run(MINISTRY, "iahrung", "23767") == [("23767", "INCOMING")]
    answers_iaphi = STATUS.replace(b"<OrganId>000.00.00.H41</OrganId>", b"<OrganId>000.23.749.H41</OrganId>", 1)
    assert _run(answers_iaphi, "iaphi", "23749") == [("23749", "OUTGOING")]


def test_the_basic_refusals_come_first():
    """A system not registered for documents hears kind_not_allowed, an unknown one unknown_system."""
    assert _refusal(DIRECTIVE, "ialy-onestop").reason == "kind_not_allowed"
    assert _refusal(DIRECTIVE, "nobody").reason == "unknown_system"


def test_hub_json_documents_follow_the_same_rule():
    """hub-json says from_organ_id itself: a province directive from a commune's system is refused, the same
    from the province's system accepted; a commune's status from another commune's system too."""
    directive = orjson.dumps({"message_type": "DOCUMENT", "document_id": "000.00.01.H41,2025/11/20,9/CT-UBND",
                              "from_organ_id": "000.00.01.H41", "steering_type": "DIRECTIVE",
                              "commune_code": "23767"})
    err = _refusal(directive, "iahrung", fmt="hub-json")
    assert (err.reason, err.field) == ("organ_not_in_scope", "from_organ_id")
    assert _run(directive, "province", fmt="hub-json") == [("23767", "INCOMING")]
    status = orjson.dumps({"message_type": "STATUS", "document_id": "000.00.01.H41,2025/11/20,9/CT-UBND",
                           "status_code": "03", "status_time": "20251120100000", "from_organ_id": "000.23.734.H41",
                           "commune_code": "23734"})
    assert _run(status, "ialy", fmt="hub-json") == [("23734", "INCOMING")]
    assert _refusal(status, "iaphi-noorgan", fmt="hub-json").reason == "organ_not_in_scope"

"""hub-json: the hub's own JSON shape for both kinds, and its JSON Schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson
import pytest
from fixtures.load import literal_pseudonym

from hub.errors import Rejected
from hub.normalize import canonical, normalize

from .support import cases_in, check_case, context, envelope

CASES = cases_in("hub_json")
SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "hub-json.schema.json"


def _run(obj, kind: str = "dossier", hint: str | None = "23734") -> list[dict]:
    return normalize(orjson.dumps(obj), envelope("hub-json", kind, hint), context())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture(case):
    """Each hub-json fixture normalizes to exactly its expected records."""
    check_case(case)


def test_minimal_dossier_and_defaults():
    """A dossier needs only dossier_code and status; the hint supplies the commune."""
    [rec] = _run({"dossier_code": "HS-1", "status": "04"})
    assert (rec["record_type"], rec["status"], rec["commune_code"]) == ("DOSSIER", "PROCESSING", "23734")


@pytest.mark.parametrize(("obj", "reason", "field"), [
    ({"status": 1}, "missing_field", "dossier_code"),
    ({"dossier_code": "HS-1"}, "missing_field", "status"),
    ({"dossier_code": "HS-1", "status": 11}, "unknown_status", "status"),
    ({"dossier_code": "HS-1", "status": True}, "invalid_value", "status"),
    ({"dossier_code": {"a": 1}, "status": 1}, "invalid_value", "dossier_code"),
    ({"dossier_code": "HS-1", "status": 1, "service_level": 9}, "invalid_value", "service_level"),
    ({"dossier_code": "HS-1", "status": 1, "paid_online": "maybe"}, "invalid_value", "paid_online"),
    ({"dossier_code": "HS-1", "status": 1, "received_at": "yesterday"}, "bad_date", "received_at"),
    ({"dossier_code": "HS-1", "status": 1, "digitized_document_count": 1.5}, "invalid_value",
     "digitized_document_count"),
])
def test_dossier_errors_name_the_field(obj, reason, field):
    """Wrong or missing dossier fields are reason codes naming the field."""
    with pytest.raises(Rejected) as info:
        _run(obj)
    assert (info.value.reason, info.value.field) == (reason, field)


def test_batch_error_names_the_event():
    """In an array, the message says which event failed."""
    with pytest.raises(Rejected) as info:
        _run([{"dossier_code": "A", "status": 1}, {"dossier_code": "B", "status": 99}])
    assert info.value.message.startswith("event 1:")


def test_document_direction_defaults():
    """A document from the commune's own organ is OUTGOING; a status from a provincial body is OUTGOING."""
    [out] = _run({"from_organ_id": "000.23.734.H41", "document_id": "d"}, kind="document", hint=None)
    assert (out["commune_code"], out["direction"], out["message_type"]) == ("23734", "OUTGOING", "DOCUMENT")
    [st] = _run({"from_organ_id": "000.00.00.H41", "status_code": "03", "commune_code": "23749"},
                kind="document")
    assert (st["direction"], st["status"]) == ("OUTGOING", "ACCEPTED")


def test_status_message_requires_a_status():
    """message_type STATUS without status_code is missing_field."""
    with pytest.raises(Rejected) as info:
        _run({"message_type": "STATUS", "document_id": "d"}, kind="document")
    assert info.value.reason == "missing_field"


def test_personal_fields_are_accepted_and_dropped():
    """Applicant name, phone, email, address and summary never reach the record."""
    [rec] = _run({"dossier_code": "HS-1", "status": 1, "applicant_name": "Nguyễn Văn An",
                  "applicant_phone": "0905000111", "applicant_email": "an@example.vn",
                  "applicant_address": "Thôn 1", "summary": "Hồ sơ của Nguyễn Văn An",
                  "applicant_id": "0641"})
    text = json.dumps(rec, ensure_ascii=False)
    assert "Nguyễn Văn An" not in text and "0905000111" not in text and "an@example.vn" not in text
    assert rec["applicant_pseudonym"] == literal_pseudonym("applicant", "0641")


def test_json_schema_documents_every_field_the_mapper_reads():
    """docs/hub-json.schema.json is valid JSON and lists every key canonical.py reads."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    props = set(schema["$defs"]["dossier"]["properties"]) | set(schema["$defs"]["document"]["properties"])
    source = Path(canonical.__file__).read_text(encoding="utf-8")
    read = set(re.findall(r'(?:string|enum|boolean|integer|timestamp|string_list)\(obj, "([a-z_]+)"', source))
    read |= {"procedure_code", "procedure_name", "field_code", "handling_unit", "handler_role",
             "document_id", "code_number", "code_notation", "from_organ_id", "document_type",
             "document_type_name", "subject", "received_at", "due_at", "finished_at", "returned_at",
             "refused_at", "has_digitized_components", "paid_online", "fee_bearing"}
    assert read <= props, read - props

"""Target events: the number rule, program and unit labels, record types, validation reasons, CSV headers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson
import pytest

from hub.errors import Rejected
from hub.normalize import normalize
from hub.normalize import targets as t
from hub.normalize.dialects.csv_rows import kind_of_header
from tests.analytics import target_datasets as d

from .support import INGEST_MS, context, encode, envelope

REPORT = {"commune_code": "23734", "year": 2025, "program": "NTM", "indicator_code": "VON_DTPT",
          "actual_value": "1.000.000", "as_of": "2025-10-20"}


def _one(obj: dict, fmt: str = "hub-json") -> dict:
    [rec] = normalize(orjson.dumps(obj), envelope(fmt, "target"), context())
    return rec


def _reject(obj: dict) -> Rejected:
    with pytest.raises(Rejected) as err:
        normalize(orjson.dumps(obj), envelope("hub-json", "target"), context())
    return err.value


@pytest.mark.parametrize(("text", "value"), [
    ("1.234.567.000", 1_234_567_000), ("1,234,567,000", 1_234_567_000), ("12,5", 12.5), ("12.5", 12.5),
    ("1.234.567,5", 1_234_567.5), ("1,234,567.5", 1_234_567.5), ("0,125", 0.125), ("1234,567", 1234.567),
    ("1 234 567", 1_234_567), ("1\u00a0234,5", 1234.5), ("85%", 85), ("1234", 1234), ("007", 7), ("12,50", 12.5),
    ("1.000.000", 1_000_000),
])
def test_numbers_as_spreadsheets_write_them(text, value):
    """Vietnamese and English separators, spaces between groups and a trailing % read as the rule says."""
    assert t.amount({"v": text}, "v") == value


@pytest.mark.parametrize(("text", "reason"), [
    ("1.234", "ambiguous_number"), ("250,000", "ambiguous_number"), ("1,500", "ambiguous_number"),
    ("-5", "invalid_value"), ("−1.000.000", "invalid_value"), ("1.2.3", "invalid_value"),
    ("1.234,5.6", "invalid_value"), ("1,23,456", "invalid_value"), ("abc", "invalid_value"),
    ("1e5", "invalid_value"), ("12,", "invalid_value"), (",5", "invalid_value"), ("1.234.56", "invalid_value"),
    ("2.000.000.000.000.000", "invalid_value"),
])
def test_numbers_refused_with_a_reason_naming_the_field_not_the_value(text, reason):
    """Ambiguity, negatives, bad groups and junk are refused; the message names the field and the rule."""
    with pytest.raises(Rejected) as err:
        t.amount({"actual_value": text}, "actual_value")
    assert (err.value.reason, err.value.field) == (reason, "actual_value")
    assert text not in err.value.message


def test_json_numbers_and_their_limits():
    """JSON numbers pass as they are; booleans, negatives, infinities and values above 10^15 do not."""
    assert t.amount({"v": 12.5}, "v") == 12.5 and t.amount({"v": 3}, "v") == 3.0
    for bad in (True, -1, 1e16, float("inf")):
        with pytest.raises(Rejected) as err:
            t.amount({"v": bad}, "v")
        assert err.value.reason == "invalid_value"


@pytest.mark.parametrize(("given", "code"), [
    ("NTM", "NTM"), ("gnbv", "GNBV"), ("Chương trình MTQG xây dựng nông thôn mới giai đoạn 2021-2025", "NTM"),
    ("Giảm nghèo bền vững", "GNBV"), ("Phát triển KT-XH vùng đồng bào dân tộc thiểu số và miền núi", "DTTS"),
    ("new rural development", "NTM"), ("52", "52"), ("52-dtc", "52-DTC"),
])
def test_programs(given, code):
    """National programs by code or name, and the province's own programs by its code."""
    assert _one({**REPORT, "program": given})["program"] == code


@pytest.mark.parametrize("given", ["79", "79-DTC", "chương trình khác", "nông thôn mới và giảm nghèo",
                                   "newrural@aa.vn", "nông thôn mới 0905 111 222"])
def test_unknown_or_foreign_programs_are_invalid(given):
    """Another province's code, an unknown or a two-program name is invalid_value on program; so is a value that
    names a program but holds personal data (found by the scrub property test: "newrural@aa.vn" read as NTM)."""
    err = _reject({**REPORT, "program": given})
    assert (err.reason, err.field) == ("invalid_value", "program")


@pytest.mark.parametrize(("given", "unit"), [
    ("đồng", "VND"), ("VNĐ", "VND"), ("triệu đồng", "million_VND"), ("Hộ", "household"), ("tiêu chí", "criterion"),
    ("%", "percent"), ("km", "km"), ("Cái", "cái"),
])
def test_units(given, unit):
    """Known units become their code; anything else is kept in lower case."""
    assert _one({**REPORT, "unit": given})["unit"] == unit


def test_event_time_is_the_source_time_else_the_ingest_time():
    """A report's event_time, an assignment's assigned_at; without one the hub's ingest time."""
    assert _one(REPORT)["event_time"] == INGEST_MS
    assert _one({**REPORT, "event_time": "2025-10-21T08:00:00+07:00"})["event_time"] == 1_761_008_400_000
    assignment = {k: v for k, v in REPORT.items() if k not in ("actual_value", "as_of")}
    assignment |= {"unit": "VND", "target_value": 5}
    assert _one(assignment)["event_time"] == INGEST_MS
    assert _one({**assignment, "assigned_at": "2025-01-10"})["event_time"] != INGEST_MS


def test_record_type_is_explicit_or_inferred():
    """An actual value makes a report (a plan column beside it is not read), a target value alone an assignment."""
    both = _one({**REPORT, "target_value": "2.400.000.000", "unit": "VND"})
    assert (both["record_type"], both["actual_value"], both["target_value"]) == ("PROGRESS_REPORTED", 1_000_000.0, None)
    plan = _one({k: v for k, v in REPORT.items() if k not in ("actual_value", "as_of")}
                | {"target_value": 4, "unit": "tiêu chí"})
    assert (plan["record_type"], plan["target_value"], plan["as_of"]) == ("TARGET_ASSIGNED", 4.0, None)
    assert _one({**REPORT, "record_type": "Báo cáo"})["record_type"] == "PROGRESS_REPORTED"
    err = _reject({k: v for k, v in REPORT.items() if k != "actual_value"})
    assert (err.reason, err.field) == ("missing_field", "record_type")


@pytest.mark.parametrize(("change", "reason", "field"), [
    ({"actual_value": -3}, "invalid_value", "actual_value"),
    ({"as_of": "2026-02-01"}, "invalid_value", "as_of"),
    ({"as_of": "2024-12-31"}, "invalid_value", "as_of"),
    ({"as_of": "31/13/2025"}, "bad_date", "as_of"),
    ({"as_of": None}, "missing_field", "as_of"),
    ({"year": 1999}, "invalid_value", "year"),
    ({"year": None}, "missing_field", "year"),
    ({"indicator_code": "A|B"}, "invalid_value", "indicator_code"),
    ({"indicator_code": ""}, "missing_field", "indicator_code"),
    ({"commune_code": "99999"}, "unknown_commune", "commune_code"),
    ({"commune_code": "26734"}, "unknown_commune", "commune_code"),
    ({"note": "x" * 1001}, "invalid_value", "note"),
    ({"record_type": "TARGET_ASSIGNED", "target_value": 0, "unit": "hộ"}, "invalid_value", "target_value"),
    ({"record_type": "TARGET_ASSIGNED", "target_value": 5}, "missing_field", "unit"),
    ({"record_type": "TARGET_ASSIGNED", "unit": "hộ"}, "missing_field", "target_value"),
])
def test_validation_reasons(change, reason, field):
    """Each invalid event is refused with the reason code of the rule it breaks, naming the field."""
    err = _reject({**REPORT, **change})
    assert (err.reason, err.field) == (reason, field)


@pytest.mark.parametrize(("milestones", "reason"), [
    ([{"date": "2025-09-30", "percent": 75}, {"date": "2025-06-30", "percent": 90}], "invalid_value"),
    ([{"date": "2025-06-30", "percent": 75}, {"date": "2025-09-30", "percent": 50}], "invalid_value"),
    ([{"date": "2025-06-30", "percent": 120}], "invalid_value"),
    ([{"date": "2025-06-30", "percent": 0}], "invalid_value"),
    ([{"date": "2026-03-31", "percent": 100}], "invalid_value"),
    ([{"date": "2025-06-30"}], "missing_field"),
    ("30/06/2025 fifty", "invalid_value"),
    ({"2025-06-30": 50}, "invalid_value"),
])
def test_milestones_must_ascend_within_the_plan_window(milestones, reason):
    """Milestone dates ascend within the year or January N+1, percents within (0, 100] never decrease."""
    plan = {"commune_code": "23734", "year": 2025, "program": "NTM", "indicator_code": "X", "unit": "hộ",
            "target_value": 10, "milestones": milestones}
    assert _reject(plan).reason == reason


def test_a_note_naming_a_person_is_dropped_and_others_are_scrubbed():
    """A note naming someone after an honorific is not carried; phones and e-mails in others are replaced."""
    assert _one({**REPORT, "note": "Liên hệ bà Siu H'Luyến để đối chiếu"})["note"] is None
    assert _one({**REPORT, "note": "Hỏi kế toán: 0905.123.456, kt@xa.vn"})["note"] == "Hỏi kế toán: [phone], [email]"


def test_the_reference_dataset_sent_as_hub_json_normalizes_to_its_records():
    """Every event of the targets dataset, as hub_json() writes it, maps to the dataset's canonical record."""
    fields = ("record_type", "year", "program", "indicator_code", "indicator_name", "unit", "target_value",
              "milestones", "document_number", "actual_value", "as_of", "note", "commune_code", "event_time")
    for want in d.EVENTS:
        got = _one(d.hub_json(want))
        expected = {**{f: want[f] for f in fields}, "note": "Liên hệ [phone]" if want["note"] else None}
        assert {f: got[f] for f in fields} == expected, want["source_event_id"]
        assert got["source_event_id"] == want["source_event_id"]
        encode("target", got)


def test_csv_kind_by_header_and_refusal_names_the_missing_column():
    """The header decides dossier or target; a target CSV without an indicator code column is malformed_csv."""
    assert kind_of_header(["Mã xã", "Mã chỉ tiêu", "Lũy kế"]) == "target"
    assert kind_of_header(["MaHoSo", "TrangThaiHoSo"]) == "dossier"
    assert kind_of_header(["a", "b"]) is None
    with pytest.raises(Rejected) as err:
        normalize("Mã xã;Lũy kế\n23734;5\n".encode(), envelope("csv", "target"), context())
    assert err.value.reason == "malformed_csv" and "Mã chỉ tiêu" in err.value.message


def test_csv_rows_in_english_with_comma_delimiter_and_quoted_amounts():
    """English headers and quoted 1,234,567 amounts read like the Vietnamese ones; a bad row names its number."""
    text = ('commune_code,year,program,indicator_code,unit,actual_value,as_of\n'
            '23734,2025,NTM,VON_DTPT,VND,"1,234,567,000",2025-10-20\n'
            '23734,2025,NTM,TIEU_CHI,criterion,"1,500",2025-10-20\n')
    with pytest.raises(Rejected) as err:
        normalize(text.encode(), envelope("csv", "target"), context())
    assert err.value.reason == "ambiguous_number" and err.value.message.startswith("row 3: ")
    [rec] = normalize(text.rsplit("\n", 2)[0].encode() + b"\n", envelope("csv", "target"), context())
    assert (rec["actual_value"], rec["unit"], rec["as_of"]) == (1_234_567_000.0, "VND", "2025-10-20")


def test_json_schema_documents_every_target_field_the_mapper_reads():
    """docs/hub-json.schema.json's target definition lists every key targets.py reads and every CSV column key."""
    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "hub-json.schema.json").read_text("utf-8"))
    props = set(schema["$defs"]["target"]["properties"])
    source = Path(t.__file__).read_text(encoding="utf-8")
    read = set(re.findall(r'\(obj, "([a-z_]+)"', source)) | set(re.findall(r'obj\.get\("([a-z_]+)"\)', source))
    assert read and read <= props, read - props
    assert set(t.CSV_ALIASES) <= props, set(t.CSV_ALIASES) - props
    assert {"$ref": "#/$defs/target"} in schema["anyOf"]

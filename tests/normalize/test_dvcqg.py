"""DVCQG dossier and progress fixtures, field by field."""

from __future__ import annotations

import orjson
import pytest

from hub.errors import Rejected
from hub.normalize import normalize

from .support import cases_in, check_case, context, envelope

CASES = cases_in("dvcqg")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture(case):
    """Each DVCQG fixture normalizes to exactly its expected records (or its rejection)."""
    check_case(case)


def test_fixture_set_covers_statuses_and_progress():
    """The DVCQG fixtures hold several dossier statuses and progress records."""
    records = [r for c in CASES if not c.reject for r in c.expected]
    assert {r["status"] for r in records if r["record_type"] == "DOSSIER"} >= {"ACCEPTED", "PROCESSING",
                                                                               "PROCESSING_FINISHED",
                                                                               "RESULT_RETURNED"}
    assert any(r["record_type"] == "PROGRESS" for r in records)


def test_deeply_nested_wrappers_are_rejected_not_crashing():
    """A payload nesting ``data`` wrappers ~1000 deep is a reason code, not a RecursionError."""
    raw = ('{"data":' * 1020 + '{"MaHoSo":"x"}' + "}" * 1020).encode()
    with pytest.raises(Rejected) as info:
        normalize(raw, envelope("dvcqg-json", "dossier", "23734"), context())
    assert info.value.reason in ("malformed_json", "missing_field")


def _run(obj, hint: str | None = "23734") -> list[dict]:
    raw = obj if isinstance(obj, bytes) else orjson.dumps(obj)
    return normalize(raw, envelope("dvcqg-json", "dossier", hint), context())


def _rejection(obj) -> Rejected:
    with pytest.raises(Rejected) as info:
        _run(obj)
    return info.value


DOSSIER = {"MaHoSo": "HS-1", "MaTTHC": "1.001193", "TrangThaiHoSo": "2", "NgayTiepNhan": "20251120083000"}


@pytest.mark.parametrize(("field", "value"), [
    ("MaHoSo", {"a": 1}), ("MaHoSo", ["HS-1"]), ("MaHoSo", True), ("TrangThaiHoSo", {"code": 2}),
    ("MaTTHC", ["1.001193"]), ("TenTTHC", {"vi": "x"}), ("NgayTiepNhan", {"d": 1}), ("MaXa", [23734]),
    ("SoGiayToChuHoSo", {"so": "064190012345"}), ("KenhThucHien", [2]), ("MucDo", {"x": 4}),
    ("TaiLieuNop", {"DuocSoHoa": "1"}), ("DanhSachLePhi", "8000"), ("DinhDanhCHS", [{"SoDinhDanh": {"x": 1}}]),
])
def test_objects_and_arrays_where_text_belongs_are_invalid_value(field, value):
    """An object, array or boolean in a text field is invalid_value naming the field, never its str()."""
    exc = _rejection({**DOSSIER, field: value})
    assert exc.reason == "invalid_value" and exc.field.split("/")[0] == field


@pytest.mark.parametrize("wrapper", [
    {"data": [DOSSIER], "total": 1, "status": "success"},
    {"status": 200, "message": "OK", "error_code": 0, "data": {"HoSo": [DOSSIER]}, "page": 1},
    {"HoSo": DOSSIER, "total": 1, "status": "ok", "message": "thành công"},
])
def test_response_wrappers_with_envelope_keys_are_read(wrapper):
    """A wrapper with total/status/message beside data or HoSo yields the dossier inside."""
    [rec] = _run(wrapper)
    assert (rec["dossier_code"], rec["status"], rec["record_type"]) == ("HS-1", "ACCEPTED", "DOSSIER")


def test_two_wrapper_keys_are_ambiguous():
    """An object with both data and HoSo cannot be read one way: malformed_json."""
    assert _rejection({"data": [DOSSIER], "HoSo": [DOSSIER]}).reason == "malformed_json"


def test_progress_list_of_one_dossier_inherits_its_code():
    """``{"MaHoSo": X, "QuaTrinhXuLy": [...]}`` is that dossier's progress; items take its code and commune."""
    records = _run({"MaHoSo": "HS-7", "MaXa": "23734", "QuaTrinhXuLy": [
        {"TrangThai": "4", "ThoiDiemXuLy": "20251120090000", "NguoiXuLy": "canbo1"},
        {"TrangThai": "5", "ThoiDiemXuLy": "20251121090000", "NguoiXuLy": "canbo1"}]}, hint=None)
    assert [(r["record_type"], r["dossier_code"], r["status"]) for r in records] == [
        ("PROGRESS", "HS-7", "PROCESSING"), ("PROGRESS", "HS-7", "SUPPLEMENT_REQUESTED")]


def test_callers_cannot_mark_a_dossier_as_progress():
    """A payload key ``_progress`` has no meaning: the dossier stays a dossier."""
    [rec] = _run({**DOSSIER, "_progress": True})
    assert (rec["record_type"], rec["status"], rec["procedure_code"]) == ("DOSSIER", "ACCEPTED", "1.001193")


def test_batch_ids_do_not_depend_on_position():
    """The same dossiers in another order, or one of them alone, keep their event ids."""
    a = {**DOSSIER, "MaHoSo": "HS-A"}
    b = {**DOSSIER, "MaHoSo": "HS-B", "TrangThaiHoSo": "4"}
    forward = {r["dossier_code"]: r["event_id"] for r in _run([a, b])}
    backward = {r["dossier_code"]: r["event_id"] for r in _run([b, a])}
    alone = {r["dossier_code"]: r["event_id"] for r in _run(b)}
    assert forward == backward and alone["HS-B"] == forward["HS-B"]
    assert forward["HS-A"] != forward["HS-B"]


def test_a_status_change_is_a_new_event():
    """The same dossier with a new status is a distinct event (its content changed)."""
    first = _run(DOSSIER)[0]["event_id"]
    assert _run({**DOSSIER, "TrangThaiHoSo": "4"})[0]["event_id"] != first


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("3", False), ("0", False), (1, True), (3, False),
                                                 (True, True), (False, False), ("", None), (None, None)])
def test_payment_codes(value, expected):
    """DuocThanhToanTrucTuyen: 1 paid, 3 not paid (national codes), 0 not paid, booleans as themselves."""
    assert _run({**DOSSIER, "DuocThanhToanTrucTuyen": value})[0]["paid_online"] is expected


@pytest.mark.parametrize("value", ["2", "4", "yes", "x", 7])
def test_unknown_payment_codes_are_rejected(value):
    """Any other payment code is invalid_value naming DuocThanhToanTrucTuyen, never a silent null."""
    exc = _rejection({**DOSSIER, "DuocThanhToanTrucTuyen": value})
    assert (exc.reason, exc.field) == ("invalid_value", "DuocThanhToanTrucTuyen")


def test_batch_errors_name_the_record():
    """In an array, a rejection says which record failed."""
    exc = _rejection([DOSSIER, {**DOSSIER, "TrangThaiHoSo": "42"}])
    assert exc.reason == "unknown_status" and exc.message.startswith("record 1:")

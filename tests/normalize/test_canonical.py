"""Lenient value coercion shared by hub-json and CSV."""

from __future__ import annotations

import pytest

from hub.errors import Rejected
from hub.normalize import canonical, fields

from .support import context


def test_fold_ignores_case_diacritics_and_punctuation():
    """Vietnamese, DVCQG and English spellings of a header fold to one key."""
    assert canonical.fold("Mã hồ sơ") == canonical.fold("MaHoSo") == canonical.fold("MA_HO_SO") == "mahoso"
    assert canonical.fold("Đơn vị xử lý") == "donvixuly"


@pytest.mark.parametrize(("value", "expected"), [
    (4, "PROCESSING"), ("04", "PROCESSING"), ("processing", "PROCESSING"), ("Đang xử lý", "PROCESSING"),
    ("DA TRA KET QUA", "RESULT_RETURNED"), ("10", "RESULT_RETURNED"),
])
def test_status_accepts_codes_names_and_labels(value, expected):
    """A dossier status may be a code, the enum name or a Vietnamese label."""
    assert canonical.enum({"s": value}, "s", fields.DOSSIER_STATUS, canonical.STATUS_LABELS) == expected


@pytest.mark.parametrize("value", ["Đang chờ", "11", "-1", "4.0"])
def test_unknown_status_values(value):
    """Values outside codes, names and labels are rejected with the given reason."""
    with pytest.raises(Rejected) as info:
        canonical.enum({"s": value}, "s", fields.DOSSIER_STATUS, canonical.STATUS_LABELS,
                       reason="unknown_status")
    assert info.value.reason == "unknown_status"


@pytest.mark.parametrize(("value", "expected"), [
    (True, True), ("1", True), ("Có", True), ("x", True), (0, False), ("3", False), ("Không", False),
    ("", None),
])
def test_boolean_forms(value, expected):
    """Yes/no values in the forms exports use."""
    assert canonical.boolean({"b": value}, "b") is expected


def test_document_counts_attachments_from_names():
    """attachment_count defaults to the number of names; to_organ_ids are de-duplicated."""
    rec = canonical.document({"attachment_names": ["a.pdf", "b.pdf"], "to_organ_ids": ["X", "X", "Y"],
                              "commune_code": "23734"}, context(), "hub-json")
    assert rec["attachment_count"] == 2 and rec["to_organ_ids"] == ["X", "Y"]

"""Date formats accepted by the field parsers (the additions for edXML dates)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.errors import Rejected
from hub.normalize import fields

MIDNIGHT_27_NOV_VN = 1764176400000  # 2025-11-26T17:00:00Z


@pytest.mark.parametrize("value", ["2025/11/27", "2025-11-27", "27/11/2025", "20251127", "2025/11/27 00:00",
                                   "2025-11-27T00:00:00+07:00", "2025-11-26T17:00:00Z"])
def test_the_same_day_in_every_format(value):
    """Vietnam midnight of 27 Nov 2025 parses identically from every accepted format."""
    assert fields.timestamp_ms(value, "d") == MIDNIGHT_27_NOV_VN


@pytest.mark.parametrize("value", ["2025/13/01", "2025/11/27 25:00", "27/11/25", "1899/01/01"])
def test_bad_slash_dates(value):
    """Impossible or out-of-range yyyy/MM/dd dates are bad_date."""
    with pytest.raises(Rejected) as info:
        fields.timestamp_ms(value, "d")
    assert info.value.reason == "bad_date"


@pytest.mark.parametrize(("value", "expected"), [
    ("20251127083000", 1764207000000),  # 2025-11-27 08:30:00 +07:00, hand-computed
    ("20251231235959", 1767200399000),
    ("19900101000000", 631126800000),
    ("21001231235959", 4133955599000),
    ("20240229120000", 1709182800000),  # leap day
    ("20251127", 1764176400000),
])
def test_compact_national_dates(value, expected):
    """yyyyMMddHHmmss and yyyyMMdd are Vietnam local time (UTC+7)."""
    assert fields.timestamp_ms(value, "d") == expected


@pytest.mark.parametrize("value", [
    "20251301000000", "20250230000000", "20251100000000", "20251127240000", "20251127236000", "20251127235960",
    "00001127000000", "19891231235959", "21010101000000", "20250229120000", "20251327", "20250001", "20251232",
])
def test_impossible_compact_dates_are_bad_date(value):
    """Months, days, hours, minutes, seconds and years out of range are bad_date, as before the slicing parser."""
    with pytest.raises(Rejected) as info:
        fields.timestamp_ms(value, "NgayTiepNhan")
    assert (info.value.reason, info.value.field) == ("bad_date", "NgayTiepNhan")


@pytest.mark.parametrize(("parse", "value"), [
    (lambda v: fields.timestamp_ms(v, "NgayTiepNhan"), "064190012345"),
    (lambda v: fields.timestamp_ms(v, "NgayTiepNhan"), "hang.rocham@gmail.com"),
    (lambda v: fields.code(v, "TrangThaiHoSo", fields.DOSSIER_STATUS), "0905111222"),
    (lambda v: fields.integer(v, "MucDo", 1, 4), "064190012345"),
    (lambda v: fields.integer(v, "MucDo", 1, 4), "Nguyễn Đình Phúc"),
])
def test_rejections_name_the_field_and_rule_never_the_value(parse, value):
    """A personal value in the wrong column never reaches the rejection message (logs, DLQ headers)."""
    with pytest.raises(Rejected) as info:
        parse(value)
    assert value not in info.value.message and info.value.field in info.value.message


@settings(max_examples=500, deadline=None)
@given(st.integers(1980, 2110), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25), st.integers(0, 61),
       st.integers(0, 61))
def test_compact_dates_by_integer_arithmetic_equal_datetime(y, mo, d, hh, mi, ss):
    """yyyyMMddHHmmss parsed without datetime gives datetime's instant, and refuses what datetime refuses."""
    raw = f"{y:04d}{mo:02d}{d:02d}{hh:02d}{mi:02d}{ss:02d}"
    try:
        expected = int(datetime(y, mo, d, hh, mi, ss, tzinfo=timezone(timedelta(hours=7))).timestamp() * 1000)
        expected = expected if 1990 <= y <= 2100 else None
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(Rejected) as err:
            fields.timestamp_ms(raw, "NgayTiepNhan")
        assert err.value.reason == "bad_date"
    else:
        assert fields.timestamp_ms(raw, "NgayTiepNhan") == expected

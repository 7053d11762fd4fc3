"""Date formats accepted by the field parsers (the additions for edXML dates)."""

from __future__ import annotations

import pytest

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

"""hub.analytics.periods: Vietnam-time days, months and quarters, their keys and the read API's ``at``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.analytics import periods as pr
from hub.normalize.fields import VIETNAM

from .datasets import vn


def test_keys_and_bounds():
    """Keys read commune|kind|at; bounds are Vietnam midnights (17:00 UTC the day before), end exclusive."""
    day, month, quarter = pr.touching(vn("2025-11-03 00:00"))
    assert [p.key("23734") for p in (day, month, quarter)] == ["23734|day|2025-11-03", "23734|month|2025-11",
                                                               "23734|quarter|2025-Q4"]
    assert day.start == int(datetime(2025, 11, 2, 17, tzinfo=UTC).timestamp() * 1000)
    assert (day.end - day.start, month.start, month.end) == (86_400_000, vn("2025-11-01 00:00"),
                                                            vn("2025-12-01 00:00"))
    assert (quarter.start, quarter.end) == (vn("2025-10-01 00:00"), vn("2026-01-01 00:00"))


def test_instant_on_a_boundary_belongs_to_the_later_period():
    """Vietnam midnight starts the new day; one millisecond earlier is the old day (UTC date differs)."""
    midnight = vn("2025-12-01 00:00")
    assert pr.containing("day", midnight).at == "2025-12-01"
    assert pr.containing("day", midnight - 1).at == "2025-11-30"
    assert pr.containing("quarter", vn("2025-12-31 23:59")).at == "2025-Q4"
    assert pr.containing("quarter", vn("2026-01-01 00:00")).at == "2026-Q1"


@pytest.mark.parametrize(("kind", "at", "start", "end"), [
    ("day", "2024-02-29", "2024-02-29 00:00", "2024-03-01 00:00"),
    ("month", "2025-12", "2025-12-01 00:00", "2026-01-01 00:00"),
    ("quarter", "2025-Q1", "2025-01-01 00:00", "2025-04-01 00:00"),
])
def test_parse(kind, at, start, end):
    """The read API's at parses to the period with Vietnam-time bounds (leap day, year ends)."""
    p = pr.parse(kind, at)
    assert (p.kind, p.at, p.start, p.end) == (kind, at, vn(start), vn(end))


@pytest.mark.parametrize(("kind", "at", "message"), [
    ("week", "2025-11", "period must be one of day, month, quarter"),
    ("day", "2025-11", "at must be YYYY-MM-DD for period=day"),
    ("month", "2025-13", "at: month must be 01..12"),
    ("day", "2025-02-29", "at: day must be 01..28 in 2025-02"),
    ("quarter", "2025-Q5", "at must be YYYY-Qn for period=quarter"),
    ("month", "1800-01", "at: year must be within 1990..2100"),
    ("month", "", "at must be YYYY-MM for period=month"),
])
def test_parse_errors_name_the_rule(kind, at, message):
    """Bad kinds and ats raise PeriodError saying which part breaks which rule."""
    with pytest.raises(pr.PeriodError) as err:
        pr.parse(kind, at)
    assert str(err.value) == message


def test_parse_key_and_spanning():
    """Keys parse back; spanning lists every period overlapping an interval, both ends included."""
    assert pr.parse_key("23734|quarter|2025-Q4") == ("23734", pr.parse("quarter", "2025-Q4"))
    with pytest.raises(pr.PeriodError):
        pr.parse_key("23734|month")
    days = pr.spanning("day", vn("2025-11-29 23:00"), vn("2025-12-01 00:00"))
    assert [p.at for p in days] == ["2025-11-29", "2025-11-30", "2025-12-01"]
    assert pr.spanning("month", vn("2025-12-01 00:00"), vn("2025-11-01 00:00")) == []
    assert pr.following(pr.parse("quarter", "2025-Q4")).at == "2026-Q1"


@given(st.integers(0, 4_000_000_000_000))
def test_integer_arithmetic_matches_datetime(ms):
    """The ms arithmetic gives the same Vietnam date and weekday as datetime does."""
    local = datetime.fromtimestamp(ms / 1000, VIETNAM)
    day = pr.containing("day", ms)
    assert day.at == local.strftime("%Y-%m-%d") and day.start <= ms < day.end
    assert pr.weekday(pr.vn_day(ms)) == local.weekday()
    assert pr.containing("quarter", ms).at == f"{local.year}-Q{(local.month - 1) // 3 + 1}"

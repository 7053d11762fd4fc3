"""Reporting periods (kỳ báo cáo) in Vietnam time: day, month, quarter.

Every instant in the hub is UTC epoch milliseconds; Vietnam has no daylight saving, so a
Vietnam calendar day is plain integer arithmetic on ms with the +7 h offset — no datetime
objects on the hot path. A period is a :class:`Period` (kind, label, start ms inclusive, end
ms exclusive); its feed key adds the commune: ``23734|month|2025-11``, ``23734|day|2025-11-03``,
``23734|quarter|2025-Q4``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

VN_OFFSET_MS = 7 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000
KINDS = ("day", "month", "quarter")

_AT = {
    "day": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
}
_SHAPE = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "quarter": "YYYY-Qn"}
_MIN_YEAR, _MAX_YEAR = 1990, 2100


class PeriodError(ValueError):
    """A period kind, ``at`` or key that cannot be read; the message names the part and the rule."""


class Period(NamedTuple):
    kind: str  # day | month | quarter
    at: str  # 2025-11-03 | 2025-11 | 2025-Q4
    start: int  # UTC ms, inclusive: midnight Vietnam time
    end: int  # UTC ms, exclusive

    def key(self, commune_code: str) -> str:
        return f"{commune_code}|{self.kind}|{self.at}"


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    """(year, month, day) of a day number since 1970-01-01."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def vn_day(ms: int) -> int:
    """Vietnam calendar day number (days since 1970-01-01 in UTC+7) of an instant."""
    return (ms + VN_OFFSET_MS) // DAY_MS


def day_start(day: int) -> int:
    """UTC ms of midnight Vietnam time starting day number ``day``."""
    return day * DAY_MS - VN_OFFSET_MS


def weekday(day: int) -> int:
    """Monday 0 .. Sunday 6 of a day number (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


def _month_start(y: int, m: int) -> int:
    return day_start(days_from_civil(y, m, 1))


def _make(kind: str, y: int, m: int, d: int) -> Period:
    """The period of ``kind`` containing the Vietnam date y-m-d."""
    if kind == "day":
        day = days_from_civil(y, m, d)
        return Period(kind, f"{y:04d}-{m:02d}-{d:02d}", day_start(day), day_start(day + 1))
    if kind == "month":
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        return Period(kind, f"{y:04d}-{m:02d}", _month_start(y, m), _month_start(ny, nm))
    if kind == "quarter":
        q = (m - 1) // 3
        ny, nm = (y + 1, 1) if q == 3 else (y, 3 * q + 4)
        return Period(kind, f"{y:04d}-Q{q + 1}", _month_start(y, 3 * q + 1), _month_start(ny, nm))
    raise PeriodError(f"period must be one of {', '.join(KINDS)}")


@lru_cache(maxsize=16384)
def _of_day(kind: str, day: int) -> Period:
    # The engine asks for the same few periods all the time: building one costs ~10 us.
    return _make(kind, *civil_from_days(day))


def containing(kind: str, ms: int) -> Period:
    """The period of ``kind`` (day, month, quarter) that contains instant ``ms``."""
    return _of_day(kind, vn_day(ms))


def touching(ms: int) -> list[Period]:
    """The day, month and quarter that contain instant ``ms``."""
    day = vn_day(ms)
    return [_of_day(k, day) for k in KINDS]


def spanning(kind: str, start_ms: int, end_ms: int) -> list[Period]:
    """Every period of ``kind`` that overlaps the instants [start_ms, end_ms] (both included), in order."""
    out: list[Period] = []
    if end_ms < start_ms:
        return out
    p = containing(kind, start_ms)
    while True:
        out.append(p)
        if p.end > end_ms:
            return out
        p = containing(kind, p.end)


def following(p: Period) -> Period:
    """The period of the same kind right after ``p``."""
    return containing(p.kind, p.end)


def parse(kind: str, at: str) -> Period:
    """The read API's ``period`` and ``at``: day YYYY-MM-DD, month YYYY-MM, quarter YYYY-Qn."""
    if kind not in _AT:
        raise PeriodError(f"period must be one of {', '.join(KINDS)}")
    match = _AT[kind].match(at or "")
    if match is None:
        raise PeriodError(f"at must be {_SHAPE[kind]} for period={kind}")
    y = int(match.group(1))
    if not _MIN_YEAR <= y <= _MAX_YEAR:
        raise PeriodError(f"at: year must be within {_MIN_YEAR}..{_MAX_YEAR}")
    if kind == "quarter":
        return _make(kind, y, 3 * int(match.group(2)) - 2, 1)
    m = int(match.group(2))
    if not 1 <= m <= 12:
        raise PeriodError("at: month must be 01..12")
    d = int(match.group(3)) if kind == "day" else 1
    if kind == "day" and not 1 <= d <= _days_in_month(y, m):
        raise PeriodError(f"at: day must be 01..{_days_in_month(y, m):02d} in {y:04d}-{m:02d}")
    return _make(kind, y, m, d)


def _days_in_month(y: int, m: int) -> int:
    ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
    return days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)


def parse_key(key: str) -> tuple[str, Period]:
    """``23734|month|2025-11`` -> ("23734", Period)."""
    parts = key.split("|")
    if len(parts) != 3 or not (len(parts[0]) == 5 and parts[0].isdigit()):
        raise PeriodError("period key must be <5-digit commune>|<day|month|quarter>|<at>")
    return parts[0], parse(parts[1], parts[2])

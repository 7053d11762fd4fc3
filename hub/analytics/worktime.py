"""Deadlines in working time (thời gian làm việc), Vietnam time.

An SLA is an amount and a unit: ``m`` minutes, ``h`` hours and ``d`` days run on the clock,
weekends and holidays included (an urgent directive does not wait for Monday); ``wd`` working
days skip Saturday, Sunday and the holidays of the settings. ``n wd`` from an instant on a
working day is the same clock time ``n`` working days later; from an instant on a non-working
day the clock starts at 00:00 of the next working day (so a directive sent on Saturday with a
1-working-day SLA is due at 00:00 on Tuesday: the commune has all of Monday). Make-up working
Saturdays (làm bù) are not modelled.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from hub.analytics.periods import DAY_MS, civil_from_days, day_start, days_from_civil, vn_day, weekday
from hub.errors import ConfigError

_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": DAY_MS}
_SLA = re.compile(r"^(\d{1,4})(m|h|d|wd)$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class Sla(NamedTuple):
    amount: int
    unit: str  # m | h | d | wd

    @property
    def label(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def hours(self) -> int | None:
        """Clock hours of an hour/day SLA (rounded down for minutes); None for working days."""
        if self.unit == "wd":
            return None
        return self.amount * _UNIT_MS[self.unit] // 3_600_000

    def deadline(self, start_ms: int, holidays: frozenset[int]) -> int:
        """The instant the SLA ends when its clock starts at ``start_ms``."""
        if self.unit == "wd":
            return add_working_days(start_ms, self.amount, holidays)
        return start_ms + self.amount * _UNIT_MS[self.unit]


def parse_sla(text: str, what: str) -> Sla:
    """``1h``, ``30m``, ``2d``, ``1wd``; anything else is a ConfigError naming the setting."""
    match = _SLA.match(text.strip())
    if match is None:
        raise ConfigError(f"{what}: SLA {text.strip()[:20]!r} must be <number><m|h|d|wd> (e.g. 4h, 1wd)")
    return Sla(int(match.group(1)), match.group(2))


def parse_holidays(text: str, what: str) -> frozenset[int]:
    """Comma-separated YYYY-MM-DD dates -> Vietnam day numbers."""
    out = set()
    for item in filter(None, (p.strip() for p in text.split(","))):
        match = _DATE.match(item)
        if match is None:
            raise ConfigError(f"{what}: holiday {item[:20]!r} must be YYYY-MM-DD")
        y, m, d = (int(g) for g in match.groups())
        day = days_from_civil(y, m, d)
        if not 1 <= m <= 12 or (y, m, d) != civil_from_days(day):
            raise ConfigError(f"{what}: holiday {item!r} is not a calendar date")
        out.add(day)
    return frozenset(out)


def is_working_day(day: int, holidays: frozenset[int]) -> bool:
    """Monday to Friday and not a holiday (Vietnam day number)."""
    return weekday(day) < 5 and day not in holidays


def add_working_days(start_ms: int, n: int, holidays: frozenset[int]) -> int:
    """``start_ms`` plus ``n`` working days (see the module doc for non-working start days)."""
    day = vn_day(start_ms)
    offset = start_ms - day_start(day)
    if not is_working_day(day, holidays):
        while not is_working_day(day, holidays):
            day += 1
        offset = 0
    for _ in range(n):
        day += 1
        while not is_working_day(day, holidays):
            day += 1
    return day_start(day) + offset

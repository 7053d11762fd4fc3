"""Deadlines in working time (thời gian làm việc), Vietnam time.

An SLA is an amount and a unit: ``m`` minutes, ``h`` hours and ``d`` days run on the clock,
weekends and holidays included (an urgent directive does not wait for Monday); ``wd`` working
days follow the :class:`WorkingCalendar`. ``n wd`` from an instant on a working day is the same
clock time ``n`` working days later; from an instant on a non-working day the clock starts at
00:00 of the next working day (so a directive sent on Saturday with a 1-working-day SLA is due at
00:00 on Tuesday: the commune has all of Monday).

Where the calendar comes from, strongest first: the settings' extra working days
(``HUB_WORKING_DAYS``) and extra days off (``HUB_WORKING_HOLIDAYS``); the official schedule
shipped in ``hub/data/working_calendar.csv`` (public holidays as observed, the government's
swapped days off and the make-up working Saturdays, làm bù); the ``holidays`` package's Vietnam
public holidays (Tết by the lunar calendar, days moved off weekends, the swaps it knows); then
Monday to Friday. The package computes any year, so a year the shipped file does not cover
still has its statutory holidays, but not that year's swaps: :func:`stale_years` says so, and
``hub status`` and the worker report it (``calendar_stale``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

from hub.analytics.periods import DAY_MS, civil_from_days, day_start, days_from_civil, vn_day, weekday
from hub.errors import ConfigError

_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": DAY_MS}
_SLA = re.compile(r"^(\d{1,4})(m|h|d|wd)$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
KINDS = ("holiday", "day_off", "working_day")
SHIPPED = "working_calendar.csv"
# Next year's schedule (Tết above all) is announced in the autumn: asking for it from January would
# make the warning permanent, and a permanent warning is one operators learn to ignore.
NEXT_YEAR_FROM = (10, 1)  # month, day of the current year from which next year is checked


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

    def deadline(self, start_ms: int, calendar: WorkingCalendar | frozenset[int]) -> int:
        """The instant the SLA ends when its clock starts at ``start_ms``."""
        if self.unit == "wd":
            return add_working_days(start_ms, self.amount, calendar)
        return start_ms + self.amount * _UNIT_MS[self.unit]


class CalendarRow(NamedTuple):
    day: int  # Vietnam day number
    kind: str  # holiday | day_off | working_day
    source: str


@dataclass(frozen=True)
class WorkingCalendar:
    """Which Vietnam days are working days. Build it with :func:`calendar` (settings over shipped data
    over the ``holidays`` package); a bare ``WorkingCalendar(days_off=...)`` is weekends plus those days."""

    days_off: frozenset[int] = frozenset()  # weekdays that are not worked (holidays, swapped days off)
    working_days: frozenset[int] = frozenset()  # worked even on a weekend or a holiday (làm bù)
    scheduled_years: frozenset[int] = frozenset()  # years whose official schedule is loaded
    library: bool = False  # also the holidays package's Vietnam public holidays and make-up days

    def is_working_day(self, day: int) -> bool:
        if day in self.working_days:
            return True
        if day in self.days_off:
            return False
        if self.library:
            off, worked = _library_year(civil_from_days(day)[0])
            if day in worked:
                return True
            if day in off:
                return False
        return weekday(day) < 5


def parse_sla(text: str, what: str) -> Sla:
    """``1h``, ``30m``, ``2d``, ``1wd``; anything else is a ConfigError naming the setting."""
    match = _SLA.match(text.strip())
    if match is None:
        raise ConfigError(f"{what}: SLA {text.strip()[:20]!r} must be <number><m|h|d|wd> (e.g. 4h, 1wd)")
    return Sla(int(match.group(1)), match.group(2))


def parse_day(item: str, what: str, noun: str = "holiday") -> int:
    """``YYYY-MM-DD`` -> Vietnam day number; anything else is a ConfigError naming ``what``."""
    match = _DATE.match(item)
    if match is None:
        raise ConfigError(f"{what}: {noun} {item[:20]!r} must be YYYY-MM-DD")
    y, m, d = (int(g) for g in match.groups())
    day = days_from_civil(y, m, d)
    if not 1 <= m <= 12 or (y, m, d) != civil_from_days(day):
        raise ConfigError(f"{what}: {noun} {item!r} is not a calendar date")
    return day


def parse_holidays(text: str, what: str, noun: str = "holiday") -> frozenset[int]:
    """Comma-separated YYYY-MM-DD dates -> Vietnam day numbers."""
    return frozenset(parse_day(item, what, noun) for item in filter(None, (p.strip() for p in text.split(","))))


def parse_rows(text: str, what: str) -> list[CalendarRow]:
    """The rows of a working-calendar CSV (``date,kind,source,note``; ``#`` lines are comments)."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    rows = []
    for n, rec in enumerate(csv.DictReader(io.StringIO("\n".join(lines))), start=1):
        kind = (rec.get("kind") or "").strip()
        if kind not in KINDS:
            raise ConfigError(f"{what}: row {n}: kind {kind[:20]!r} must be one of {', '.join(KINDS)}")
        day = parse_day((rec.get("date") or "").strip(), f"{what}: row {n}", "date")
        if kind != "holiday" and (kind == "working_day") != (weekday(day) >= 5):
            raise ConfigError(f"{what}: row {n}: a working_day is a Saturday or Sunday, a day_off a weekday")
        rows.append(CalendarRow(day, kind, (rec.get("source") or "").strip()))
    return rows


@lru_cache(maxsize=1)
def shipped_rows() -> tuple[CalendarRow, ...]:
    """The official schedule shipped with the hub (``hub/data/working_calendar.csv``)."""
    text = resources.files("hub.data").joinpath(SHIPPED).read_text(encoding="utf-8")
    return tuple(parse_rows(text, SHIPPED))


def calendar(extra_days_off: frozenset[int] = frozenset(), extra_working_days: frozenset[int] = frozenset(),
             rows: tuple[CalendarRow, ...] | list[CalendarRow] | None = None) -> WorkingCalendar:
    """The working calendar: ``rows`` (default: the shipped schedule) over the ``holidays`` package, and
    the settings' extra days over both. A year counts as scheduled when ``rows`` have a day in it, or
    the settings name one (the operator entered that year's announcement)."""
    rows = shipped_rows() if rows is None else rows
    both = extra_days_off & extra_working_days
    if both:
        y, m, d = civil_from_days(min(both))
        raise ConfigError(f"HUB_WORKING_DAYS and HUB_WORKING_HOLIDAYS both name {y:04d}-{m:02d}-{d:02d}")
    shipped_off = frozenset(r.day for r in rows if r.kind != "working_day")
    shipped_worked = frozenset(r.day for r in rows if r.kind == "working_day")
    years = {civil_from_days(r.day)[0] for r in rows}
    years |= {civil_from_days(day)[0] for day in extra_days_off | extra_working_days}
    return WorkingCalendar(days_off=(shipped_off | extra_days_off) - extra_working_days,
                           working_days=(shipped_worked - extra_days_off) | extra_working_days,
                           scheduled_years=frozenset(years), library=True)


@lru_cache(maxsize=256)
def _library_year(year: int) -> tuple[frozenset[int], frozenset[int]]:
    """(public holidays, make-up working days) of ``year`` from the holidays package, as day numbers."""
    import holidays  # imported on first use: ~0.5 s, paid only by processes that compute deadlines

    h = holidays.country_holidays("VN", years=year)
    off = frozenset(days_from_civil(d.year, d.month, d.day) for d in h)
    worked = frozenset(days_from_civil(d.year, d.month, d.day) for d in h.weekend_workdays if d.year == year)
    return off, worked


def stale_years(cal: WorkingCalendar, now_ms: int) -> list[int]:
    """The current year, and from :data:`NEXT_YEAR_FROM` the next, when no official schedule covers them."""
    year, month, day = civil_from_days(vn_day(now_ms))
    wanted = [year, year + 1] if (month, day) >= NEXT_YEAR_FROM else [year]
    return [y for y in wanted if y not in cal.scheduled_years]


def stale_message(year: int) -> str:
    return (f"the working calendar has no official schedule for {year} (days off and make-up working days "
            "moved by the government): update hub or set HUB_WORKING_HOLIDAYS/HUB_WORKING_DAYS")


def _as_calendar(cal: WorkingCalendar | frozenset[int]) -> WorkingCalendar:
    return cal if isinstance(cal, WorkingCalendar) else WorkingCalendar(days_off=cal)


def is_working_day(day: int, cal: WorkingCalendar | frozenset[int]) -> bool:
    """Whether Vietnam day number ``day`` is worked (a bare set of holidays: Monday to Friday not in it)."""
    return _as_calendar(cal).is_working_day(day)


def add_working_days(start_ms: int, n: int, cal: WorkingCalendar | frozenset[int]) -> int:
    """``start_ms`` plus ``n`` working days (see the module doc for non-working start days)."""
    cal = _as_calendar(cal)
    day = vn_day(start_ms)
    offset = start_ms - day_start(day)
    if not cal.is_working_day(day):
        while not cal.is_working_day(day):
            day += 1
        offset = 0
    for _ in range(n):
        day += 1
        while not cal.is_working_day(day):
            day += 1
    return day_start(day) + offset

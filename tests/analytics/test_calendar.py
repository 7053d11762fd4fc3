"""The working calendar: Vietnam's holidays from the holidays package, the official swaps shipped in
hub/data/working_calendar.csv, HUB_WORKING_HOLIDAYS / HUB_WORKING_DAYS over both, and calendar_stale.

Every expected deadline below is worked out by hand from these schedules:

2026 (official, shipped): Tết — off Saturday 14 to Sunday 22 February (Monday 16, eve, to Friday 20,
mùng 4, are the holidays; no swap). National Day — Saturday 22 August is worked (làm bù) in exchange
for Monday 31 August; off Saturday 29 August to Wednesday 2 September (Tuesday 1 and Wednesday 2 are
the holidays).
2025 (official, shipped): 30 April — Saturday 26 April worked, Friday 2 May off; off Wednesday 30
April to Sunday 4 May.
2027 (no official schedule shipped: the statutory days of the Labor Code as the holidays package
computes them): New Year Friday 1 January; Tết — mùng 1 is Saturday 6 February, eve Friday 5; the
weekend days move to Thursday 4 and Wednesday 10, so off Thursday 4 to Wednesday 10 February;
National Day Thursday 2 and Friday 3 September.
"""

from __future__ import annotations

import dataclasses

import pytest
import structlog

from hub.admin import status, status_text
from hub.analytics.config import AnalyticsConfig, calendar_from_settings
from hub.analytics.periods import civil_from_days, days_from_civil
from hub.analytics.worktime import (
    KINDS,
    Sla,
    WorkingCalendar,
    _library_year,
    add_working_days,
    parse_rows,
    shipped_rows,
    stale_message,
    stale_years,
)
from hub.errors import ConfigError
from hub.settings import Settings

from .datasets import vn

ONE_WD = Sla(1, "wd")


def _cal(**env: str) -> WorkingCalendar:
    return calendar_from_settings(Settings.from_env(env={f"HUB_{k.upper()}": v for k, v in env.items()}))


DEFAULT = _cal()


def test_tet_2026_a_friday_directive_is_due_on_the_first_working_day_after_tet_at_the_same_time():
    """Sent Friday 2026-02-13 10:00, 1 wd: Saturday 14 to Sunday 22 are off, so Monday 23 at 10:00."""
    cfg = AnalyticsConfig.from_settings(Settings.from_env(env={}))
    assert cfg.acceptance_sla["NORMAL"].deadline(vn("2026-02-13 10:00"), cfg.holidays) == vn("2026-02-23 10:00")
    assert add_working_days(vn("2026-02-12 15:00"), 2, DEFAULT) == vn("2026-02-23 15:00")  # Fri 13, then Mon 23
    # sent during Tết: the clock starts at 00:00 of Monday 23, which the commune has in full
    assert ONE_WD.deadline(vn("2026-02-18 09:00"), DEFAULT) == vn("2026-02-24 00:00")
    assert ONE_WD.deadline(vn("2026-02-11 08:30"), DEFAULT) == vn("2026-02-12 08:30")  # before Tết: a plain day


def test_national_day_2026_skips_the_swapped_monday_and_counts_the_make_up_saturday():
    """Friday 2026-08-28 + 1 wd: Saturday 29 to Wednesday 2 September off (Monday 31 by the swap) -> Thursday 3.
    Saturday 22 August is a working day: Friday 21 + 1 wd is Saturday 22, and Saturday 22 + 1 wd is Monday 24."""
    assert ONE_WD.deadline(vn("2026-08-28 10:00"), DEFAULT) == vn("2026-09-03 10:00")
    assert ONE_WD.deadline(vn("2026-08-21 10:00"), DEFAULT) == vn("2026-08-22 10:00")
    assert ONE_WD.deadline(vn("2026-08-22 09:00"), DEFAULT) == vn("2026-08-24 09:00")
    assert DEFAULT.is_working_day(days_from_civil(2026, 8, 22))
    assert not DEFAULT.is_working_day(days_from_civil(2026, 8, 31))


def test_reunification_day_2025_make_up_saturday_and_swapped_friday():
    """Friday 2025-04-25 16:00 + 1 wd is Saturday 26 (làm bù) 16:00; Tuesday 29 10:00 + 1 wd skips Wednesday 30
    to Sunday 4 May (Friday 2 May swapped off) -> Monday 5 May 10:00."""
    assert ONE_WD.deadline(vn("2025-04-25 16:00"), DEFAULT) == vn("2025-04-26 16:00")
    assert ONE_WD.deadline(vn("2025-04-29 10:00"), DEFAULT) == vn("2025-05-05 10:00")


def test_2027_tet_new_year_and_national_day_from_the_holidays_package():
    """No official 2027 schedule is shipped, yet its statutory holidays are off: Wednesday 2027-02-03 + 1 wd is
    Thursday 11 February; Wednesday 1 September + 1 wd is Monday 6; Thursday 31 December 2026 + 1 wd is Monday
    4 January 2027."""
    assert ONE_WD.deadline(vn("2027-02-03 10:00"), DEFAULT) == vn("2027-02-11 10:00")
    assert ONE_WD.deadline(vn("2027-09-01 14:00"), DEFAULT) == vn("2027-09-06 14:00")
    assert ONE_WD.deadline(vn("2026-12-31 10:00"), DEFAULT) == vn("2027-01-04 10:00")
    assert ONE_WD.deadline(vn("2027-02-01 10:00"), DEFAULT) == vn("2027-02-02 10:00")  # Monday -> Tuesday


@pytest.mark.parametrize(("env", "sent", "due"), [
    # a make-up Saturday the province announces
    ({"working_days": "2027-01-30"}, "2027-01-29 10:00", "2027-01-30 10:00"),
    # an extra day off after Tết 2027: Thursday 11 is off, so Friday 12
    ({"working_holidays": "2027-02-11"}, "2027-02-03 10:00", "2027-02-12 10:00"),
    # a working day wins over a holiday of the package (Wednesday 10 February 2027)
    ({"working_days": "2027-02-10"}, "2027-02-03 10:00", "2027-02-10 10:00"),
    # a day off wins over a shipped make-up Saturday: Friday 21 August 2026 -> Monday 24
    ({"working_holidays": "2026-08-22"}, "2026-08-21 10:00", "2026-08-24 10:00"),
    # a working day wins over a shipped swapped day off: Friday 28 August 2026 -> Monday 31
    ({"working_days": "2026-08-31"}, "2026-08-28 10:00", "2026-08-31 10:00"),
])
def test_settings_override_the_package_and_the_shipped_schedule(env, sent, due):
    """HUB_WORKING_DAYS and HUB_WORKING_HOLIDAYS win over the holidays package and the shipped file."""
    assert ONE_WD.deadline(vn(sent), _cal(**env)) == vn(due)
    assert ONE_WD.deadline(vn(sent), DEFAULT) != vn(due)  # the setting is what moved it


@pytest.mark.parametrize(("now", "stale"), [
    ("2025-12-07 10:00", []),  # 2025 and 2026 are shipped
    ("2026-06-01 10:00", []),  # 2026 shipped; 2027's schedule is not asked for before October
    ("2026-09-30 23:59", []),
    ("2026-10-01 00:00", [2027]),
    ("2026-12-07 10:00", [2027]),  # today: Tết 2027 is two months away and its swaps are unknown
    ("2027-03-01 10:00", [2027]),
    ("2028-11-01 10:00", [2028, 2029]),
])
def test_stale_years_are_the_current_and_from_october_the_next_year_without_a_schedule(now, stale):
    assert stale_years(DEFAULT, vn(now)) == stale


def test_a_year_named_in_the_settings_counts_as_scheduled():
    """The operator entered 2027's announcement (a make-up Saturday): no calendar_stale for 2027; 2028 still is."""
    cal = _cal(working_days="2027-01-30")
    assert sorted(cal.scheduled_years) == [2024, 2025, 2026, 2027]
    assert stale_years(cal, vn("2026-12-07 10:00")) == []
    assert stale_years(cal, vn("2027-11-01 10:00")) == [2028]
    assert stale_years(_cal(working_holidays="2027-02-11"), vn("2026-12-07 10:00")) == []
    assert stale_message(2027) == ("the working calendar has no official schedule for 2027 (days off and make-up "
                                   "working days moved by the government): update hub or set "
                                   "HUB_WORKING_HOLIDAYS/HUB_WORKING_DAYS")


def test_hub_status_section_reason_and_text_at_a_fixed_now():
    """`hub status` judges the calendar at HUB_CLOCK: 2026-12-07 lacks 2027, 2025-12-07 lacks nothing, and a
    malformed setting is an unreadable section rather than a crash."""
    section = status.working_calendar(Settings.from_env(env={"HUB_CLOCK": "2026-12-07T03:00:00Z"}))
    assert section == {"scheduled_years": [2024, 2025, 2026], "stale_years": [2027]}
    reasons = status.calendar_reasons(section)
    assert [r["code"] for r in reasons] == ["calendar_stale"] and "schedule for 2027" in reasons[0]["message"]
    assert status_text._render_calendar(section) == [
        "working calendar official schedule for 2024, 2025, 2026; NO official schedule for 2027 (calendar_stale)"]

    ok = status.working_calendar(Settings.from_env(env={"HUB_CLOCK": "2025-12-07T03:00:00Z"}))
    assert ok["stale_years"] == [] and status.calendar_reasons(ok) == []
    assert status_text._render_calendar(ok) == ["working calendar official schedule for 2024, 2025, 2026"]

    # Settings.from_env refuses this value (hub/settings_rules.py); status still reports one it meets
    bad = status.working_calendar(dataclasses.replace(Settings.from_env(env={}), working_days="soon"))
    assert [r["code"] for r in status.calendar_reasons(bad)] == ["section_unreadable"]
    assert "HUB_WORKING_DAYS: working day 'soon' must be YYYY-MM-DD" in bad["error"]


def test_worker_logs_calendar_stale_once_per_missing_year():
    from hub.processors import worker

    with structlog.testing.capture_logs() as logs:
        assert worker.log_calendar(DEFAULT, vn("2026-12-07 10:00")) == [2027]
        assert worker.log_calendar(DEFAULT, vn("2025-12-07 10:00")) == []
    lines = [e for e in logs if e["event"] == "calendar_stale"]
    assert len(lines) == 1
    assert (lines[0]["log_level"], lines[0]["year"], lines[0]["reason"]) == ("warning", 2027, "calendar_stale")


def test_shipped_schedule_covers_2024_to_2026_and_agrees_with_the_pinned_holidays_package():
    """Each covered year's days off and make-up days are exactly the package's (a package upgrade that moves a day
    fails here), and the file's swaps are the ones in the module docstring above."""
    rows = shipped_rows()
    assert {civil_from_days(r.day)[0] for r in rows} == {2024, 2025, 2026} and {r.kind for r in rows} == set(KINDS)
    for year in (2024, 2025, 2026):
        mine = [r for r in rows if civil_from_days(r.day)[0] == year]
        off, worked = _library_year(year)
        assert {r.day for r in mine if r.kind != "working_day"} == off, year
        assert {r.day for r in mine if r.kind == "working_day"} == worked, year
    swaps = sorted((civil_from_days(r.day), r.kind) for r in rows if r.kind != "holiday")
    assert swaps == [((2024, 4, 29), "day_off"), ((2024, 5, 4), "working_day"), ((2025, 4, 26), "working_day"),
                     ((2025, 5, 2), "day_off"), ((2026, 8, 22), "working_day"), ((2026, 8, 31), "day_off")]
    assert all(r.source for r in rows)


@pytest.mark.parametrize(("text", "message"), [
    ("date,kind,source\n2026-08-22,make_up,x\n", "row 1: kind 'make_up' must be one of holiday, day_off, working_day"),
    ("date,kind,source\n2026-08-21,working_day,x\n", "row 1: a working_day is a Saturday or Sunday"),
    ("# a comment\ndate,kind,source\n2026-08-22,day_off,x\n", "Sunday, a day_off a weekday"),
    ("date,kind,source\n2026-02-30,holiday,x\n", "row 1: date '2026-02-30' is not a calendar date"),
])
def test_a_malformed_calendar_file_names_the_row(text, message):
    with pytest.raises(ConfigError) as err:
        parse_rows(text, "working_calendar.csv")
    assert message in str(err.value)


def test_a_directive_claiming_a_far_year_still_gets_a_deadline():
    """A hostile or broken sent time (years the package has no data for) costs one bounded lookup and gives a
    weekends-only deadline, never an error: Friday 2150-06-05 -> Monday 8; Thursday 9998-12-31 -> Friday 9999-01-01;
    sent on New Year's Day 1971 (a Friday; the package knows it): the clock starts at 00:00 on Monday 4 -> Tuesday 5."""
    assert ONE_WD.deadline(vn("2150-06-05 10:00"), DEFAULT) == vn("2150-06-08 10:00")
    assert ONE_WD.deadline(vn("9998-12-31 10:00"), DEFAULT) == vn("9999-01-01 10:00")
    assert ONE_WD.deadline(vn("1971-01-01 10:00"), DEFAULT) == vn("1971-01-05 00:00")

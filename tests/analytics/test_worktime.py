"""hub.analytics.worktime and config: working-day deadlines over weekends and holidays, SLA settings
(the shipped calendar, 2026 and 2027, overrides and calendar_stale: test_calendar.py)."""

from __future__ import annotations

import pytest

from hub.analytics.config import AnalyticsConfig
from hub.analytics.worktime import Sla, add_working_days, parse_holidays, parse_sla
from hub.errors import ConfigError
from hub.settings import Settings

from .datasets import vn

NATIONAL_DAY = parse_holidays("2025-09-01,2025-09-02", "test")


def test_working_day_skips_weekend_and_holidays():
    """Friday 15:00 + 1 working day over a weekend and two holidays is Wednesday 15:00."""
    assert add_working_days(vn("2025-08-29 15:00"), 1, NATIONAL_DAY) == vn("2025-09-03 15:00")
    assert add_working_days(vn("2025-08-29 15:00"), 1, frozenset()) == vn("2025-09-01 15:00")
    assert add_working_days(vn("2025-11-14 10:00"), 2, frozenset()) == vn("2025-11-18 10:00")


def test_clock_starts_on_the_next_working_day():
    """Sent on a Saturday (or a holiday): the clock starts at 00:00 of the next working day."""
    assert add_working_days(vn("2025-08-30 10:00"), 1, NATIONAL_DAY) == vn("2025-09-04 00:00")
    assert add_working_days(vn("2025-09-02 23:00"), 0, NATIONAL_DAY) == vn("2025-09-03 00:00")


def test_hour_slas_run_on_the_clock():
    """Hours, minutes and days ignore weekends: an urgent directive does not wait for Monday."""
    assert parse_sla("4h", "x").deadline(vn("2025-08-30 10:00"), NATIONAL_DAY) == vn("2025-08-30 14:00")
    assert parse_sla("30m", "x").deadline(vn("2025-08-30 23:50"), NATIONAL_DAY) == vn("2025-08-31 00:20")
    assert parse_sla("2d", "x") == Sla(2, "d") and Sla(2, "d").hours == 48 and Sla(1, "wd").hours is None


def test_default_settings():
    """The defaults: arrival 1 h, acceptance 1 working day for NORMAL and 4 h above, National Day 2025 (Mon 1 and
    Tue 2 September) off without any setting; dossier 24 h, document 72 h, target 35 days (communes report progress
    monthly), other kinds 72 h."""
    cfg = AnalyticsConfig.from_settings(Settings.from_env(env={}))
    assert cfg.arrival_sla["EXPRESS"] == Sla(1, "h")
    assert cfg.acceptance_sla["NORMAL"] == Sla(1, "wd") and cfg.acceptance_sla["VERY_URGENT"] == Sla(4, "h")
    assert not any(cfg.calendar.is_working_day(day) for day in NATIONAL_DAY) and not cfg.all_documents
    assert cfg.holidays is cfg.calendar  # the name hub/analytics/directives.py reads
    assert (cfg.silent_after_ms("dossier"), cfg.silent_after_ms("document"),
            cfg.silent_after_ms("target"), cfg.silent_after_ms("other")) == (
        24 * 3_600_000, 72 * 3_600_000, 840 * 3_600_000, 72 * 3_600_000)


def test_settings_from_environment():
    """HUB_DIRECTIVE_SLA_ACCEPTANCE pairs fill unnamed priorities with NORMAL's SLA."""
    s = Settings.from_env(env={"HUB_DIRECTIVE_SLA_ACCEPTANCE": "normal=2wd,EXPRESS=1h",
                               "HUB_DIRECTIVE_ALL_DOCUMENTS": "1", "HUB_FRESHNESS_SILENT_HOURS": "dossier=6"})
    cfg = AnalyticsConfig.from_settings(s)
    assert cfg.acceptance_sla["URGENT"] == Sla(2, "wd") and cfg.acceptance_sla["EXPRESS"] == Sla(1, "h")
    assert cfg.all_documents and cfg.silent_after_ms("dossier") == 6 * 3_600_000


@pytest.mark.parametrize(("env", "message"), [
    ({"HUB_DIRECTIVE_SLA_ARRIVAL": "soon"}, "HUB_DIRECTIVE_SLA_ARRIVAL: SLA 'soon' must be <number><m|h|d|wd>"),
    ({"HUB_DIRECTIVE_SLA_ACCEPTANCE": "URGENT=4h"}, "HUB_DIRECTIVE_SLA_ACCEPTANCE: NORMAL=<sla> is required"),
    ({"HUB_DIRECTIVE_SLA_ACCEPTANCE": "NORMAL=1wd,LOW=2wd"}, "unknown priority 'LOW'"),
    ({"HUB_WORKING_HOLIDAYS": "2025-02-30"}, "HUB_WORKING_HOLIDAYS: holiday '2025-02-30' is not a calendar date"),
    ({"HUB_WORKING_HOLIDAYS": "30/04/2025"}, "must be YYYY-MM-DD"),
    ({"HUB_WORKING_DAYS": "2027-13-01"}, "HUB_WORKING_DAYS: working day '2027-13-01' is not a calendar date"),
    ({"HUB_WORKING_DAYS": "2027-01-30", "HUB_WORKING_HOLIDAYS": "2027-01-29,2027-01-30"},
     "HUB_WORKING_DAYS and HUB_WORKING_HOLIDAYS both name 2027-01-30"),
    ({"HUB_FRESHNESS_SILENT_HOURS": "dossier=-1"}, "hours must be above 0"),
    ({"HUB_FRESHNESS_SILENT_HOURS": "dossier"}, "must be NAME=value"),
])
def test_bad_settings_name_the_variable(env, message):
    """A malformed analytics setting is a ConfigError naming the variable and the rule."""
    with pytest.raises(ConfigError) as err:
        AnalyticsConfig.from_settings(Settings.from_env(env=env))
    assert message in str(err.value)

"""The analytics knobs, parsed once from :class:`hub.settings.Settings` into plain values."""

from __future__ import annotations

from dataclasses import dataclass

from hub.analytics.worktime import Sla, WorkingCalendar, calendar, parse_holidays, parse_sla
from hub.errors import ConfigError
from hub.settings import Settings

PRIORITIES = ("NORMAL", "URGENT", "VERY_URGENT", "EXPRESS", "EXPRESS_FIXED_TIME")
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class AnalyticsConfig:
    """SLAs by priority (a directive without a priority is NORMAL), the working calendar, silence thresholds."""

    arrival_sla: dict[str, Sla]
    acceptance_sla: dict[str, Sla]
    calendar: WorkingCalendar
    silent_ms: dict[str, int]  # by kind
    silent_default_ms: int
    all_documents: bool = False

    @classmethod
    def from_settings(cls, s: Settings) -> AnalyticsConfig:
        silent = _pairs(s.freshness_silent_hours, "HUB_FRESHNESS_SILENT_HOURS", _hours)
        default = silent.pop("default", 72 * HOUR_MS)
        return cls(arrival_sla=_by_priority(s.directive_sla_arrival, "HUB_DIRECTIVE_SLA_ARRIVAL"),
                   acceptance_sla=_by_priority(s.directive_sla_acceptance, "HUB_DIRECTIVE_SLA_ACCEPTANCE"),
                   calendar=calendar_from_settings(s),
                   silent_ms=silent, silent_default_ms=default, all_documents=s.directive_all_documents)

    @property
    def holidays(self) -> WorkingCalendar:
        """The calendar under the name hub/analytics/directives.py passes to ``Sla.deadline``."""
        return self.calendar

    def silent_after_ms(self, kind: str) -> int:
        return self.silent_ms.get(kind, self.silent_default_ms)


def calendar_from_settings(s: Settings) -> WorkingCalendar:
    """The shipped schedule and the holidays package, with HUB_WORKING_HOLIDAYS / HUB_WORKING_DAYS over them."""
    return calendar(parse_holidays(s.working_holidays, "HUB_WORKING_HOLIDAYS"),
                    parse_holidays(s.working_days, "HUB_WORKING_DAYS", "working day"))


def _hours(text: str, what: str) -> int:
    try:
        hours = float(text)
    except ValueError:
        raise ConfigError(f"{what}: {text[:20]!r} must be a number of hours") from None
    if not 0 < hours <= 24 * 3660:
        raise ConfigError(f"{what}: hours must be above 0 and at most ten years")
    return int(hours * HOUR_MS)


def _pairs(text: str, what: str, convert) -> dict:
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{what}: entry {item[:30]!r} must be NAME=value")
        out[name.strip()] = convert(value.strip(), what)
    return out


def _by_priority(text: str, what: str) -> dict[str, Sla]:
    """One SLA for every priority (``1h``), or PRIORITY=SLA pairs; unnamed priorities take NORMAL's."""
    if "=" not in text:
        sla = parse_sla(text, what)
        return dict.fromkeys(PRIORITIES, sla)
    given = {k.upper(): v for k, v in _pairs(text, what, parse_sla).items()}
    unknown = sorted(set(given) - set(PRIORITIES))
    if unknown:
        raise ConfigError(f"{what}: unknown priority {unknown[0]!r} (known: {', '.join(PRIORITIES)})")
    if "NORMAL" not in given:
        raise ConfigError(f"{what}: NORMAL=<sla> is required (it applies to priorities not listed)")
    return {p: given.get(p, given["NORMAL"]) for p in PRIORITIES}

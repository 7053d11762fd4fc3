"""Targets in the simulated province: the province assigns every commune its targets of the year, the
communes report their cumulative progress. Pure and seeded, like :mod:`connectors.scenarios`.

For the plan year of ``now`` the province's system (``sim-province``) assigns four targets per commune —
new rural development (NTM: capital disbursement with milestones, criteria) and sustainable poverty
reduction (GNBV: households out of poverty, recurrent capital with milestones) — on 10 January (at the
first event, when the run starts earlier: no event time is ever ahead of its sending). Each
commune's document system (``sim-docs-<commune>``) reports as of the last two month ends and as of a
few days ago, at a pace of its own against the expected share (:mod:`hub.analytics.targets`):

* most communes keep pace (on track), every fourth is well behind;
* one commune stopped reporting three months ago (no_report), one never reports (silent);

so the province's section shows every status at once. A third of the communes report from a
spreadsheet (CSV rows with Vietnamese headers and ``1.234.567.000`` amounts), the others in hub-json.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import orjson

from hub.analytics import targets
from hub.normalize.fields import VIETNAM
from hub.reference import Commune

# (program, indicator, name, unit, milestones as (month, day, percent) — month 13 is January N+1, target range)
INDICATORS = [
    ("NTM", "VON_DTPT", "Giải ngân vốn đầu tư phát triển", "VND",
     [(6, 30, 50), (9, 30, 75), (12, 31, 95), (13, 31, 100)], (1_500, 4_000)),
    ("NTM", "TIEU_CHI", "Số tiêu chí nông thôn mới đạt thêm", "criterion", [], (2, 6)),
    ("GNBV", "HO_THOAT_NGHEO", "Số hộ thoát nghèo", "household", [], (15, 80)),
    ("GNBV", "VON_SN", "Giải ngân vốn sự nghiệp", "VND", [(6, 30, 40), (9, 30, 70)], (300, 900)),
]
CSV_HEADER = ["Mã xã", "Năm", "Chương trình", "Mã chỉ tiêu", "Tên chỉ tiêu", "ĐVT", "Lũy kế thực hiện", "Đến ngày"]
UNIT_TEXT = {"VND": "đồng", "criterion": "tiêu chí", "household": "hộ"}
PACE = {"on_track": (0.97, 1.12), "behind": (0.45, 0.75), "stopped": (0.8, 1.0)}


@dataclass(frozen=True)
class TargetEvent:
    """One target event to publish (the simulator wraps it into its Event)."""

    format: str  # hub-json | csv
    payload: bytes
    system: str
    commune: str
    label: str  # target_assigned | target_report


def profile(i: int, n: int) -> str:
    """The behaviour of the i-th of n communes (by code): one silent, one stopped, a quarter behind."""
    if n >= 3 and i == 1:
        return "silent"
    if n >= 5 and i == 3:
        return "stopped"
    return "behind" if i % 4 == 2 else "on_track"


def _vn_amount(value: int) -> str:
    """``1.234.567.000`` as a Vietnamese spreadsheet writes it (below a million: plain digits)."""
    return f"{value:,}".replace(",", ".") if value >= 1_000_000 else str(value)


def _month_ends(year: int, today: date, count: int) -> list[date]:
    """The last ``count`` month ends of ``year`` before ``today``, oldest first."""
    ends = [date(year, m + 1, 1) - timedelta(days=1) for m in range(1, 12)] + [date(year, 12, 31)]
    return [d for d in ends if d < today][-count:]


class TargetPlan:
    def __init__(self, province: str, communes: list[Commune], rng: random.Random, now: datetime):
        self.province = province
        self.communes = sorted(communes, key=lambda c: c.code)
        self.rng = rng
        self.now = now.astimezone(VIETNAM)
        self.today = self.now.date()
        self.year = self.today.year

    def events(self) -> list[TargetEvent]:
        """Every assignment first, then the reports in date order."""
        assignments, reports = [], []
        for i, commune in enumerate(self.communes):
            kind = profile(i, len(self.communes))
            for program, code, name, unit, milestones, (lo, hi) in INDICATORS:
                scale = 1_000_000 if unit == "VND" else 1
                value = self.rng.randint(lo, hi) * scale
                assignments.append(self._assignment(commune, program, code, name, unit, milestones, value))
                pace = self.rng.uniform(*PACE.get(kind, (0, 0)))
                for as_of in self._report_dates(kind):
                    share = targets.expected_share(targets.curve(self.year, self._milestones(milestones)),
                                                   targets.day_of(as_of.isoformat()))
                    actual = min(value, round(value * float(share) * pace / scale) * scale)
                    reports.append((as_of, self._report(i, commune, program, code, name, unit, actual, as_of)))
        return assignments + [r for _d, r in sorted(reports, key=lambda x: x[0])]

    def _milestones(self, milestones) -> list[tuple[str, float]]:
        return [((date(self.year + 1, 1, d) if m == 13 else date(self.year, m, d)).isoformat(), p / 100)
                for m, d, p in milestones]

    def _report_dates(self, kind: str) -> list[date]:
        if kind == "silent":
            return []
        ends = _month_ends(self.year, self.today, 4 if kind == "stopped" else 2)
        if kind == "stopped":
            return ends[:-3]  # nothing for the last three months
        recent = self.today - timedelta(days=self.rng.randint(1, 5))
        return ends + ([recent] if recent.year == self.year and (not ends or recent > ends[-1]) else [])

    def _assignment(self, commune: Commune, program: str, code: str, name: str, unit: str, milestones,
                    value: int) -> TargetEvent:
        obj = {"record_type": "TARGET_ASSIGNED", "commune_code": commune.code, "year": self.year, "program": program,
               "indicator_code": code, "indicator_name": name, "unit": unit, "target_value": _vn_amount(value),
               "milestones": [{"date": d, "percent": round(s * 100, 4)} for d, s in self._milestones(milestones)],
               "document_number": f"{self.rng.randint(10, 999)}/QĐ-UBND", "assigned_at": self._assigned_at()}
        return TargetEvent("hub-json", orjson.dumps(obj), "sim-province", commune.code, "target_assigned")

    def _assigned_at(self) -> str:
        """10 January 09:00 — or the plan's own instant when the run starts before then: never ahead of it."""
        return min(self.now, datetime(self.year, 1, 10, 9, 0, tzinfo=VIETNAM)).strftime("%Y%m%d%H%M%S")

    def _report(self, i: int, commune: Commune, program: str, code: str, name: str, unit: str, actual: int,
                as_of: date) -> TargetEvent:
        system = f"sim-docs-{commune.code}"
        written = min(self.now, datetime(as_of.year, as_of.month, as_of.day, 16, 0, tzinfo=VIETNAM) + timedelta(days=2))
        if i % 3 == 0:  # a spreadsheet: header + one row, as the file drop splits a sheet
            buf = io.StringIO()
            out = csv.writer(buf, delimiter=";", lineterminator="\r\n")
            out.writerow(CSV_HEADER)
            out.writerow([commune.code, self.year, program, code, name, UNIT_TEXT[unit], _vn_amount(actual),
                          as_of.strftime("%d/%m/%Y")])
            return TargetEvent("csv", buf.getvalue().encode(), system, commune.code, "target_report")
        obj = {"record_type": "PROGRESS_REPORTED", "commune_code": commune.code, "year": self.year,
               "program": program, "indicator_code": code, "unit": unit, "actual_value": _vn_amount(actual),
               "as_of": as_of.strftime("%d/%m/%Y"), "event_time": written.strftime("%Y%m%d%H%M%S")}
        return TargetEvent("hub-json", orjson.dumps(obj), system, commune.code, "target_report")

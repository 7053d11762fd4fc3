"""Targets and disbursement (chỉ tiêu, giải ngân): where each commune stands against what the province assigned.

One state per target, keyed ``<commune>|<year>|<program>|<indicator>`` (:func:`key`), folded from
feed.target.v1 by :func:`merge`:

- the assignment in force: the TARGET_ASSIGNED record with the greatest (event time, event id) —
  a revised plan replaces the earlier one;
- per unit as reported (no unit counts as the assigned unit), the PROGRESS_REPORTED record with the
  greatest (as-of date, event time, event id): a report older than the latest one never overwrites
  it; a correction for the same date sent later does.

Both are maxima under a total order, so :func:`merge` is idempotent and order-insensitive: duplicated
and late records change nothing.

:func:`row` evaluates a state on the Vietnam calendar day of ``now`` (docs/targets.md says it in words):

- the expected-share curve of plan year N starts at 0 at the end of 31 December N-1 and runs through
  the milestones, linearly between them; without milestones it reaches 1 at the end of 31 December N
  (linear over the calendar year). When the last milestone is below 1 the curve still reaches 1: at
  31 December N, or at 31 January N+1 when a milestone lies after 31 December. After its last point
  the curve stays flat;
- a plan of year N may be carried out until 31 January N+1 (public investment capital of year N may
  be disbursed until then): the evaluation day is today until that date, then the plan is closed —
  the row is evaluated on 31 January N+1 for good (``final``);
- completion = actual / target (no counted report: actual 0); gap = expected share - completion;
- status, first that applies: ``unassigned`` (reports but no assignment), ``done`` (actual >= target),
  ``no_report`` (the latest counted report is as of more than ``no_report_days`` days before the
  evaluation day; without one, that long since the plan started: the later of 1 January N and the
  assignment's day), ``behind`` (gap > ``behind_points`` percentage points), ``on_track``.

Numbers are computed as exact fractions (values read back through ``repr``, the decimal the publisher
wrote) and rounded once to floats, so a hand computation with fractions gives the same floats.
:func:`rollup` totals progress rows per program and indicator for the province; readers call it on
the rows of feed.target.progress.v1, :func:`reevaluate` moves a row to another day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hub.analytics import bounds
from hub.analytics.periods import civil_from_days, days_from_civil, vn_day
from hub.errors import ConfigError

State = dict[str, Any]
Row = dict[str, Any]
NATIONAL_PROGRAMS = ("NTM", "GNBV", "DTTS")
STATUSES = ("on_track", "behind", "no_report", "done", "unassigned")
# What a province looks at first: behind, then silent communes; worst gap first within a status.
ATTENTION = {"behind": 0, "no_report": 1, "on_track": 2, "done": 3, "unassigned": 4}
DERIVED = ("completion_rate", "expected_share", "expected_value", "gap", "gap_value", "days_since_report",
           "status", "evaluated_for", "final", "computed_at")


@dataclass(frozen=True)
class TargetConfig:
    behind_points: int = 10  # HUB_TARGET_BEHIND_POINTS
    no_report_days: int = 30  # HUB_TARGET_NO_REPORT_DAYS

    @classmethod
    def from_settings(cls, s) -> TargetConfig:
        if not 0 <= s.target_behind_points <= 100:
            raise ConfigError("HUB_TARGET_BEHIND_POINTS must be within 0..100 percentage points")
        if s.target_no_report_days < 1:
            raise ConfigError("HUB_TARGET_NO_REPORT_DAYS must be at least 1")
        return cls(s.target_behind_points, s.target_no_report_days)


# -- days ----------------------------------------------------------------------------------------
def day_of(date: str) -> int:
    """Day number of a ``YYYY-MM-DD`` Vietnam calendar date."""
    return days_from_civil(int(date[0:4]), int(date[5:7]), int(date[8:10]))


def date_of(day: int) -> str:
    y, m, d = civil_from_days(day)
    return f"{y:04d}-{m:02d}-{d:02d}"


def year_start(year: int) -> int:
    """Day number of 1 January of ``year``."""
    return days_from_civil(year, 1, 1)


def close_day(year: int) -> int:
    """Last day a plan of ``year`` may be carried out: 31 January of the next year."""
    return days_from_civil(year + 1, 1, 31)


def _exact(value: float | int) -> Fraction:
    """The decimal a float was written as (``repr`` is the shortest that reads back the same)."""
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


# -- the curve -----------------------------------------------------------------------------------
def curve(year: int, milestones: Iterable[tuple[str, float]]) -> list[tuple[int, Fraction]]:
    """(day, share) points of the expected-share curve: 0 at the end of the day before 1 January, the
    milestones, and 1 at 31 December (31 January N+1 if milestones run past 31 December)."""
    points = [(year_start(year) - 1, Fraction(0))]
    points += [(day_of(date), _exact(share)) for date, share in milestones]
    last_day, last_share = points[-1]
    if last_share < 1 and last_day < close_day(year):
        end = days_from_civil(year, 12, 31)
        points.append((end if last_day < end else close_day(year), Fraction(1)))
    return points


def expected_share(points: list[tuple[int, Fraction]], day: int) -> Fraction:
    """The share expected by the end of ``day``: linear between the curve's points, flat outside."""
    if day <= points[0][0]:
        return points[0][1]
    for (d0, s0), (d1, s1) in zip(points, points[1:], strict=False):
        if day <= d1:
            return s0 + (s1 - s0) * Fraction(day - d0, d1 - d0)
    return points[-1][1]


# -- state ---------------------------------------------------------------------------------------
def key(rec: dict[str, Any]) -> str:
    """State and feed key: ``<commune>|<year>|<program>|<indicator>``."""
    return f"{rec['commune_code']}|{rec['year']}|{rec['program']}|{rec['indicator_code']}"


def _report_order(r: dict) -> tuple:
    return r["o"], r["t"], r["e"]


def merge(state: State | None, rec: dict[str, Any]) -> State:
    """Fold one TargetEvent into its target's state (idempotent, order-insensitive)."""
    if state is None:
        state = {"c": rec["commune_code"], "pv": rec["province_code"], "y": rec["year"], "g": rec["program"],
                 "i": rec["indicator_code"], "a": None, "r": {}}
    if rec["record_type"] == "TARGET_ASSIGNED":
        new = {"v": rec["target_value"], "u": rec["unit"], "m": [[m["date"], m["share"]] for m in rec["milestones"]],
               "n": rec.get("indicator_name"), "d": rec.get("document_number"), "t": rec["event_time"],
               "e": rec["event_id"], "tr": rec["trace_id"]}
        cur = state["a"]
        if cur is not None and (cur["t"], cur["e"]) >= (new["t"], new["e"]):
            return state
        return {**state, "a": new}
    report = {"v": rec["actual_value"], "o": rec["as_of"], "u": rec.get("unit"), "n": rec.get("indicator_name"),
              "t": rec["event_time"], "e": rec["event_id"], "tr": rec["trace_id"]}
    bucket = report["u"] or ""
    cur = state["r"].get(bucket)
    if cur is not None and _report_order(cur) >= _report_order(report):
        return state
    return {**state, "r": {**state["r"], bucket: report}}


def _reports(state: State) -> tuple[dict | None, dict | None]:
    """(the counted report, the newest report of any unit)."""
    reports = list(state["r"].values())
    newest = max(reports, key=_report_order, default=None)
    a = state["a"]
    if a is None:
        return newest, newest
    counted = [r for r in reports if not r["u"] or r["u"] == a["u"]]
    return max(counted, key=_report_order, default=None), newest


def report_flag(state: State, rec: dict[str, Any]) -> str | None:
    """Why a PROGRESS_REPORTED record just merged into ``state`` is flagged, if it is."""
    if rec["record_type"] != "PROGRESS_REPORTED":
        return None
    a = state["a"]
    if a is None:
        return "unassigned_indicator"
    return "unit_mismatch" if rec.get("unit") and rec["unit"] != a["u"] else None


def row(state: State, now_ms: int, cfg: TargetConfig) -> Row:
    """The progress row of a state on the Vietnam day of ``now_ms`` (a TargetProgress, status in lower case)."""
    a = state["a"]
    counted, newest = _reports(state)
    flags = []
    if a is None:
        flags.append("unassigned_indicator")
    elif newest is not None and newest is not counted and newest["u"] and newest["u"] != a["u"]:
        flags.append("unit_mismatch")
    inputs = {
        "progress_key": f"{state['c']}|{state['y']}|{state['g']}|{state['i']}", "commune_code": state["c"],
        "province_code": state["pv"], "year": state["y"], "program": state["g"], "indicator_code": state["i"],
        "indicator_name": (a["n"] if a else None) or (newest["n"] if newest else None),
        "unit": a["u"] if a else (newest["u"] if newest else None),
        "target_value": a["v"] if a else None,
        "milestones": [{"date": d, "share": s} for d, s in a["m"]] if a else [],
        "document_number": a["d"] if a else None, "assigned_at": a["t"] if a else None,
        "actual_value": counted["v"] if counted else None, "actual_as_of": counted["o"] if counted else None,
        "reported_at": counted["t"] if counted else None, "flags": flags,
        "trace_ids": bounds.traces((x["tr"] for x in (a, counted) if x is not None), 2),
    }
    # Bounded whatever the state holds (hub.analytics.bounds): these are copied from feed records.
    for name in ("commune_code", "province_code", "program", "indicator_code", "unit", "document_number"):
        inputs[name] = bounds.ident(inputs[name])
    inputs["indicator_name"] = bounds.text(inputs["indicator_name"])
    inputs["progress_key"] = bounds.ident(inputs["progress_key"], 4 * bounds.ID_MAX)
    return evaluate(inputs, now_ms, cfg)


# -- evaluation ----------------------------------------------------------------------------------
def _numbers(r: Row, day: int) -> tuple[Fraction, Fraction, Fraction]:
    """(target, counted actual, expected share) of an assigned row, exactly."""
    share = expected_share(curve(r["year"], ((m["date"], m["share"]) for m in r["milestones"])), day)
    actual = _exact(r["actual_value"]) if r["actual_value"] is not None else Fraction(0)
    return _exact(r["target_value"]), actual, share


def evaluate(inputs: Row, now_ms: int, cfg: TargetConfig) -> Row:
    """``inputs`` (a row without its derived fields) evaluated on the Vietnam day of ``now_ms``."""
    year = inputs["year"]
    today = vn_day(now_ms)
    day = min(today, close_day(year))
    out = {**inputs, "evaluated_for": date_of(day), "final": today > close_day(year), "computed_at": now_ms}
    if inputs["actual_as_of"] is not None:
        since: int | None = day - day_of(inputs["actual_as_of"])
    elif inputs["assigned_at"] is not None:
        since = day - max(year_start(year), vn_day(inputs["assigned_at"]))
    else:
        since = None
    out["days_since_report"] = since
    if inputs["target_value"] is None:
        return {**out, "completion_rate": None, "expected_share": None, "expected_value": None, "gap": None,
                "gap_value": None, "status": "unassigned"}
    target, actual, share = _numbers(inputs, day)
    completion = actual / target
    gap = share - completion
    if actual >= target:
        status = "done"
    elif since is not None and since > cfg.no_report_days:
        status = "no_report"
    elif gap * 100 > cfg.behind_points:
        status = "behind"
    else:
        status = "on_track"
    return {**out, "completion_rate": float(completion), "expected_share": float(share),
            "expected_value": float(target * share), "gap": float(gap), "gap_value": float(target * share - actual),
            "status": status}


def reevaluate(r: Row, now_ms: int, cfg: TargetConfig) -> Row:
    """A progress row (as written, or as decoded from the feed) evaluated on another day."""
    return evaluate({k: v for k, v in r.items() if k not in DERIVED}, now_ms, cfg)


def to_avro(r: Row) -> dict[str, Any]:
    """A TargetProgress v1 record (feed.target.progress.v1) from a :func:`row`."""
    return {**r, "status": r["status"].upper()}


def from_avro(rec: dict[str, Any]) -> Row:
    """A row from a decoded TargetProgress record (status in lower case, as the pure functions use it)."""
    return {**rec, "status": rec["status"].lower()}


def attention_key(r: Row) -> tuple:
    """Sort key that puts behind, then no_report targets first, the largest gap first within a status."""
    return ATTENTION[r["status"].lower()], -(r["gap"] or 0.0), r["commune_code"], r["program"], r["indicator_code"]


# -- the province ----------------------------------------------------------------------------------
def commune_rows(rows: Iterable[Row], commune: str, year: int) -> list[Row]:
    """A commune's rows of a year, by program and indicator."""
    return sorted((r for r in rows if r["commune_code"] == commune and r["year"] == year),
                  key=lambda r: (r["program"], r["indicator_code"]))


def rollup(rows: Iterable[Row], year: int, program: str | None = None, *, now_ms: int | None = None,
           cfg: TargetConfig | None = None) -> dict[str, Any]:
    """Province totals per program, indicator and unit of one year (optionally one program).

    For each: total target, total actual (counted reports; nothing reported counts 0), completion
    rate, total expected by each row's evaluation day, gap, statuses, and the communes ranked by gap
    (largest first). Rows without an assignment are listed apart (``unassigned``): they have no plan
    to add up. ``now_ms`` re-evaluates every row on that day first.
    """
    groups: dict[tuple, list[Row]] = {}
    unassigned: list[dict[str, Any]] = []
    for r in rows:
        if r["year"] != year or (program is not None and r["program"] != program):
            continue
        r = from_avro(r) if now_ms is None else reevaluate(r, now_ms, cfg or TargetConfig())
        if r["target_value"] is None:
            unassigned.append({k: r[k] for k in ("commune_code", "program", "indicator_code", "unit",
                                                 "actual_value", "actual_as_of")})
            continue
        groups.setdefault((r["program"], r["indicator_code"], r["unit"]), []).append(r)
    indicators = []
    for (prog, indicator, unit), members in sorted(groups.items()):
        numbers = [_numbers(r, day_of(r["evaluated_for"])) for r in members]
        total = sum(t for t, _a, _s in numbers)
        actual = sum(a for _t, a, _s in numbers)
        expected = sum(t * s for t, _a, s in numbers)
        ranking = sorted(members, key=lambda r: (-r["gap"], -r["gap_value"], r["commune_code"]))
        names = [r["indicator_name"] for r in sorted(members, key=lambda r: r["commune_code"]) if r["indicator_name"]]
        indicators.append({
            "program": prog, "indicator_code": indicator, "indicator_name": names[0] if names else None,
            "unit": unit, "communes": len(members), "reported": sum(r["actual_value"] is not None for r in members),
            "total_target": float(total), "total_actual": float(actual), "completion_rate": float(actual / total),
            "total_expected": float(expected), "expected_share": float(expected / total),
            "gap": float((expected - actual) / total), "gap_value": float(expected - actual),
            "statuses": {s: sum(r["status"] == s for r in members) for s in STATUSES[:4]},
            "ranking": [{k: r[k] for k in ("commune_code", "status", "target_value", "actual_value", "actual_as_of",
                                           "completion_rate", "expected_share", "gap", "gap_value",
                                           "days_since_report", "flags")} for r in ranking],
        })
    unassigned.sort(key=lambda u: (u["program"], u["indicator_code"], u["commune_code"]))
    return {"year": year, "program": program, "indicators": indicators, "unassigned": unassigned}

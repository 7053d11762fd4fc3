"""hub.analytics.targets: the hand-computed reference at three dates, order and duplicates, the curve, the roll-up."""

from __future__ import annotations

import random
from fractions import Fraction as F

import pytest

from hub.analytics import targets
from hub.contract import codec
from hub.errors import ConfigError
from hub.settings import Settings

from . import target_datasets as d
from .datasets import vn

CFG = targets.TargetConfig.from_settings(Settings.from_env(env={}))
SCHEMAS = codec.load(Settings.from_env(env={}).schemas_dir)


def _fold(events) -> dict[str, dict]:
    states: dict[str, dict] = {}
    for e in events:
        states[targets.key(e)] = targets.merge(states.get(targets.key(e)), e)
    return states


def _rows(today: str, events=None) -> dict[str, dict]:
    states = _fold(d.known_at(today) if events is None else events)
    return {k: targets.row(s, d.TODAY[today], CFG) for k, s in states.items()}


@pytest.mark.parametrize("today", ["T1", "T2", "T3"])
def test_rows_equal_the_hand_computed_reference(today):
    """Every row's actual, rates, gap, days since report, status and flags equal targets_reference.md."""
    rows = _rows(today)
    want = d.expected_rows(today)
    assert set(rows) == set(want) and len(want) == 12
    for k, fields in want.items():
        assert {f: rows[k][f] for f in fields} == fields, k


def test_defaults_are_ten_points_and_thirty_days():
    """The settings' defaults are the issue's: behind above 10 points, no_report after 30 days."""
    assert (CFG.behind_points, CFG.no_report_days) == (10, 30)
    with pytest.raises(ConfigError):
        targets.TargetConfig.from_settings(Settings.from_env(env={}, target_no_report_days=0))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_order_duplicates_and_late_reports_do_not_change_the_state(seed):
    """Shuffled and doubled events fold to the same states as the events in order."""
    events = d.known_at("T2") * 2
    random.Random(seed).shuffle(events)
    assert _fold(events) == _fold(d.known_at("T2"))


def test_a_report_older_than_the_latest_does_not_overwrite_it():
    """23734's report as of 31 May, sent after the one as of 10 July, leaves 1.3 bn as of 10 July counted."""
    row = _rows("T1")[d.key(d.A, "VON_DTPT")]
    assert (row["actual_value"], row["actual_as_of"]) == (1_300_000_000, "2025-07-10")
    late = next(e for e in d.REPORTS if e["as_of"] == "2025-05-31")
    assert late["event_time"] > next(e for e in d.REPORTS if e["as_of"] == "2025-07-10")["event_time"]


def test_a_correction_for_the_same_date_sent_later_wins():
    """Two reports as of one date: the later written one counts, whatever the arrival order."""
    first = d.report(d.A, "TIEU_CHI", 2, "2025-06-30", "2025-07-05 09:00", unit=None)
    fixed = {**d.report(d.A, "TIEU_CHI", 3, "2025-06-30", "2025-07-06 09:00", unit=None), "event_id": "fix"}
    base = [e for e in d.ASSIGNMENTS if e["commune_code"] == d.A and e["indicator_code"] == "TIEU_CHI"]
    for order in ([first, fixed], [fixed, first]):
        state = _fold(base + order)[d.key(d.A, "TIEU_CHI")]
        assert targets.row(state, d.TODAY["T1"], CFG)["actual_value"] == 3


def test_a_revised_assignment_replaces_the_first_in_any_order():
    """The 1 June revision (2.4 bn) is in force, also when the original assignment arrives after it."""
    events = [e for e in d.ASSIGNMENTS if e["commune_code"] == d.A and e["indicator_code"] == "VON_DTPT"]
    for order in (events, events[::-1]):
        row = targets.row(_fold(order)[d.key(d.A, "VON_DTPT")], d.TODAY["T1"], CFG)
        assert (row["target_value"], row["document_number"]) == (2_400_000_000, "45/QĐ-UBND")


def _share(year: int, milestones, date: str) -> F:
    return targets.expected_share(targets.curve(year, milestones), targets.day_of(date))


def test_curve_without_milestones_is_linear_over_the_calendar_year():
    """0 before 1 January, day-of-year / days in year, 1 from 31 December on (leap years included)."""
    assert _share(2025, [], "2024-12-31") == 0 and _share(2025, [], "2024-06-01") == 0
    assert _share(2025, [], "2025-01-01") == F(1, 365)
    assert _share(2024, [], "2024-07-01") == F(183, 366)
    assert _share(2025, [], "2025-12-31") == 1 and _share(2025, [], "2026-01-20") == 1


def test_curve_with_milestones():
    """Linear between milestones; a last milestone below 100% still leads to 100% at 31 December, or at
    31 January N+1 when a milestone lies after 31 December; flat after the last point."""
    half = [("2025-06-30", 0.5)]
    assert _share(2025, half, "2025-06-30") == F(1, 2)
    assert _share(2025, half, "2025-03-31") == F(1, 2) * 90 / 181
    assert _share(2025, half, "2025-12-31") == 1
    assert _share(2025, half, "2025-09-30") == F(1, 2) + F(1, 2) * 92 / 184
    into_january = [("2025-12-31", 0.9), ("2026-01-15", 0.95)]
    assert _share(2025, into_january, "2026-01-23") == F(95, 100) + F(5, 100) * 8 / 16
    assert _share(2025, into_january, "2026-01-31") == 1
    early = [("2025-09-30", 1.0)]
    assert _share(2025, early, "2025-11-30") == 1


def test_the_plan_closes_on_31_january_of_the_next_year():
    """On 31 January N+1 the plan is still open; from 1 February its row is evaluated on 31 January, final."""
    state = _fold(d.known_at("T3"))[d.key(d.B, "TIEU_CHI")]
    on_31 = targets.row(state, vn("2026-01-31 23:00"), CFG)
    after = targets.row(state, vn("2026-03-15 08:00"), CFG)
    assert (on_31["evaluated_for"], on_31["final"]) == ("2026-01-31", False)
    assert (after["evaluated_for"], after["final"]) == ("2026-01-31", True)
    assert {k: v for k, v in after.items() if k not in ("final", "computed_at")} == \
        {k: v for k, v in on_31.items() if k not in ("final", "computed_at")}


def test_behind_threshold_is_a_setting():
    """23734's VON_SN at T3 is exactly 10 points short: on_track at 10, behind at 9."""
    state = _fold(d.known_at("T3"))[d.key(d.A, "VON_SN")]
    assert targets.row(state, d.TODAY["T3"], CFG)["status"] == "on_track"
    assert targets.row(state, d.TODAY["T3"], targets.TargetConfig(behind_points=9))["status"] == "behind"


def test_reports_without_an_assignment_are_flagged_and_counted_once_it_arrives():
    """A report for an unassigned indicator gives an UNASSIGNED row; the later assignment makes it a target."""
    rep = d.report(d.A, "TIEU_CHI", 2, "2025-06-30", "2025-07-05 09:00")
    state = targets.merge(None, rep)
    assert targets.report_flag(state, rep) == "unassigned_indicator"
    row = targets.row(state, d.TODAY["T1"], CFG)
    assert (row["status"], row["flags"], row["actual_value"], row["target_value"]) == (
        "unassigned", ["unassigned_indicator"], 2, None)
    assigned = targets.merge(state, d.assignment(d.A, "TIEU_CHI", 4))
    row = targets.row(assigned, d.TODAY["T1"], CFG)
    assert (row["status"], row["flags"], row["completion_rate"]) == ("on_track", [], 0.5)


def test_a_report_in_another_unit_is_flagged_and_not_counted():
    """23728's report in million VND is flagged and leaves 1.5 bn counted; a newer good report clears the flag."""
    mismatch = next(e for e in d.REPORTS if e["unit"] == "million_VND")
    state = _fold(d.known_at("T2"))[d.key(d.B, "VON_DTPT")]
    assert targets.report_flag(state, mismatch) == "unit_mismatch"
    assert targets.row(state, d.TODAY["T2"], CFG)["flags"] == ["unit_mismatch"]
    assert targets.row(_fold(d.known_at("T3"))[d.key(d.B, "VON_DTPT")], d.TODAY["T3"], CFG)["flags"] == []


def test_rows_fit_the_schema_and_reevaluate_to_another_day():
    """A row encodes as TargetProgress v1; decoded and re-evaluated on T3's day it equals the row computed then."""
    writer = SCHEMAS.latest("feed.target.progress.v1-value")
    states = _fold(d.known_at("T3"))
    for k, state in states.items():
        early = targets.row(state, d.TODAY["T2"], CFG)
        decoded = targets.from_avro(codec.decode_plain(SCHEMAS, codec.encode(writer, targets.to_avro(early))))
        assert decoded == early
        assert targets.reevaluate(decoded, d.TODAY["T3"], CFG) == targets.row(state, d.TODAY["T3"], CFG), k


def test_rollup_at_t2_equals_the_hand_computed_province():
    """Totals, rates, gaps, statuses and the ranking by gap per program and indicator equal the reference."""
    rows = [targets.to_avro(r) for r in _rows("T2").values()]  # as readers find them on the feed
    got = targets.rollup(rows, 2025)
    assert got["unassigned"] == [] and len(got["indicators"]) == 4
    for g in got["indicators"]:
        want = d.ROLLUP_T2[(g["program"], g["indicator_code"])]
        assert (g["total_target"], g["total_actual"], g["completion_rate"], g["total_expected"], g["gap"],
                g["gap_value"]) == tuple(float(want[k]) for k in ("total_target", "total_actual", "completion",
                                                                   "total_expected", "gap", "gap_value"))
        assert g["statuses"] == want["statuses"]
        assert [r["commune_code"] for r in g["ranking"]] == want["ranking"]
        assert g["communes"] == 3 and g["reported"] == 2
    assert [g["indicator_code"] for g in targets.rollup(rows, 2025, "GNBV")["indicators"]] == ["HO_THOAT_NGHEO",
                                                                                                "VON_SN"]
    assert targets.rollup(rows, 2024)["indicators"] == []


def test_rollup_lists_unassigned_reports_apart_and_can_reevaluate():
    """A report without assignment is listed apart; rows of T2 rolled up on T3's day are re-evaluated first."""
    stray = {**d.report(d.A, "TIEU_CHI", 1, "2025-06-30", "2025-07-05 09:00"), "commune_code": "23749",
             "event_id": "stray"}  # 23749 was assigned nothing
    rows = list(_rows("T2").values()) + [targets.row(targets.merge(None, stray), d.TODAY["T2"], CFG)]
    got = targets.rollup(rows, 2025, "NTM")
    assert got["unassigned"] == [{"commune_code": "23749", "program": "NTM", "indicator_code": "TIEU_CHI",
                                  "unit": "criterion", "actual_value": 1.0, "actual_as_of": "2025-06-30"}]
    later = targets.rollup(rows, 2025, "NTM", now_ms=d.TODAY["T3"], cfg=CFG)
    assert all(g["expected_share"] == 1.0 for g in later["indicators"])


def test_attention_order_puts_behind_then_no_report_first():
    """Sorting rows by attention_key: behind (largest gap first), no_report, on_track, done."""
    rows = sorted(_rows("T1").values(), key=targets.attention_key)
    statuses = [r["status"] for r in rows]
    assert statuses == sorted(statuses, key=targets.ATTENTION.__getitem__)
    behind = [r for r in rows if r["status"] == "behind"]
    assert [r["gap"] for r in behind] == sorted((r["gap"] for r in behind), reverse=True)
    assert statuses[0] == "behind" and "no_report" in statuses

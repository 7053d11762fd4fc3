"""A hand-built targets dataset with its expected progress rows, reusable by end-to-end tests
(publisher or file drop -> worker -> feed.target.progress.v1 -> read API, dashboard).

Plan year 2025, three communes of Gia Lai x two programs x two indicators:

- 23734 (Ia Ly) reports every few months and is mostly on track;
- 23728 (Ia Khươl) reports but is behind; once it reports in the wrong unit, and a late report
  (as of an older date, sent after a newer one) arrives;
- 23722 (Chư Păh) never reports.

Two indicators have milestones (one runs into January 2026: the N+1 January rule), two have none
(linear over the year); one assignment is revised mid-year. Every record is a canonical
TargetEvent (feed.target.v1) and can be Avro-encoded as is; :func:`hub_json` turns one into the
hub-json object a publisher posts. :func:`known_at` gives the events a "today" knows of (event time
up to then). The expected numbers — every fraction written by hand — are derived step by step in
tests/analytics/targets_reference.md.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction as F
from typing import Any

from hub.normalize.core import event_id
from tests.analytics.datasets import vn

YEAR = 2025
PROVINCE = "52"
A, B, C = "23734", "23728", "23722"
COMMUNES = (A, B, C)
PROVINCE_SYSTEM = "kh-tinh"  # the province's planning system assigns the targets
REPORTER = "baocao-xa"  # the communes' reporting sheets (one system registered for the three)
TODAY = {"T1": vn("2025-07-15 12:00"), "T2": vn("2025-10-31 12:00"), "T3": vn("2026-02-10 12:00")}
EVALUATED_FOR = {"T1": "2025-07-15", "T2": "2025-10-31", "T3": "2026-01-31"}  # T3: after the close

# (program, indicator code, name, unit, milestones as (date, percent))
INDICATORS = {
    ("NTM", "VON_DTPT"): ("Giải ngân vốn đầu tư phát triển", "VND",
                          [("2025-06-30", 50), ("2025-09-30", 75), ("2025-12-31", 95), ("2026-01-31", 100)]),
    ("NTM", "TIEU_CHI"): ("Số tiêu chí nông thôn mới đạt thêm", "criterion", []),
    ("GNBV", "HO_THOAT_NGHEO"): ("Số hộ thoát nghèo", "household", []),
    ("GNBV", "VON_SN"): ("Giải ngân vốn sự nghiệp", "VND", [("2025-06-30", 40), ("2025-09-30", 70)]),
}
PLAN = {  # target values assigned on 2025-01-10 (23734's VON_DTPT revised to 2.4 billion on 2025-06-01)
    A: {"VON_DTPT": 2_000_000_000, "TIEU_CHI": 4, "HO_THOAT_NGHEO": 40, "VON_SN": 500_000_000},
    B: {"VON_DTPT": 3_000_000_000, "TIEU_CHI": 5, "HO_THOAT_NGHEO": 60, "VON_SN": 800_000_000},
    C: {"VON_DTPT": 1_500_000_000, "TIEU_CHI": 3, "HO_THOAT_NGHEO": 25, "VON_SN": 400_000_000},
}
PROGRAM_OF = {indicator: program for program, indicator in INDICATORS}
ASSIGNED_AT = vn("2025-01-10 09:00")
REVISED_AT = vn("2025-06-01 09:00")


def _event(source: str, n: str, commune: str, indicator: str, record_type: str, at: int, **fields: Any) -> dict:
    program = PROGRAM_OF[indicator]
    name, unit, _milestones = INDICATORS[(program, indicator)]
    rec: dict[str, Any] = {
        "event_id": event_id(source, n), "source_system": source, "source_event_id": n, "commune_code": commune,
        "province_code": PROVINCE, "record_type": record_type, "year": YEAR, "program": program,
        "indicator_code": indicator, "indicator_name": name, "unit": unit, "target_value": None, "milestones": [],
        "document_number": None, "actual_value": None, "as_of": None, "note": None, "event_time": at,
        "ingest_time": at + 60_000, "trace_id": f"tr-{n}",
    }
    rec.update(fields)
    return rec


def assignment(commune: str, indicator: str, value: float, at: int = ASSIGNED_AT, n: int = 1,
               document: str = "12/QĐ-UBND") -> dict:
    _name, _unit, milestones = INDICATORS[(PROGRAM_OF[indicator], indicator)]
    return _event(PROVINCE_SYSTEM, f"giao-{commune}-{indicator}-{n}", commune, indicator, "TARGET_ASSIGNED", at,
                  target_value=float(value), document_number=document,
                  milestones=[{"date": d, "share": float(F(p, 100))} for d, p in milestones])


def report(commune: str, indicator: str, value: float, as_of: str, sent: str, unit: str | None = "same",
           note: str | None = None) -> dict:
    """A cumulative report as of ``as_of`` (YYYY-MM-DD), written at ``sent`` (Vietnam time)."""
    fields: dict[str, Any] = {"actual_value": float(value), "as_of": as_of, "note": note}
    if unit != "same":
        fields["unit"] = unit
    suffix = f"-{unit}" if unit not in ("same", None) else ""  # two reports of one date: two events
    return _event(REPORTER, f"bc-{commune}-{indicator}-{as_of}{suffix}", commune, indicator, "PROGRESS_REPORTED",
                  vn(sent), **fields)


ASSIGNMENTS = [assignment(c, ind, value) for c, plan in PLAN.items() for ind, value in plan.items()] + [
    assignment(A, "VON_DTPT", 2_400_000_000, at=REVISED_AT, n=2, document="45/QĐ-UBND"),
]
REPORTS = [
    # 23734: regular, mostly on track
    report(A, "VON_DTPT", 1_200_000_000, "2025-06-30", "2025-07-05 09:00"),
    report(A, "VON_DTPT", 1_300_000_000, "2025-07-10", "2025-07-12 09:00"),
    report(A, "VON_DTPT", 950_000_000, "2025-05-31", "2025-07-14 09:00"),  # late: older than the latest
    report(A, "VON_DTPT", 1_850_000_000, "2025-09-30", "2025-10-03 09:00"),
    report(A, "VON_DTPT", 2_000_000_000, "2025-10-25", "2025-10-28 09:00"),
    report(A, "VON_DTPT", 2_300_000_000, "2025-12-31", "2026-01-05 09:00"),
    report(A, "VON_DTPT", 2_400_000_000, "2026-01-25", "2026-01-27 09:00"),
    report(A, "TIEU_CHI", 2, "2025-06-30", "2025-07-05 09:00", unit=None),
    report(A, "TIEU_CHI", 3, "2025-10-15", "2025-10-18 09:00", unit=None),
    report(A, "TIEU_CHI", 4, "2025-12-31", "2026-01-05 09:00", unit=None),
    report(A, "HO_THOAT_NGHEO", 18, "2025-06-30", "2025-07-05 09:00"),
    report(A, "HO_THOAT_NGHEO", 33, "2025-10-20", "2025-10-22 09:00", note="Liên hệ 0905 123 456"),
    report(A, "HO_THOAT_NGHEO", 40, "2026-01-15", "2026-01-16 09:00"),
    report(A, "VON_SN", 150_000_000, "2025-06-30", "2025-07-05 09:00"),
    report(A, "VON_SN", 380_000_000, "2025-10-20", "2025-10-22 09:00"),
    report(A, "VON_SN", 450_000_000, "2026-01-20", "2026-01-22 09:00"),
    # 23728: behind; a report in million VND (not counted) and a late one
    report(B, "VON_DTPT", 900_000_000, "2025-06-30", "2025-07-05 09:00"),
    report(B, "VON_DTPT", 1_500_000_000, "2025-09-30", "2025-10-06 09:00"),
    report(B, "VON_DTPT", 1_800, "2025-10-20", "2025-10-22 09:00", unit="million_VND"),
    report(B, "VON_DTPT", 1_400_000_000, "2025-09-15", "2025-10-25 09:00"),  # late: older than the latest
    report(B, "VON_DTPT", 2_400_000_000, "2026-01-10", "2026-01-12 09:00"),
    report(B, "TIEU_CHI", 1, "2025-06-30", "2025-07-05 09:00"),
    report(B, "TIEU_CHI", 2, "2025-10-10", "2025-10-12 09:00"),
    report(B, "TIEU_CHI", 4, "2026-01-10", "2026-01-12 09:00"),
    report(B, "HO_THOAT_NGHEO", 30, "2025-06-30", "2025-07-05 09:00"),
    report(B, "HO_THOAT_NGHEO", 50, "2025-10-10", "2025-10-12 09:00"),
    report(B, "HO_THOAT_NGHEO", 60, "2025-12-20", "2025-12-22 09:00"),
    report(B, "VON_SN", 200_000_000, "2025-06-30", "2025-07-05 09:00"),
    report(B, "VON_SN", 480_000_000, "2025-10-10", "2025-10-12 09:00"),
    report(B, "VON_SN", 760_000_000, "2026-01-10", "2026-01-12 09:00"),
    # 23722: never reports
]
EVENTS = ASSIGNMENTS + REPORTS


def known_at(today: str) -> list[dict]:
    """The events written at the source by ``today`` (T1, T2, T3)."""
    return [e for e in EVENTS if e["event_time"] <= TODAY[today]]


def key(commune: str, indicator: str) -> str:
    return f"{commune}|{YEAR}|{PROGRAM_OF[indicator]}|{indicator}"


def _vn_compact(ms: int) -> str:
    from hub.normalize.fields import VIETNAM

    return datetime.fromtimestamp(ms / 1000, VIETNAM).strftime("%Y%m%d%H%M%S")


def _vn_amount(value: float) -> str:
    """A value as a Vietnamese spreadsheet writes it: ``1.234.567.000`` (plain below a million: one lone
    separator before three digits, ``1.800``, would be ambiguous)."""
    return f"{int(value):,}".replace(",", ".") if value >= 1_000_000 else str(int(value))


def hub_json(rec: dict) -> dict:
    """The hub-json object (docs/hub-json.schema.json) a publisher sends for a dataset event."""
    out: dict[str, Any] = {"event_id": rec["source_event_id"]}
    out.update({k: rec[k] for k in ("record_type", "commune_code", "year", "program", "indicator_code",
                                    "indicator_name")})
    if rec["unit"] is not None:
        out["unit"] = rec["unit"]
    if rec["record_type"] == "TARGET_ASSIGNED":
        out.update(target_value=_vn_amount(rec["target_value"]), document_number=rec["document_number"],
                   assigned_at=_vn_compact(rec["event_time"]),
                   milestones=[{"date": m["date"], "percent": float(F(repr(m["share"])) * 100)}
                               for m in rec["milestones"]])
    else:
        out.update(actual_value=_vn_amount(rec["actual_value"]), as_of=rec["as_of"],
                   event_time=_vn_compact(rec["event_time"]))
        if rec["note"]:
            out["note"] = rec["note"]
    return out


# --- the expected rows, by hand (targets_reference.md) -----------------------------------------------
SHARE = {  # expected share by the evaluation day, per curve
    "VON_DTPT": {"T1": F(199, 368), "T2": F(94, 115), "T3": F(1)},
    "linear": {"T1": F(196, 365), "T2": F(304, 365), "T3": F(1)},
    "VON_SN": {"T1": F(413, 920), "T2": F(737, 920), "T3": F(1)},
}
_CURVE = {"VON_DTPT": "VON_DTPT", "TIEU_CHI": "linear", "HO_THOAT_NGHEO": "linear", "VON_SN": "VON_SN"}
_TARGET = {**{(c, i): v for c, plan in PLAN.items() for i, v in plan.items()}, (A, "VON_DTPT"): 2_400_000_000}

# (commune, indicator, today) -> (actual, as of, completion, gap, days since report, status, flags)
EXPECTED_BY_HAND: dict[tuple[str, str, str], tuple] = {
    (A, "VON_DTPT", "T1"): (1_300_000_000, "2025-07-10", F(13, 24), F(-1, 1104), 5, "on_track", []),
    (A, "VON_DTPT", "T2"): (2_000_000_000, "2025-10-25", F(5, 6), F(-11, 690), 6, "on_track", []),
    (A, "VON_DTPT", "T3"): (2_400_000_000, "2026-01-25", F(1), F(0), 6, "done", []),
    (A, "TIEU_CHI", "T1"): (2, "2025-06-30", F(1, 2), F(27, 730), 15, "on_track", []),
    (A, "TIEU_CHI", "T2"): (3, "2025-10-15", F(3, 4), F(121, 1460), 16, "on_track", []),
    (A, "TIEU_CHI", "T3"): (4, "2025-12-31", F(1), F(0), 31, "done", []),
    (A, "HO_THOAT_NGHEO", "T1"): (18, "2025-06-30", F(9, 20), F(127, 1460), 15, "on_track", []),
    (A, "HO_THOAT_NGHEO", "T2"): (33, "2025-10-20", F(33, 40), F(23, 2920), 11, "on_track", []),
    (A, "HO_THOAT_NGHEO", "T3"): (40, "2026-01-15", F(1), F(0), 16, "done", []),
    (A, "VON_SN", "T1"): (150_000_000, "2025-06-30", F(3, 10), F(137, 920), 15, "behind", []),
    (A, "VON_SN", "T2"): (380_000_000, "2025-10-20", F(19, 25), F(189, 4600), 11, "on_track", []),
    (A, "VON_SN", "T3"): (450_000_000, "2026-01-20", F(9, 10), F(1, 10), 11, "on_track", []),  # exactly 10 points
    (B, "VON_DTPT", "T1"): (900_000_000, "2025-06-30", F(3, 10), F(443, 1840), 15, "behind", []),
    (B, "VON_DTPT", "T2"): (1_500_000_000, "2025-09-30", F(1, 2), F(73, 230), 31, "no_report", ["unit_mismatch"]),
    (B, "VON_DTPT", "T3"): (2_400_000_000, "2026-01-10", F(4, 5), F(1, 5), 21, "behind", []),
    (B, "TIEU_CHI", "T1"): (1, "2025-06-30", F(1, 5), F(123, 365), 15, "behind", []),
    (B, "TIEU_CHI", "T2"): (2, "2025-10-10", F(2, 5), F(158, 365), 21, "behind", []),
    (B, "TIEU_CHI", "T3"): (4, "2026-01-10", F(4, 5), F(1, 5), 21, "behind", []),
    (B, "HO_THOAT_NGHEO", "T1"): (30, "2025-06-30", F(1, 2), F(27, 730), 15, "on_track", []),
    (B, "HO_THOAT_NGHEO", "T2"): (50, "2025-10-10", F(5, 6), F(-1, 2190), 21, "on_track", []),
    (B, "HO_THOAT_NGHEO", "T3"): (60, "2025-12-20", F(1), F(0), 42, "done", []),
    (B, "VON_SN", "T1"): (200_000_000, "2025-06-30", F(1, 4), F(183, 920), 15, "behind", []),
    (B, "VON_SN", "T2"): (480_000_000, "2025-10-10", F(3, 5), F(37, 184), 21, "behind", []),
    (B, "VON_SN", "T3"): (760_000_000, "2026-01-10", F(19, 20), F(1, 20), 21, "on_track", []),
    **{(C, ind, t): (None, None, F(0), SHARE[_CURVE[ind]][t], since, "no_report", [])
       for ind in PLAN[C] for t, since in (("T1", 186), ("T2", 294), ("T3", 386))},
}


def expected_rows(today: str) -> dict[str, dict[str, Any]]:
    """The progress rows at ``today``: the derived fields, from the hand-computed fractions above."""
    out = {}
    for (commune, indicator, t), (actual, as_of, completion, gap, since, status, flags) in EXPECTED_BY_HAND.items():
        if t != today:
            continue
        target, share = F(_TARGET[(commune, indicator)]), SHARE[_CURVE[indicator]][t]
        assert share - completion == gap, (commune, indicator, t)  # the hand numbers agree with each other
        out[key(commune, indicator)] = {
            "target_value": float(target), "actual_value": None if actual is None else float(actual),
            "actual_as_of": as_of, "completion_rate": float(completion), "expected_share": float(share),
            "expected_value": float(target * share), "gap": float(gap), "gap_value": float(target * gap),
            "days_since_report": since, "status": status, "flags": flags, "evaluated_for": EVALUATED_FOR[t],
            "final": t == "T3",
        }
    return out


# The province roll-up at T2 (targets_reference.md, "Province at T2"): per (program, indicator).
ROLLUP_T2 = {
    ("NTM", "VON_DTPT"): {"total_target": 6_900_000_000, "total_actual": 3_500_000_000, "completion": F(35, 69),
                          "total_expected": F(5_640_000_000), "gap": F(107, 345), "gap_value": F(2_140_000_000),
                          "statuses": {"on_track": 1, "behind": 0, "no_report": 2, "done": 0},
                          "ranking": [C, B, A]},
    ("NTM", "TIEU_CHI"): {"total_target": 12, "total_actual": 5, "completion": F(5, 12),
                          "total_expected": F(3648, 365), "gap": F(1823, 4380), "gap_value": F(1823, 365),
                          "statuses": {"on_track": 1, "behind": 1, "no_report": 1, "done": 0},
                          "ranking": [C, B, A]},
    ("GNBV", "HO_THOAT_NGHEO"): {"total_target": 125, "total_actual": 83, "completion": F(83, 125),
                                 "total_expected": F(7600, 73), "gap": F(1541, 9125), "gap_value": F(1541, 73),
                                 "statuses": {"on_track": 2, "behind": 0, "no_report": 1, "done": 0},
                                 "ranking": [C, A, B]},
    ("GNBV", "VON_SN"): {"total_target": 1_700_000_000, "total_actual": 860_000_000, "completion": F(43, 85),
                         "total_expected": F(31_322_500_000, 23), "gap": F(4617, 15640),
                         "gap_value": F(11_542_500_000, 23),
                         "statuses": {"on_track": 1, "behind": 1, "no_report": 1, "done": 0},
                         "ranking": [C, B, A]},
}

"""The Decision 766/QĐ-TTg score (Bộ chỉ số chỉ đạo, điều hành và đánh giá chất lượng phục vụ người dân,
doanh nghiệp, 23 June 2022) from a KPI row's COUNTS, never from its rates, so that a province is scored from
its communes' summed counts (:func:`province_counts`) and not from an average of their scores.

100 points in five groups, in the Decision's order (a part's id, its points, and what the hub computes):

==================================  ====  ==========================================================
group / part                        max   hub formula (none = not measured: the hub has no data)
==================================  ====  ==========================================================
1 cong_khai_minh_bach               18
  publish_on_time                    6    none (procedures published on time: national TTHC database)
  public_update_on_time              4    none (procedures updated and made public on time)
  public_content_full                2    none (procedures published with every required element)
  dossier_sync                       6    none (dossiers synced to DVCQG / dossiers received: the hub
                                          cannot see the dossiers that never reached it)
2 tien_do_giai_quyet                20
  on_time                           20    20 × on_time / in_scope
3 so_hoa_ho_so                      22
  e_result                           6    none (results issued electronically)
  digitized_dossiers                 4    none (components attached AND an electronic result)
  certified_copy                     2    none (electronic certified copies)
  reused_digitized                   2    2 × min(1, (digitized / received) / 0.8)
  personal_storage                   4    none (components taken from the citizen's DVCQG storage)
  citizen_data_dossiers              2    none (dossiers using the population database)
  citizen_data_procedures            2    none (procedures connected to the population database)
4 dich_vu_truc_tuyen                22
  online_procedures                  2    none (procedures offered online: TTHC catalogue)
  online_services_used               4    none (online services that received a dossier)
  online_dossiers                    6    6 × min(1, (received_online / received) / 0.5)
  fee_procedures_integrated          2    none (fee-bearing procedures integrated with payment)
  fee_procedures_paid                2    none (fee-bearing procedures with an online payment)
  online_payment                     6    6 × paid_online / fee_bearing
5 muc_do_hai_long                   18
  petition_on_time                   6    none (petitions, phản ánh kiến nghị, handled on time)
  petition_satisfaction              6    none (satisfaction with petition handling)
  dossier_satisfaction               6    none (100% − overdue rate − share with complaints or
                                          dislikes, full at 90%: the hub receives no ratings)
==================================  ====  ==========================================================

Confirmation (docs/kpi.md, "The Decision 766 score", gives the URLs): the five groups, their order and
weights, the 4 points of public_update_on_time, the 20 of on_time and the 6 of dossier_satisfaction come
from published summaries of the Decision. Every other part, its maximum and its threshold ("full at 80%",
"full at 50%") comes from the national portal's implementation as two public reconstructions report it:
**not confirmed** against the annex's own text. ``digitized`` (HoSoCoThanhPhanSoHoa or a TaiLieuNop marked
DuocSoHoa) is the portal's numerator for reused_digitized, not for digitized_dossiers. fully_online has no
part of its own: the portal's online-service points do not use it.

A part scores None (not 0) when the hub has no data for it or its denominator is 0; a group scores the sum
of its parts that have a value (None when none has), and ``measured_max`` the sum of their maxima; the
score is the sum of the groups that have a value (None when none has). Points are rounded to 2 decimals,
each part first, then each sum, so that the shown parts add up to the shown totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_SCORE = 100

# Count keys of a hub.analytics.kpi row that province_counts sums (rates and percentiles are not sums).
COUNT_KEYS = (
    "in_scope", "finished", "finished_on_time", "finished_late", "open", "in_progress_in_time", "overdue_open",
    "on_time", "late", "received", "received_online", "fully_online", "fee_bearing", "paid_online", "digitized",
    "sync_latency_count", "rescheduled_after_due",
)


@dataclass(frozen=True)
class Part:
    part: str
    max: int
    basis: str
    num: str | None = None  # count keys of the row; None: the hub has no data for this part
    den: str | None = None
    full_at: float = 1.0  # the rate that earns the full maximum (the portal caps some parts below 100%)


@dataclass(frozen=True)
class Group:
    group: str
    name: str
    max: int
    parts: tuple[Part, ...]


def _none(part: str, points: int, what: str) -> Part:
    return Part(part, points, f"not measured: {what}")


GROUPS: tuple[Group, ...] = (
    Group("cong_khai_minh_bach", "Công khai, minh bạch", 18, (
        _none("publish_on_time", 6, "procedures published on time (national TTHC database)"),
        _none("public_update_on_time", 4, "procedures updated and made public on time (national TTHC database)"),
        _none("public_content_full", 2, "procedures published with every required element (national TTHC database)"),
        _none("dossier_sync", 6, "dossiers synced to DVCQG / dossiers received (the hub sees only those it received)"),
    )),
    Group("tien_do_giai_quyet", "Tiến độ, kết quả giải quyết", 20, (
        Part("on_time", 20, "on_time / in_scope", "on_time", "in_scope"),
    )),
    Group("so_hoa_ho_so", "Số hóa hồ sơ", 22, (
        _none("e_result", 6, "dossiers with an electronic result"),
        _none("digitized_dossiers", 4, "dossiers with attached components and an electronic result"),
        _none("certified_copy", 2, "electronic certified copies from originals"),
        Part("reused_digitized", 2, "digitized / received, full at 80%", "digitized", "received", 0.8),
        _none("personal_storage", 4, "components taken from the applicant's DVCQG data storage"),
        _none("citizen_data_dossiers", 2, "dossiers using the national population database"),
        _none("citizen_data_procedures", 2, "procedures connected to the national population database"),
    )),
    Group("dich_vu_truc_tuyen", "Cung cấp dịch vụ trực tuyến", 22, (
        _none("online_procedures", 2, "procedures offered as online public services (TTHC catalogue)"),
        _none("online_services_used", 4, "online public services that received at least one dossier"),
        Part("online_dossiers", 6, "received_online / received, full at 50%", "received_online", "received", 0.5),
        _none("fee_procedures_integrated", 2, "fee-bearing procedures integrated with online payment"),
        _none("fee_procedures_paid", 2, "fee-bearing procedures with at least one online payment"),
        Part("online_payment", 6, "paid_online / fee_bearing", "paid_online", "fee_bearing"),
    )),
    Group("muc_do_hai_long", "Mức độ hài lòng", 18, (
        _none("petition_on_time", 6, "petitions (phản ánh, kiến nghị) handled on time"),
        _none("petition_satisfaction", 6, "satisfaction with petition handling"),
        _none("dossier_satisfaction", 6, "satisfaction ratings of dossiers (the hub receives none)"),
    )),
)


def _count(row: Mapping[str, Any], key: str) -> int | None:
    value = row.get(key)
    # bool is an int, but a flag is not a count
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _points(part: Part, row: Mapping[str, Any]) -> float | None:
    if part.num is None or part.den is None:
        return None
    num, den = _count(row, part.num), _count(row, part.den)
    if num is None or not den:
        return None
    return round(part.max * min(1.0, num / den / part.full_at), 2)


def _sum(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present), 2) if present else None


def score(row: Mapping[str, Any]) -> dict[str, Any]:
    """The Decision 766 score of one KPI row (a commune's, or :func:`province_counts` of many)."""
    groups: list[dict[str, Any]] = []
    for g in GROUPS:
        parts: list[dict[str, Any]] = [
            {"part": p.part, "max": p.max, "points": _points(p, row), "measured": p.num is not None, "basis": p.basis}
            for p in g.parts
        ]
        groups.append({
            "group": g.group, "name": g.name, "max": g.max,
            "measured_max": sum(p["max"] for p in parts if p["points"] is not None),
            "points": _sum(p["points"] for p in parts),
            "parts": parts,
        })
    return {
        "score_766": _sum(g["points"] for g in groups),
        "score_766_max": MAX_SCORE,
        "score_766_measured_max": sum(g["measured_max"] for g in groups),
        "score_766_groups": groups,
    }


def province_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The count keys summed over commune rows of ONE period (a province row for :func:`score`).

    A key some row lacks is left out, not summed over the rows that have it: the parts that need it then score
    None instead of a number over part of the province. Rows of different periods raise ValueError."""
    rows = list(rows)
    periods = {(r.get("period"), r.get("at")) for r in rows}
    if len(periods) > 1:
        raise ValueError(f"rows of {len(periods)} periods cannot be summed: {sorted(map(str, periods))}")
    out: dict[str, Any] = {}
    for key in COUNT_KEYS:
        values = [_count(r, key) for r in rows]
        if values and all(v is not None for v in values):
            out[key] = sum(v for v in values if v is not None)
    if rows and periods != {(None, None)}:
        out["period"], out["at"] = next(iter(periods))
    return out


def feed_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The score as CommuneKpi v3 carries it (``score_766``, ``score_766_measured_max``, ``score_766_groups``)."""
    got = score(row)
    groups = [{**g, "measured_max": float(g["measured_max"])} for g in got["score_766_groups"]]
    return {"score_766": got["score_766"], "score_766_measured_max": float(got["score_766_measured_max"]),
            "score_766_groups": groups}

"""The Decision 766 score (hub.analytics.score766): every expected number is computed by hand in the comments,
and docs/kpi.md ("The Decision 766 score") shows the same examples."""

from __future__ import annotations

from typing import Any

import pytest

from hub.analytics import kpi, score766
from hub.analytics import periods as pr

# One commune's month: 12 dossiers in scope, 7 of them on time; 10 received, 4 online, 6 digitized;
# 8 fee-bearing, 3 paid online.
COMMUNE_A: dict[str, Any] = {
    "period": "month", "at": "2025-11",
    "in_scope": 12, "on_time": 7, "late": 5, "received": 10, "received_online": 4, "fully_online": 2,
    "fee_bearing": 8, "paid_online": 3, "digitized": 6,
}


def _group(result: dict[str, Any], group: str) -> dict[str, Any]:
    return next(g for g in result["score_766_groups"] if g["group"] == group)


def _part(result: dict[str, Any], group: str, part: str) -> dict[str, Any]:
    return next(p for p in _group(result, group)["parts"] if p["part"] == part)


def test_groups_in_the_decisions_order_with_their_weights() -> None:
    result = score766.score(COMMUNE_A)
    assert [(g["group"], g["name"], g["max"]) for g in result["score_766_groups"]] == [
        ("cong_khai_minh_bach", "Công khai, minh bạch", 18),
        ("tien_do_giai_quyet", "Tiến độ, kết quả giải quyết", 20),
        ("so_hoa_ho_so", "Số hóa hồ sơ", 22),
        ("dich_vu_truc_tuyen", "Cung cấp dịch vụ trực tuyến", 22),
        ("muc_do_hai_long", "Mức độ hài lòng", 18),
    ]
    assert result["score_766_max"] == 100
    # each group's parts add up to its weight: 6+4+2+6, 20, 6+4+2+2+4+2+2, 2+4+6+2+2+6, 6+6+6
    assert [sum(p["max"] for p in g["parts"]) for g in result["score_766_groups"]] == [18, 20, 22, 22, 18]


def test_group_1_publicity_is_not_measured() -> None:
    group = _group(score766.score(COMMUNE_A), "cong_khai_minh_bach")
    # none of its four parts comes from dossier counts: points None (not 0), nothing measured
    assert group["points"] is None
    assert group["measured_max"] == 0
    assert [(p["part"], p["points"], p["measured"]) for p in group["parts"]] == [
        ("publish_on_time", None, False), ("public_update_on_time", None, False),
        ("public_content_full", None, False), ("dossier_sync", None, False),
    ]


def test_group_2_timeliness() -> None:
    group = _group(score766.score(COMMUNE_A), "tien_do_giai_quyet")
    # 20 × 7/12 = 11.666… = 11.67
    assert group["parts"] == [{"part": "on_time", "max": 20, "points": 11.67, "measured": True,
                               "basis": "on_time / in_scope"}]
    assert group["points"] == 11.67
    assert group["measured_max"] == 20


def test_group_3_digitization_full_at_80_percent() -> None:
    result = score766.score(COMMUNE_A)
    # 6/10 = 0.6 digitized; 2 × 0.6/0.8 = 1.5
    assert _part(result, "so_hoa_ho_so", "reused_digitized")["points"] == 1.5
    group = _group(result, "so_hoa_ho_so")
    assert group["points"] == 1.5
    assert group["measured_max"] == 2  # only reused_digitized (2) has a value
    assert _part(result, "so_hoa_ho_so", "digitized_dossiers") == {
        "part": "digitized_dossiers", "max": 4, "points": None, "measured": False,
        "basis": "not measured: dossiers with attached components and an electronic result"}
    # 9/10 = 0.9 ≥ 0.8: the full 2 points; exactly 8/10: 2 × 0.8/0.8 = 2
    assert _part(score766.score({**COMMUNE_A, "digitized": 9}), "so_hoa_ho_so", "reused_digitized")["points"] == 2
    assert _part(score766.score({**COMMUNE_A, "digitized": 8}), "so_hoa_ho_so", "reused_digitized")["points"] == 2


def test_group_4_online_service() -> None:
    result = score766.score(COMMUNE_A)
    # online dossiers 4/10 = 0.4, full at 0.5: 6 × 0.4/0.5 = 4.8
    assert _part(result, "dich_vu_truc_tuyen", "online_dossiers")["points"] == 4.8
    # online payment 3/8: 6 × 3/8 = 2.25
    assert _part(result, "dich_vu_truc_tuyen", "online_payment")["points"] == 2.25
    group = _group(result, "dich_vu_truc_tuyen")
    assert group["points"] == 7.05  # 4.8 + 2.25
    assert group["measured_max"] == 12  # 6 + 6
    # 6/10 online = 0.6 ≥ 0.5: the full 6
    more_online = score766.score({**COMMUNE_A, "received_online": 6})
    assert _part(more_online, "dich_vu_truc_tuyen", "online_dossiers")["points"] == 6


def test_group_5_satisfaction_is_not_measured() -> None:
    group = _group(score766.score(COMMUNE_A), "muc_do_hai_long")
    assert group["points"] is None
    assert group["measured_max"] == 0
    assert [(p["part"], p["max"], p["points"]) for p in group["parts"]] == [
        ("petition_on_time", 6, None), ("petition_satisfaction", 6, None), ("dossier_satisfaction", 6, None)]


def test_total_and_measured_max() -> None:
    result = score766.score(COMMUNE_A)
    # 11.67 + 1.5 + 7.05 = 20.22 of the 20 + 2 + 12 = 34 points the hub measures
    assert result["score_766"] == 20.22
    assert result["score_766_measured_max"] == 34


def test_counts_not_rates() -> None:
    # rates that disagree with the counts are ignored: still 20 × 7/12 = 11.67 and 6 × 3/8 = 2.25
    row = {**COMMUNE_A, "timeliness": 1.0, "online_payment_rate": 0.0, "digitization_rate": 1.0}
    result = score766.score(row)
    assert _part(result, "tien_do_giai_quyet", "on_time")["points"] == 11.67
    assert _part(result, "dich_vu_truc_tuyen", "online_payment")["points"] == 2.25
    assert result["score_766"] == 20.22


def test_zero_denominators_are_null_not_zero() -> None:
    # 5 in scope, all on time; nothing received and nothing fee-bearing in the period
    row = {"in_scope": 5, "on_time": 5, "received": 0, "received_online": 0, "fee_bearing": 0,
           "paid_online": 0, "digitized": 0}
    result = score766.score(row)
    assert _part(result, "so_hoa_ho_so", "reused_digitized") == {
        "part": "reused_digitized", "max": 2, "points": None, "measured": True,
        "basis": "digitized / received, full at 80%"}
    assert _group(result, "so_hoa_ho_so")["points"] is None
    assert _group(result, "so_hoa_ho_so")["measured_max"] == 0
    assert _group(result, "dich_vu_truc_tuyen")["points"] is None
    assert _group(result, "dich_vu_truc_tuyen")["measured_max"] == 0
    # 20 × 5/5 = 20 out of 20 measured
    assert result["score_766"] == 20
    assert result["score_766_measured_max"] == 20


def test_only_payment_measured() -> None:
    # a row with only the payment counts: 4 fee-bearing, 1 paid online → 6 × 1/4 = 1.5; every other part null
    row = {"fee_bearing": 4, "paid_online": 1}
    result = score766.score(row)
    assert _group(result, "dich_vu_truc_tuyen")["points"] == 1.5
    assert _group(result, "dich_vu_truc_tuyen")["measured_max"] == 6
    assert result["score_766"] == 1.5
    assert result["score_766_measured_max"] == 6


def test_nothing_measured() -> None:
    for row in ({}, {"in_scope": 0, "received": 0, "fee_bearing": 0}):
        result = score766.score(row)
        assert result["score_766"] is None
        assert result["score_766_measured_max"] == 0
        assert all(g["points"] is None for g in result["score_766_groups"])


def test_missing_or_invalid_counts_are_no_data() -> None:
    # a row without on_time, and flags or negatives where counts belong, score nothing rather than a wrong number
    assert _part(score766.score({"in_scope": 12}), "tien_do_giai_quyet", "on_time")["points"] is None
    assert _part(score766.score({"in_scope": 12, "on_time": None}), "tien_do_giai_quyet", "on_time")["points"] is None
    assert _part(score766.score({"in_scope": True, "on_time": True}), "tien_do_giai_quyet", "on_time")["points"] is None
    assert _part(score766.score({"in_scope": 12, "on_time": -1}), "tien_do_giai_quyet", "on_time")["points"] is None


def test_province_sums_commune_counts_then_scores() -> None:
    commune_b = {"period": "month", "at": "2025-11", "in_scope": 8, "on_time": 8, "late": 0, "received": 6,
                 "received_online": 4, "fully_online": 1, "fee_bearing": 0, "paid_online": 0, "digitized": 4}
    counts = score766.province_counts([COMMUNE_A, commune_b])
    # 12+8, 7+8, 5+0, 10+6, 4+4, 2+1, 8+0, 3+0, 6+4
    assert counts == {"period": "month", "at": "2025-11", "in_scope": 20, "on_time": 15, "late": 5,
                      "received": 16, "received_online": 8, "fully_online": 3, "fee_bearing": 8, "paid_online": 3,
                      "digitized": 10}
    result = score766.score(counts)
    # timeliness 20 × 15/20 = 15; digitized 10/16 = 0.625 → 2 × 0.625/0.8 = 1.5625 = 1.56;
    # online 8/16 = 0.5 → the full 6; payment 6 × 3/8 = 2.25
    assert _group(result, "tien_do_giai_quyet")["points"] == 15
    assert _group(result, "so_hoa_ho_so")["points"] == 1.56
    assert _group(result, "dich_vu_truc_tuyen")["points"] == 8.25  # 6 + 2.25
    assert result["score_766"] == 24.81  # 15 + 1.56 + 8.25
    assert result["score_766_measured_max"] == 34
    # commune B alone scores its payment part null (0 fee-bearing), yet the province scores it from A's counts
    assert _part(score766.score(commune_b), "dich_vu_truc_tuyen", "online_payment")["points"] is None


def test_province_leaves_out_a_key_some_commune_lacks() -> None:
    commune_b = {"period": "month", "at": "2025-11", "in_scope": 8, "received": 6}  # no on_time
    counts = score766.province_counts([COMMUNE_A, commune_b])
    assert counts["in_scope"] == 20  # 12 + 8
    assert "on_time" not in counts
    assert _part(score766.score(counts), "tien_do_giai_quyet", "on_time")["points"] is None


def test_province_refuses_mixed_periods() -> None:
    with pytest.raises(ValueError):
        score766.province_counts([COMMUNE_A, {**COMMUNE_A, "at": "2025-12"}])
    with pytest.raises(ValueError):
        score766.province_counts([COMMUNE_A, {**COMMUNE_A, "period": "day", "at": "2025-11-03"}])


def test_province_of_no_rows_scores_nothing() -> None:
    assert score766.province_counts([]) == {}
    assert score766.score(score766.province_counts([]))["score_766"] is None


def test_the_count_keys_are_those_of_a_kpi_row() -> None:
    # score reads kpi.compute's row; a renamed key there would silently make a part null here
    row = kpi.compute([], "23734", pr.parse("month", "2025-11"), 1_767_225_600_000)
    used = {k for g in score766.GROUPS for p in g.parts for k in (p.num, p.den) if k is not None}
    assert used <= set(score766.COUNT_KEYS) <= set(row)

"""hub.analytics.directives: a directive to five communes (reference.md): 3 accept in time, 1 late,
1 never — flagged by the timer with no further event, once."""

from __future__ import annotations

import random

import pytest

from hub.analytics import directives as dr
from hub.analytics.config import AnalyticsConfig
from hub.errors import ConfigError
from hub.settings import Settings

from .datasets import (
    ACCEPTANCE_DEADLINE,
    DIRECTIVE_EVENTS,
    DIRECTIVE_ID,
    DIRECTIVE_NOW,
    DIRECTIVE_SENT,
    RECIPIENTS,
    directive,
    reply,
    status,
    vn,
)

CFG = AnalyticsConfig.from_settings(Settings.from_env(env={}))
HOUR = 3_600_000


def fold(events, cfg=CFG) -> dict[str, dict]:
    states: dict[str, dict] = {}
    for e in events:
        for k in dr.route(e, cfg):
            states[k] = dr.merge(states.get(k), e, k)
    return states


def _rows(states, now):
    return {s["c"]: dr.row(s, now, CFG) for s in states.values()}


def test_reach_of_the_directive():
    """Rows: 23734, 23728, 23722 accepted in time, 23749 late, 23767 never; deadlines over the holiday weekend."""
    rows = _rows(fold(DIRECTIVE_EVENTS), DIRECTIVE_NOW)
    assert sorted(rows) == sorted(RECIPIENTS)
    assert {c: r["acceptance_overdue"] for c, r in rows.items()} == {
        "23734": False, "23728": False, "23722": False, "23749": True, "23767": True}
    assert all(r["arrival_overdue"] is False and r["completion_overdue"] is False for r in rows.values())
    assert {r["acceptance_deadline"] for r in rows.values()} == {ACCEPTANCE_DEADLINE}
    assert {r["arrival_deadline"] for r in rows.values()} == {DIRECTIVE_SENT + HOUR}
    assert {r["completion_deadline"] for r in rows.values()} == {vn("2025-09-16 00:00")}
    ialy = rows["23734"]
    prom = vn("2025-08-29 00:00")
    assert (ialy["document_id"], ialy["code_notation"], ialy["priority"], ialy["promulgated_at"]) == (
        DIRECTIVE_ID, "456/CT-UBND", "NORMAL", prom)
    assert (ialy["arrived_at"], ialy["accepted_at"], ialy["assigned_at"], ialy["completed_at"]) == (
        vn("2025-08-29 15:05"), vn("2025-09-03 09:00"), vn("2025-09-03 11:00"), vn("2025-09-10 16:00"))
    assert ialy["acceptance_latency_ms"] == vn("2025-09-03 09:00") - prom
    assert (ialy["replied_at"], ialy["reply_latency_ms"]) == (vn("2025-09-10 17:00"), (12 * 24 + 17) * HOUR)
    assert ialy["reply_document_id"] == "000.23.734.H41,2025/09/10,12/BC-UBND"
    assert (ialy["last_status"], ialy["acceptance_sla"], ialy["sla_hours"]) == ("COMPLETED", "1wd", None)
    assert rows["23767"]["accepted_at"] is None and rows["23767"]["last_status"] == "ARRIVED"


def test_shuffled_and_twice_give_the_same_states():
    """Statuses before the directive, duplicates and any order fold to the same states."""
    reference = fold(DIRECTIVE_EVENTS)
    for seed in range(5):
        events = DIRECTIVE_EVENTS * 2
        random.Random(seed).shuffle(events)
        assert fold(events) == reference


def test_never_accepted_is_flagged_by_the_timer_once():
    """With no further event, 23767's acceptance breach appears just after the deadline, and only once."""
    state = fold(DIRECTIVE_EVENTS)[dr.key(DIRECTIVE_ID, "23767")]
    assert dr.next_deadline(state, DIRECTIVE_SENT, CFG) == ACCEPTANCE_DEADLINE + 1
    assert dr.overdue_transitions(state, ACCEPTANCE_DEADLINE, CFG) == (state, [])
    state, breaches = dr.overdue_transitions(state, ACCEPTANCE_DEADLINE + 1, CFG)
    assert [(b["commune_code"], b["milestone"], b["deadline"], b["met_at"]) for b in breaches] == [
        ("23767", "acceptance", ACCEPTANCE_DEADLINE, None)]
    assert dr.overdue_transitions(state, DIRECTIVE_NOW, CFG)[1] == []
    assert dr.next_deadline(state, DIRECTIVE_NOW, CFG) == vn("2025-09-16 00:00") + 1  # completion is next


def test_late_acceptance_is_one_breach_whether_timer_or_event_sees_it_first():
    """23749 accepts after the deadline: the breach is reported by the event, or by the timer before it — once."""
    events = [directive("23749"), status("23749", "ARRIVED", "2025-08-29 15:40")]
    late = status("23749", "ACCEPTED", "2025-09-04 08:00")
    k = dr.key(DIRECTIVE_ID, "23749")
    by_event, found = dr.overdue_transitions(fold(events + [late])[k], vn("2025-09-04 08:00"), CFG)
    assert [(b["milestone"], b["met_at"]) for b in found] == [("acceptance", vn("2025-09-04 08:00"))]
    by_timer, found = dr.overdue_transitions(fold(events)[k], vn("2025-09-03 16:00"), CFG)
    assert [b["milestone"] for b in found] == ["acceptance"]
    after = dr.merge(by_timer, late, k)
    assert dr.overdue_transitions(after, vn("2025-09-04 08:00"), CFG)[1] == []
    assert dr.row(after, DIRECTIVE_NOW, CFG)["acceptance_overdue"] is True


def test_answers_and_revocation():
    """Any later status proves arrival, a rejection answers acceptance, a revocation waives later deadlines."""
    k = dr.key(DIRECTIVE_ID, "23767")
    only_assigned = fold([directive("23767"), status("23767", "ASSIGNED", "2025-08-29 15:30")])[k]
    assert dr.overdue(only_assigned, DIRECTIVE_NOW, CFG) == {"arrival": False, "acceptance": False,
                                                            "completion": False}
    rejected = fold([directive("23767"), status("23767", "REJECTED", "2025-08-29 15:30")])[k]
    assert dr.row(rejected, DIRECTIVE_NOW, CFG)["overdue"] is False
    revoke = {**directive("23767"), "business_doc_type": "REVOKE", "event_time": vn("2025-09-01 09:00"),
              "event_id": "rev", "steering_type": None}
    revoked = fold([directive("23767"), revoke])[k]
    assert dr.row(revoked, DIRECTIVE_NOW, CFG)["revoked_at"] == vn("2025-09-01 09:00")
    assert dr.overdue(revoked, DIRECTIVE_NOW, CFG)["acceptance"] is False
    assert dr.overdue(revoked, DIRECTIVE_NOW, CFG)["arrival"] is True  # the hour had passed before the revocation
    assert dr.next_deadline(revoked, DIRECTIVE_SENT, CFG) == DIRECTIVE_SENT + HOUR + 1


def test_statuses_alone_make_no_row():
    """Before the directive record, a state exists but no row and no deadline."""
    state = fold([status("23722", "ARRIVED", "2025-08-29 15:02")])[dr.key(DIRECTIVE_ID, "23722")]
    assert not dr.tracked(state) and dr.row(state, DIRECTIVE_NOW, CFG) is None
    assert dr.next_deadline(state, DIRECTIVE_NOW, CFG) is None
    assert dr.overdue_transitions(state, DIRECTIVE_NOW, CFG) == (state, [])


def test_route():
    """Only directives (or every provincial document with the setting), the commune's statuses and replies count."""
    plain = {**directive("23734"), "steering_type": "NONE"}
    assert dr.route(plain, CFG) == []
    every = AnalyticsConfig.from_settings(Settings.from_env(env={"HUB_DIRECTIVE_ALL_DOCUMENTS": "1"}))
    assert dr.route(plain, every, from_province=True) == [dr.key(DIRECTIVE_ID, "23734")]
    assert dr.route(plain, every, from_province=False) == []
    province_status = {**status("23734", "ACCEPTED", "2025-09-01 08:00"), "direction": "OUTGOING"}
    assert dr.route(province_status, CFG) == []
    report = {**reply("23734", "2025-09-10 17:00"), "response_for": ["a", "b"]}
    assert dr.route(report, CFG) == ["a|23734", "b|23734"]
    assert dr.route({**report, "response_for": None}, CFG) == []


# --- issue 21 item 10: a commune cannot grade itself ----------------------------------------------------------

def _received(record: dict, at: str) -> dict:
    """``record`` as the hub received it at Vietnam time ``at`` (its claimed times unchanged)."""
    return {**record, "ingest_time": vn(at)}


def test_a_status_back_dated_six_days_counts_at_its_receipt_and_is_flagged():
    """Ia Phí claims acceptance at 2025-08-29 16:00 (in time) and completion at 09-10 16:00 (before the due day),
    but the hub received them on 09-04 16:00 resp. 09-16 16:00 (six days later): they count then — acceptance
    and completion overdue — and the row says late_report."""
    k = dr.key(DIRECTIVE_ID, "23749")
    events = [directive("23749"), status("23749", "ARRIVED", "2025-08-29 15:40"),
              _received(status("23749", "ACCEPTED", "2025-08-29 16:00"), "2025-09-04 16:00"),
              _received(status("23749", "COMPLETED", "2025-09-10 16:00"), "2025-09-16 16:00")]
    row = dr.row(fold(events)[k], vn("2025-09-17 12:00"), CFG)
    assert (row["accepted_at"], row["completed_at"]) == (vn("2025-09-04 16:00"), vn("2025-09-16 16:00"))
    assert (row["acceptance_overdue"], row["completion_overdue"], row["late_report"]) == (True, True, True)
    assert row["arrived_at"] == vn("2025-08-29 15:40") and row["arrival_overdue"] is False  # honest: on time
    assert (row["last_status"], row["last_status_at"]) == ("COMPLETED", vn("2025-09-16 16:00"))
    same = [events[0], events[3], events[1], events[2]]  # any order, and twice, folds the same
    assert fold(same + same) == fold(events)


def test_a_status_within_the_tolerance_counts_at_its_claimed_time():
    """Received 59 minutes, or exactly the tolerance (1h), after its claimed time: the claimed time counts and
    nothing is flagged; one millisecond more and the receipt time counts."""
    k = dr.key(DIRECTIVE_ID, "23728")
    accepted = status("23728", "ACCEPTED", "2025-09-03 14:30")
    for at in ("2025-09-03 15:29", "2025-09-03 15:30"):
        row = dr.row(fold([directive("23728"), _received(accepted, at)])[k], DIRECTIVE_NOW, CFG)
        assert (row["accepted_at"], row["acceptance_overdue"], row["late_report"]) == (
            vn("2025-09-03 14:30"), False, False)
    late = {**accepted, "ingest_time": vn("2025-09-03 15:30") + 1}
    row = dr.row(fold([directive("23728"), late])[k], DIRECTIVE_NOW, CFG)
    assert (row["accepted_at"], row["acceptance_overdue"], row["late_report"]) == (
        vn("2025-09-03 15:30") + 1, True, True)


def test_an_honest_earlier_report_replaces_a_late_one():
    """A later re-send received in time is the earliest counted acceptance: the late flag goes with the entry it
    belonged to."""
    k = dr.key(DIRECTIVE_ID, "23734")
    late = _received(status("23734", "ACCEPTED", "2025-08-29 16:00"), "2025-09-04 16:00")
    honest = {**status("23734", "ACCEPTED", "2025-09-03 09:00"), "event_id": "again", "trace_id": "tr-again"}
    row = dr.row(fold([directive("23734"), late, honest])[k], DIRECTIVE_NOW, CFG)
    assert (row["accepted_at"], row["acceptance_overdue"], row["late_report"]) == (
        vn("2025-09-03 09:00"), False, False)


def test_the_tolerance_is_a_setting():
    """HUB_STATUS_BACKDATE_TOLERANCE: 1h by default, <n>m or <n>h; merge takes it in milliseconds."""
    assert Settings.from_env(env={}).status_backdate_tolerance == "1h"
    assert (dr.parse_tolerance("1h"), dr.parse_tolerance("30m"), dr.parse_tolerance(" 48h ")) == (
        3_600_000, 1_800_000, 172_800_000)
    for bad in ("", "1wd", "2d", "-1h", "1.5h", "h"):
        with pytest.raises(ConfigError, match="HUB_STATUS_BACKDATE_TOLERANCE"):
            dr.parse_tolerance(bad)
    k = dr.key(DIRECTIVE_ID, "23749")
    two_hours_late = _received(status("23749", "ACCEPTED", "2025-09-03 14:00"), "2025-09-03 16:00")
    wide = dr.merge(dr.merge(None, directive("23749"), k), two_hours_late, k, backdate_tolerance_ms=3 * HOUR)
    assert dr.row(wide, DIRECTIVE_NOW, CFG)["accepted_at"] == vn("2025-09-03 14:00")
    narrow = dr.merge(dr.merge(None, directive("23749"), k), two_hours_late, k)
    assert dr.row(narrow, DIRECTIVE_NOW, CFG)["accepted_at"] == vn("2025-09-03 16:00")


def test_only_the_province_makes_or_revokes_a_directive():
    """A directive or a revocation a commune's system filed as received from an organ the directory does not place
    at the province (another commune, a body outside the directory) opens no row and waives no deadline."""
    k = dr.key(DIRECTIVE_ID, "23767")
    relayed = {**directive("23767"), "from_organ_id": "000.23.749.H41"}
    assert dr.route(relayed, CFG, from_province=False) == []
    revoke = {**directive("23767"), "business_doc_type": "REVOKE", "event_time": vn("2025-09-01 09:00"),
              "event_id": "rev", "steering_type": None, "from_organ_id": "000.00.00.X99"}
    assert dr.route(revoke, CFG, from_province=False) == []
    assert dr.route(revoke, CFG, from_province=True) == [k]

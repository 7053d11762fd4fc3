"""Issue 22, defect 7: directive_overdue only when deserved. A back-filled directive (read by the hub after its
deadlines) is read before the statuses published right after it: a missing answer waits for the grace
(HUB_DIRECTIVE_ALERT_GRACE) and for the input to be read to its end, so deadlines those statuses met raise no
alert; one truly missed raises one, marked arrived_overdue. Literal times throughout (the directive of
tests/analytics/datasets.py: sent Fri 2025-08-29 15:00, acceptance due Wed 09-03 15:00, completion by 09-15)."""

from __future__ import annotations

import pytest

from hub.analytics import directives as dr
from hub.analytics.config import AnalyticsConfig
from hub.errors import ConfigError
from hub.settings import Settings

from .datasets import ACCEPTANCE_DEADLINE, DIRECTIVE_ID, DIRECTIVE_SENT, directive, status, vn

CFG = AnalyticsConfig.from_settings(Settings.from_env(env={}))
MINUTE = 60_000
GRACE = 5 * MINUTE
BACKFILL = vn("2025-09-20 10:00")  # the hub reads the directive after every deadline, completion's included
K = dr.key(DIRECTIVE_ID, "23734")


def _read(state, record, now, *, caught_up=True):
    """What the processor does with one record read at ``now``: merge, note the first reading, judge."""
    merged = dr.arrive(dr.merge(state, record, dr.key(DIRECTIVE_ID, record["commune_code"])), now, CFG)
    return dr.overdue_transitions(merged, now, CFG, grace_ms=GRACE, caught_up=caught_up)


def _replay(records, first_read):
    """Read ``records`` one second apart from ``first_read``; returns the state and every breach raised."""
    state, raised = None, []
    for i, record in enumerate(records):
        state, found = _read(state, record, first_read + i * 1000)
        raised += found
    return state, raised


def test_a_back_filled_directive_whose_deadlines_were_met_raises_no_alert():
    """Directive first, then its three statuses (all in time): no alert, at reading or from the timer."""
    met = [directive("23734"), status("23734", "ARRIVED", "2025-08-29 15:05"),
           status("23734", "ACCEPTED", "2025-09-03 09:00"), status("23734", "COMPLETED", "2025-09-10 16:00")]
    state, raised = _replay(met, BACKFILL)
    assert raised == []
    assert dr.next_deadline(state, BACKFILL, CFG, GRACE) is None  # nothing left to watch
    assert dr.overdue_transitions(state, BACKFILL + 60 * MINUTE, CFG, grace_ms=GRACE) == (state, [])
    row = dr.row(state, BACKFILL + 60 * MINUTE, CFG)
    assert (row["arrived_overdue"], row["overdue"], row["acceptance_overdue"]) == (True, False, False)


def test_a_back_filled_directive_that_missed_raises_one_alert_after_the_grace():
    """Arrived and accepted in time, never completed (due 09-15): one completion alert, 5 minutes after the hub
    read the directive, marked arrived_overdue — not at reading, not twice."""
    missed = [directive("23734"), status("23734", "ARRIVED", "2025-08-29 15:05"),
              status("23734", "ACCEPTED", "2025-09-03 09:00")]
    state, raised = _replay(missed, BACKFILL)
    assert raised == []
    assert dr.next_deadline(state, BACKFILL, CFG, GRACE) == BACKFILL + GRACE + 1
    assert dr.overdue_transitions(state, BACKFILL + GRACE, CFG, grace_ms=GRACE)[1] == []
    state, [alert] = dr.overdue_transitions(state, BACKFILL + GRACE + 1, CFG, grace_ms=GRACE)
    assert (alert["milestone"], alert["deadline"], alert["met_at"], alert["arrived_overdue"]) == (
        "completion", vn("2025-09-16 00:00"), None, True)
    assert dr.overdue_transitions(state, BACKFILL + 60 * MINUTE, CFG, grace_ms=GRACE)[1] == []


def test_without_the_grace_the_back_fill_is_still_judged_after_reading_not_at_it():
    """Grace 0: the statuses read in the same instant as the directive still count; a missed deadline then
    waits only for the next tick of the timer (1 ms after the reading)."""
    state, found = dr.overdue_transitions(dr.arrive(dr.merge(None, directive("23734"), K), BACKFILL, CFG),
                                          BACKFILL, CFG)
    assert found == []
    assert dr.next_deadline(state, BACKFILL, CFG) == BACKFILL + 1
    state = dr.merge(state, status("23734", "ARRIVED", "2025-08-29 15:05"), K)
    assert [b["milestone"] for b in dr.overdue_transitions(state, BACKFILL + 1, CFG)[1]] == [
        "acceptance", "completion"]


def test_a_live_directive_is_alerted_a_grace_after_its_deadline():
    """Read a minute after sending (not a back-fill): the acceptance alert comes 5 minutes after the deadline."""
    state, found = _read(None, directive("23767"), DIRECTIVE_SENT + MINUTE)
    assert found == [] and state["ao"] is False
    state, found = _read(state, status("23767", "ARRIVED", "2025-08-29 15:10"), DIRECTIVE_SENT + 10 * MINUTE)
    assert found == []
    assert dr.next_deadline(state, DIRECTIVE_SENT, CFG, GRACE) == ACCEPTANCE_DEADLINE + GRACE + 1
    assert dr.overdue_transitions(state, ACCEPTANCE_DEADLINE + 1, CFG, grace_ms=GRACE)[1] == []
    _state, [alert] = dr.overdue_transitions(state, ACCEPTANCE_DEADLINE + GRACE + 1, CFG, grace_ms=GRACE)
    assert (alert["milestone"], alert["deadline"], alert["arrived_overdue"]) == (
        "acceptance", ACCEPTANCE_DEADLINE, False)
    assert dr.row(state, ACCEPTANCE_DEADLINE + 1, CFG)["arrived_overdue"] is False


def test_a_missing_answer_waits_while_input_is_unread_but_a_late_one_is_reported_at_once():
    """Not caught up: a missing acceptance is not judged, however late; an acceptance read that came after the
    deadline is a fact, reported when read."""
    state, _ = _read(None, directive("23749"), DIRECTIVE_SENT + MINUTE)
    state = dr.merge(state, status("23749", "ARRIVED", "2025-08-29 15:40"), dr.key(DIRECTIVE_ID, "23749"))
    assert dr.overdue_transitions(state, ACCEPTANCE_DEADLINE + 60 * MINUTE, CFG, grace_ms=GRACE,
                                  caught_up=False)[1] == []
    state, [late] = _read(state, status("23749", "ACCEPTED", "2025-09-04 08:00"), vn("2025-09-04 08:01"),
                          caught_up=False)
    assert (late["milestone"], late["met_at"], late["arrived_overdue"]) == (
        "acceptance", vn("2025-09-04 08:00"), False)


def test_the_first_reading_is_kept_and_statuses_alone_have_none():
    only_status = dr.merge(None, status("23734", "ARRIVED", "2025-08-29 15:05"), K)
    assert dr.arrive(only_status, BACKFILL, CFG) is only_status  # no directive yet: nothing to remember
    first = dr.arrive(dr.merge(only_status, directive("23734"), K), DIRECTIVE_SENT + MINUTE, CFG)
    assert (first["seen"], first["ao"]) == (DIRECTIVE_SENT + MINUTE, False)
    again = dr.arrive(dr.merge(first, directive("23734"), K), BACKFILL, CFG)
    assert (again["seen"], again["ao"]) == (DIRECTIVE_SENT + MINUTE, False)


def test_the_grace_is_a_setting():
    assert Settings.from_env(env={}).directive_alert_grace_ms() == 300_000
    assert Settings.from_env(env={"HUB_DIRECTIVE_ALERT_GRACE": "45s"}).directive_alert_grace_ms() == 45_000
    assert Settings.from_env(env={"HUB_DIRECTIVE_ALERT_GRACE": "0m"}).directive_alert_grace_ms() == 0
    for bad in ("", "5", "1wd", "-1m"):
        with pytest.raises(ConfigError, match="HUB_DIRECTIVE_ALERT_GRACE"):
            Settings.from_env(env={"HUB_DIRECTIVE_ALERT_GRACE": bad}).directive_alert_grace_ms()

"""hub.analytics.freshness: last times per commune and system, silence per kind, one alert per silence."""

from __future__ import annotations

from hub.analytics import freshness
from hub.analytics.config import AnalyticsConfig
from hub.settings import Settings

from .datasets import FRESHNESS_EVENTS, FRESHNESS_NOW, vn

CFG = AnalyticsConfig.from_settings(Settings.from_env(env={}))


def _fold(events):
    states: dict[str, dict] = {}
    for kind, rec in events:
        states[rec["commune_code"]] = freshness.merge(states.get(rec["commune_code"]), rec, kind)
    return states


def test_silent_systems_and_communes():
    """Ia Ly: the one-stop system is silent after 25 h (> 24 h), its document system is not (49 h < 72 h);
    Ia Khươl's only system is silent, so the commune is."""
    states = _fold(FRESHNESS_EVENTS)
    ialy = freshness.row(states["23734"], FRESHNESS_NOW, CFG)
    assert [(s["source_system"], s["kind"], s["silent"]) for s in ialy["systems"]] == [
        ("edoc-ialy", "document", False), ("onestop-ialy", "dossier", True)]
    onestop = ialy["systems"][1]
    assert (onestop["last_event_time"], onestop["last_ingest_time"]) == (vn("2025-11-20 07:50"), vn("2025-11-20 08:00"))
    assert onestop["silent_for_ms"] == 25 * 3_600_000 and ialy["silent"] is False
    assert freshness.row(states["23728"], FRESHNESS_NOW, CFG)["silent"] is True


def test_order_and_duplicates_do_not_matter():
    """Reversed and doubled records give the same state."""
    assert _fold(FRESHNESS_EVENTS[::-1] + FRESHNESS_EVENTS) == _fold(FRESHNESS_EVENTS)


def test_one_alert_per_silence():
    """A silence is alerted once; after the system speaks again, a new silence is alerted again."""
    state = _fold(FRESHNESS_EVENTS)["23734"]
    assert freshness.next_silence(state, CFG) == vn("2025-11-21 08:00") + 1
    state, alerts = freshness.silent_transitions(state, FRESHNESS_NOW, CFG)
    assert [(a["source_system"], a["kind"]) for a in alerts] == [("onestop-ialy", "dossier")]
    assert freshness.silent_transitions(state, FRESHNESS_NOW + 3_600_000, CFG)[1] == []
    assert freshness.next_silence(state, CFG) == vn("2025-11-22 08:00") + 1  # the document system's
    state = freshness.merge(state, {"commune_code": "23734", "source_system": "onestop-ialy",
                                    "event_time": vn("2025-11-21 10:00"), "ingest_time": vn("2025-11-21 10:00")},
                            "dossier")
    assert freshness.silent_transitions(state, vn("2025-11-22 08:00"), CFG)[1] == []
    state, alerts = freshness.silent_transitions(state, vn("2025-11-22 09:00"), CFG)
    assert [a["source_system"] for a in alerts] == ["edoc-ialy"]
    _, alerts = freshness.silent_transitions(state, vn("2025-11-22 10:01"), CFG)
    assert [a["source_system"] for a in alerts] == ["onestop-ialy"]

"""hub.read.model: folding feed records into immutable snapshots (pure), and the follower on a real
broker (catches up, follows new rows and tombstones, says when it cannot read)."""

from __future__ import annotations

import pytest
from kafka import KafkaProducer

from hub.analytics import directives, freshness, kpi
from hub.analytics import periods as pr
from hub.analytics.config import AnalyticsConfig
from hub.contract import codec, topics
from hub.read.model import FeedSnapshot, ReadModel, apply
from hub.read.queries import overdue_directives, province_ranking, silent_systems
from hub.settings import Settings
from hub.testing import wait_for
from tests.analytics.datasets import (
    COMMUNE,
    DIRECTIVE_EVENTS,
    DIRECTIVE_ID,
    DIRECTIVE_NOW,
    DOSSIER_EVENTS,
    FRESHNESS_EVENTS,
    FRESHNESS_NOW,
    NOW,
)
from tests.analytics.test_directives import fold as fold_directives
from tests.analytics.test_freshness import _fold as fold_freshness
from tests.analytics.test_kpi import fold as fold_dossiers

SETTINGS = Settings.from_env(env={})
SCHEMAS = codec.load(SETTINGS.schemas_dir)
CFG = AnalyticsConfig.from_settings(SETTINGS)


def _kpi(kind: str, at: str) -> tuple[str, bytes]:
    row = kpi.compute(fold_dossiers(DOSSIER_EVENTS).values(), COMMUNE, pr.parse(kind, at), NOW)
    return row["period_key"], codec.encode(SCHEMAS.latest(topics.FEED_KPI + "-value"), kpi.to_avro(row, "52"))


def _reach() -> dict[str, bytes]:
    writer = SCHEMAS.latest(topics.FEED_DIRECTIVE + "-value")
    return {k: codec.encode(writer, directives.to_avro(directives.row(s, DIRECTIVE_NOW, CFG)))
            for k, s in fold_directives(DIRECTIVE_EVENTS).items()}


def _freshness() -> dict[str, bytes]:
    writer = SCHEMAS.latest(topics.FEED_FRESHNESS + "-value")
    return {c: codec.encode(writer, freshness.to_avro(freshness.row(s, FRESHNESS_NOW, CFG)))
            for c, s in fold_freshness(FRESHNESS_EVENTS).items()}


def test_kpi_rows_by_period_and_commune():
    """A KPI row is found by (kind, at, commune); a tombstone removes it; untouched periods are shared."""
    month_key, month = _kpi("month", "2025-11")
    day_key, day = _kpi("day", "2025-11-14")
    snap = apply(FeedSnapshot(SCHEMAS), {"kpi": {month_key: month, day_key: day, "23734": b"v1 key: ignored"}})
    assert snap.rows == 2 and snap.caught_up
    row = snap.kpi_row("month", "2025-11", COMMUNE)
    assert (row["dossiers_in_scope"], row["dossiers_on_time"], row["timeliness_rate"]) == (11, 6, 6 / 11)
    assert snap.kpi_row("month", "2025-10", COMMUNE) is None and snap.kpi_row("month", "2025-11", "23728") is None
    later = apply(snap, {"kpi": {month_key: None}})
    assert later.kpi_row("month", "2025-11", COMMUNE) is None and later.rows == 1
    assert later.kpi[("day", "2025-11-14")] is snap.kpi[("day", "2025-11-14")]  # shared, not copied
    assert snap.kpi_row("month", "2025-11", COMMUNE) is not None  # the older snapshot did not change


def test_province_ranking_lists_every_commune():
    """Every commune of Gia Lai, the one with a rate first."""
    month_key, month = _kpi("month", "2025-11")
    ranked = province_ranking(apply(FeedSnapshot(SCHEMAS), {"kpi": {month_key: month}}), "52", "month", "2025-11")
    assert len(ranked) == 135 and ranked[0][0].code == COMMUNE and ranked[0][1]["timeliness_rate"] == 6 / 11
    assert all(row is None for _c, row in ranked[1:])


def test_overdue_directives_index():
    """At 09-05 the directive is overdue (23749 late, 23767 never); without those two rows it is not."""
    snap = apply(FeedSnapshot(SCHEMAS), {"directive": _reach()})
    assert snap.overdue == {DIRECTIVE_ID} and snap.directive_ids() == [DIRECTIVE_ID]
    [(doc, rows)] = overdue_directives(snap)
    assert doc == DIRECTIVE_ID and sorted(rows) == ["23722", "23728", "23734", "23749", "23767"]
    assert [c for c, r in rows.items() if r["overdue"]] == ["23749", "23767"]
    cleared = apply(snap, {"directive": {f"{DIRECTIVE_ID}|23749": None, f"{DIRECTIVE_ID}|23767": None}})
    assert cleared.overdue == frozenset() and cleared.directive_ids() == [DIRECTIVE_ID]
    assert cleared.directive_ids(overdue_only=True) == []


def test_silent_systems_longest_silence_first():
    """At 11-21 09:00: Ia Khươl's one-stop system (last 11-10) and Ia Ly's (last 11-20 08:00) are silent."""
    snap = apply(FeedSnapshot(SCHEMAS), {"freshness": _freshness()})
    assert [(s["commune_code"], s["source_system"]) for s in silent_systems(snap)] == [
        ("23728", "onestop-iakhuol"), ("23734", "onestop-ialy")]


@pytest.mark.integration
def test_the_follower_catches_up_and_follows(make_settings):
    """Rows written before start are there once caught up; later rows and tombstones arrive without a restart."""
    s = make_settings()
    month_key, month = _kpi("month", "2025-11")
    day_key, day = _kpi("day", "2025-11-14")
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    try:
        producer.send(s.topic(topics.FEED_KPI), key=month_key.encode(), value=month).get(timeout=30)
        model = ReadModel(s, interval_s=0.2).start()
        try:
            wait_for(lambda: model.snapshot.caught_up, timeout_s=60, what="caught up")
            assert model.snapshot.kpi_row("month", "2025-11", COMMUNE)["dossiers_in_scope"] == 11
            assert model.status()["caught_up"] is True and model.status()["error"] is None
            producer.send(s.topic(topics.FEED_KPI), key=day_key.encode(), value=day).get(timeout=30)
            producer.send(s.topic(topics.FEED_KPI), key=month_key.encode(), value=None).get(timeout=30)
            wait_for(lambda: model.snapshot.kpi_row("month", "2025-11", COMMUNE) is None, timeout_s=60,
                     what="tombstone applied")
            assert model.snapshot.kpi_row("day", "2025-11-14", COMMUNE)["dossiers_in_scope"] == 6
        finally:
            model.stop()
    finally:
        producer.close(timeout=10)


@pytest.mark.integration
def test_missing_feeds_leave_it_not_caught_up(make_settings):
    """Without the feed topics the follower reports the error and never claims to have caught up."""
    s = make_settings(create_topics=False)
    model = ReadModel(s, interval_s=0.2).start()
    try:
        wait_for(lambda: model.status()["error"], timeout_s=60, what="an error reported")
        assert "does not exist" in model.status()["error"] and model.snapshot.caught_up is False
    finally:
        model.stop()


@pytest.mark.integration
def test_an_unexpected_error_does_not_end_the_follower(make_settings, monkeypatch):
    """A read failing with a non-hub exception (a client bug) does not end the follower: the next round catches up."""
    from hub.read import model as read_model

    s = make_settings()
    real = read_model.FeedReaders.read_round
    failures = []

    def flaky(self, **kwargs):
        if not failures:
            failures.append(1)
            raise RuntimeError("client exploded")
        return real(self, **kwargs)

    monkeypatch.setattr(read_model.FeedReaders, "read_round", flaky)
    model = ReadModel(s, interval_s=0.2).start()
    try:
        wait_for(lambda: model.snapshot.caught_up, timeout_s=60, what="caught up after the failure")
        assert failures == [1] and model.status()["error"] is None and model.rounds >= 1
    finally:
        model.stop()

"""hub.read.model and target progress rows (pure): indexed by commune, read by plan year, tombstones,
untouched communes shared between snapshots, and rows moved to the reader's today when the worker has not."""

from __future__ import annotations

from fractions import Fraction as F

from hub.analytics import targets as tg
from hub.contract import codec, topics
from hub.read.model import FeedSnapshot, apply
from hub.read.queries import targets_today
from hub.settings import Settings
from tests.analytics import target_datasets as d
from tests.analytics.datasets import vn

SETTINGS = Settings.from_env(env={})
SCHEMAS = codec.load(SETTINGS.schemas_dir)
CFG = tg.TargetConfig()


def _progress(today: str) -> dict[str, bytes]:
    """The dataset's progress rows at ``today``, folded and evaluated by hub.analytics.targets, Avro-encoded."""
    states: dict[str, dict] = {}
    for rec in d.known_at(today):
        states[tg.key(rec)] = tg.merge(states.get(tg.key(rec)), rec)
    writer = SCHEMAS.latest(topics.FEED_TARGET_PROGRESS + "-value")
    return {k: codec.encode(writer, tg.to_avro(tg.row(s, d.TODAY[today], CFG))) for k, s in states.items()}


def test_target_rows_by_year_and_commune():
    """Rows are found per commune and plan year, by key; a tombstone removes one; other communes are shared."""
    snap = apply(FeedSnapshot(SCHEMAS), {"target": {**_progress("T1"), "not-a-progress-key": b"ignored"}})
    assert snap.rows == 12 and snap.target_years() == [2025]
    rows = snap.target_rows(2025, d.B)
    assert [r["progress_key"] for r in rows] == sorted(d.key(d.B, i) for i in d.PLAN[d.B])
    assert {r["progress_key"]: r["status"] for r in rows} == {  # targets_reference.md at T1, in lower case
        d.key(d.B, "VON_DTPT"): "behind", d.key(d.B, "TIEU_CHI"): "behind", d.key(d.B, "HO_THOAT_NGHEO"): "on_track",
        d.key(d.B, "VON_SN"): "behind"}
    assert len(snap.target_rows(2025)) == 12 and snap.target_rows(2024) == [] and snap.target_rows(2025, "23749") == []
    later = apply(snap, {"target": {d.key(d.C, "VON_SN"): None}})
    assert later.rows == 11 and len(later.target_rows(2025, d.C)) == 3
    assert later.targets[d.A] is snap.targets[d.A]  # untouched commune: the same inner map


def test_rows_are_moved_to_the_readers_today_only_when_stale():
    """A row evaluated for today is answered as written; on 1 August (no new event) 23734's criteria, last
    reported as of 30 June, are no_report after 32 days with share 213/365 and gap 61/730 (by hand)."""
    snap = apply(FeedSnapshot(SCHEMAS), {"target": _progress("T1")})
    same_day = targets_today(snap, 2025, d.TODAY["T1"] + 3_600_000, CFG)
    assert same_day == snap.target_rows(2025)  # computed_at included: nothing recomputed
    august = {r["progress_key"]: r for r in targets_today(snap, 2025, vn("2025-08-01 09:00"), CFG)}
    row = august[d.key(d.A, "TIEU_CHI")]
    assert (row["status"], row["days_since_report"], row["expected_share"], row["gap"], row["evaluated_for"]) == (
        "no_report", 32, float(F(213, 365)), float(F(61, 730)), "2025-08-01")
    closed = targets_today(snap, 2025, vn("2026-03-01 09:00"), CFG)
    assert {(r["evaluated_for"], r["final"]) for r in closed} == {("2026-01-31", True)}

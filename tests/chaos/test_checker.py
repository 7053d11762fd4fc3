"""The consistency checker: losses, copies, order violations and wrong outcomes are each seen."""

from __future__ import annotations

from collections import Counter

from chaos.checker import DeadLetter, FeedRow, Ledger, check, reconcile
from chaos.workload import Event

STORED = {"a": ["a0", "a1", "a2", "a3"], "b": ["b0", "b1"]}


def test_a_resend_from_an_earlier_event_is_duplicates_only():
    """0 1 2 | 1 2 3 within a group, interleaved with another group: complete, in order, two copies."""
    delivered = [("a", "a0"), ("b", "b0"), ("a", "a1"), ("a", "a2"), ("a", "a1"), ("b", "b1"), ("a", "a2"),
                 ("a", "a3")]
    report = check(STORED, delivered)
    assert report.ok and report.duplicates == 2 and report.lost == []
    assert report.line() == "stored 6, delivered 8: lost 0, duplicated 2, out of order 0, unexpected 0"


def test_losses_overtakes_and_strangers_are_reported():
    """A missing event, an event delivered after a later one, and an unknown id each fail the check."""
    report = check(STORED, [("a", "a0"), ("a", "a2"), ("a", "a1"), ("b", "b0"), ("b", "zz")])
    assert not report.ok
    assert report.lost == ["a3", "b1"] and report.out_of_order == ["a1"] and report.unexpected == ["zz"]


def test_an_optional_event_may_be_missing_without_breaking_the_order():
    """An in-doubt event that never arrived is neither lost nor a gap that puts its successor out of order."""
    report = check(STORED, [("a", "a0"), ("a", "a2"), ("a", "a3"), ("b", "b0"), ("b", "b1")],
                   optional=frozenset({"a1"}))
    assert report.ok and report.lost == [] and report.stored == 5


def _ev(sid: str, dossier: str, bad: str | None = None) -> Event:
    return Event(sid, dossier, "23734", b"{}", 0, bad)


def _ledger() -> Ledger:
    ledger = Ledger()
    ledger.ack([_ev("d1-0", "D1"), _ev("d1-1", "D1"), _ev("d2-0", "D2"), _ev("x-1", "X1", bad="bad_date")])
    ledger.attempt([_ev("d2-1", "D2")])  # in doubt: the publisher never heard back
    return ledger


def test_a_clean_delivery_with_a_resend_passes():
    """Each valid event once on the feed in order, the invalid one dead-lettered once per ingest copy."""
    feed = [FeedRow("d1-0", "D1", 0, 10), FeedRow("d2-0", "D2", 0, 11), FeedRow("d1-1", "D1", 0, 12)]
    v = reconcile(_ledger(), feed, [DeadLetter("x-1", "bad_date")] * 2,
                  Counter({"d1-0": 2, "d1-1": 1, "d2-0": 1, "x-1": 2}))
    assert v.ok, v.detail()
    assert (v.acknowledged, v.valid, v.invalid, v.resends, v.in_doubt, v.in_doubt_delivered) == (4, 3, 1, 2, 1, 0)


def test_every_kind_of_failure_is_reported():
    """A loss, a feed copy, an overtaking, a wrong reason, a missing dead letter and a stranger all fail it."""
    feed = [FeedRow("d1-1", "D1", 0, 1), FeedRow("d1-0", "D1", 0, 2), FeedRow("d1-0", "D1", 0, 3),
            FeedRow("zz", "Z", 1, 1), FeedRow("d2-1", "D2", 1, 2)]
    v = reconcile(_ledger(), feed, [DeadLetter("x-1", "unknown_status")], Counter({"x-1": 2, "d1-0": 1}))
    assert not v.ok
    assert v.lost == ["d2-0"] and v.duplicated == 1 and v.out_of_order == ["d1-0"] and v.unexpected == ["zz"]
    assert v.wrong_outcome == ["x-1: expected bad_date, got ['unknown_status']"]
    assert v.dlq_mismatch == ["x-1: 2 ingest records, 1 dead letters"]
    assert v.in_doubt_delivered == 1


def test_a_dossier_split_over_partitions_is_an_order_failure():
    """Per-dossier order needs one partition per dossier: a record on another partition is reported."""
    feed = [FeedRow("d1-0", "D1", 0, 1), FeedRow("d2-0", "D2", 0, 2), FeedRow("d1-1", "D1", 2, 1),
            FeedRow("x-1", "X1", 0, 3)]
    v = reconcile(_ledger(), feed, [], Counter())
    assert v.out_of_order == ["d1-1: dossier D1 on two partitions"]
    assert v.wrong_outcome == ["x-1: expected bad_date, got feed"]

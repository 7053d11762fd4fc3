"""The consistency checker: losses, copies and order violations are each seen."""

from __future__ import annotations

from chaos.checker import check

STORED = {"a": ["a0", "a1", "a2", "a3"], "b": ["b0", "b1"]}


def test_a_resend_from_an_earlier_event_is_duplicates_only():
    """0 1 2 | 1 2 3 within a group, interleaved with another group: complete, in order, two copies."""
    delivered = [("a", "a0"), ("b", "b0"), ("a", "a1"), ("a", "a2"), ("a", "a1"), ("b", "b1"), ("a", "a2"),
                 ("a", "a3")]
    report = check(STORED, delivered)
    assert report.ok and report.duplicates == 2 and report.lost == []
    assert report.line() == "stored 6, delivered 8: lost 0, duplicated 2, out of order 0, unexpected 0"


def test_losses_overtakes_and_strangers_are_reported():
    """A missing event, an event delivered before an earlier one, and an unknown id each fail the check."""
    report = check(STORED, [("a", "a0"), ("a", "a2"), ("a", "a1"), ("b", "b0"), ("b", "zz")])
    assert not report.ok
    assert report.lost == ["a3", "b1"] and report.out_of_order == ["a2", "a1"] and report.unexpected == ["zz"]

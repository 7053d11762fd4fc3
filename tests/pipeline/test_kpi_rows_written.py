"""When the KPI processor writes a row again (hub issue 22): a current row once per refresh window even when
its numbers stay (its evaluated_at is never older than HUB_KPI_REFRESH_S); a closed row only when a number
changes; and the ``emitted`` store's values of a release before revisions still read (12-byte digests)."""

from __future__ import annotations

from hub.processors.kpi import _digest, _Emitted

MINUTE = 60_000


def _row(final: bool, evaluated_at: int, on_time: int = 3) -> dict:
    return {"final": final, "evaluated_at": evaluated_at, "computed_at": evaluated_at, "on_time": on_time,
            "in_scope": 5, "revision": 0, "revised_at": None}


def test_a_current_row_is_new_in_each_refresh_window_and_the_same_within_one():
    at = 1_764_000_000_000 - 1_764_000_000_000 % MINUTE  # the start of a 60 s window
    assert _digest(_row(False, at), 60) == _digest(_row(False, at + 59_000), 60)
    assert _digest(_row(False, at), 60) != _digest(_row(False, at + MINUTE), 60)


def test_a_closed_row_changes_only_with_its_numbers():
    assert _digest(_row(True, 1_000), 60) == _digest(_row(True, 9_000_000), 60)
    assert _digest(_row(True, 1_000), 60) != _digest(_row(True, 1_000, on_time=4), 60)
    assert _digest({**_row(True, 1_000), "revision": 3, "revised_at": 5}, 60) == _digest(_row(True, 1_000), 60)


def test_emitted_values_with_and_without_revision_read_back():
    old = _Emitted.parse(b"0123456789ab")  # a release before revisions: the digest alone
    assert (old.digest, old.final, old.revision) == (b"0123456789ab", False, 0)
    new = _Emitted.parse(_Emitted(b"0123456789ab", True, 2).encode())
    assert (new.digest, new.final, new.revision) == (b"0123456789ab", True, 2)
    assert _Emitted.parse(None).digest is None

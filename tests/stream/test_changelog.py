"""hub.engine.changelog: batch records hold a transaction's writes in order, chunked, and refuse truncation."""

from __future__ import annotations

import pytest

from hub.engine import changelog


def test_a_batch_record_is_length_prefixed_pairs_with_a_tombstone_length():
    """The layout, written out by hand: a count, 4-byte big-endian lengths, 0xFFFFFFFF for a deleted key."""
    [(key, value)] = list(changelog.pack({b"ab": b"17", b"c": None}))
    assert value == (b"\x00\x00\x00\x02" + b"\x00\x00\x00\x02ab\x00\x00\x00\x0217"
                     + b"\x00\x00\x00\x01c\xff\xff\xff\xff")
    assert key.startswith(b"batch-") and len(key) == len(b"batch-") + 32


def test_unpack_restores_the_writes_in_order_and_a_later_write_wins():
    """Two records read in offset order: the second's value of a key replaces the first's and moves it last."""
    out: dict[bytes, bytes | None] = {}
    [(_k1, first)] = changelog.pack({b"e1": b"100", b"e2": b"100"})
    [(_k2, second)] = changelog.pack({b"e1": b"300", b"e3": None})
    assert changelog.unpack(first, out) == 2 and changelog.unpack(second, out) == 2
    assert list(out.items()) == [(b"e2", b"100"), (b"e1", b"300"), (b"e3", None)]


def test_a_large_batch_is_split_into_records_below_the_chunk_size():
    """5,000 entries of ~100 bytes make several records, each under ~256 KiB, with distinct keys and every entry."""
    writes = {b"event-%06d" % i: b"1780000000000" + b"x" * 80 for i in range(5000)}
    records = list(changelog.pack(writes))
    # An entry is 4 + 12 + 4 + 93 = 113 bytes; a chunk closes at the first entry reaching 262,144
    # bytes: 2,320 entries (262,160 bytes) + the count. So 2,320 + 2,320 + 360.
    assert [len(v) for _k, v in records] == [4 + 2320 * 113, 4 + 2320 * 113, 4 + 360 * 113]
    assert len({k for k, _v in records}) == len(records)
    out: dict[bytes, bytes | None] = {}
    assert sum(changelog.unpack(v, out) for _k, v in records) == 5000
    assert out == writes


@pytest.mark.parametrize("cut", [1, 5, 9, 12, 24])
def test_a_truncated_record_is_refused(cut):
    """A record cut anywhere (inside an entry or between two) raises ValueError rather than restoring part of it."""
    [(_k, value)] = changelog.pack({b"ab": b"17", b"cd": b"42"})
    with pytest.raises(ValueError, match="truncated"):
        changelog.unpack(value[:len(value) - cut], {})


def test_bytes_after_the_counted_entries_are_refused():
    """A record longer than its count says is not the hub's: refused, not half read."""
    [(_k, value)] = changelog.pack({b"ab": b"17"})
    with pytest.raises(ValueError, match="after its 1 entries"):
        changelog.unpack(value + b"\x00", {})


def test_only_records_with_the_batch_header_are_batch_records():
    """Per-key records carry no header; a batch record is recognised by hub.changelog: batch."""
    assert changelog.is_batch([("hub.changelog", b"batch")])
    assert not changelog.is_batch(None) and not changelog.is_batch([]) and not changelog.is_batch([("x", b"batch")])

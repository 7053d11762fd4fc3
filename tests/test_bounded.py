"""Dead letters are bounded by construction (hub.bounded), and hub status reads a worker's stuck mark."""

from __future__ import annotations

import hashlib

from hub import bounded
from hub.admin import status


def test_a_hundred_100kb_headers_keep_their_names_and_sizes_within_16_kib():
    original = [("hub.source", b"onestop-ialy")] + [(f"x-{i}", b"v" * 100_000) for i in range(100)]
    kept, note = bounded.headers(original)
    assert kept[0] == ("hub.source", b"onestop-ialy")
    assert sum(len(k) + len(v) + 8 for k, v in kept) <= 16 * 1024
    assert all(len(v) <= 1024 for _k, v in kept)
    assert note.split(",")[:2] == ["x-0:100000", "x-1:100000"] and len(note.split(",")) == 100
    _kept, long_note = bounded.headers([(f"x-{i}", b"v" * 2000) for i in range(400)])
    assert long_note.endswith(" more") and len(long_note) <= 2048


def test_small_headers_pass_unchanged():
    original = [("hub.source", b"a"), ("x-b", b"b" * 1024)]
    assert bounded.headers(original) == (original, None)


def test_an_oversized_value_is_cut_with_its_size_and_sha256():
    value = b"A" * 1_300_000
    key, out, hdrs = bounded.letter(b"23734", value, [("hub.error.reason", b"payload_too_large")], 262_144)
    d = dict(hdrs)
    assert key == b"23734" and out == value[:262_144]
    assert d["hub.error.original.size"] == b"1300000"
    assert d["hub.error.original.sha256"] == hashlib.sha256(value).hexdigest().encode()
    assert d["hub.error.truncated"] == b"value" and bounded.is_truncated(hdrs)


def test_key_and_headers_truncation_are_both_named():
    _k, _v, hdrs = bounded.letter(b"k" * 5000, b"small", [("hub.error.truncated", b"headers")], 262_144)
    assert dict(hdrs)["hub.error.truncated"] == b"headers,key"


def test_a_value_within_the_bound_is_untouched():
    hdrs = [("hub.error.reason", b"malformed_json")]
    assert bounded.letter(b"k", b"x" * 262_144, hdrs, 262_144) == (b"k", b"x" * 262_144, hdrs)
    assert not bounded.is_truncated(hdrs)


def test_status_reports_a_marked_partition_only_while_its_offset_stays_and_records_wait():
    tp = ("ingest.dossier", 2)
    marks = {tp: (17, 1_796_000_000_000)}
    stuck = status.stuck_partitions(marks, {tp: 17}, {tp: 17}, {tp: 40})
    assert stuck == [{"topic": "ingest.dossier", "partition": 2, "offset": 17, "since": "2026-11-30T00:53:20Z",
                      "waiting": 23}]
    assert status.stuck_partitions(marks, {tp: 17}, {tp: 18}, {tp: 40}) == []  # it moved during the sample
    assert status.stuck_partitions(marks, {tp: 17}, {tp: 17}, {tp: 17}) == []  # nothing waits
    assert status._stuck_since('{"stuck_since": 5, "worker": "w"}\x00') == 5
    assert status._stuck_since("") is None

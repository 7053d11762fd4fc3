"""The ingest rules without a broker: header rules, Kafka's murmur2, the partition and key checks."""

from __future__ import annotations

import re

import pytest

from hub.contract import headers as h
from hub.processors.partitions import murmur2, partition_of
from hub.processors.process import Source, admit, envelope

# org.apache.kafka.common.utils.UtilsTest#testMurmur2 (Java ints, signed)
JAVA_MURMUR2 = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
                b"a-little-bit-longer-string": -1486304829,
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971, b"abc": 479470107}
GOOD = {h.SOURCE: "onestop-ialy", h.FORMAT: "dvcqg-json", h.COMMUNE: "23734", h.SOURCE_EVENT_ID: "e-1",
        h.TRACE_ID: "0af7651916cd43dd8448eb211c80319c"}


@pytest.mark.parametrize(("data", "java"), JAVA_MURMUR2.items())
def test_murmur2_is_kafkas(data, java):
    assert murmur2(data) == java & 0xFFFFFFFF


def test_partition_of_is_to_positive_mod_n():
    """toPositive(-973932308) = 1173551340; mod 6 = 0, mod 7 = 3 (by hand: 7 * 167650191 = 1173551337)."""
    assert (partition_of(b"21", 6), partition_of(b"21", 7)) == (0, 3)


def _src(raw, key=b"23734", partition=None, count=None) -> Source:
    return Source("ingest.dossier", partition if partition is not None else 0, 7, 0, key, raw, count)


def _raw(**changes) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in {**GOOD, **changes}.items()]


def test_good_headers_pass():
    assert admit(GOOD, _src(_raw())) is None


@pytest.mark.parametrize(("raw", "field"), [
    (_raw(**{h.TRACE_ID: "T" * 65}), h.TRACE_ID),
    (_raw(**{h.TRACE_ID: "has space"}), h.TRACE_ID),
    (_raw(**{h.SOURCE_EVENT_ID: "Nguyen Van A"}), h.SOURCE_EVENT_ID),
    (_raw(**{h.SOURCE_EVENT_ID: "e" * 201}), h.SOURCE_EVENT_ID),
    (_raw(**{h.EVENT_ID: "a b"}), h.EVENT_ID),
    (_raw(**{h.COMMUNE: "2373"}), h.COMMUNE),
    (_raw(**{h.SOURCE: "x" * 65}), h.SOURCE),
    (_raw(**{h.FORMAT: "x" * 300}), h.FORMAT),
    (_raw(**{h.SIGNATURE: "v3=" + "0" * 64}), h.SIGNATURE),
    (_raw() + [("hub.error.reason", b"none")], "hub.error.reason"),
    (_raw() + [(h.TRACE_ID, b"second")], h.TRACE_ID),
    (_raw() + [(f"x-{i}", b"") for i in range(30)], "headers"),
    (_raw() + [("x-big", b"v" * 1025)], "x-big"),
    (_raw() + [(f"x-{i}", b"v" * 1000) for i in range(5)], "headers"),
    ([(k, b"\xff\xfe" if k == h.SOURCE_EVENT_ID else v) for k, v in _raw()], h.SOURCE_EVENT_ID),
])
def test_each_rule_is_a_bad_header_naming_the_header_not_the_value(raw, field):
    rej = admit(h.to_dict(raw), _src(raw))
    assert rej is not None and (rej.reason, rej.field) == ("bad_header", field), rej and rej.message
    assert "Nguyen" not in rej.message and "TTT" not in rej.message and "vvv" not in rej.message


def test_a_bad_trace_id_gets_a_fresh_one_in_the_envelope():
    env = envelope("dossier", {**GOOD, h.TRACE_ID: "T" * 450_000, h.SOURCE_EVENT_ID: "a b"}, _src(_raw()))
    assert re.fullmatch(r"[0-9a-f]{32}", env.trace_id) and env.source_event_id is None
    assert envelope("dossier", GOOD, _src(_raw())).trace_id == GOOD[h.TRACE_ID]


def test_partition_must_match_the_key_when_the_count_is_known():
    """murmur2("23734") mod 3 is 2 (tests/pipeline/test_hostile_headers.py writes it there with librdkafka)."""
    assert admit(GOOD, _src(_raw(), partition=2, count=3)) is None
    assert admit(GOOD, _src(_raw(), partition=0, count=3)).reason == "wrong_partition"
    assert admit(GOOD, _src(_raw(), key=None, partition=2, count=3)).reason == "wrong_partition"
    assert admit(GOOD, _src(_raw(), partition=0, count=None)) is None  # no metadata: not checked

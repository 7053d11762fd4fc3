"""Pure body handling: media types, bounds, JSON batches and XML dialect detection."""

from __future__ import annotations

import orjson
import pytest

from hub.errors import Rejected
from hub.ingest import bodies


def _reason(fn, *args, **kw) -> str:
    with pytest.raises(Rejected) as info:
        fn(*args, **kw)
    return info.value.reason


def test_media_types():
    """JSON and XML variants are recognised (parameters ignored); anything else is 415."""
    assert bodies.media_type("application/json; charset=utf-8") == bodies.JSON
    assert bodies.media_type("application/vnd.hub+json") == bodies.JSON
    assert bodies.media_type("text/xml") == bodies.XML
    assert bodies.media_type("application/xml;charset=UTF-8") == bodies.XML
    for bad in (None, "", "text/plain", "multipart/form-data", "application/x-www-form-urlencoded"):
        assert _reason(bodies.media_type, bad) == "unsupported_media_type"


def test_content_length_is_checked_first():
    """A declared Content-Length over the bound is refused before any byte is read."""
    bodies.check_length("1000", 1000)
    bodies.check_length(None, 1)
    assert _reason(bodies.check_length, "1001", 1000) == "payload_too_large"


def test_split_json_object_keeps_bytes_and_ids():
    """A single object is one event with its exact bytes; event_id comes from payload, else the header."""
    raw = b'\xef\xbb\xbf{"MaHoSo": "A",   "event_id": "e-1"}'
    [ev] = bodies.split_json(raw, 10, "hdr")
    assert ev.raw == raw and ev.source_event_id == "e-1"
    [ev] = bodies.split_json(b'{"MaHoSo": "A"}', 10, "hdr")
    assert ev.source_event_id == "hdr"


def test_split_json_array():
    """Array elements are re-serialized one by one; a batch key gets #index; bounds and shapes are checked."""
    items = [{"a": 1}, {"a": 2, "event_id": 7}]
    events = bodies.split_json(orjson.dumps(items), 2, "k")
    assert [e.raw for e in events] == [orjson.dumps(i) for i in items]
    assert [e.source_event_id for e in events] == ["k#0", "7"]
    assert _reason(bodies.split_json, orjson.dumps(items * 2), 3, None) == "batch_too_large"
    assert _reason(bodies.split_json, b"[]", 3, None) == "malformed_json"
    assert _reason(bodies.split_json, b'"text"', 3, None) == "malformed_json"
    assert _reason(bodies.split_json, b"[{}, 1]", 3, None) == "malformed_json"
    assert _reason(bodies.split_json, b"{\xff}", 3, None) == "bad_encoding"


def test_xml_format_by_namespace():
    """edXML and eDoc are told apart by root namespace; DTDs, junk and other roots are refused."""
    assert bodies.xml_format(b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>') == "edxml"
    assert bodies.xml_format(b'<EdXMLEnvelope xmlns="http://www.go.vn/eDoc"/>') == "edoc-go"
    assert _reason(bodies.xml_format, b"<a/>") == "unknown_document_root"
    assert _reason(bodies.xml_format, b"<a>") == "malformed_xml"
    assert _reason(bodies.xml_format, b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>') == "malformed_xml"


def test_split_picks_formats():
    """JSON defaults per kind, explicit formats are checked against the kind, XML dossiers are 415."""
    assert (
        bodies.split(b"{}", bodies.JSON, "dossier", explicit_format=None, max_batch=5, header_id=None)[0]
        == "dvcqg-json"
    )
    assert (
        bodies.split(b"{}", bodies.JSON, "document", explicit_format=None, max_batch=5, header_id=None)[0]
        == "hub-json"
    )
    assert (
        _reason(
            bodies.split, b"{}", bodies.JSON, "dossier", explicit_format="edxml", max_batch=5, header_id=None
        )
        == "unknown_format"
    )
    assert (
        _reason(
            bodies.split, b"{}", bodies.JSON, "dossier", explicit_format="nope", max_batch=5, header_id=None
        )
        == "unknown_format"
    )
    assert (
        _reason(
            bodies.split, b"<a/>", bodies.XML, "dossier", explicit_format=None, max_batch=5, header_id=None
        )
        == "unsupported_media_type"
    )
    fmt, [ev] = bodies.split(
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>',
        bodies.XML,
        "document",
        explicit_format=None,
        max_batch=5,
        header_id="x",
    )
    assert fmt == "edxml" and ev.source_event_id == "x"


def test_large_array_is_counted_before_it_is_parsed():
    """A large array with more elements than the batch bound is batch_too_large, counted on the bytes."""
    many = b"[" + b",".join([b'{"a":"x,[{y"}'] * 20_000) + b"]"
    assert len(many) > bodies.SMALL_BODY
    with pytest.raises(Rejected) as info:
        bodies.check_shape(many, 10_000)
    assert (info.value.reason, info.value.message) == ("batch_too_large",
                                                       "the array holds 20000 events; the limit is 10000")
    bodies.check_shape(many, 20_000)  # exactly at the bound: accepted
    nested = b"[" + b",".join([b'{"a":[{"b":[1,2]},{"c":{}}],"s":"]]}"}'] * 3_000) + b"]"
    assert _reason(bodies.check_shape, nested, 2_999) == "batch_too_large"
    bodies.check_shape(nested, 3_000)


def test_empty_objects_are_refused_without_materializing_them():
    """A body of empty objects (24x its size as Python dicts) is refused by its container count."""
    empties = b"[" + b",".join([b"{}"] * 1_000_000) + b"]"
    with pytest.raises(Rejected) as info:
        bodies.split_json(empties, 1000, None)
    # 1,000,000 objects plus the array around them
    assert info.value.reason == "payload_too_large" and "1000001 JSON objects and arrays" in info.value.message


def test_unknown_xml_encoding_is_bad_encoding():
    """An XML declaration naming an encoding Python does not know is 400 bad_encoding, not a crash."""
    raw = b'<?xml version="1.0" encoding="x-foo"?><edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>'
    for fmt in (None, "edxml"):
        with pytest.raises(Rejected) as info:
            bodies.split(raw, bodies.XML, "document", explicit_format=fmt, max_batch=10, header_id=None)
        assert (info.value.reason, info.value.http_status) == ("bad_encoding", 400)

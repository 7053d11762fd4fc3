"""One decoder for every entry point: UTF-8 text, JSON and XML dialects, each failure a reason code."""

from __future__ import annotations

import pytest

from hub.errors import Rejected
from hub.ingest import bodies
from hub.normalize import decode


def _reason(fn, *args) -> str:
    with pytest.raises(Rejected) as info:
        fn(*args)
    return info.value.reason


def test_utf8_with_and_without_bom():
    """A UTF-8 BOM is dropped; invalid UTF-8 is bad_encoding naming the offset, not the bytes."""
    assert decode.utf8_text(b"\xef\xbb\xbf" + "Ia Khươl".encode()) == "Ia Khươl"
    with pytest.raises(Rejected) as info:
        decode.utf8_text(b"ab\xffcd", "CSV")
    assert (info.value.reason, info.value.stage) == ("bad_encoding", "parse") and "offset 2" in info.value.message


def test_json_document():
    """JSON with a BOM parses; broken JSON is malformed_json; non-UTF-8 is bad_encoding."""
    assert decode.json_document(b'\xef\xbb\xbf{"a": [1]}') == {"a": [1]}
    assert _reason(decode.json_document, b"{not json") == "malformed_json"
    assert _reason(decode.json_document, b'{"a": "\xff"}') == "bad_encoding"


@pytest.mark.parametrize(("raw", "fmt"), [
    (b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>', "edxml"),
    (b'<EdXMLEnvelope xmlns="http://www.go.vn/eDoc"/>', "edoc-go"),
])
def test_xml_dialect_by_namespace(raw, fmt):
    """The root's namespace names the dialect."""
    assert decode.xml_dialect(decode.xml_root(raw)) == fmt


def test_foreign_namespace_is_unknown_document_root():
    """Any other namespace is unknown_document_root."""
    assert _reason(decode.xml_dialect, decode.xml_root(b'<a xmlns="urn:x"/>')) == "unknown_document_root"


def test_gateway_uses_the_one_decoder_for_unknown_encodings():
    """An XML body declaring encoding x-foo is bad_encoding at the gateway too, not a LookupError (a 500)."""
    assert _reason(bodies.xml_format, b'<?xml version="1.0" encoding="x-foo"?><a/>') == "bad_encoding"
    assert _reason(bodies.split_json, b"[\xff]", 5, None) == "bad_encoding"

"""Safe XML parsing (hub.normalize.decode): no DTDs, no entities, explicit encodings; namespace-agnostic lookups."""

from __future__ import annotations

import pytest

from hub.errors import Rejected
from hub.normalize import decode, xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol3;</edXML>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&xxe;</edXML>"""
PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]><edXML/>"""


@pytest.mark.parametrize("raw", [BILLION_LAUGHS, EXTERNAL, PARAMETER, b"<!DOCTYPE a><a/>"],
                         ids=["billion-laughs", "external-entity", "parameter-entity", "bare-doctype"])
def test_dtds_and_entities_are_refused(raw):
    """Any DTD or entity declaration is malformed_xml at stage parse."""
    with pytest.raises(Rejected) as info:
        decode.xml_root(raw)
    assert (info.value.reason, info.value.stage) == ("malformed_xml", "parse")


def test_not_well_formed():
    """Truncated XML is malformed_xml."""
    with pytest.raises(Rejected) as info:
        decode.xml_root(b"<a><b>")
    assert info.value.reason == "malformed_xml"


def test_latin1_without_declaration_is_bad_encoding():
    """Non-UTF-8 bytes without an encoding declaration are bad_encoding."""
    with pytest.raises(Rejected) as info:
        decode.xml_root("<a>Ia Khươl é</a>".encode().replace("é".encode(), "é".encode("latin-1")))
    assert info.value.reason == "bad_encoding"


def test_declared_encodings_and_boms_are_honoured():
    """UTF-8 with BOM, UTF-16 with BOM and declared ISO-8859-1 all parse to the same text."""
    assert xml.text(decode.xml_root(b"\xef\xbb\xbf<a>Ch\xc6\xb0 P\xc4\x83h</a>")) == "Chư Păh"
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><a>Chư Păh</a>'.encode("utf-16")
    latin1 = '<?xml version="1.0" encoding="ISO-8859-1"?><a>café</a>'.encode("latin-1")
    assert xml.text(decode.xml_root(utf16)) == "Chư Păh"
    assert xml.text(decode.xml_root(latin1)) == "café"


@pytest.mark.parametrize("raw", [b'<?xml version="1.0" encoding="x-foo"?><a/>',
                                 b"<?xml version='1.0' encoding='x-no-such-codec'?><a/>",
                                 b'\xef\xbb\xbf<?xml version="1.0" encoding="x-foo"?><a/>'])
def test_unknown_declared_encoding_is_bad_encoding(raw):
    """An encoding nobody knows (x-foo) is bad_encoding, never an unhandled LookupError."""
    with pytest.raises(Rejected) as info:
        decode.xml_root(raw)
    assert (info.value.reason, info.value.stage) == ("bad_encoding", "parse")


def test_lookups_ignore_prefixes_and_normalize_text():
    """child/text/texts match local names under any prefix and return NFC text."""
    root = decode.xml_root(b'<p:a xmlns:p="urn:x"><p:b><c>Ia Khu\xcc\x9bo\xcc\x9bl</c><c> </c><c>x</c></p:b>'
                     b"<d/></p:a>")
    assert xml.local(root.tag) == "a" and xml.namespace(root) == "urn:x"
    assert xml.text(root, "b/c") == "Ia Khươl"
    assert xml.texts(root, "b/c") == ["Ia Khươl", "x"]
    assert xml.child(root, "b/missing") is None and xml.text(root, "d") is None
    assert len(list(xml.descendants(root, "c"))) == 3

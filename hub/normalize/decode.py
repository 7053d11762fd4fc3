"""Bytes in: UTF-8 text, JSON and safe XML, decoded in one place for the worker, gateway and file drop.

Every failure is a :class:`Rejected` at stage ``parse`` whose message names the rule broken
and at most a byte offset, never the bytes themselves.

* **Text** must be UTF-8; a UTF-8 byte-order mark (as Excel writes it) is allowed and dropped.
* **JSON** is UTF-8 text (BOM allowed) parsed by orjson (which refuses nesting deeper than 1024).
* **XML** comes from outside the hub's trust boundary, so it is parsed with ``defusedxml``:
  any DTD is refused (which also rules out external entities and entity-expansion bombs such
  as *billion laughs*). Bytes must be UTF-8 (a BOM is fine) unless the XML declaration names
  another encoding that expat knows (UTF-16 with a BOM, ISO-8859-1, US-ASCII); an encoding
  nobody knows (``encoding="x-foo"``) is ``bad_encoding``, never an unhandled ``LookupError``.
* The two document dialects are told apart by the root's **namespace** (:data:`EDXML_NS`,
  :data:`EDOC_NS`); :func:`xml_dialect` maps a root to its format name.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
import orjson
from defusedxml import DefusedXmlException

from hub.errors import Rejected

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"  # QCVN 102:2016/BTTTT edXML
EDOC_NS = "http://www.go.vn/eDoc"  # the go.vn eDoc dialect
DIALECT_OF_NAMESPACE = {EDXML_NS: "edxml", EDOC_NS: "edoc-go"}
BOM = b"\xef\xbb\xbf"

# encoding="..." in an XML declaration at the very start of the document (ASCII-compatible bytes)
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def utf8_bytes(raw: bytes, what: str = "payload", advice: str = "") -> bytes:
    """``raw`` without its BOM, after checking that it is UTF-8."""
    body = raw[len(BOM):] if raw.startswith(BOM) else raw
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("bad_encoding", f"{what} is not UTF-8 (invalid byte at offset {exc.start})"
                       + (f"; {advice}" if advice else ""), stage="parse") from None
    return body


def utf8_text(raw: bytes, what: str = "payload",
              advice: str = "save it as 'CSV UTF-8' / UTF-8 text") -> str:
    """UTF-8 text as exported by Excel and friends (a BOM is allowed)."""
    return utf8_bytes(raw, what, advice).decode("utf-8")


def json_document(raw: bytes, what: str = "payload") -> Any:
    """The JSON value of UTF-8 bytes (a BOM is allowed)."""
    body = raw[len(BOM):] if raw.startswith(BOM) else raw
    try:
        return orjson.loads(body)  # orjson checks UTF-8 itself: valid input is decoded once
    except orjson.JSONDecodeError as exc:
        utf8_bytes(body, what)  # invalid: say bad_encoding when that is why
        # orjson's messages give a position and the rule, never the text around it
        raise Rejected("malformed_json", f"{what} is not valid JSON: {str(exc)[:160]}", stage="parse") from None


def xml_root(raw: bytes, what: str = "XML") -> Element:
    """The root element of ``raw``, parsed without DTDs or entities."""
    if raw.startswith(BOM):
        raw = raw[len(BOM):]
    declared = _DECLARED.match(raw[:200])
    utf8 = declared is None or declared.group(1).lower() in (b"utf-8", b"utf8")
    if utf8 and not raw.startswith(_UTF16_BOMS):
        utf8_bytes(raw, what)  # without a declaration XML means UTF-8: say so with a clear reason
    try:
        return safe_et.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise Rejected("malformed_xml", f"{what} uses a forbidden construct ({type(exc).__name__}): DTDs and "
                       "entities are not accepted", stage="parse") from None
    except ParseError as exc:
        if "unknown encoding" in str(exc):
            raise Rejected("bad_encoding", f"{what} declares an encoding the hub cannot decode; send UTF-8",
                           stage="parse") from None
        # expat's message names a line and column, never the content
        raise Rejected("malformed_xml", f"{what} is not well-formed XML: {str(exc)[:120]}", stage="parse") from None
    except (LookupError, ValueError, UnicodeError):  # an encoding expat or Python does not know
        raise Rejected("bad_encoding", f"{what} declares an encoding the hub cannot decode; send UTF-8",
                       stage="parse") from None
    except RecursionError:
        raise Rejected("too_expensive", f"{what} nests elements too deeply", stage="parse") from None


@lru_cache(maxsize=4096)  # a document repeats a few dozen tags thousands of times
def local(tag: object) -> str:
    """``{namespace}Name`` -> ``Name``; comments and processing instructions have no name."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def namespace(el: Element) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def xml_dialect(root: Element) -> str:
    """``edxml`` or ``edoc-go`` by the root's namespace; anything else is ``unknown_document_root``."""
    ns = namespace(root)
    fmt = DIALECT_OF_NAMESPACE.get(ns)
    if fmt is None:
        raise Rejected("unknown_document_root", f"XML root <{local(root.tag)[:40]}> in namespace {ns[:80]!r} is "
                       f"neither edXML ({EDXML_NS}) nor eDoc ({EDOC_NS})", stage="parse")
    return fmt

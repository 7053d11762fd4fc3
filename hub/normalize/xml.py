"""Safe XML parsing for the document dialects, and namespace-agnostic lookups.

Commune document systems are outside the hub's trust boundary, so XML is parsed with
``defusedxml``: any DTD is refused (which also rules out external entities and entity
expansion bombs such as *billion laughs*). Bytes must be UTF-8 (a BOM is fine) unless the XML
declaration names another encoding that expat knows (UTF-16 with a BOM, ISO-8859-1,
US-ASCII); anything else is ``bad_encoding``. Every failure is a :class:`Rejected` at stage
``parse``.

Vendors disagree about prefixes (``edXML:MessageHeader``, a default namespace, or no namespace
at all on ``AttachmentEncoded``), so lookups compare local names only; the dialect checks the
root's namespace once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from hub.errors import Rejected
from hub.normalize import fields as f

# encoding="..." in an XML declaration at the very start of the document (ASCII-compatible bytes)
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def parse(raw: bytes) -> Element:
    """The root element of ``raw``, parsed without DTDs or entities; errors are reason codes."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    declared = _DECLARED.match(raw[:200])
    utf8 = declared is None or declared.group(1).lower() in (b"utf-8", b"utf8")
    if utf8 and not raw.startswith(_UTF16_BOMS):
        # Without a declaration XML means UTF-8; check it ourselves for a clear reason code.
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Rejected("bad_encoding", "XML is not UTF-8 and declares no other encoding "
                           f"(byte {exc.start})", stage="parse") from None
    try:
        root = safe_et.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise Rejected("malformed_xml", f"forbidden XML construct: {type(exc).__name__} "
                       "(no DTDs or entities)", stage="parse") from None
    except ParseError as exc:
        raise Rejected("malformed_xml", f"XML is not well-formed: {str(exc)[:120]}", stage="parse") from None
    except (ValueError, LookupError) as exc:  # e.g. an encoding expat does not know
        raise Rejected("bad_encoding", f"XML cannot be decoded: {str(exc)[:120]}", stage="parse") from None
    return root


def local(tag: object) -> str:
    """``{namespace}Name`` -> ``Name``; comments and processing instructions have no name."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def namespace(el: Element) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def children(el: Element | None, name: str) -> list[Element]:
    """Direct children of ``el`` with local name ``name``, in document order."""
    if el is None:
        return []
    return [c for c in el if local(c.tag) == name]


def child(el: Element | None, path: str) -> Element | None:
    """First element along ``A/B/C`` (local names), or None."""
    for name in path.split("/"):
        found = children(el, name)
        if not found:
            return None
        el = found[0]
    return el


def descendants(el: Element | None, name: str) -> Iterator[Element]:
    """All elements below ``el`` (not ``el`` itself) with local name ``name``."""
    if el is None:
        return iter(())
    return (d for d in el.iter() if d is not el and local(d.tag) == name)


def text(el: Element | None, path: str | None = None) -> str | None:
    """NFC text of ``el`` (or of ``el/path``); empty or absent is None. Only direct text counts."""
    target = child(el, path) if path else el
    return None if target is None else f.text(target.text)


def texts(el: Element | None, path: str) -> list[str]:
    """Texts of every element matching the last step of ``path`` under its parent path."""
    parent_path, _, last = path.rpartition("/")
    parent = child(el, parent_path) if parent_path else el
    return [t for c in children(parent, last) if (t := f.text(c.text)) is not None]

"""Namespace-agnostic lookups in parsed edXML / eDoc trees (parsing itself: :mod:`hub.normalize.decode`).

Vendors disagree about prefixes (``edXML:MessageHeader``, a default namespace, or no namespace
at all on ``AttachmentEncoded``), so lookups compare local names only; the dialect checks the
root's namespace once. Loops over elements check the per-record budget (:mod:`hub.normalize.budget`).
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from hub.normalize import budget
from hub.normalize import fields as f
from hub.normalize.decode import local, namespace

__all__ = ["child", "children", "descendants", "local", "namespace", "text", "texts"]


def children(el: Element | None, name: str) -> list[Element]:
    """Direct children of ``el`` with local name ``name``, in document order."""
    if el is None:
        return []
    return [c for c in budget.each(el, name) if local(c.tag) == name]


def child(el: Element | None, path: str) -> Element | None:
    """First element along ``A/B/C`` (local names), or None."""
    for name in path.split("/"):
        if el is None:
            return None
        # no deadline check: a lookup is one scan of one element's children, done a fixed number of times
        el = next((c for c in el if local(c.tag) == name), None)
    return el


def descendants(el: Element | None, *names: str) -> Iterator[Element]:
    """All elements below ``el`` (not ``el`` itself) with one of the local ``names``, in document order."""
    if el is None:
        return iter(())
    return (d for d in budget.each(el.iter(), "/".join(names)) if d is not el and local(d.tag) in names)


def text(el: Element | None, path: str | None = None) -> str | None:
    """NFC text of ``el`` (or of ``el/path``); empty or absent is None. Only direct text counts."""
    target = child(el, path) if path else el
    return None if target is None else f.text(target.text)


def texts(el: Element | None, path: str) -> list[str]:
    """Texts of every element matching the last step of ``path`` under its parent path."""
    parent_path, _, last = path.rpartition("/")
    parent = child(el, parent_path) if parent_path else el
    return [t for c in children(parent, last) if (t := f.text(c.text)) is not None]

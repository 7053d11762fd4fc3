"""Dialect discovery and kind checks of the normalize entry point."""

from __future__ import annotations

import types

import pytest

from hub.errors import Rejected
from hub.normalize import core, formats, normalize

from .support import context, envelope


def test_every_dialect_is_discovered():
    """All five input dialects are selectable by their format header."""
    assert set(formats()) >= {"dvcqg-json", "edxml", "edoc-go", "hub-json", "csv"}


def test_a_dialect_may_serve_several_kinds():
    """KIND may be a tuple; hub-json serves every kind, csv dossiers and targets, edxml only documents."""
    assert core.kinds_of(formats()["hub-json"]) == ("dossier", "document", "target")
    assert core.kinds_of(formats()["csv"]) == ("dossier", "target")
    assert core.kinds_of(formats()["edxml"]) == ("document",)
    assert core.kinds_of(types.SimpleNamespace(KIND="letters")) == ()
    assert core.kinds_of(types.SimpleNamespace(KIND=("dossier", "x"))) == ()


def test_kind_mismatch_is_unknown_format():
    """An edXML payload on the dossier ingest is unknown_format, not a crash."""
    with pytest.raises(Rejected) as info:
        normalize(b"<a/>", envelope("edxml", "dossier"), context())
    assert info.value.reason == "unknown_format"

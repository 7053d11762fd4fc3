"""Bounded normalization: linear de-duplication, structural bounds and the per-record deadline."""

from __future__ import annotations

import itertools

import orjson
import pytest

from hub.errors import REASONS, Rejected
from hub.normalize import budget, fields, normalize

from .support import context, envelope

BOUND_OF_RECIPIENTS = 5_000  # documented in hub/normalize/edxml_common.py


def _package(recipients: list[str]) -> bytes:
    tos = "".join(f"<To><OrganId>{r}</OrganId></To>" for r in recipients)
    return ('<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader><MessageHeader>'
            f"<From><OrganId>000.00.00.H41</OrganId></From>{tos}"
            "<DocumentId>000.00.00.H41,2025/11/27,1/UBND</DocumentId></MessageHeader></edXMLHeader>"
            "</edXMLEnvelope></edXML>").encode()


def _organ(i: int) -> str:
    return f"000.{i // 1000:02d}.{i % 1000:03d}.X{i % 97:02d}"


class Counted(str):
    """A string that counts the equality comparisons made on it (hashing is str's own)."""

    calls = 0
    __hash__ = str.__hash__

    def __eq__(self, other):
        Counted.calls += 1
        return str.__eq__(self, other)


def test_unique_is_linear_in_comparisons():
    """De-duplicating 3,000 distinct values makes fewer than 3,000 comparisons (``x not in list`` makes ~4.5M)."""
    values = [Counted(_organ(i)) for i in range(3_000)]
    Counted.calls = 0
    out = fields.unique(values + values[:10])
    assert out == values and Counted.calls < 3_000


def test_24k_recipient_package_is_too_expensive():
    """A 1 MiB package naming ~24,000 recipients is too_expensive: under a 1 s budget, and by its structure alone."""
    organs = {**context().organs, **{_organ(i): "52" for i in range(24_000)}}
    raw = _package([_organ(i) for i in range(24_000)] + ["000.23.734.H41"])
    assert len(raw) > 1_000_000
    with pytest.raises(Rejected) as info:  # the bound or, on a very busy machine, the deadline: both dead-letter it
        normalize(raw, envelope("edxml", "document"), context(organs=organs), budget_s=1.0)
    assert info.value.reason == "too_expensive"
    with pytest.raises(Rejected) as info:  # no deadline at all: the structural bound alone refuses it
        normalize(raw, envelope("edxml", "document"), context(organs=organs, max_record_ms=None))
    assert info.value.reason == "too_expensive" and "MessageHeader/To" in info.value.message
    assert REASONS["too_expensive"][0] == 413


def test_package_at_the_recipient_bound_is_normalized():
    """5,000 distinct recipients (the bound) still normalize: one record per recipient commune."""
    organs = {**context().organs, **{_organ(i): "52" for i in range(BOUND_OF_RECIPIENTS - 2)}}
    raw = _package([_organ(i) for i in range(BOUND_OF_RECIPIENTS - 2)] + ["000.23.734.H41", "000.23.728.H41"])
    records = normalize(raw, envelope("edxml", "document"), context(organs=organs))
    assert [r["commune_code"] for r in records] == ["23734", "23728"]
    assert len(records[0]["to_organ_ids"]) == BOUND_OF_RECIPIENTS


def test_hub_json_recipient_lists_are_bounded():
    """A hub-json document listing 30,000 recipients is too_expensive, not minutes of de-duplication."""
    doc = {"from_organ_id": "000.00.00.H41", "commune_code": "23734",
           "to_organ_ids": [_organ(i) for i in range(30_000)]}
    with pytest.raises(Rejected) as info:
        normalize(orjson.dumps(doc), envelope("hub-json", "document"), context(), budget_s=1.0)
    assert info.value.reason == "too_expensive"


@pytest.fixture
def ticking_clock(monkeypatch):
    """A clock that advances 1 ms each time it is read: the deadline trips after a known number of checks."""
    ticks = itertools.count()
    monkeypatch.setattr(budget, "clock", lambda: next(ticks) / 1000)


def _csv(rows: int) -> bytes:
    return ("Mã hồ sơ,Trạng thái\n" + "".join(f"HS-{i},1\n" for i in range(rows))).encode()


def test_deadline_is_checked_inside_the_loops(ticking_clock):
    """With 1 ms per check and a 0.5 s budget, 10 rows pass and 2,000 rows are too_expensive."""
    assert len(normalize(_csv(10), envelope("csv", "dossier", "23734"), context(), budget_s=0.5)) == 10
    with pytest.raises(Rejected) as info:
        normalize(_csv(2_000), envelope("csv", "dossier", "23734"), context(), budget_s=0.5)
    assert (info.value.reason, info.value.stage) == ("too_expensive", "map")
    assert "500 ms" in info.value.message


def test_context_budget_applies_when_the_caller_passes_none(ticking_clock):
    """``ctx.max_record_ms`` is the default budget; None in the context means no deadline."""
    with pytest.raises(Rejected) as info:
        normalize(_csv(2_000), envelope("csv", "dossier", "23734"), context(max_record_ms=500))
    assert info.value.reason == "too_expensive"
    assert len(normalize(_csv(2_000), envelope("csv", "dossier", "23734"), context(max_record_ms=None))) == 2_000


def test_no_deadline_outside_normalize(ticking_clock):
    """The deadline belongs to one call: it is gone once normalize returns or raises."""
    with pytest.raises(Rejected):
        normalize(_csv(2_000), envelope("csv", "dossier", "23734"), context(), budget_s=0.5)
    budget.check("after the call")  # does not raise

"""DVCQG dossier and progress fixtures, field by field."""

from __future__ import annotations

import pytest

from hub.errors import Rejected
from hub.normalize import normalize

from .support import cases_in, check_case, context, envelope

CASES = cases_in("dvcqg")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture(case):
    """Each DVCQG fixture normalizes to exactly its expected records (or its rejection)."""
    check_case(case)


def test_fixture_set_covers_statuses_and_progress():
    """The DVCQG fixtures hold several dossier statuses and progress records."""
    records = [r for c in CASES if not c.reject for r in c.expected]
    assert {r["status"] for r in records if r["record_type"] == "DOSSIER"} >= {"ACCEPTED", "PROCESSING",
                                                                               "PROCESSING_FINISHED",
                                                                               "RESULT_RETURNED"}
    assert any(r["record_type"] == "PROGRESS" for r in records)


def test_deeply_nested_wrappers_are_rejected_not_crashing():
    """A payload nesting ``data`` wrappers ~1000 deep is a reason code, not a RecursionError."""
    raw = ('{"data":' * 1020 + '{"MaHoSo":"x"}' + "}" * 1020).encode()
    with pytest.raises(Rejected) as info:
        normalize(raw, envelope("dvcqg-json", "dossier", "23734"), context())
    assert info.value.reason in ("malformed_json", "missing_field")

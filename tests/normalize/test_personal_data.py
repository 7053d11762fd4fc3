"""No personal datum present in any fixture input survives normalization."""

from __future__ import annotations

import json

import pytest
from fixtures.load import cases, personal_data

from .support import run

DATA = personal_data()
ACCEPTED = [c for c in cases() if not c.reject]


def test_every_listed_datum_is_really_in_the_inputs():
    """The list is not stale: each datum occurs in some fixture input (CSV quotes doubled)."""
    inputs = "\n".join(c.raw.decode("utf-8-sig") for c in cases())
    missing = [d for d in DATA if d not in inputs and d.replace('"', '""') not in inputs]
    assert not missing


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.name for c in ACCEPTED])
def test_no_personal_datum_in_normalized_records(case):
    """Names, ID numbers, phones, emails, addresses and free text are absent from every record."""
    text = json.dumps(run(case), ensure_ascii=False)
    leaked = [d for d in DATA if d in text]
    assert not leaked, f"{case.name} leaks {leaked}"

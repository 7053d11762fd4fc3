"""The compiled Avro writer produces exactly fastavro's bytes, and refuses what does not fit."""

from __future__ import annotations

import io
import json
from pathlib import Path

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.contract.avro_writer import compile_schema
from tests.avro_samples import dossier_v2

SCHEMAS = Path(__file__).resolve().parent.parent / "hub" / "schemas"


def _fastavro(schema: dict, datum) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), datum, strict_allow_default=True)
    return buf.getvalue()


@pytest.mark.parametrize("avsc", sorted(p.name for p in SCHEMAS.glob("*.avsc")))
def test_every_shipped_schema_compiles(avsc):
    """Every .avsc in schemas/ compiles (the worker compiles them all at start)."""
    assert callable(compile_schema(json.loads((SCHEMAS / avsc).read_text())))


def test_dossier_bytes_equal_fastavro():
    """A realistic DossierEvent encodes to the same bytes as fastavro's writer."""
    schema = json.loads((SCHEMAS / "DossierEvent.v2.avsc").read_text())
    for i in range(20):
        record = dossier_v2(i)
        assert compile_schema(schema)(record) == _fastavro(schema, record)


_SCHEMA = {
    "type": "record", "name": "T", "namespace": "vn.gov.hub", "fields": [
        {"name": "s", "type": "string"},
        {"name": "n", "type": ["null", "long"], "default": None},
        {"name": "i", "type": "int"},
        {"name": "b", "type": ["null", "boolean"], "default": None},
        {"name": "d", "type": ["null", "double"], "default": None},
        {"name": "e", "type": ["null", {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}], "default": None},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "xs", "type": {"type": "array", "items": "string"}, "default": []},
        {"name": "m", "type": {"type": "map", "values": "int"}, "default": {}},
        {"name": "r", "type": ["null", {"type": "record", "name": "R", "fields": [
            {"name": "k", "type": "string"}, {"name": "e2", "type": "E"}]}], "default": None},
    ]}
_INT = st.integers(-(2**31), 2**31 - 1)
_LONG = st.integers(-(2**63), 2**63 - 1)
_DATA = st.fixed_dictionaries(
    {"s": st.text(), "i": _INT, "ts": st.integers(0, 2**45)},
    optional={"n": st.none() | _LONG, "b": st.none() | st.booleans(),
              "d": st.none() | st.floats(allow_nan=False), "e": st.none() | st.sampled_from("ABC"),
              "xs": st.lists(st.text(max_size=5), max_size=4),
              "m": st.dictionaries(st.text(max_size=4), _INT, max_size=3),
              "r": st.none() | st.fixed_dictionaries({"k": st.text(max_size=5), "e2": st.sampled_from("ABC")})})


@settings(max_examples=400, deadline=None)
@given(_DATA)
def test_generated_records_equal_fastavro(datum):
    """Any datum of a schema using every supported type encodes to fastavro's bytes."""
    assert compile_schema(_SCHEMA)(datum) == _fastavro(_SCHEMA, datum)


@pytest.mark.parametrize("bad", [
    {"s": 1, "i": 1, "ts": 1},  # wrong type
    {"s": "x", "i": 2**31, "ts": 1},  # out of range
    {"s": "x", "i": True, "ts": 1},  # a bool is not an int here
    {"s": "x", "i": 1},  # required field missing
    {"s": "x", "i": 1, "ts": 1, "e": "Z"},  # not an enum symbol
    {"s": "x", "i": 1, "ts": 1, "extra": "personal"},  # unknown field
])
def test_misfits_are_refused(bad):
    """A datum that does not fit raises TypeError or ValueError (never silently encoded)."""
    with pytest.raises((TypeError, ValueError)):
        compile_schema(_SCHEMA)(bad)

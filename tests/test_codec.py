"""hub.contract.codec: Confluent framing, stable ids from the lock, reader-schema resolution, clear errors."""

from __future__ import annotations

import json
import shutil
import struct

import pytest
from avro_samples import DOSSIER, SCHEMAS, as_v1, directive_record, dossier_v2, kpi_record, plain

from hub.contract import codec
from hub.errors import SchemaError


@pytest.fixture(scope="module")
def schemas() -> codec.Schemas:
    return codec.Schemas(SCHEMAS)


def test_ids_come_from_the_lock_file(schemas):
    """Every subject/version gets exactly the id written in hub/schemas/registry.json."""
    lock = json.loads((SCHEMAS / "registry.json").read_text(encoding="utf-8"))["subjects"]
    served = {(sv.subject, sv.version): sv.id for sv in schemas.by_id.values()}
    assert served == {(s, v["version"]): v["id"] for s, vs in lock.items() for v in vs}
    assert schemas.version(DOSSIER, 2).id == 2
    assert schemas.version(DOSSIER, 1).id == 1
    assert schemas.latest("feed.kpi.commune.v1-value").id == 19  # CommuneKpi v3 (as-of rows, the 766 score)
    assert schemas.latest("feed.directive.v1-value").id == 20  # DirectiveReach v4 (subject)
    assert schemas.latest("feed.freshness.v1-value").id == 12


def test_ids_are_the_same_from_another_copy(tmp_path, schemas):
    """A copy of the folder elsewhere (another machine, a redeploy) serves the same ids and texts."""
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    other = codec.Schemas(copy)
    assert {i: sv.text for i, sv in other.by_id.items()} == {i: sv.text for i, sv in schemas.by_id.items()}


def test_frame_is_magic_byte_and_big_endian_id(schemas):
    """Encoded bytes start with 0 and the 4-byte big-endian schema id."""
    data = codec.encode(schemas.version(DOSSIER, 2), dossier_v2(1))
    assert data[:5] == b"\x00" + struct.pack(">I", 2)
    assert codec.schema_id(data) == 2


def test_roundtrip_v2(schemas):
    """A v2 record decodes to itself; timestamp-millis come back as UTC datetimes."""
    for i in range(12):
        rec = dossier_v2(i)
        out = codec.decode(schemas, codec.encode(schemas.version(DOSSIER, 2), rec))
        assert out["event_time"].tzinfo is not None
        assert plain(out) == rec


def test_v2_data_read_with_v1_reader(schemas):
    """Data written with v2 read with the v1 reader schema drops the field v1 does not know."""
    v1 = schemas.version(DOSSIER, 1)
    for i in range(8):
        rec = dossier_v2(i)
        out = codec.decode(schemas, codec.encode(schemas.version(DOSSIER, 2), rec), reader=v1)
        assert "digitized_document_count" not in out
        assert plain(out) == as_v1(rec)


def test_v1_data_read_with_v2_reader(schemas):
    """Data written with v1 read with the v2 reader gets digitized_document_count = null."""
    v1, v2 = schemas.version(DOSSIER, 1), schemas.version(DOSSIER, 2)
    for i in range(8):
        rec = as_v1(dossier_v2(i))
        data = codec.encode(v1, rec)
        assert codec.schema_id(data) == 1
        out = codec.decode(schemas, data, reader=v2)
        assert out["digitized_document_count"] is None
        assert plain(out) == {**rec, "digitized_document_count": None}


def test_derived_feed_records_roundtrip(schemas):
    """CommuneKpi and DirectiveReach v1-shaped records encode with their latest schemas (v2 fields take
    their defaults) and decode to the same values."""
    for subject, rec in (("feed.kpi.commune.v1-value", kpi_record()),
                         ("feed.directive.v1-value", directive_record())):
        out = plain(codec.decode(schemas, codec.encode(schemas.latest(subject), rec)))
        assert {k: out[k] for k in rec} == rec


def test_unknown_schema_id_is_a_clear_error(schemas):
    """A record framed with an id not in the lock raises SchemaError naming the id and the lock."""
    data = b"\x00" + struct.pack(">I", 99) + b"\x02"
    with pytest.raises(SchemaError, match=r"unknown schema id 99: not in the schema lock .*registry\.json"):
        codec.decode(schemas, data)


@pytest.mark.parametrize("data", [b'{"MaHoSo": "x"}', b"\x01\x00\x00\x00\x02abc", b"\x00\x00", b""])
def test_not_confluent_frame_is_a_clear_error(schemas, data):
    """JSON, a wrong magic byte or too few bytes raise SchemaError, not a crash."""
    with pytest.raises(SchemaError, match="not Confluent wire format"):
        codec.decode(schemas, data)


def test_truncated_record_is_a_clear_error(schemas):
    """Cut-off Avro bytes raise SchemaError naming the writer schema."""
    data = codec.encode(schemas.version(DOSSIER, 2), dossier_v2(2))
    with pytest.raises(SchemaError, match=r"schema id 2 \(feed.dossier.v1-value v2\)"):
        codec.decode(schemas, data[:20])


def test_encode_rejects_unknown_fields(schemas):
    """A record with a field outside the schema is refused (nothing is silently dropped)."""
    with pytest.raises(ValueError):
        codec.encode(schemas.latest(DOSSIER), {**dossier_v2(1), "applicant_id_number": "001200000001"})


def test_missing_schema_file_names_the_file(tmp_path):
    """A lock entry whose file is missing raises SchemaError naming that file."""
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    (copy / "DocumentEvent.v1.avsc").unlink()
    with pytest.raises(SchemaError, match="DocumentEvent.v1.avsc"):
        codec.Schemas(copy)


def test_duplicate_id_is_refused(tmp_path):
    """Two lock entries with one id are refused when loading."""
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    lock = json.loads((copy / "registry.json").read_text(encoding="utf-8"))
    lock["subjects"]["feed.document.v1-value"][0]["id"] = 1
    (copy / "registry.json").write_text(json.dumps(lock), encoding="utf-8")
    with pytest.raises(SchemaError, match="schema id 1 is used twice"):
        codec.Schemas(copy)


def test_unknown_subject_and_version(schemas):
    """Unknown subjects and versions raise SchemaError."""
    with pytest.raises(SchemaError, match="unknown subject"):
        schemas.latest("feed.nothing.v1-value")
    with pytest.raises(SchemaError, match="has no version 7"):
        schemas.version(DOSSIER, 7)

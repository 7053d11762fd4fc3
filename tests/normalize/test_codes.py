"""Dossier, procedure and field codes are held to their patterns (invalid_value naming the field); every
shape the fixtures and the simulator send passes; hub-json's own event_id to the hub.source_event_id rule."""

from __future__ import annotations

import orjson
import pytest

from connectors import scenarios
from hub.errors import Rejected
from hub.normalize import normalize
from tests.normalize.support import context, envelope

BASE = {"MaHoSo": "000.23.734.H41-251112-0034", "MaTTHC": "2.000815", "MaLinhVuc": "G09-TP03",
        "TrangThaiHoSo": "2", "NgayTiepNhan": "20251112083000", "MaXa": "23734"}


def _dvcqg(**changes) -> list[dict]:
    return normalize(orjson.dumps({**BASE, **changes}), envelope("dvcqg-json", "dossier"), context())


@pytest.mark.parametrize(("field", "value"), [
    ("MaHoSo", "000.23.734.H41-251112-0034"), ("MaHoSo", "G22.52.23734-250801-0001"),
    ("MaHoSo", "H52.23722-250801-0010"), ("MaHoSo", "HS-1"), ("MaHoSo", "x"), ("MaHoSo", "A" * 64),
    ("MaHoSo", "000.00.34.H21-250801-0001"), ("MaHoSo", "G52.23734-251120-000001"),
    ("MaTTHC", "2.000815"), ("MaTTHC", "1.001193"), ("MaTTHC", "2.002161"),
    ("MaLinhVuc", "G09-TP03"), ("MaLinhVuc", "G09-LĐ05"), ("MaLinhVuc", "HT"), ("MaLinhVuc", "BAOTROXAHOI"),
])
def test_real_code_shapes_pass(field, value):
    """Codes as the fixtures, the national portal and the simulator write them reach the record unchanged."""
    canonical = {"MaHoSo": "dossier_code", "MaTTHC": "procedure_code", "MaLinhVuc": "field_code"}[field]
    assert _dvcqg(**{field: value})[0][canonical] == value


def test_every_simulated_procedure_passes():
    """The simulator's procedure and field codes (connectors.scenarios.PROCEDURES) all pass."""
    for code, _name, field_code, *_ in scenarios.PROCEDURES:
        rec = _dvcqg(MaTTHC=code, MaLinhVuc=field_code)[0]
        assert (rec["procedure_code"], rec["field_code"]) == (code, field_code)


@pytest.mark.parametrize(("field", "value", "named"), [
    ("MaHoSo", "X" * 65, "dossier_code"),
    ("MaHoSo", "Y" * 100_000, "dossier_code"),
    ("MaHoSo", "Nguyễn Văn An", "dossier_code"),
    ("MaHoSo", "HS 1", "dossier_code"),
    ("MaHoSo", "-HS1", "dossier_code"),
    ("MaHoSo", "HS1<script>", "dossier_code"),
    ("MaTTHC", "Z" * 33, "procedure_code"),
    ("MaTTHC", "CCCD 064182006655", "procedure_code"),
    ("MaTTHC", "a@b.vn", "procedure_code"),
    ("MaLinhVuc", "W" * 33, "field_code"),
    ("MaLinhVuc", "0905 123 456", "field_code"),
])
def test_hostile_codes_are_invalid_value_naming_the_field_not_the_value(field, value, named):
    with pytest.raises(Rejected) as exc:
        _dvcqg(**{field: value})
    assert (exc.value.reason, exc.value.field) == ("invalid_value", named)
    assert field in exc.value.message and value not in exc.value.message


def test_hub_json_and_csv_codes_follow_the_same_rules():
    """hub-json's dossier_code / procedure_code / field_code are the same canonical fields: same patterns."""
    obj = {"dossier_code": "HS-1", "status": "ACCEPTED", "commune_code": "23734", "procedure_code": "1.001612",
           "field_code": "G22-TP05", "received_at": "2025-11-12T08:30:00+07:00"}
    env = envelope("hub-json", "dossier")
    assert normalize(orjson.dumps(obj), env, context())[0]["field_code"] == "G22-TP05"
    with pytest.raises(Rejected) as exc:
        normalize(orjson.dumps({**obj, "field_code": "f" * 40}), env, context())
    assert (exc.value.reason, exc.value.field) == ("invalid_value", "field_code")


@pytest.mark.parametrize("bad", ["has space", "x" * 201, "sự-kiện-1"])
def test_a_hub_json_own_event_id_is_held_to_the_source_event_id_rule(bad):
    """The object's event_id becomes the feed's source_event_id: 1-200 printable ASCII, no spaces."""
    obj = {"dossier_code": "HS-1", "status": "ACCEPTED", "commune_code": "23734", "event_id": "ev-1"}
    env = envelope("hub-json", "dossier")
    assert normalize(orjson.dumps(obj), env, context())[0]["source_event_id"] == "ev-1"
    with pytest.raises(Rejected) as exc:
        normalize(orjson.dumps({**obj, "event_id": bad}), env, context())
    assert (exc.value.reason, exc.value.field) == ("invalid_value", "event_id") and bad not in exc.value.message

"""Source event ids derived from natural keys: a retry keeps its id, another status change gets another."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import source_ids

DOSSIER = {"MaHoSo": "G22.52.23734-251120-0001", "MaTTHC": "1.001193", "TrangThaiHoSo": "4",
           "NgayTiepNhan": "20251120080000", "NgayHenTra": "20251125170000", "NgayCapNhat": "20251121093000",
           "ChuHoSo": "Nguyễn Văn An", "MaXa": "23734"}
PROGRESS = {"QuaTrinhXuLy": [{"MaHoSo": "G22.52.23734-251120-0001", "NguoiXuLy": "Trần Thị Hạnh",
                              "ThoiDiemXuLy": "20251121100000", "TrangThai": "4", "NoiDungXuLy": "Chuyển xử lý"}]}
HUB_DOSSIER = {"dossier_code": "HS-1", "status": 4, "event_time": "2025-11-21T09:30:00+07:00",
               "commune_code": "23734"}
EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def _status_xml(code: str = "03", organ: str = "000.23.734.H41", ts: str = "20251121093000") -> bytes:
    return (f'<edXML xmlns="{EDXML_NS}"><edXMLEnvelope><edXMLHeader><MessageStatus><ResponseFor>'
            "<OrganId>000.00.00.H41</OrganId><Code>15/UBND-VP</Code><PromulgationDate>2025/11/20</PromulgationDate>"
            "<DocumentId>000.00.00.H41,2025/11/20,15/UBND-VP</DocumentId></ResponseFor>"
            f"<From><OrganId>{organ}</OrganId></From><StatusCode>{code}</StatusCode>"
            f"<Timestamp>{ts}</Timestamp></MessageStatus></edXMLHeader></edXMLEnvelope></edXML>").encode()


def _package_xml(subject: str) -> bytes:
    return (f'<edXML xmlns="{EDXML_NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>'
            f"<DocumentId>000.00.00.H41,2025/11/20,15/UBND-VP</DocumentId><Subject>{subject}</Subject>"
            "</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>").encode()


def _reserialized(obj) -> bytes:
    """The same JSON with another key order and whitespace, as another client library would write it."""
    def reverse(x):
        if isinstance(x, dict):
            return {k: reverse(x[k]) for k in reversed(list(x))}
        return [reverse(i) for i in x] if isinstance(x, list) else x

    return json.dumps(reverse(obj), ensure_ascii=True, indent=3).encode()


@pytest.mark.parametrize("fmt,obj", [("dvcqg-json", DOSSIER), ("dvcqg-json", PROGRESS),
                                     ("dvcqg-json", [DOSSIER, {**DOSSIER, "MaHoSo": "HS-2"}]),
                                     ("hub-json", HUB_DOSSIER), ("hub-json", {"events": [HUB_DOSSIER]}),
                                     ("dvcqg-json", {"unrelated": [3, 2, 1]})])
def test_a_retry_keeps_its_id_also_reserialized(fmt, obj):
    """The same payload, sent again or re-serialized with other whitespace and key order, gets the same id."""
    first = source_ids.derive(fmt, orjson.dumps(obj))
    assert first.startswith(f"{fmt}-") and len(first) == len(fmt) + 33
    assert source_ids.derive(fmt, orjson.dumps(obj)) == first
    assert source_ids.derive(fmt, _reserialized(obj)) == first


def test_the_natural_key_ignores_fields_outside_it():
    """A DVCQG retry whose other fields changed (e.g. a re-typed name) is the same event: same id."""
    assert source_ids.derive("dvcqg-json", orjson.dumps({**DOSSIER, "ChuHoSo": "Nguyen Van An"})) == \
        source_ids.derive("dvcqg-json", orjson.dumps(DOSSIER))


@pytest.mark.parametrize("change", [{"TrangThaiHoSo": "9"}, {"NgayCapNhat": "20251121093001"},
                                    {"MaHoSo": "G22.52.23734-251120-0002"}])
def test_another_status_change_gets_another_id(change):
    """Another status, another update time or another dossier is another event."""
    assert source_ids.derive("dvcqg-json", orjson.dumps({**DOSSIER, **change})) != \
        source_ids.derive("dvcqg-json", orjson.dumps(DOSSIER))


def test_without_an_update_time_the_event_dates_decide():
    """Without NgayCapNhat the record's event dates are its time: a new date is a new event."""
    base = {k: v for k, v in DOSSIER.items() if k != "NgayCapNhat"}
    finished = {**base, "TrangThaiHoSo": "9", "NgayKetThucXuLy": "20251122100000"}
    corrected = {**finished, "NgayKetThucXuLy": "20251122110000"}
    ids = {source_ids.derive("dvcqg-json", orjson.dumps(x)) for x in (base, finished, corrected)}
    assert len(ids) == 3


def test_progress_records_are_keyed_by_dossier_status_and_time():
    """Two progress steps of one dossier differ by their time; a snapshot with the same values is not a step."""
    later = {"QuaTrinhXuLy": [{**PROGRESS["QuaTrinhXuLy"][0], "ThoiDiemXuLy": "20251121110000"}]}
    assert source_ids.derive("dvcqg-json", orjson.dumps(PROGRESS)) != \
        source_ids.derive("dvcqg-json", orjson.dumps(later))
    snapshot = {"MaHoSo": DOSSIER["MaHoSo"], "TrangThaiHoSo": "4", "NgayCapNhat": "20251121100000"}
    assert source_ids.derive("dvcqg-json", orjson.dumps(PROGRESS)) != \
        source_ids.derive("dvcqg-json", orjson.dumps(snapshot))


def test_hub_json_keeps_the_publishers_own_id():
    """A single hub-json object's own event_id is its source event id, unchanged."""
    assert source_ids.derive("hub-json", orjson.dumps({**HUB_DOSSIER, "event_id": "vendor-77"})) == "vendor-77"
    changed = {**HUB_DOSSIER, "status": 9}
    assert source_ids.derive("hub-json", orjson.dumps(changed)) != \
        source_ids.derive("hub-json", orjson.dumps(HUB_DOSSIER))


def test_status_notifications_of_two_communes_do_not_collide():
    """edXML status ids differ by reporting organ, status code and timestamp, and a resend keeps its id."""
    base = source_ids.derive("edxml", _status_xml())
    assert source_ids.derive("edxml", _status_xml()) == base
    others = {source_ids.derive("edxml", _status_xml(organ="000.23.728.H41")),
              source_ids.derive("edxml", _status_xml(code="04")),
              source_ids.derive("edxml", _status_xml(ts="20251121093001"))}
    assert base not in others and len(others) == 3


def test_packages_are_keyed_by_document_id_and_content():
    """An edXML package keeps its id when resent byte for byte; another version of it is another event."""
    assert source_ids.derive("edxml", _package_xml("A")) == source_ids.derive("edxml", _package_xml("A"))
    assert source_ids.derive("edxml", _package_xml("A")) != source_ids.derive("edxml", _package_xml("B"))


def test_csv_rows_are_keyed_per_row_whatever_the_spelling():
    """One CSV row keeps its id with another delimiter, quoting or header spelling; another status does not."""
    a = b"MaHoSo,TrangThaiHoSo,NgayCapNhat,TenTTHC\nHS-1,4,20251121093000,Khai sinh\n"
    b = '\ufeff"Mã hồ sơ";"Trạng thái";"Ngày cập nhật";"Tên TTHC"\n"HS-1";"4";"20251121093000";"Khai sinh"\n'.encode()
    c = b"MaHoSo,TrangThaiHoSo,NgayCapNhat,TenTTHC\nHS-1,9,20251121093000,Khai sinh\n"
    assert source_ids.derive("csv", a) == source_ids.derive("csv", b)
    assert source_ids.derive("csv", a) != source_ids.derive("csv", c)
    assert source_ids.derive("csv", b"event_id,MaHoSo\nrow-9,HS-1\n") == "row-9"


def test_unparseable_payloads_fall_back_to_their_bytes():
    """Broken JSON or XML is identified by its bytes: same bytes same id, other bytes other id."""
    assert source_ids.derive("dvcqg-json", b'{"MaHoSo": "X1"') == source_ids.derive("dvcqg-json", b'{"MaHoSo": "X1"')
    assert source_ids.derive("dvcqg-json", b'{"MaHoSo": "X1"') != source_ids.derive("dvcqg-json", b'{"MaHoSo": "X2"')
    assert source_ids.derive("edxml", b"<edXML><unclosed>").startswith("edxml-")
    assert source_ids.derive("something-else", b"x").startswith("raw-")


@given(st.binary(max_size=2000), st.sampled_from([*source_ids.FORMATS, "other"]))
def test_derive_never_raises(payload, fmt):
    """Any bytes in any format give an id (the SDK must never fail to store an event because of its id)."""
    assert source_ids.derive(fmt, payload)


def test_hostile_structures_fall_back_without_raising():
    """Deep nesting, DTDs and bad encodings end in the digest fallback."""
    deep = b"[" * 5000 + b"]" * 5000
    dtd = b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    for fmt, raw in (("dvcqg-json", deep), ("hub-json", deep), ("edxml", dtd), ("csv", "Đ".encode("utf-16"))):
        assert source_ids.derive(fmt, raw).startswith(f"{fmt}-")

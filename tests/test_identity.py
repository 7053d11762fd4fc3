"""Event identity pinned: the dedupe key and every form of the SDK's derived source ids, as literal hex.

The hub drops a publisher's re-send because it arrives with the same (source system, source event
id); the SDK derives that id when the publisher gives none. If either formula changes, every retry
after an upgrade looks new and the feeds get duplicates. So a change here must be deliberate: these
literals fail on any change of either formula, and a new formula needs a migration note (README,
"Ways in": keep the old ids readable for a dedupe window) and new literals.

Each expected id was computed outside the code under test, with hashlib over the key material the
docstring of :mod:`connectors.source_ids` describes (record type, fields joined by 0x1F, items by
0x1E, then ``sha256("key" 0x1F material)[:32]``; ``raw`` 0x1F canonical JSON or bytes when there is no
natural key; ``own`` 0x1F id for a publisher's own id that may not travel as a header).
"""

from __future__ import annotations

import pytest

from connectors.source_ids import derive
from hub.normalize.core import content_id, event_id

CASES = [
    pytest.param('dvcqg-json',
                 (b'{"MaHoSo":"000.23.734.H41-251112-0034","TrangThaiHoSo":"4","NgayCapNhat":"20251113090000",'
                  b'"NgayTiepNhan":"20251112083000"}'),
                 'dvcqg-json-32fd48c9d3d3f41e34ce3056d4c39492', id='dvcqg_own_time'),
    pytest.param('dvcqg-json',
                 (b'{"MaHoSo":"000.23.734.H41-251112-0034","TrangThaiHoSo":"2","NgayTiepNhan":"20251112083000"'
                  b',"NgayHenTra":"20251119170000"}'),
                 'dvcqg-json-1124af346f7f82c09793e7431f0d2d89', id='dvcqg_dates'),
    pytest.param('dvcqg-json',
                 (b'{"QuaTrinhXuLy":[{"MaHoSo":"H-1","TrangThai":"4","ThoiDiemXuLy":"20251113100000"},{"MaHoSo'
                  b'":"H-1","TrangThai":"9","ThoiDiemXuLy":"20251114100000"}]}'),
                 'dvcqg-json-12ed8eac5e6edfe8f4791f04a47fbd28', id='dvcqg_progress'),
    pytest.param('hub-json',
                 b'{"event_id":"ialy-000042","dossier_code":"H-1"}',
                 'ialy-000042', id='hub_json_own'),
    pytest.param('hub-json',
                 b'{"event_id":"c\xc3\xb3 d\xe1\xba\xa5u c\xc3\xa1ch","dossier_code":"H-1"}',
                 'hub-json-d523d2e9e8c661261b04051d927d6f31', id='hub_json_own_invalid'),
    pytest.param('hub-json',
                 (b'{"record_type":"dossier","dossier_code":"H-2","status":"4","event_time":"2025-11-13T09:00:'
                  b'00+07:00"}'),
                 'hub-json-c8a1720d6cfb3e58431ce1968ebc465b', id='hub_json_dossier'),
    pytest.param('hub-json',
                 (b'{"document_id":"D-1","from_organ_id":"000.23.734.H41","status_code":"03","status_time":"20'
                  b'25-11-13T09:00:00+07:00"}'),
                 'hub-json-7afd270d7e945f683d147061926e53ef', id='hub_json_status'),
    pytest.param('hub-json',
                 b'{"document_id":"D-2","subject":"x"}',
                 'hub-json-550def1086ad6619c803a2b1a418f708', id='hub_json_package'),
    pytest.param('edxml',
                 (b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader><Messag'
                  b'eStatus><ResponseFor><DocumentId>000.00.00.H41,2025/11/10,173/UBND</DocumentId></ResponseF'
                  b'or><From><OrganId>000.23.734.H41</OrganId></From><StatusCode>03</StatusCode><Timestamp>202'
                  b'5/11/13 09:00:00</Timestamp></MessageStatus></edXMLHeader></edXMLEnvelope></edXML>'),
                 'edxml-aab7732b98e0449de406da343efb70fb', id='edxml_status'),
    pytest.param('edxml',
                 (b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader><Messag'
                  b'eHeader><DocumentId>000.00.00.H41,2025/11/10,173/UBND</DocumentId></MessageHeader></edXMLH'
                  b'eader></edXMLEnvelope></edXML>'),
                 'edxml-0eacf45f44dd913e9ff77419fe470684', id='edxml_package'),
    pytest.param('csv',
                 b'M\xc3\xa3 s\xe1\xbb\xb1 ki\xe1\xbb\x87n,MaHoSo\nev-7,H-1\n',
                 'ev-7', id='csv_own_id'),
    pytest.param('csv',
                 b'MaHoSo;TrangThaiHoSo;NgayTiepNhan\nH-3;2;12/11/2025\nH-4;2;13/11/2025\n',
                 'csv-bdeb611cd3793a5aa44bed5de03ed83b', id='csv_dossier'),
    pytest.param('csv',
                 b'a,b\n1,2\n',
                 'csv-546bc29a78ee8f3a55777a59fc281f81', id='csv_cells'),
    pytest.param('dvcqg-json',
                 b'{ "b": 1,  "a": [2] }',
                 'dvcqg-json-5c95f2862e73c8c5272de8d013f0ce8c', id='json_without_key'),
    pytest.param('unknown',
                 b'\x00\xffnot json',
                 'raw-66e2bdeacbe57c84cf84299c562214a5', id='raw_bytes'),
]


@pytest.mark.parametrize(("fmt", "payload", "expected"), CASES)
def test_derived_source_ids_are_pinned(fmt, payload, expected):
    assert derive(fmt, payload) == expected


def test_the_dedupe_key_is_pinned():
    # sha256("onestop-ialy" 0x1F "dvcqg-json-0123456789abcdef0123456789abcdef")[:32]
    assert event_id("onestop-ialy", "dvcqg-json-0123456789abcdef0123456789abcdef") == "7bde40e54df4bc698cc9738988cb508b"


def test_the_content_id_leaves_pseudonyms_out_and_is_pinned():
    rec = {"commune_code": "23734", "dossier_code": "H-1", "status": "4", "applicant_pseudonym": "abc",
           "applicant_pseudonym_key_id": "k1"}
    # sha256 of the sorted, compact JSON of the record without its pseudonym fields, [:32]
    assert content_id(rec) == "e4df41d94faa35d72c45fdf6c550b910"
    assert content_id({**rec, "applicant_pseudonym": "other", "applicant_pseudonym_key_id": "k2"}) == content_id(rec)

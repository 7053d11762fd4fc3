"""File drop: CSV / JSON / XML files become ingest records once; bad files are rejected with reasons."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections import Counter

import orjson
import pytest
from conftest import ROOT, settings_env

from connectors import filedrop
from hub.contract import topics
from hub.testing import read_topic, wait_for

CSV = ("MaHoSo;MaTTHC;TenTTHC;TrangThaiHoSo;NgayTiepNhan;NgayHenTra;MaXa\n"
       "H52.23734-250801-0001;1.001193;Đăng ký khai sinh;2;20250801083000;20250805170000;23734\n"
       "H52.23728-250801-0002;1.000894;Đăng ký kết hôn;4;20250801090000;20250806170000;23728\n"
       "\n"
       "H52.23734-250801-0003;1.001193;Đăng ký khai sinh;10;20250801100000;20250805170000;23734\n")
JSON = orjson.dumps([{"MaHoSo": "H52.23722-250801-0009", "MaTTHC": "1.001193", "TrangThaiHoSo": "1",
                      "NgayTiepNhan": "20250801080000", "MaXa": "23722"},
                     {"MaHoSo": "H52.23722-250801-0010", "MaTTHC": "1.001193", "TrangThaiHoSo": "2",
                      "NgayTiepNhan": "20250801080500"}])
EDXML = ('<?xml version="1.0" encoding="UTF-8"?><edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
         '<edXMLEnvelope><edXMLHeader><MessageHeader><From><OrganId>000.00.00.H41</OrganId></From>'
         '<Subject>Về việc triển khai</Subject></MessageHeader></edXMLHeader></edXMLEnvelope></edXML>'
         ).encode()
EDOC = b'<EdXMLEnvelope xmlns="http://www.go.vn/eDoc"><MessageHeader/></EdXMLEnvelope>'


def _drop(folder) -> None:
    (folder / "ho-so.csv").write_text(CSV, encoding="utf-8")
    (folder / "dvcqg.json").write_bytes(JSON)
    (folder / "cong-van.xml").write_bytes(EDXML)
    (folder / "edoc.xml").write_bytes(EDOC)
    (folder / "cp1258.csv").write_bytes("MaHoSo,TenTTHC\nX1,Đăng\n".encode("cp1258"))
    (folder / "no-header.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (folder / "broken.xml").write_text("<edXML><unclosed>", encoding="utf-8")
    (folder / "other-root.xml").write_text('<root xmlns="urn:x"/>', encoding="utf-8")
    (folder / "bad.json").write_text("{not json", encoding="utf-8")
    (folder / "notes.txt").write_text("hello", encoding="utf-8")


def _import(s, folder, logs: list | None = None) -> dict:
    """Run `hub import`; returns its summary, and appends its log lines to ``logs``."""
    proc = subprocess.run([sys.executable, "-m", "hub", "import", str(folder), "--system", "drop-test"],
                          env=settings_env(s), cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stdout.decode()[-3000:] + proc.stderr.decode()[-3000:]
    lines = [orjson.loads(x) for x in proc.stdout.splitlines() if x.startswith(b"{")]
    if logs is not None:
        logs.extend(x for x in lines if "event" in x)
    return next(x for x in reversed(lines) if "summary" in x)["summary"]


def test_csv_rows_split_with_deterministic_ids():
    """Each CSV row becomes header + row with a content-derived event id and its commune column."""
    records = filedrop.csv_records(CSV.encode())
    assert [r.commune for r in records] == ["23734", "23728", "23734"]
    assert all(r.payload.decode().startswith("MaHoSo,MaTTHC,TenTTHC") for r in records)
    assert [r.source_event_id for r in records] == [r.source_event_id for r in filedrop.csv_records(CSV.encode())]
    assert len({r.source_event_id for r in records}) == 3


def test_target_sheet_rows_are_target_records():
    """A sheet whose header names an indicator code column (Mã chỉ tiêu) becomes target rows of its Mã xã."""
    sheet = ("\ufeffMã xã;Mã chỉ tiêu;Lũy kế thực hiện;Đến ngày\r\n23734;VON_DTPT;1.234.567.000;30/06/2025\r\n"
             "23728;VON_DTPT;2.000.000.000;30/06/2025\r\n")
    records = filedrop.csv_records(sheet.encode())
    assert [(r.kind, r.format, r.commune) for r in records] == [("target", "csv", "23734"), ("target", "csv", "23728")]
    # header + row re-written with ',' (and the BOM dropped), as dossier sheets are
    assert records[0].payload.decode().splitlines()[0] == "Mã xã,Mã chỉ tiêu,Lũy kế thực hiện,Đến ngày"


@pytest.mark.parametrize("raw,reason", [
    (b"", "malformed_csv"), (b"MaHoSo\n", "malformed_csv"), (b"a,b\n1,2\n", "malformed_csv"),
    ("MaHoSo\nĐ\n".encode("utf-16"), "bad_encoding"),
])
def test_csv_file_rejections(raw, reason):
    """Empty files, header-only files, unknown headers and non-UTF-8 bytes are refused with a reason."""
    with pytest.raises(filedrop.FileRejected) as err:
        filedrop.csv_records(raw)
    assert err.value.reason == reason


def test_xml_sniffs_namespace():
    """The root namespace picks the dialect; DTDs and unknown roots are refused."""
    assert filedrop.xml_records(EDXML)[0].format == "edxml"
    assert filedrop.xml_records(EDOC)[0].format == "edoc-go"
    with pytest.raises(filedrop.FileRejected, match="forbidden"):
        filedrop.xml_records(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    with pytest.raises(filedrop.FileRejected) as err:
        filedrop.xml_records(b"<x/>")
    assert err.value.reason == "unknown_document_root"


@pytest.mark.integration
def test_import_twice_publishes_each_event_once(make_settings, tmp_path):
    """Two runs over one folder (plus a re-dropped copy) publish each event once and sort files out."""
    s = make_settings()
    folder = tmp_path / "drop"
    folder.mkdir()
    _drop(folder)
    logs: list[dict] = []
    first = _import(s, folder, logs)
    assert first["files_done"] == 4 and first["events"] == 7
    assert first["files_rejected"] == 6
    assert first["rejected"] == {"cp1258.csv": "bad_encoding", "no-header.csv": "malformed_csv",
                                 "broken.xml": "malformed_xml", "other-root.xml": "unknown_document_root",
                                 "bad.json": "malformed_json", "notes.txt": "unknown_format"}
    assert sorted(p.name for p in (folder / "done").iterdir()) == ["cong-van.xml", "dvcqg.json", "edoc.xml",
                                                                   "ho-so.csv"]
    reason = (folder / "rejected" / "no-header.csv.reason.txt").read_text(encoding="utf-8")
    assert reason.startswith("malformed_csv: no known header")
    assert not [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]

    # Second run over the same folder: nothing left to do. A re-dropped copy is skipped by the ledger.
    second = _import(s, folder)
    assert second["events"] == 0 and second["files_done"] == 0
    shutil.copy(folder / "done" / "ho-so.csv", folder / "ho-so.csv")
    third = _import(s, folder)
    assert third["files_skipped"] == 1 and third["events"] == 0
    assert len(list((folder / "done").glob("ho-so*.csv"))) == 2

    dossiers = read_topic(s, s.topic(topics.INGEST_DOSSIER), expect=5, timeout_s=30)
    documents = read_topic(s, s.topic(topics.INGEST_DOCUMENT), expect=2, timeout_s=30)
    assert Counter(r.headers["hub.format"] for r in dossiers) == {"csv": 3, "dvcqg-json": 2}
    assert Counter(r.headers["hub.format"] for r in documents) == {"edxml": 1, "edoc-go": 1}
    ids = [r.headers["hub.source_event_id"] for r in dossiers + documents]
    assert len(ids) == len(set(ids)) == 7
    # Without a commune the key is the source system id: copies of an event always meet on one partition.
    assert {r.key for r in dossiers} == {b"23734", b"23728", b"23722", b"drop-test"}
    # Each file is one trace: import_file_done logs it and every record of that file carries it.
    trace_of = {x["file"]: x["trace_id"] for x in logs if x["event"] == "import_file_done"}
    assert len(set(trace_of.values())) == 4
    file_of = {"csv": "ho-so.csv", "dvcqg-json": "dvcqg.json", "edxml": "cong-van.xml", "edoc-go": "edoc.xml"}
    for r in dossiers + documents:
        assert r.headers["hub.trace_id"] == trace_of[file_of[r.headers["hub.format"]]]

    # Without the ledger a re-drop does publish again, but with identical event ids (the worker dedups).
    (folder / filedrop.LEDGER).unlink()
    shutil.copy(folder / "done" / "ho-so.csv", folder / "again.csv")
    assert _import(s, folder)["events"] == 3
    again = read_topic(s, s.topic(topics.INGEST_DOSSIER), expect=8, timeout_s=30)
    assert len(again) == 8
    assert {r.headers["hub.source_event_id"] for r in again} == {r.headers["hub.source_event_id"] for r in dossiers}


@pytest.mark.integration
def test_watch_picks_up_files_dropped_later(make_settings, tmp_path):
    """--watch mode imports a file dropped while it runs, once settled, under the caller's trace id."""
    s = make_settings()
    stop = threading.Event()
    drop = filedrop.FileDrop(tmp_path, "drop-watch", s, trace_id="caller-trace-7")
    worker = threading.Thread(target=drop.watch, kwargs={"interval_s": 0.3, "stop": stop}, daemon=True)
    worker.start()
    try:
        (tmp_path / "late.json").write_bytes(JSON)
        wait_for(lambda: (tmp_path / "done" / "late.json").exists(), timeout_s=30, what="late.json imported")
    finally:
        stop.set()
        worker.join(timeout=30)
        drop.close()
    records = read_topic(s, s.topic(topics.INGEST_DOSSIER), expect=2, timeout_s=30)
    assert [r.headers["hub.trace_id"] for r in records] == ["caller-trace-7"] * 2

"""Deterministic source event ids for events published without one. Pure: no I/O, never raises.

The hub deduplicates on (source system, source event id). A publisher that retries a send
without giving an id must get the *same* id for the same event, or the retry is a second
event. So the id comes from what identifies the event in its own vocabulary — its natural key
— and only where a payload has none, from its bytes:

* DVCQG dossier: ``MaHoSo``, ``TrangThaiHoSo`` and the record's own time: ``NgayCapNhat``, else
  every event date it carries (received, finished, returned, refused — a correction of one of
  them is a new event, not a retry); progress records (``QuaTrinhXuLy``): ``MaHoSo``,
  ``TrangThai``, ``ThoiDiemXuLy``;
* hub-json: the object's own ``event_id`` when it has one, else ``record_type``,
  ``dossier_code``, ``status`` and ``event_time`` or the event dates; documents: ``document_id``
  with ``from_organ_id``, ``status_code`` and ``status_time`` for status messages, else
  ``document_id`` plus a digest of the object;
* edXML / eDoc status notifications (``MessageStatus``): the document id (``ResponseFor``), the
  reporting organ (``From/OrganId``: two communes acknowledging one directive are two events),
  ``StatusCode`` and ``Timestamp``; packages: ``DocumentId`` plus a digest of the bytes;
* CSV: per row — an event-id column (kept as is for a one-row payload), else the dossier
  columns as for DVCQG (headers matched without case, diacritics or separators), else the
  row's cells by header;
* a batch (JSON array, ``{"data": [...]}``): the keys of its items, in order.

Anything else — no natural key, unparseable bytes — is a digest of the payload: of its canonical
JSON (sorted keys, no whitespace) when it is JSON, else of the raw bytes. The same payload
re-serialized with other whitespace or key order therefore keeps its id.

Ids look like ``<format>-<32 hex>`` (a single hub-json object's own ``event_id`` is kept as is when it
fits the ``hub.source_event_id`` rule: 1-200 printable ASCII characters without spaces).
The connector SDK (publisher and outbox), the file drop and the simulator all use :func:`derive`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from typing import Any

import orjson
from defusedxml.ElementTree import fromstring

from hub.contract.headers import valid_source_event_id as valid_header_id

FORMATS = ("dvcqg-json", "hub-json", "edxml", "edoc-go", "csv")
_SEP, _REC = "\x1f", "\x1e"

# DVCQG and hub-json: (dossier code, status, own time, event dates) field names.
_DVCQG = ("MaHoSo", "TrangThaiHoSo", "NgayCapNhat", ("NgayTiepNhan", "NgayKetThucXuLy", "NgayTra", "NgayTuChoi"))
_HUB_JSON = ("dossier_code", "status", "event_time", ("received_at", "finished_at", "returned_at", "refused_at"))
# CSV headers, folded (see fold): hub-json names, DVCQG names and the Vietnamese spellings.
_CSV_ID = {"eventid", "masukien"}
_CSV_CODE = {"dossiercode", "mahoso", "sohoso"}
_CSV_STATUS = {"status", "trangthai", "trangthaihoso"}
_CSV_TIME = {"eventtime", "ngaycapnhat", "thoidiemxuly"}
_CSV_DATES = {"receivedat", "ngaytiepnhan", "finishedat", "ngayketthucxuly", "returnedat", "ngaytra",
              "ngaytraketqua", "refusedat", "ngaytuchoi"}


def fold(name: str) -> str:
    """``Mã Hồ Sơ`` -> ``mahoso``: header names compared without case, diacritics or separators."""
    s = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in s if c.isalnum() and not unicodedata.combining(c)).lower()


def digest(material: str | bytes) -> str:
    data = material.encode() if isinstance(material, str) else material
    return hashlib.sha256(data).hexdigest()[:32]


def derive(format: str, payload: bytes) -> str:
    """The source event id of ``payload`` in dialect ``format`` (see the module docstring)."""
    tag = format if format in FORMATS else "raw"
    try:
        key = _natural_key(format, payload)
    except Exception:  # noqa: BLE001 - hostile bytes of any kind fall back to the content digest
        key = None
    if isinstance(key, _Own):
        # Kept as is only if it may travel as hub.source_event_id (the worker's ingest header rule);
        # otherwise a digest of it, so that a retry still gets the same id.
        return str(key) if valid_header_id(key) else f"{tag}-{digest('own' + _SEP + key)}"
    return f"{tag}-{digest('key' + _SEP + key if key is not None else b'raw' + _SEP.encode() + _content(payload))}"


class _Own(str):
    """A publisher's own id found in the payload (one hub-json object, one CSV row): used as is."""


def _content(payload: bytes) -> bytes:
    """Canonical JSON when the payload is JSON (key order and whitespace do not matter), else the bytes."""
    try:
        return orjson.dumps(orjson.loads(payload), option=orjson.OPT_SORT_KEYS)
    except Exception:  # noqa: BLE001 - not JSON: the bytes themselves
        return bytes(payload)


def _s(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _natural_key(format: str, payload: bytes) -> str | None:
    if format == "dvcqg-json":
        return _batch(_items(orjson.loads(payload)), _dvcqg)
    if format == "hub-json":
        items = _items(orjson.loads(payload))
        if len(items) == 1 and isinstance(items[0], dict) and _s(items[0].get("event_id")):
            return _Own(_s(items[0]["event_id"]))
        return _batch(items, _hub_json)
    if format in ("edxml", "edoc-go"):
        return _xml(payload)
    if format == "csv":
        return _csv(payload)
    return None


def _items(doc: Any) -> list:
    if isinstance(doc, dict):
        for wrapper in ("data", "HoSo", "events"):  # DVCQG exports and hub-json batches wrap the list
            if isinstance(doc.get(wrapper), list):
                return doc[wrapper]
        if isinstance(doc.get("QuaTrinhXuLy"), list):
            return [{"_progress": p} for p in doc["QuaTrinhXuLy"]]
        return [doc]
    return doc if isinstance(doc, list) else [doc]


def _batch(items: list, key_of) -> str | None:
    """Keys of every item joined in order; None as soon as one item has no natural key."""
    keys = []
    for item in items:
        key = key_of(item) if isinstance(item, dict) else None
        if key is None:
            return None
        keys.append(key)
    return _REC.join(keys) if keys else None


def _dossier(obj: dict, names: tuple, record_type: str) -> str | None:
    code_f, status_f, time_f, dates_f = names
    code, status = _s(obj.get(code_f)), _s(obj.get(status_f))
    if not code or not status:
        return None
    own_time = _s(obj.get(time_f))
    when = own_time or _SEP.join(f"{d}={_s(obj.get(d))}" for d in dates_f if _s(obj.get(d)))
    return _SEP.join((record_type, code, status, when)) if when else None


def _dvcqg(obj: dict) -> str | None:
    progress = obj.get("_progress")
    if isinstance(progress, dict):
        obj = progress
    if isinstance(progress, dict) or ("TrangThaiHoSo" not in obj and "ThoiDiemXuLy" in obj):
        return _dossier(obj, ("MaHoSo", "TrangThai", "ThoiDiemXuLy", ()), "PROGRESS")
    return _dossier(obj, _DVCQG, "DOSSIER")


def _hub_json(obj: dict) -> str | None:
    if _s(obj.get("event_id")):
        return _SEP.join(("ID", _s(obj["event_id"])))
    document = _s(obj.get("document_id"))
    if document:
        if _s(obj.get("status_code")):
            return _SEP.join(("STATUS", document, _s(obj.get("from_organ_id")), _s(obj.get("status_code")),
                              _s(obj.get("status_time") or obj.get("event_time"))))
        return _SEP.join(("PACKAGE", document, digest(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS))))
    return _dossier(obj, _HUB_JSON, _s(obj.get("record_type")).upper() or "DOSSIER")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(elem, name: str):
    return next((e for e in elem.iter() if _local(e.tag) == name), None)


def _text(elem, *path: str) -> str:
    for name in path:
        if elem is None:
            return ""
        elem = next((c for c in elem if _local(c.tag) == name), None)
    return _s(elem.text) if elem is not None else ""


def _xml(payload: bytes) -> str | None:
    root = fromstring(payload, forbid_dtd=True)
    status = _find(root, "MessageStatus")
    if status is not None:
        about = next((c for c in status if _local(c.tag) == "ResponseFor"), None)
        document = _text(about, "DocumentId") or _SEP.join(
            (_text(about, "OrganId"), _text(about, "Code"), _text(about, "PromulgationDate")))
        code = _text(status, "StatusCode")
        if not code or not document.strip(_SEP):
            return None
        return _SEP.join(("STATUS", document, _text(status, "From", "OrganId"), code, _text(status, "Timestamp")))
    header = _find(root, "MessageHeader")
    document = _text(header, "DocumentId")
    return _SEP.join(("PACKAGE", document, digest(payload))) if document else None


def _csv(payload: bytes) -> str | None:
    text = payload.decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if any(c.strip() for c in r)]
    if len(rows) < 2:
        return None
    header = [fold(c) for c in rows[0]]
    keys = [_csv_row(header, row) for row in rows[1:]]
    if len(keys) == 1 and keys[0].startswith("ID" + _SEP):
        return _Own(keys[0][len("ID" + _SEP):])
    return _REC.join(keys)


def _csv_row(header: list[str], row: list[str]) -> str:
    cells = {name: cell.strip() for name, cell in zip(header, row, strict=False) if name and cell.strip()}

    def first(names: set[str]) -> str:
        return next((cells[n] for n in header if n in names and n in cells), "")

    if first(_CSV_ID):
        return _SEP.join(("ID", first(_CSV_ID)))
    code, status = first(_CSV_CODE), first(_CSV_STATUS)
    when = first(_CSV_TIME) or _SEP.join(f"{n}={cells[n]}" for n in header if n in _CSV_DATES and n in cells)
    if code and status and when:
        return _SEP.join(("DOSSIER", code, status, when))
    return _SEP.join(("ROW", *(f"{n}={v}" for n, v in sorted(cells.items()))))

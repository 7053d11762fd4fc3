"""National public-service portal (DVCQG) sync payloads: dossiers and progress records.

What the hub reads, exactly:

* **Records.** An object with ``MaHoSo`` is one record. It is a progress record
  (``QuaTrinhXuLy``: ``ThoiDiemXuLy``, ``NguoiXuLy``, ``TrangThai`` …) when it has ``ThoiDiemXuLy``
  or ``NguoiXuLy`` and no ``MaTTHC``, else a dossier (``TrangThaiHoSo`` …). A payload is one
  record, an array of records, or a response wrapper around them.
* **Wrappers.** An object *without* ``MaHoSo`` holding exactly one of ``data``, ``HoSo`` or
  ``QuaTrinhXuLy`` (an object or an array) is a wrapper, whatever else it holds: the portal's and
  vendors' envelope keys (``total``, ``status``, ``message``, ``error_code``, ``page`` …) are
  ignored. Wrappers may nest (``{"data": {"HoSo": [...]}}``). Two wrapper keys in one object are
  ambiguous: ``malformed_json``. Items under ``QuaTrinhXuLy`` are progress records; an object
  with ``MaHoSo`` and ``QuaTrinhXuLy`` but no ``TrangThaiHoSo`` is the progress list of that
  dossier (items without their own ``MaHoSo``/``MaXa`` take the dossier's). That an item is a
  progress record is decided by where it sits, never by a payload key, so a caller cannot
  mark a dossier as progress.
* **Types.** Codes and texts are JSON strings or numbers; an object, array or boolean where one
  belongs (``{"MaHoSo": {"a": 1}}``) is ``invalid_value`` naming the field. ``TaiLieuNop``,
  ``DanhSachLePhi`` and ``DinhDanhCHS`` must be arrays when present.
* **Online payment** ``DuocThanhToanTrucTuyen``: ``1`` paid online, ``3`` not paid online (the
  national codes); ``0`` is read as not paid (vendors that send a 0/1 flag), JSON ``true`` /
  ``false`` as themselves; any other value is ``invalid_value`` — never a silent null.

Record ids: a record without an id of its own gets one from its content (see
:func:`hub.normalize.core.normalize`), never from its position in the batch.
"""

from __future__ import annotations

from typing import Any

from hub.errors import Rejected
from hub.normalize import budget, decode
from hub.normalize import fields as f
from hub.normalize.context import Context, Envelope
from hub.normalize.personal_data import scrub

FORMAT = "dvcqg-json"
KIND = "dossier"

_DATES = {"NgayTiepNhan": "received_at", "NgayHenTra": "due_at", "NgayKetThucXuLy": "finished_at",
          "NgayTra": "returned_at", "NgayTuChoi": "refused_at"}
_WRAPPERS = ("data", "HoSo", "QuaTrinhXuLy")
_PAID = {"1": True, "3": False, "0": False, "true": True, "false": False}


def _items(inner: Any, what: str) -> list[dict]:
    items = inner if isinstance(inner, list) else [inner]
    if not items or not all(isinstance(x, dict) for x in items):
        raise Rejected("malformed_json", f"{what} must be an object or a non-empty array of objects", stage="parse")
    return items


def objects(doc: Any) -> list[tuple[dict, bool]]:
    """(record object, is progress) pairs of a DVCQG payload, wrappers removed."""
    # Unwrap in a loop, not by recursion: JSON may nest wrappers ~1000 deep (RecursionError).
    while isinstance(doc, dict) and "MaHoSo" not in doc:
        found = [w for w in _WRAPPERS if isinstance(doc.get(w), list | dict)]
        if not found:
            return [(doc, _looks_like_progress(doc))]
        if len(found) > 1:
            raise Rejected("malformed_json", f"ambiguous wrapper: an object holds both {found[0]} and {found[1]}",
                           stage="parse")
        if found[0] == "QuaTrinhXuLy":
            return [(x, True) for x in _items(doc["QuaTrinhXuLy"], "QuaTrinhXuLy")]
        doc = doc[found[0]]
    if isinstance(doc, dict):
        if isinstance(doc.get("QuaTrinhXuLy"), list | dict) and "TrangThaiHoSo" not in doc:
            inherited = {k: doc[k] for k in ("MaHoSo", "MaXa") if k in doc}
            return [({**inherited, **x}, True) for x in _items(doc["QuaTrinhXuLy"], "QuaTrinhXuLy")]
        return [(doc, _looks_like_progress(doc))]
    if isinstance(doc, list) and doc and all(isinstance(x, dict) for x in doc):
        return [(x, _looks_like_progress(x)) for x in doc]
    raise Rejected("malformed_json", "expected a JSON object, a non-empty array of objects or a wrapper "
                   "(data / HoSo / QuaTrinhXuLy)", stage="parse")


def _looks_like_progress(obj: dict) -> bool:
    return ("ThoiDiemXuLy" in obj or "NguoiXuLy" in obj) and "MaTTHC" not in obj


def _array(obj: dict, key: str) -> list | None:
    value = obj.get(key)
    if value is None or isinstance(value, list):
        return value
    raise Rejected("invalid_value", f"{key} must be an array", stage="map", field=key)


def _applicant_id(obj: dict) -> str | None:
    direct = f.scalar(obj.get("SoGiayToChuHoSo"), "SoGiayToChuHoSo")
    if direct:
        return direct
    ids = obj.get("DinhDanhCHS")
    if isinstance(ids, str | int):
        return f.scalar(ids, "DinhDanhCHS")
    for item in budget.each(_array(obj, "DinhDanhCHS") or [], "DinhDanhCHS"):
        if isinstance(item, dict):
            item = item.get("SoDinhDanh") or item.get("MaDinhDanh") or item.get("SoGiayTo")
        if value := f.scalar(item, "DinhDanhCHS"):
            return value
    return None


def _paid_online(obj: dict) -> bool | None:
    raw = f.scalar(obj.get("DuocThanhToanTrucTuyen"), "DuocThanhToanTrucTuyen", booleans=True)
    if raw is None:
        return None
    if (paid := _PAID.get(raw.lower())) is None:
        raise Rejected("invalid_value", "DuocThanhToanTrucTuyen is not one of the codes 1 (paid online), "
                       "3 (not paid online) or 0", stage="map", field="DuocThanhToanTrucTuyen")
    return paid


def _dossier(obj: dict, ctx: Context) -> dict:
    rec: dict[str, Any] = {"record_type": "DOSSIER"}
    rec["dossier_code"] = f.required(rec, "MaHoSo", obj.get("MaHoSo"))
    rec["procedure_code"] = f.scalar(obj.get("MaTTHC"), "MaTTHC")
    rec["procedure_name"] = scrub(f.scalar(obj.get("TenTTHC"), "TenTTHC"))
    rec["field_code"] = f.scalar(obj.get("MaLinhVuc"), "MaLinhVuc")
    rec["channel"] = f.code(obj.get("KenhThucHien"), "KenhThucHien", f.CHANNEL)
    rec["service_level"] = f.integer(obj.get("MucDo"), "MucDo", 1, 4)
    rec["applicant_type"] = f.code(obj.get("LoaiDoiTuong"), "LoaiDoiTuong", f.APPLICANT_TYPE)
    rec.update(ctx.applicant(_applicant_id(obj)))
    if f.scalar(obj.get("TrangThaiHoSo"), "TrangThaiHoSo") is None:
        raise Rejected("missing_field", "TrangThaiHoSo is required", field="TrangThaiHoSo")
    rec["status"] = f.code(obj.get("TrangThaiHoSo"), "TrangThaiHoSo", f.DOSSIER_STATUS, reason="unknown_status")
    for src, dst in _DATES.items():
        rec[dst] = f.timestamp_ms(obj.get(src), src)
    rec["handling_unit"] = scrub(f.scalar(obj.get("DonViXuLy"), "DonViXuLy"))
    docs = _array(obj, "TaiLieuNop")
    digitized = None
    if docs is not None:
        digitized = sum(1 for d in budget.each(docs, "TaiLieuNop")
                        if isinstance(d, dict) and f.flag(d.get("DuocSoHoa"), "TaiLieuNop/DuocSoHoa"))
    rec["digitized_document_count"] = digitized
    flag = f.flag(obj.get("HoSoCoThanhPhanSoHoa"), "HoSoCoThanhPhanSoHoa")
    rec["has_digitized_components"] = bool(flag or digitized) if (flag is not None or digitized is not None) \
        else None
    rec["paid_online"] = _paid_online(obj)
    fees = _array(obj, "DanhSachLePhi")
    rec["fee_bearing"] = bool(fees) if fees is not None else None
    rec["commune_code"] = f.scalar(obj.get("MaXa"), "MaXa")
    times = [rec[k] for k in ("received_at", "finished_at", "returned_at", "refused_at")
             if rec[k] is not None]
    updated = f.timestamp_ms(obj.get("NgayCapNhat"), "NgayCapNhat")
    rec["event_time"] = updated or (max(times) if times else None)
    return rec


def _progress(obj: dict, ctx: Context) -> dict:
    rec: dict[str, Any] = {"record_type": "PROGRESS"}
    rec["dossier_code"] = f.required(rec, "MaHoSo", obj.get("MaHoSo"))
    if f.scalar(obj.get("TrangThai"), "TrangThai") is None:
        raise Rejected("missing_field", "TrangThai is required in QuaTrinhXuLy", field="TrangThai")
    rec["status"] = f.code(obj.get("TrangThai"), "TrangThai", f.DOSSIER_STATUS, reason="unknown_status")
    rec.update(ctx.handler(f.scalar(obj.get("NguoiXuLy"), "NguoiXuLy")))
    rec["handler_role"] = scrub(f.scalar(obj.get("ChucDanh"), "ChucDanh"))
    rec["handling_unit"] = scrub(f.scalar(obj.get("PhongBanXuLy"), "PhongBanXuLy"))
    rec["event_time"] = f.timestamp_ms(obj.get("ThoiDiemXuLy"), "ThoiDiemXuLy")
    rec["commune_code"] = f.scalar(obj.get("MaXa"), "MaXa")
    return rec


def parse(raw: bytes, env: Envelope, ctx: Context) -> list[dict]:
    return budget.map_items(objects(decode.json_document(raw)),
                            lambda item: _progress(item[0], ctx) if item[1] else _dossier(item[0], ctx), "record")

"""National public-service portal (DVCQG) sync payloads: dossiers and progress records.

A payload is one JSON object, an array of them, or an object wrapping them under ``data``
or ``HoSo``. An object with ``ThoiDiemXuLy``/``NguoiXuLy`` and no ``MaTTHC`` is a progress
record (``QuaTrinhXuLy``), or a list of them under that key.
"""

from __future__ import annotations

from typing import Any

import orjson

from hub.errors import Rejected
from hub.normalize import fields as f
from hub.normalize.context import Context, Envelope

FORMAT = "dvcqg-json"
KIND = "dossier"

_DATES = {"NgayTiepNhan": "received_at", "NgayHenTra": "due_at", "NgayKetThucXuLy": "finished_at",
          "NgayTra": "returned_at", "NgayTuChoi": "refused_at"}


def load_json(raw: bytes) -> Any:
    """JSON from UTF-8 bytes (a BOM is allowed); errors are reason codes."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("bad_encoding", f"payload is not UTF-8 (byte {exc.start})", stage="parse") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Rejected("malformed_json", f"payload is not valid JSON: {str(exc)[:120]}",
                       stage="parse") from None


def _objects(doc: Any) -> list[dict]:
    # Unwrap in a loop, not by recursion: JSON may nest wrappers ~1000 deep (RecursionError).
    while isinstance(doc, dict):
        for wrapper in ("data", "HoSo", "QuaTrinhXuLy"):
            inner = doc.get(wrapper)
            if isinstance(inner, list | dict) and len(doc) <= 2:
                if wrapper == "QuaTrinhXuLy":
                    return _progress_list(inner)
                doc = inner
                break
        else:
            return [doc]
    if isinstance(doc, list) and doc and all(isinstance(x, dict) for x in doc):
        return doc
    raise Rejected("malformed_json", "expected a JSON object or a non-empty array of objects", stage="parse")


def _progress_list(inner: Any) -> list[dict]:
    items = inner if isinstance(inner, list) else [inner]
    if not items or not all(isinstance(x, dict) for x in items):
        raise Rejected("malformed_json", "QuaTrinhXuLy must be an object or array of objects", stage="parse")
    return [{**x, "_progress": True} for x in items]


def _is_progress(obj: dict) -> bool:
    return obj.get("_progress") or (("ThoiDiemXuLy" in obj or "NguoiXuLy" in obj) and "MaTTHC" not in obj)


def _applicant_id(obj: dict) -> str | None:
    direct = f.text(obj.get("SoGiayToChuHoSo"))
    if direct:
        return direct
    ids = obj.get("DinhDanhCHS")
    if isinstance(ids, list):
        for item in ids:
            if isinstance(item, dict):
                item = item.get("SoDinhDanh") or item.get("MaDinhDanh") or item.get("SoGiayTo")
            if f.text(item):
                return f.text(item)
    return f.text(ids) if isinstance(ids, str) else None


def _dossier(obj: dict, ctx: Context) -> dict:
    rec: dict[str, Any] = {"record_type": "DOSSIER"}
    rec["dossier_code"] = f.required(rec, "MaHoSo", obj.get("MaHoSo"))
    rec["procedure_code"] = f.text(obj.get("MaTTHC"))
    rec["procedure_name"] = f.text(obj.get("TenTTHC"))
    rec["field_code"] = f.text(obj.get("MaLinhVuc"))
    rec["channel"] = f.code(obj.get("KenhThucHien"), "KenhThucHien", f.CHANNEL)
    rec["service_level"] = f.integer(obj.get("MucDo"), "MucDo", 1, 4)
    rec["applicant_type"] = f.code(obj.get("LoaiDoiTuong"), "LoaiDoiTuong", f.APPLICANT_TYPE)
    rec["applicant_pseudonym"] = ctx.pseudonym(_applicant_id(obj))
    status = obj.get("TrangThaiHoSo")
    if f.text(status) is None:
        raise Rejected("missing_field", "TrangThaiHoSo is required", field="TrangThaiHoSo")
    rec["status"] = f.code(status, "TrangThaiHoSo", f.DOSSIER_STATUS, reason="unknown_status")
    for src, dst in _DATES.items():
        rec[dst] = f.timestamp_ms(obj.get(src), src)
    rec["handling_unit"] = f.text(obj.get("DonViXuLy"))
    docs = obj.get("TaiLieuNop")
    digitized = None
    if isinstance(docs, list):
        digitized = sum(1 for d in docs if isinstance(d, dict) and f.flag(d.get("DuocSoHoa")))
    rec["digitized_document_count"] = digitized
    flag = f.flag(obj.get("HoSoCoThanhPhanSoHoa"))
    rec["has_digitized_components"] = bool(flag or digitized) if (flag is not None or digitized is not None) \
        else None
    paid = f.text(obj.get("DuocThanhToanTrucTuyen"))
    rec["paid_online"] = {"1": True, "3": False}.get(paid or "")
    fees = obj.get("DanhSachLePhi")
    rec["fee_bearing"] = bool(fees) if isinstance(fees, list) else None
    rec["commune_code"] = f.text(obj.get("MaXa"))
    times = [rec[k] for k in ("received_at", "finished_at", "returned_at", "refused_at")
             if rec[k] is not None]
    updated = f.timestamp_ms(obj.get("NgayCapNhat"), "NgayCapNhat")
    rec["event_time"] = updated or (max(times) if times else None)
    return rec


def _progress(obj: dict, ctx: Context) -> dict:
    rec: dict[str, Any] = {"record_type": "PROGRESS"}
    rec["dossier_code"] = f.required(rec, "MaHoSo", obj.get("MaHoSo"))
    status = obj.get("TrangThai")
    if f.text(status) is None:
        raise Rejected("missing_field", "TrangThai is required in QuaTrinhXuLy", field="TrangThai")
    rec["status"] = f.code(status, "TrangThai", f.DOSSIER_STATUS, reason="unknown_status")
    rec["handler_pseudonym"] = ctx.pseudonym(f.text(obj.get("NguoiXuLy")))
    rec["handler_role"] = f.text(obj.get("ChucDanh"))
    rec["handling_unit"] = f.text(obj.get("PhongBanXuLy"))
    rec["event_time"] = f.timestamp_ms(obj.get("ThoiDiemXuLy"), "ThoiDiemXuLy")
    rec["commune_code"] = f.text(obj.get("MaXa"))
    return rec


def parse(raw: bytes, env: Envelope, ctx: Context) -> list[dict]:
    out = []
    for obj in _objects(load_json(raw)):
        out.append(_progress(obj, ctx) if _is_progress(obj) else _dossier(obj, ctx))
    return out

"""CSV file drops: a header row and one event per row — dossiers, or targets and progress reports.

Accepted as one-stop systems and spreadsheets export them: UTF-8 with or without a BOM, Excel
quoting (quoted fields with commas, doubled quotes, line breaks), ``;``, ``,`` or tab as
delimiter (whichever the header line uses most). Headers may be Vietnamese (``Mã hồ sơ``,
``Trạng thái``, ``Ngày tiếp nhận`` …), DVCQG names (``MaHoSo`` …) or the English hub-json names
(``dossier_code`` …), matched case-, diacritics- and punctuation-insensitively; unrecognised
columns are ignored (they are often personal). Dates are usually ``dd/MM/yyyy HH:mm`` (Vietnam
time). A row's ``source_event_id`` comes from an event-id column when there is one; otherwise the
core derives it from the row's content, so a re-sent file deduplicates and so does a row re-sent
in another file or another order.

Target rows (kind ``target``: one indicator per row, as communes fill in their report sheets) use
the headers of :data:`hub.normalize.targets.CSV_ALIASES` (``Mã chỉ tiêu``, ``Lũy kế thực hiện``,
``Đến ngày`` …) and its rule for amounts written the Vietnamese or the English way.
"""

from __future__ import annotations

import csv
import io

from hub.errors import Rejected
from hub.normalize import budget, canonical, decode, targets
from hub.normalize.context import Context, Envelope
from hub.normalize.fields import fold

FORMAT = "csv"
KIND = ("dossier", "target")

# hub-json key -> header spellings (folded with fields.fold, so case and diacritics do not matter)
_ALIASES: dict[str, list[str]] = {
    "event_id": ["event_id", "Mã sự kiện", "MaSuKien"],
    "record_type": ["record_type", "Loại bản ghi"],
    "commune_code": ["commune_code", "Mã xã", "MaXa", "Mã đơn vị hành chính"],
    "dossier_code": ["dossier_code", "Mã hồ sơ", "MaHoSo", "Số hồ sơ"],
    "procedure_code": ["procedure_code", "Mã TTHC", "MaTTHC", "Mã thủ tục"],
    "procedure_name": ["procedure_name", "Tên TTHC", "TenTTHC", "Tên thủ tục"],
    "field_code": ["field_code", "Mã lĩnh vực", "MaLinhVuc"],
    "channel": ["channel", "Kênh thực hiện", "KenhThucHien", "Kênh nộp"],
    "service_level": ["service_level", "Mức độ", "MucDo"],
    "applicant_type": ["applicant_type", "Loại đối tượng", "LoaiDoiTuong"],
    "applicant_id": ["applicant_id", "Số giấy tờ chủ hồ sơ", "SoGiayToChuHoSo", "Số CCCD", "Số định danh",
                     "DinhDanhCHS"],
    "status": ["status", "Trạng thái", "Trạng thái hồ sơ", "TrangThaiHoSo", "TrangThai"],
    "received_at": ["received_at", "Ngày tiếp nhận", "NgayTiepNhan"],
    "due_at": ["due_at", "Ngày hẹn trả", "NgayHenTra"],
    "finished_at": ["finished_at", "Ngày kết thúc xử lý", "NgayKetThucXuLy"],
    "returned_at": ["returned_at", "Ngày trả", "Ngày trả kết quả", "NgayTra"],
    "refused_at": ["refused_at", "Ngày từ chối", "NgayTuChoi"],
    "handling_unit": ["handling_unit", "Đơn vị xử lý", "DonViXuLy", "Phòng ban xử lý", "PhongBanXuLy"],
    "handler_id": ["handler_id", "Người xử lý", "NguoiXuLy", "Cán bộ xử lý"],
    "handler_role": ["handler_role", "Chức danh", "ChucDanh"],
    "paid_online": ["paid_online", "Thanh toán trực tuyến", "DuocThanhToanTrucTuyen"],
    "fee_bearing": ["fee_bearing", "Có lệ phí", "Có phí, lệ phí"],
    "has_digitized_components": ["has_digitized_components", "Có thành phần số hóa", "HoSoCoThanhPhanSoHoa"],
    "digitized_document_count": ["digitized_document_count", "Số tài liệu số hóa"],
    "event_time": ["event_time", "Ngày cập nhật", "NgayCapNhat", "Thời điểm xử lý", "ThoiDiemXuLy"],
}
_DELIMITERS = (",", ";", "\t")


def _folded(aliases: dict[str, list[str]]) -> dict[str, str]:
    return {fold(alias): key for key, spellings in aliases.items() for alias in spellings}


# kind -> (folded header -> hub-json key, the column that must be there, how people spell it)
_HEADERS = {
    "dossier": (_folded(_ALIASES), "dossier_code", "a dossier code column (Mã hồ sơ, MaHoSo or dossier_code)"),
    "target": (_folded(targets.CSV_ALIASES), "indicator_code",
               "an indicator code column (Mã chỉ tiêu or indicator_code)"),
}


def kind_of_header(cells: list[str]) -> str | None:
    """``dossier`` or ``target`` by the header row's recognised columns (None: neither)."""
    for kind, (by_folded, required, _what) in _HEADERS.items():
        if any(by_folded.get(fold(c)) == required for c in cells):
            return kind
    return None


def _delimiter(text: str) -> str:
    # csv.Sniffer guesses from regexes over the whole sample and can be slow on hostile input;
    # the header line of an export is plain enough to count.
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def rows(raw: bytes, kind: str = "dossier") -> list[dict[str, str]]:
    """Rows of a ``kind`` CSV as ``{hub-json key: cell}``; blank rows are skipped."""
    text = decode.utf8_text(raw, "CSV")
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True))
    except csv.Error as exc:
        raise Rejected("malformed_csv", f"CSV cannot be read: {str(exc)[:120]}", stage="parse") from None
    if not table:
        raise Rejected("malformed_csv", "the CSV is empty", stage="parse")
    by_folded, required, what = _HEADERS[kind]
    header = [by_folded.get(fold(h)) for h in budget.each(table[0], "header cells")]
    if required not in header:
        raise Rejected("malformed_csv", f"no recognised header: {what} is required", stage="parse")
    out = []
    for cells in budget.each(table[1:], "rows"):
        if not any(c.strip() for c in cells):
            continue
        row: dict[str, str] = {}
        for key, cell in zip(header, cells, strict=False):
            if key is not None and cell.strip() and key not in row:
                row[key] = cell
        out.append(row)
    if not out:
        raise Rejected("missing_field", "the CSV has a header but no rows", stage="map")
    return out


def parse(raw: bytes, env: Envelope, ctx: Context) -> list[dict]:
    # row 1 is the header, as a spreadsheet shows it
    if env.kind == "target":
        return budget.map_items(rows(raw, "target"), lambda row: targets.target(row, ctx), "row", first=2,
                                name_single=True)
    return budget.map_items(rows(raw), lambda row: canonical.dossier(row, ctx), "row", first=2, name_single=True)

"""Realistic DVCQG sync payloads for pipeline tests (Vietnamese names, UTC+7 dates)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson

from hub.normalize.fields import VIETNAM

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ksor", "Rơ Châm", "Siu"]
GIVEN = ["Văn An", "Thị Bích", "Minh Đức", "Thị Hường", "Quốc Khánh", "H'Nhi", "Thị Ngọc Ánh", "Đình Phúc"]
PROCEDURES = [("1.001193", "Đăng ký khai sinh"), ("1.000894", "Đăng ký kết hôn"),
              ("1.004227", "Chứng thực bản sao từ bản chính"), ("2.000986", "Đăng ký thường trú")]


def vn(dt: datetime) -> str:
    return dt.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def dossier(i: int, *, rng: random.Random | None = None, base: datetime | None = None) -> dict:
    """One DVCQG dossier payload; ``i`` makes the dossier code unique."""
    rng = rng or random.Random(i)
    base = base or datetime(2025, 11, 20, 1, 0, tzinfo=UTC)
    received = base + timedelta(minutes=i)
    code, name = PROCEDURES[i % len(PROCEDURES)]
    status = rng.choice([1, 2, 4, 5, 9, 10])
    p = {
        "MaHoSo": f"G52.23734-251120-{i:06d}",
        "MaTTHC": code, "TenTTHC": name, "MaLinhVuc": "HT",
        "KenhThucHien": str(rng.choice([1, 2, 3])), "MucDo": rng.choice([2, 3, 4]),
        "ChuHoSo": f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
        "SoGiayToChuHoSo": f"052{rng.randrange(10**9):09d}",
        "LoaiDoiTuong": "1", "SoDienThoai": f"09{rng.randrange(10**8):08d}",
        "Email": f"nguoidan{i}@example.vn", "TrichYeuHoSo": "Đề nghị cấp giấy tờ cho con",
        "NgayTiepNhan": vn(received), "NgayHenTra": vn(received + timedelta(days=3)),
        "TrangThaiHoSo": str(status), "DonViXuLy": "Bộ phận Một cửa xã Ia Ly",
        "DuocThanhToanTrucTuyen": rng.choice(["1", "3"]),
        "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "MucPhi": 8000}],
        "TaiLieuNop": [{"TenTepDinhKem": "to-khai.pdf", "DuocSoHoa": "1"}],
    }
    if status in (9, 10):
        p["NgayKetThucXuLy"] = vn(received + timedelta(days=2))
    if status == 10:
        p["NgayTra"] = vn(received + timedelta(days=2, hours=3))
    return p


def encode(p: dict) -> bytes:
    return orjson.dumps(p)


MALFORMED: list[tuple[bytes, str]] = [
    (b"{not json", "malformed_json"),
    (b"\xff\xfe\x00garbage", "bad_encoding"),
    (b"[]", "malformed_json"),
    (orjson.dumps({"MaTTHC": "1.001193", "TrangThaiHoSo": "2"}), "missing_field"),
    (orjson.dumps({"MaHoSo": "X1", "TrangThaiHoSo": "42"}), "unknown_status"),
    (orjson.dumps({"MaHoSo": "X2", "TrangThaiHoSo": "2", "NgayTiepNhan": "2025-13-45"}), "bad_date"),
    (orjson.dumps({"MaHoSo": "X3", "TrangThaiHoSo": "2", "NgayTiepNhan": "20251120080000",
                   "NgayHenTra": "20251110080000"}), "due_before_received"),
    (orjson.dumps({"MaHoSo": "X4", "TrangThaiHoSo": "2", "MaXa": "00004"}), "commune_not_in_province"),
    (orjson.dumps({"MaHoSo": "X5", "TrangThaiHoSo": "2", "MaXa": "99999"}), "unknown_commune"),
    (orjson.dumps({"MaHoSo": "X6", "TrangThaiHoSo": "2", "MaXa": "23728"}), "commune_not_in_scope"),
]

STATUS_NAMES = {
    "1": "NEWLY_REGISTERED", "2": "ACCEPTED", "3": "NOT_ACCEPTED", "4": "PROCESSING", "5": "SUPPLEMENT_REQUESTED",
    "6": "FINANCIAL_OBLIGATION_REQUESTED", "7": "WITHDRAWN", "8": "STOPPED", "9": "PROCESSING_FINISHED",
    "10": "RESULT_RETURNED",
}

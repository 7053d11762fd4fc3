"""The words and codes of the province simulator (connectors.scenarios): organization ids, procedures,
names, document types and subjects, status texts, the kinds of bad data it sends.

Organization ids (OrganId) of simulated bodies follow one documented scheme, so that the worker's
organization directory (filled from ``hub systems add --organ-id``) maps them:

* the province People's Committee: ``000.00.00.<P>``;
* a commune's People's Committee: ``000.<first 2 digits>.<last 3 digits>.<P>`` of its 5-digit
  commune code, e.g. Ia Ly 23734 -> ``000.23.734.H41``;

where ``<P>`` is ``H41`` for Gia Lai (52) and ``H<province code>`` elsewhere.
"""

from __future__ import annotations

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
EDOC_NS = "http://www.go.vn/eDoc"


def organ_suffix(province: str) -> str:
    return "H41" if province == "52" else f"H{province}"


def province_organ(province: str) -> str:
    return f"000.00.00.{organ_suffix(province)}"


def commune_organ(code: str, province: str) -> str:
    return f"000.{code[:2]}.{code[2:]}.{organ_suffix(province)}"


# (MaTTHC, TenTTHC, MaLinhVuc, days allowed, fee VND, service level)
PROCEDURES = [
    ("1.001193", "Đăng ký khai sinh", "HOTICH", 1, 0, 4),
    ("1.000894", "Đăng ký kết hôn", "HOTICH", 3, 0, 3),
    ("1.001022", "Đăng ký khai tử", "HOTICH", 1, 0, 4),
    ("1.004873", "Cấp bản sao trích lục hộ tịch", "HOTICH", 1, 8000, 4),
    ("1.003583", "Xác nhận tình trạng hôn nhân", "HOTICH", 3, 0, 3),
    ("2.000908", "Chứng thực bản sao từ bản chính", "CHUNGTHUC", 1, 2000, 2),
    ("2.000884", "Chứng thực chữ ký trong giấy tờ, văn bản", "CHUNGTHUC", 1, 10000, 2),
    ("1.001612", "Đăng ký thành lập hộ kinh doanh", "KINHDOANH", 3, 100000, 4),
    ("1.003596", "Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội", "BAOTROXAHOI", 7, 0, 3),
    ("1.010727", "Đăng ký đất đai, tài sản gắn liền với đất lần đầu", "DATDAI", 20, 0, 3),
]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Rơ Mah", "Siu", "Ksor", "Kpă", "Rơ Châm", "Nay", "Đinh"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Thanh", "Đức", "Ngọc", ""]
GIVEN = ["An", "Bình", "Hạnh", "Hương", "Dũng", "Tuấn", "Lan", "H'Bia", "Blơng", "Hiếu", "Thảo", "Phúc",
         "Yến",
         "Khoa", "Nhung", "H'Nga"]
DOC_TYPES = [("1", "Công văn"), ("2", "Quyết định"), ("3", "Kế hoạch"), ("4", "Báo cáo"), ("5", "Thông báo")]
DIRECTIVE_SUBJECTS = ["Về việc đẩy mạnh giải quyết hồ sơ thủ tục hành chính trực tuyến",
                      "Về việc đẩy nhanh tiến độ giải ngân vốn đầu tư công năm 2025",
                      "Về việc triển khai Chương trình mục tiêu quốc gia giảm nghèo bền vững",
                      "Về việc phòng, chống thiên tai mùa mưa bão",
                      "Về việc số hóa hồ sơ, kết quả giải quyết TTHC"]
REPORT_SUBJECTS = ["Báo cáo kết quả giải quyết thủ tục hành chính tháng", "Báo cáo tình hình giải ngân vốn",
                   "Báo cáo công tác chuyển đổi số", "Tờ trình đề nghị bổ sung kinh phí"]
STATUS_TEXT = {"01": "Đã đến", "03": "Đã tiếp nhận", "04": "Đã phân công xử lý", "05": "Đang xử lý",
               "06": "Đã hoàn thành"}
BAD_TYPES = ("unknown_status", "malformed_json", "due_before_received", "unknown_commune", "malformed_xml")

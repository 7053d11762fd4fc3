"""The dashboard's CSV and Excel downloads on a real broker, worker and gateway: each file opens (csv module,
openpyxl), its numbers equal the read API's JSON for the same period field by field and the reference
datasets' hand-computed values; a commune account downloads the ranking and its own commune only; no session
is sent to the login form as the pages are."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator

import httpx
import openpyxl
import pytest

from hub.admin import users
from hub.dashboard import export
from tests.analytics import target_datasets as d
from tests.analytics.datasets import COMMUNE, DIRECTIVE_ID, RECIPIENTS
from tests.gateway import read_scenario, targets_scenario
from tests.gateway.test_dashboard import post_login
from tests.gateway.test_users_login import _login as person_login

pytestmark = pytest.mark.integration

PASSWORD = "mat-khau-xuat-tep-1"
OTHER_COMMUNE = "23728"
VN_TIME = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")
# header -> the read API's field, written out here rather than taken from the module under test
RANKING_NUMBERS = {
    "Hồ sơ trong phạm vi đánh giá": "in_scope", "Hồ sơ đúng hạn": "on_time", "Hồ sơ trễ hạn": "late",
    "Tỷ lệ đúng hạn": "timeliness", "Đã giải quyết": "finished", "Giải quyết đúng hạn": "finished_on_time",
    "Giải quyết quá hạn": "finished_late", "Đang giải quyết": "open",
    "Đang giải quyết trong hạn": "in_progress_in_time",
    "Quá hạn chưa giải quyết": "overdue_open", "Hồ sơ tiếp nhận": "received", "Tiếp nhận trực tuyến": "received_online",
    "Tỷ lệ trực tuyến": "online_rate", "Trực tuyến toàn trình": "fully_online", "Tỷ lệ toàn trình": "fully_online_rate",
    "Hồ sơ có phí": "fee_bearing", "Thanh toán trực tuyến": "paid_online",
    "Tỷ lệ thanh toán trực tuyến": "online_payment_rate", "Hồ sơ số hóa": "digitized",
    "Tỷ lệ số hóa": "digitization_rate", "Điểm 766": "score_766", "Điểm 766 tối đa đo được": "score_766_measured_max",
}
RANKING_RATES = ("Tỷ lệ đúng hạn", "Tỷ lệ trực tuyến", "Tỷ lệ toàn trình", "Tỷ lệ thanh toán trực tuyến",
                 "Tỷ lệ số hóa")
TARGET_NUMBERS = {"Kế hoạch": "target_value", "Thực hiện": "actual_value", "Tỷ lệ hoàn thành": "completion_rate",
                  "Phải đạt theo tiến độ": "expected_share", "Giá trị phải đạt": "expected_value",
                  "Chênh lệch so với tiến độ": "gap", "Giá trị còn thiếu": "gap_value",
                  "Số ngày chưa báo cáo": "days_since_report"}
STATUS_WORDS = {"behind": "Chậm tiến độ", "no_report": "Chưa báo cáo", "on_track": "Đúng tiến độ",
                "done": "Hoàn thành", "unassigned": "Chưa giao chỉ tiêu"}


@pytest.fixture(scope="module")
def scenario(kafka_bootstrap, tmp_path_factory):
    """The KPI and directive reference datasets (HUB_CLOCK 2025-12-10 12:00 Vietnam time), with a commune account."""
    with read_scenario.province(kafka_bootstrap, tmp_path_factory.mktemp("export")) as sc:
        users.add(sc.settings, "xa.xuat", users.COMMUNE, COMMUNE, PASSWORD)
        yield sc


def _api(sc, path: str, **params) -> dict:
    answer = httpx.get(f"{sc.url}{path}", params=params, headers={"authorization": f"Bearer {sc.reader_key}"},
                       timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


@contextlib.contextmanager
def _reader(sc) -> Iterator[httpx.Client]:
    """A client holding a dashboard session of the scenario's reader."""
    with httpx.Client(base_url=sc.url, timeout=60, follow_redirects=False) as client:
        assert post_login(client, sc.reader_key).status_code == 303
        yield client


def _csv(answer: httpx.Response, name: str) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert answer.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads UTF-8
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))


def _xlsx(answer: httpx.Response, name: str, sheet: str) -> tuple[list[dict], dict[str, str]]:
    """The sheet's rows as header -> value, and each header's number format."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert answer.headers["content-disposition"] == f'attachment; filename="{name}"'
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == [sheet, "Thông tin"]
    rows = list(book[sheet].iter_rows())
    headers = [c.value for c in rows[0]]
    formats = {h: c.number_format for h, c in zip(headers, rows[1], strict=True)} if len(rows) > 1 else {}
    return [dict(zip(headers, (c.value for c in r), strict=True)) for r in rows[1:]], formats


def _excel(value: float | None) -> object:
    """What a cell holds for a JSON number: openpyxl writes 16 significant digits (Excel shows 15), so
    1.6849315068493151 reads back as 1.684931506849315."""
    return value if value is None else pytest.approx(value, rel=1e-15, abs=0)


def _number(text: str) -> float | None:
    return None if text == "" else float(text)


def test_a_publishers_text_never_becomes_a_formula():
    """A notation written as a formula stays text in both files (a leading apostrophe); numbers stay numbers."""
    columns = [("Số, ký hiệu", "code_notation", export.TEXT), ("Tỷ lệ", "rate", export.RATE)]
    rows = export.table(columns, [{"code_notation": '=HYPERLINK("http://x","y")', "rate": -0.25},
                                  {"code_notation": "456/CT-UBND", "rate": None}])
    assert rows == [['\'=HYPERLINK("http://x","y")', -0.25], ["456/CT-UBND", None]]
    sheet = openpyxl.load_workbook(io.BytesIO(export.xlsx_bytes("Thử", columns, rows, [("Nội dung", "thử")])))["Thử"]
    assert [(c.value, c.data_type) for c in sheet[2]] == [('\'=HYPERLINK("http://x","y")', "s"), (-0.25, "n")]
    assert sheet["B3"].value is None and sheet["B2"].number_format == "0.0%"
    text = export.csv_bytes(columns, rows).decode("utf-8-sig")
    assert text == '"Số, ký hiệu",Tỷ lệ\r\n"\'=HYPERLINK(""http://x"",""y"")",-0.25\r\n456/CT-UBND,\r\n'


def test_the_ranking_downloads_equal_the_read_api(scenario):
    """November 2025, every commune of Gia Lai in the read API's order; Ia Ly first with the reference's
    11 dossiers in scope, 6 on time (6/11), 9 received, 5 online; rates as percentages in Excel."""
    api = _api(scenario, "/v1/kpi/province", period="month", at="2025-11")["communes"]
    with _reader(scenario) as client:
        page = client.get("/dashboard?month=2025-11")
        assert 'href="/dashboard/export/ranking.xlsx?month=2025-11"' in page.text
        assert 'href="/dashboard/export/directives.csv"' in page.text
        rows = _csv(client.get("/dashboard/export/ranking.csv?month=2025-11"), "xep-hang-52-2025-11.csv")
        sheet, formats = _xlsx(client.get("/dashboard/export/ranking.xlsx", params={"month": "2025-11"}),
                               "xep-hang-52-2025-11.xlsx", "Xếp hạng")
    assert len(rows) == len(sheet) == len(api) > 100
    first = rows[0]
    assert (first["STT"], first["Mã xã"], first["Tên xã"], first["Kỳ"]) == ("1", COMMUNE, "Xã Ia Ly", "2025-11")
    assert (first["Hồ sơ trong phạm vi đánh giá"], first["Hồ sơ đúng hạn"], first["Hồ sơ tiếp nhận"],
            first["Tiếp nhận trực tuyến"]) == ("11", "6", "9", "5")
    assert float(first["Tỷ lệ đúng hạn"]) == 6 / 11 and sheet[0]["Tỷ lệ đúng hạn"] == 6 / 11
    assert first["Có số liệu"] == "Có" and rows[1]["Có số liệu"] == "Không" and rows[1]["Tỷ lệ đúng hạn"] == ""
    assert VN_TIME.match(first["Tính lúc"]) and VN_TIME.match(first["Số liệu đến"])
    for place, (text, cells, answer) in enumerate(zip(rows, sheet, api, strict=True), 1):
        assert (text["Mã xã"], cells["Mã xã"], cells["STT"]) == (answer["commune_code"],) * 2 + (place,)
        for header, field in RANKING_NUMBERS.items():
            assert _number(text[header]) == answer[field], (answer["commune_code"], header)
            assert cells[header] == _excel(answer[field]), (answer["commune_code"], header)
            assert cells[header] is None or isinstance(cells[header], int | float)
    assert {formats[h] for h in RANKING_RATES} == {"0.0%"} and formats["Hồ sơ đúng hạn"] == "#,##0"


def test_the_directive_downloads_equal_the_read_api(scenario):
    """One row per recipient of the reference directive: 23749 accepted at 04/09/2025 08:00 Vietnam time
    (01:00 UTC), 23767 never; Ia Ly's acceptance deadline 03/09/2025 15:00; four communes overdue."""
    api = _api(scenario, f"/v1/directives/{DIRECTIVE_ID}")
    by_api = {r["commune_code"]: r for r in api["recipients"]}
    with _reader(scenario) as client:
        rows = _csv(client.get("/dashboard/export/directives.csv"), "van-ban-chi-dao.csv")
        overdue = _csv(client.get("/dashboard/export/directives.csv?overdue=true"), "van-ban-chi-dao-qua-han.csv")
        sheet, _formats = _xlsx(client.get("/dashboard/export/directives.xlsx"), "van-ban-chi-dao.xlsx",
                                "Văn bản chỉ đạo")
    assert overdue == rows  # the only directive is overdue
    assert sorted(r["Mã xã"] for r in rows) == sorted(RECIPIENTS) and len(sheet) == len(RECIPIENTS)
    assert {r["Mã văn bản"] for r in rows} == {DIRECTIVE_ID} and {r["Số, ký hiệu"] for r in rows} == {"456/CT-UBND"}
    assert {r["Trích yếu"] for r in rows} == {c["Trích yếu"] for c in sheet} == {"Về việc đẩy mạnh số hóa hồ sơ"}
    by = {r["Mã xã"]: r for r in rows}
    assert by["23749"]["Tiếp nhận lúc"] == "04/09/2025 08:00" and by["23767"]["Tiếp nhận lúc"] == ""
    assert by["23734"]["Hạn tiếp nhận"] == "03/09/2025 15:00"
    assert [c for c in sorted(by) if by[c]["Quá hạn"] == "Có"] == ["23722", "23728", "23749", "23767"]
    assert [c for c in sorted(by) if by[c]["Đã tiếp nhận"] == "Không"] == ["23767"]
    for text, cells in zip(rows, sheet, strict=True):
        answer = by_api[text["Mã xã"]]
        assert cells["Mã xã"] == text["Mã xã"] and cells["Tiếp nhận lúc"] == (text["Tiếp nhận lúc"] or None)
        for header, field in (("Đã tiếp nhận", "acceptance_met"), ("Quá hạn tiếp nhận", "acceptance_overdue"),
                              ("Quá hạn hoàn thành", "completion_overdue"), ("Quá hạn", "overdue")):
            assert text[header] == cells[header] == ("Có" if answer[field] else "Không")
        assert text["Trạng thái cuối"] == (answer["last_status"] or "")


def test_a_commune_account_downloads_the_ranking_and_its_own_commune_only(scenario):
    """A commune account: the province ranking, its own directive row by default; another commune is 403."""
    with httpx.Client(base_url=scenario.url, timeout=60, follow_redirects=False) as client:
        assert person_login(client, "xa.xuat", PASSWORD).status_code == 303
        ranking = _csv(client.get("/dashboard/export/ranking.csv?month=2025-11"), "xep-hang-52-2025-11.csv")
        assert ranking[0]["Mã xã"] == COMMUNE and len(ranking) > 100
        own = _csv(client.get("/dashboard/export/directives.csv"), f"van-ban-chi-dao-{COMMUNE}.csv")
        assert [r["Mã xã"] for r in own] == [COMMUNE]
        assert client.get(f"/dashboard/export/directives.csv?commune={COMMUNE}").status_code == 200
        for path in (f"/dashboard/export/directives.csv?commune={OTHER_COMMUNE}",
                     f"/dashboard/export/directives.xlsx?commune={OTHER_COMMUNE}",
                     f"/dashboard/export/targets.csv?year=2025&commune={OTHER_COMMUNE}",
                     f"/dashboard/export/targets.xlsx?commune={OTHER_COMMUNE}"):
            refused = client.get(path)
            assert refused.status_code == 403 and "Không có quyền" in refused.text, path


def test_without_a_session_a_download_goes_to_the_login_form(scenario):
    """No cookie (a reader key as Bearer included: the downloads are the dashboard's) is a 303 to the login
    form; with a session, a bad month is 400, an unknown format or a commune of another province 404."""
    with httpx.Client(base_url=scenario.url, timeout=60, follow_redirects=False) as client:
        for path in ("/dashboard/export/ranking.csv", "/dashboard/export/directives.xlsx",
                     "/dashboard/export/targets.csv?year=2025"):
            answer = client.get(path, headers={"authorization": f"Bearer {scenario.reader_key}"})
            assert answer.status_code == 303 and answer.headers["location"].startswith("/dashboard/login?next=")
    with _reader(scenario) as client:
        assert client.get("/dashboard/export/ranking.csv?month=2025-13").status_code == 400
        assert client.get("/dashboard/export/targets.csv?year=abcd").status_code == 400
        assert client.get("/dashboard/export/ranking.pdf").status_code == 404
        assert client.get("/dashboard/export/directives.csv?commune=00004").status_code == 404  # Hà Nội


def test_the_target_downloads_equal_the_read_api(kafka_bootstrap, tmp_path):
    """The targets dataset at T1 (2025-07-15): every progress row of 2025 equals GET /v1/targets/communes/{code};
    23734's revised VON_DTPT plan is 2 400 000 000; VON_SN is behind for 23728 and 23734, not reported by 23722
    (tests/analytics/targets_reference.md)."""
    with targets_scenario.province(kafka_bootstrap, tmp_path, "T1") as sc:
        api = {(c, r["program"], r["indicator_code"]): r for c in d.COMMUNES
               for r in _api(sc, f"/v1/targets/communes/{c}", year="2025")["targets"]}
        with _reader(sc) as client:
            page = client.get("/dashboard")
            assert 'href="/dashboard/export/targets.xlsx?year=2025"' in page.text
            rows = _csv(client.get("/dashboard/export/targets.csv?year=2025"), "chi-tieu-52-2025.csv")
            sheet, formats = _xlsx(client.get("/dashboard/export/targets.xlsx?year=2025"), "chi-tieu-52-2025.xlsx",
                                   "Chỉ tiêu")
            one = _csv(client.get(f"/dashboard/export/targets.csv?year=2025&commune={d.A}"),
                       f"chi-tieu-52-2025-{d.A}.csv")
    assert len(rows) == len(sheet) == len(api) > 0
    assert sorted(r["Mã chỉ tiêu"] for r in one) == sorted(i for c, _p, i in api if c == d.A)
    by = {(r["Mã xã"], r["Chương trình"], r["Mã chỉ tiêu"]): r for r in rows}
    assert sorted(by) == sorted(api)
    assert float(by[next(k for k in by if k[0] == d.A and k[2] == "VON_DTPT")]["Kế hoạch"]) == 2_400_000_000
    von_sn = {k[0]: r["Trạng thái"] for k, r in by.items() if k[2] == "VON_SN"}
    assert von_sn == {d.B: "Chậm tiến độ", d.A: "Chậm tiến độ", d.C: "Chưa báo cáo"}
    for text, cells in zip(rows, sheet, strict=True):
        key = (text["Mã xã"], text["Chương trình"], text["Mã chỉ tiêu"])
        answer = api[key]
        assert (cells["Mã xã"], cells["Chương trình"], cells["Mã chỉ tiêu"]) == key
        for header, field in TARGET_NUMBERS.items():
            assert _number(text[header]) == answer[field], (key, header)
            assert cells[header] == _excel(answer[field]), (key, header)
        assert text["Trạng thái"] == cells["Trạng thái"] == STATUS_WORDS[answer["status"]]
        as_of = answer["actual_as_of"]
        assert text["Số liệu đến ngày"] == ("" if as_of is None else f"{as_of[8:]}/{as_of[5:7]}/{as_of[:4]}")
    assert formats["Tỷ lệ hoàn thành"] == "0.0%" and formats["Kế hoạch"] == "#,##0.##"

"""The dashboard's downloads: the ranking, the directives and the targets as CSV and as Excel (XLSX).

Same session as the pages (:mod:`hub.dashboard.pages`): no session is a 303 to the login form, a commune
account may download the province ranking and its own commune's directives and targets (another commune: 403).

Every number is the read API's, field for field: the rows are built by the read API's own conversions
(:func:`hub.read.api.kpi_json`, :func:`~hub.read.api.directive_json`,
:func:`hub.read.targets.target_json`) from the same read-model queries, then only laid out:
Vietnamese headers, numbers left as numbers (rates as fractions 0-1, shown as percentages in Excel),
instants as Vietnam-time text (``dd/mm/yyyy HH:MM``) and days as ``dd/mm/yyyy``. CSV is UTF-8 with a BOM,
which is what makes Excel read the Vietnamese letters right, comma-separated with ``.`` decimals.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterable
from datetime import datetime
from html import escape
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hub import reference
from hub.admin import users
from hub.analytics import targets as tg
from hub.errors import Rejected
from hub.gateway import auth
from hub.read import api as read_api
from hub.read import targets as read_targets
from hub.read.queries import province_ranking, targets_today

# hub.dashboard.pages and hub.dashboard.html are imported where used: html imports this module for
# links(), so importing them here would close a cycle.
router = APIRouter(include_in_schema=False, dependencies=[Depends(auth.follow_users)])
FORMATS = ("csv", "xlsx")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as the start of a formula
_XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RATE, COUNT, NUMBER, TEXT, INSTANT, DAY, YES_NO = "rate", "count", "number", "text", "instant", "day", "yes_no"
_EXCEL_FORMAT = {RATE: "0.0%", COUNT: "#,##0", NUMBER: "#,##0.##"}
_STATUS = {"behind": "Chậm tiến độ", "no_report": "Chưa báo cáo", "on_track": "Đúng tiến độ", "done": "Hoàn thành",
           "unassigned": "Chưa giao chỉ tiêu"}  # as the page says them (hub.dashboard.targets.STATUS)

# (header, field of the read API's JSON, kind)
RANKING: list[tuple[str, str, str]] = [
    ("Mã xã", "commune_code", TEXT), ("Tên xã", "commune_name", TEXT), ("Kỳ", "at", TEXT),
    ("Có số liệu", "data", YES_NO),
    ("Hồ sơ trong phạm vi đánh giá", "in_scope", COUNT), ("Hồ sơ đúng hạn", "on_time", COUNT),
    ("Hồ sơ trễ hạn", "late", COUNT), ("Tỷ lệ đúng hạn", "timeliness", RATE),
    ("Đã giải quyết", "finished", COUNT), ("Giải quyết đúng hạn", "finished_on_time", COUNT),
    ("Giải quyết quá hạn", "finished_late", COUNT), ("Đang giải quyết", "open", COUNT),
    ("Đang giải quyết trong hạn", "in_progress_in_time", COUNT), ("Quá hạn chưa giải quyết", "overdue_open", COUNT),
    ("Hồ sơ tiếp nhận", "received", COUNT), ("Tiếp nhận trực tuyến", "received_online", COUNT),
    ("Tỷ lệ trực tuyến", "online_rate", RATE), ("Trực tuyến toàn trình", "fully_online", COUNT),
    ("Tỷ lệ toàn trình", "fully_online_rate", RATE), ("Hồ sơ có phí", "fee_bearing", COUNT),
    ("Thanh toán trực tuyến", "paid_online", COUNT), ("Tỷ lệ thanh toán trực tuyến", "online_payment_rate", RATE),
    ("Hồ sơ số hóa", "digitized", COUNT), ("Tỷ lệ số hóa", "digitization_rate", RATE),
    ("Điểm 766", "score_766", NUMBER), ("Điểm 766 tối đa đo được", "score_766_measured_max", NUMBER),
    ("Số liệu đã chốt", "final", YES_NO), ("Tính lúc", "computed_at", INSTANT), ("Số liệu đến", "data_as_of", INSTANT),
]
# One row per directive and recipient commune: the directive's fields, then the recipient's.
DIRECTIVE: list[tuple[str, str, str]] = [
    ("Số, ký hiệu", "code_notation", TEXT), ("Trích yếu", "subject", TEXT), ("Mã văn bản", "document_id", TEXT),
    ("Cơ quan ban hành", "issuer_organ_id", TEXT), ("Loại chỉ đạo", "steering_type", TEXT),
    ("Độ khẩn", "priority", TEXT), ("Ngày ban hành", "promulgated_at", INSTANT), ("Hạn xử lý", "due_at", INSTANT),
]
RECIPIENT: list[tuple[str, str, str]] = [
    ("Mã xã", "commune_code", TEXT), ("Tên xã", "commune_name", TEXT), ("Gửi lúc", "sent_at", INSTANT),
    ("Đến lúc", "arrived_at", INSTANT), ("Hạn tiếp nhận", "acceptance_deadline", INSTANT),
    ("Tiếp nhận lúc", "accepted_at", INSTANT), ("Từ chối lúc", "rejected_at", INSTANT),
    ("Giao xử lý lúc", "assigned_at", INSTANT), ("Hạn hoàn thành", "completion_deadline", INSTANT),
    ("Hoàn thành lúc", "completed_at", INSTANT), ("Trạng thái cuối", "last_status", TEXT),
    ("Đã tiếp nhận", "acceptance_met", YES_NO), ("Quá hạn tiếp nhận", "acceptance_overdue", YES_NO),
    ("Quá hạn hoàn thành", "completion_overdue", YES_NO), ("Quá hạn", "overdue", YES_NO),
]
TARGET: list[tuple[str, str, str]] = [
    ("Mã xã", "commune_code", TEXT), ("Tên xã", "commune_name", TEXT), ("Năm", "year", COUNT),
    ("Chương trình", "program", TEXT), ("Mã chỉ tiêu", "indicator_code", TEXT),
    ("Tên chỉ tiêu", "indicator_name", TEXT), ("Đơn vị tính", "unit", TEXT), ("Kế hoạch", "target_value", NUMBER),
    ("Thực hiện", "actual_value", NUMBER), ("Số liệu đến ngày", "actual_as_of", DAY),
    ("Tỷ lệ hoàn thành", "completion_rate", RATE), ("Phải đạt theo tiến độ", "expected_share", RATE),
    ("Giá trị phải đạt", "expected_value", NUMBER), ("Chênh lệch so với tiến độ", "gap", RATE),
    ("Giá trị còn thiếu", "gap_value", NUMBER), ("Số ngày chưa báo cáo", "days_since_report", COUNT),
    ("Trạng thái", "status", TEXT), ("Văn bản giao", "document_number", TEXT), ("Giao lúc", "assigned_at", INSTANT),
    ("Đánh giá ngày", "evaluated_for", DAY),
]


def _pages() -> tuple[ModuleType, ModuleType]:
    from hub.dashboard import html as dashboard_html
    from hub.dashboard import pages as dashboard

    return dashboard, dashboard_html


# --- cells ---------------------------------------------------------------------------------------
def vn_instant(iso: str | None) -> str | None:
    """The read API's ISO 8601 UTC instant as Vietnam-time text (dd/mm/yyyy HH:MM)."""
    _dash, html = _pages()
    if not iso:
        return None
    return html.vn_time(int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000))


def cell(value: Any, kind: str) -> Any:
    """A JSON value as the spreadsheet holds it: numbers stay numbers, None stays an empty cell."""
    if value is None:
        return None
    if kind == YES_NO:
        return "Có" if value else "Không"
    if kind == INSTANT:
        return vn_instant(value)
    if kind == DAY:
        return f"{value[8:10]}/{value[5:7]}/{value[0:4]}"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        # Publishers write notations and names: "=HYPERLINK(...)" must stay text in Excel, not become a formula
        # (openpyxl stores a string starting with "=" as one; a CSV opened in Excel evaluates it too).
        return "'" + value
    return value


def table(columns: list[tuple[str, str, str]], items: Iterable[dict[str, Any]]) -> list[list[Any]]:
    return [[cell(item.get(field), kind) for _h, field, kind in columns] for item in items]


def csv_bytes(columns: list[tuple[str, str, str]], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)  # comma, "\r\n", quotes where needed: what Excel and LibreOffice expect
    writer.writerow([h for h, _f, _k in columns])
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(title: str, columns: list[tuple[str, str, str]], rows: list[list[Any]],
               about: list[tuple[str, str]]) -> bytes:
    """One sheet of the table (bold, frozen header; percentages for rates) and one "Thông tin" sheet."""
    # Imported on the first download only. openpyxl ships no type hints (types-openpyxl is not a dependency).
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append([h for h, _f, _k in columns])
    for header in sheet[1]:
        header.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append(row)
    for index, (header, _f, kind) in enumerate(columns, 1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(10, min(40, len(header) + 2))
        if kind in _EXCEL_FORMAT:
            for (value_cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                value_cell.number_format = _EXCEL_FORMAT[kind]
    info = book.create_sheet("Thông tin")
    for pair in about:
        info.append(list(pair))
    info.column_dimensions["A"].width, info.column_dimensions["B"].width = 22, 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _download(fmt: str, name: str, title: str, columns: list[tuple[str, str, str]], rows: list[list[Any]],
                    about: list[tuple[str, str]]) -> Response:
    dash, _html = _pages()
    if fmt == "csv":
        body, media = csv_bytes(columns, rows), "text/csv; charset=utf-8"
    else:  # building a workbook takes milliseconds of CPU per hundred rows: off the event loop
        body, media = await asyncio.to_thread(xlsx_bytes, title, columns, rows, about), _XLSX_TYPE
    return Response(body, media_type=media, headers={
        **dash.HEADERS, "Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


# --- what may be downloaded ----------------------------------------------------------------------
def _refused(title: str, text: str, status: int) -> Response:
    dash, html = _pages()
    return dash._html(html.message(title, text), status)


def _commune(request: Request, asked: str | None) -> str | None | Response:
    """The commune to keep (None: all of them): a commune account's own by default, never another's."""
    viewer = getattr(request.state, "viewer", None)  # set by the session check (auth.session_viewer)
    own = viewer.commune if isinstance(viewer, users.User) and viewer.role == users.COMMUNE else None
    code = asked if asked is not None else own
    if code is None:
        return None
    if not auth.may_see_commune(request, code):
        return _refused("Không có quyền", "Tài khoản của xã chỉ tải được số liệu của xã mình.", 403)
    unit = reference.communes().get(code)
    if unit is None or unit.province_code != request.app.state.settings.province:
        return _refused("Không tìm thấy", "Mã xã không thuộc tỉnh này.", 404)
    return code


def _about(request: Request, what: str, data_as_of: int) -> list[tuple[str, str]]:
    _dash, html = _pages()
    province = request.app.state.settings.province
    return [("Nội dung", what), ("Tỉnh", reference.provinces().get(province, province)),
            ("Số liệu đến", html.vn_time(data_as_of)), ("Tải về lúc", html.vn_time(request.app.state.now()))]


def _format(fmt: str) -> Response | None:
    return None if fmt in FORMATS else _refused("Không tìm thấy", "Chỉ có tệp .csv và .xlsx.", 404)


@router.get("/dashboard/export/ranking.{fmt}")
async def ranking(request: Request, fmt: str, month: str | None = None) -> Response:
    """Every commune of the province for a month, as ``GET /v1/kpi/province?period=month&at=`` ranks them."""
    dash, html = _pages()
    try:
        period, snap = dash._context(request, month)
    except dash._Refused as refused:
        return refused.response
    if (wrong := _format(fmt)) is not None:
        return wrong
    province, now = request.app.state.settings.province, request.app.state.now()
    items = [read_api.kpi_json(c, period, row, now, snap.built_ms)
             for c, row in province_ranking(snap, province, period.kind, period.at)]
    columns = [("STT", "place", COUNT), *RANKING]
    rows = [[n, *r] for n, r in enumerate(table(RANKING, items), 1)]
    what = f"Xếp hạng các xã theo tỷ lệ giải quyết hồ sơ đúng hạn — {html.period_label(period)}"
    return await _download(fmt, f"xep-hang-{province}-{period.at}", "Xếp hạng", columns, rows,
                           _about(request, what, snap.built_ms))


@router.get("/dashboard/export/directives.{fmt}")
async def directives(request: Request, fmt: str, overdue: str | None = None, commune: str | None = None
                     ) -> Response:
    """Reach per directive and recipient commune (``GET /v1/directives``' recipients), the latest sent first;
    ``overdue=true``: only the directives with an overdue recipient (``GET /v1/directives?overdue=true``)."""
    dash, _html = _pages()
    try:
        _period, snap = dash._context(request, None)
    except dash._Refused as refused:
        return refused.response
    if (wrong := _format(fmt)) is not None:
        return wrong
    if isinstance(code := _commune(request, commune), Response):
        return code
    items = []
    for doc in snap.directive_ids(overdue_only=overdue == "true"):
        directive = read_api.directive_json(doc, snap.directive(doc))
        head = table(DIRECTIVE, [directive])[0]
        items += [[*head, *row] for row in table(RECIPIENT, (r for r in directive["recipients"]
                                                             if code is None or r["commune_code"] == code))]
    name = "van-ban-chi-dao" + ("-qua-han" if overdue == "true" else "") + (f"-{code}" if code else "")
    what = "Văn bản chỉ đạo" + (" quá hạn" if overdue == "true" else "") + " — theo từng xã nhận"
    return await _download(fmt, name, "Văn bản chỉ đạo", [*DIRECTIVE, *RECIPIENT], items,
                           _about(request, what, snap.built_ms))


@router.get("/dashboard/export/targets.{fmt}")
async def targets(request: Request, fmt: str, year: str | None = None, commune: str | None = None) -> Response:
    """Progress rows of a plan year on the hub's today (``GET /v1/targets/...``' rows), needing attention first."""
    dash, _html = _pages()
    try:
        _period, snap = dash._context(request, None)
        plan_year = read_targets.year_of(request, year)
    except dash._Refused as refused:
        return refused.response
    except Rejected as exc:
        return _refused("Năm không hợp lệ", str(exc), 400)
    if (wrong := _format(fmt)) is not None:
        return wrong
    if isinstance(code := _commune(request, commune), Response):
        return code
    state = request.app.state
    found = targets_today(snap, plan_year, state.now(), tg.TargetConfig.from_settings(state.settings), code)
    items = [read_targets.target_json(r) for r in sorted(found, key=tg.attention_key)]
    rows = [[_STATUS.get(v, v) if field == "status" else v for v, (_h, field, _k) in zip(row, TARGET, strict=True)]
            for row in table(TARGET, items)]
    name = f"chi-tieu-{state.settings.province}-{plan_year}" + (f"-{code}" if code else "")
    return await _download(fmt, name, "Chỉ tiêu", TARGET, rows,
                           _about(request, f"Chỉ tiêu và giải ngân năm {plan_year}", snap.built_ms))


# --- the links next to the tables ----------------------------------------------------------------
def links(kind: str, **query: str | None) -> str:
    """"Tải CSV · Tải Excel" for one table (``kind``: ranking, directives or targets) with its query."""
    q = urlencode({k: v for k, v in query.items() if v is not None})
    hrefs = [escape(f"/dashboard/export/{kind}.{fmt}" + (f"?{q}" if q else ""), quote=True) for fmt in FORMATS]
    return (f'<p class="export" data-export="{escape(kind)}">Tải về: <a href="{hrefs[0]}" download>Tải CSV</a> · '
            f'<a href="{hrefs[1]}" download>Tải Excel</a></p>')


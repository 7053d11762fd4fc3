"""A commune's page and the commune search (hub issue 23): pure HTML from read-model rows.

- **Trend**: the last 12 months of timeliness and online rate, each against the province average of the same
  month. The province average is the province's own rate — its communes' summed counts, small communes
  included (:func:`hub.dashboard.attention.province_average`) — never a mean of rates. An inline SVG
  (labelled, no script) with the same numbers in a table under it.
- **Directives**: the directives sent to this commune, its state for each (accepted, still overdue), open and
  recently closed apart, by the rules of :mod:`hub.dashboard.directives`.
- **Search**: commune names ignoring diacritics and case ("chu pah" finds "Xã Chư Păh") and codes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from hub import reference
from hub.analytics import periods as pr
from hub.dashboard import attention, directives, html
from hub.dashboard import targets as dashboard_targets
from hub.gateway import auth
from hub.read.model import FeedSnapshot
from hub.read.queries import acceptance_met

TREND_MONTHS = 12
MAX_QUERY = html.SEARCH_MAX
_e, pct, vn_time = html.e, html.pct, html.vn_time
Pair = tuple[int, int]


# --- 12 months -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MonthPoint:
    """One month of the trend: the commune's counts and the province's summed counts."""

    period: pr.Period
    on_time: Pair  # the commune's (on time, in scope)
    online: Pair  # the commune's (received online, received)
    province_on_time: Pair
    province_online: Pair


def last_months(month: pr.Period, n: int = TREND_MONTHS) -> list[pr.Period]:
    """The ``n`` months ending with ``month``, oldest first."""
    out = [month]
    while len(out) < n:
        out.append(pr.containing("month", out[-1].start - 1))
    return out[::-1]


def _online(rows: Iterable[dict[str, Any] | None]) -> Pair:
    return attention.summed(rows, "online_dossiers", "dossiers_received")


def trend(snap: FeedSnapshot, province: str, code: str, month: pr.Period) -> list[MonthPoint]:
    members = [c.code for c in reference.province_communes(province)]
    out = []
    for p in last_months(month):
        period_rows = snap.kpi_period("month", p.at)
        rows = [period_rows.get(c) for c in members]
        mine = period_rows.get(code)
        out.append(MonthPoint(p, attention.province_average([mine]), _online([mine]),
                              attention.province_average(rows), _online(rows)))
    return out


def _rate(pair: Pair) -> float | None:
    return pair[0] / pair[1] if pair[1] else None


def _short(p: pr.Period) -> str:
    return f"{int(p.at[5:])}/{p.at[2:4]}"  # "12/25": fits under a bar on a phone


def trend_chart(points: list[MonthPoint], what: str, commune_of: Callable[[MonthPoint], Pair],
                province_of: Callable[[MonthPoint], Pair]) -> str:
    """A figure: bars for the commune's rate per month, a dashed line with dots for the province average. Months
    without a rate have no bar (a thin grey mark on the axis); 0 % has a taller blue stub so it is not mistaken
    for "no data".

    As in :func:`hub.dashboard.html.daily_chart`, the SVG stretches to its box and the axis labels are HTML around
    it: SVG text in a viewBox shrinks with the chart (to ~10 px on a 390 px phone), HTML keeps the page's size.
    A month label every other month (the last month always): twelve "10/24" at 12 px need ~370 px, a phone's
    chart has ~290."""
    n = max(1, len(points))
    label = f"{what} của xã (cột) và bình quân tỉnh (đường nét đứt) trong {len(points)} tháng"
    # ten viewBox units per month in width, one per percent in height
    parts = [f'<figure class="trend"><figcaption>{_e(what)}</figcaption><div class="plot">'
             '<div class="yaxis" aria-hidden="true"><span class="y100">100%</span><span class="y50">50%</span>'
             f'<span class="y0">0%</span></div><svg class="chart trend" viewBox="0 0 {n * 10} 100" '
             f'preserveAspectRatio="none" role="img" aria-label="{_e(label)}">'
             f'<title>{_e(label)}; số liệu chi tiết ở bảng dưới.</title>']
    for level in (0, 50, 100):
        parts.append(f'<line class="grid" x1="0" y1="{100 - level}" x2="{n * 10}" y2="{100 - level}" '
                     'vector-effect="non-scaling-stroke"/>')
    line, ticks = [], []
    for i, p in enumerate(points):
        mine, prov = _rate(commune_of(p)), _rate(province_of(p))
        month = html.period_label(p.period)
        if mine is None:
            parts.append(f'<rect class="nodata" x="{i * 10 + 2}" y="98" width="6" height="2">'
                         f'<title>{month}: không có dữ liệu</title></rect>')
        else:
            bar_h = max(4.0, 100 * max(0.0, min(1.0, mine)))  # taller than the no-data mark
            parts.append(f'<rect class="mine" x="{i * 10 + 2}" y="{100 - bar_h:.1f}" width="6" '
                         f'height="{bar_h:.1f}"><title>{month}: {pct(mine)} ({_e(_pair(commune_of(p)))})'
                         '</title></rect>')
        if prov is not None:
            line.append((i * 10 + 5, 100 * (1 - max(0.0, min(1.0, prov)))))
        # one cell per month under its bar (the CSP allows no style attribute to place a label by hand)
        shown = i % 2 == (n - 1) % 2
        ticks.append(f"<span><span>{_short(p.period)}</span></span>" if shown else "<span></span>")
    if line:
        # non-scaling: the stretched viewBox would otherwise thin the line and turn its dots into ellipses; a
        # dot is a zero-length segment with a round cap, drawn in screen pixels
        coords = " ".join(f"{x},{y:.1f}" for x, y in line)
        parts.append(f'<polyline class="province" points="{coords}" vector-effect="non-scaling-stroke"/>')
        parts.extend(f'<path class="province dot" d="M{x},{y:.1f}h0" vector-effect="non-scaling-stroke"/>'
                     for x, y in line)
    parts.append(f'</svg></div><div class="xaxis" aria-hidden="true">{"".join(ticks)}</div></figure>')
    return "".join(parts)


def _pair(pair: Pair) -> str:
    return f"{pair[0]}/{pair[1]}"


# The key says "dashed" and "bars" in words: the two series are told apart by shape, not by colour alone
# (WCAG 1.4.1); each swatch is drawn with the chart's own classes.
LEGEND = (
    '<p class="legend trend-key"><span><svg class="swatch" viewBox="0 0 12 12" aria-hidden="true">'
    '<rect class="mine key" x="3" y="1" width="6" height="11"/></svg>Cột xanh: tỷ lệ của xã</span> '
    '<span><svg class="swatch wide" viewBox="0 0 24 12" aria-hidden="true"><path class="province" d="M0,6h24"/>'
    '<path class="province dot key" d="M12,6h0"/></svg>Đường nét đứt có chấm tròn: bình quân tỉnh (tổng hồ sơ của '
    'mọi xã trong tỉnh, không phải trung bình các tỷ lệ)</span> '
    '<span><svg class="swatch" viewBox="0 0 12 12" aria-hidden="true"><rect class="nodata key" x="2" y="10" '
    'width="8" height="2"/></svg>Vạch xám sát trục: tháng chưa có số liệu</span></p>')


def _cell(pair: Pair, label: str) -> str:
    return f'<td data-label="{_e(label)}">{pct(_rate(pair))} <small>({pair[0]}/{pair[1]})</small></td>'


def trend_section(points: list[MonthPoint]) -> str:
    rows = "".join(
        f'<tr data-month="{p.period.at}"><th scope="row">{html.period_label(p.period)}</th>'
        f'{_cell(p.on_time, "Đúng hạn của xã")}{_cell(p.province_on_time, "Đúng hạn, bình quân tỉnh")}'
        f'{_cell(p.online, "Trực tuyến của xã")}{_cell(p.province_online, "Trực tuyến, bình quân tỉnh")}</tr>'
        for p in reversed(points))
    first, last = points[0].period, points[-1].period
    return (
        f'<section id="trend"><h2>Xu hướng 12 tháng ({html.period_label(first)} – {html.period_label(last)}) so với '
        f'bình quân tỉnh</h2>{LEGEND}<div class="trends">'
        f'{trend_chart(points, "Tỷ lệ giải quyết đúng hạn", lambda p: p.on_time, lambda p: p.province_on_time)}'
        f'{trend_chart(points, "Tỷ lệ hồ sơ trực tuyến", lambda p: p.online, lambda p: p.province_online)}'
        '</div><div class="scroll"><table class="trend"><caption>Số liệu từng tháng: tỷ lệ (số hồ sơ '
        'đạt / số hồ sơ tính)</caption><thead><tr><th scope="col">Tháng</th><th scope="col">Đúng hạn của xã</th>'
        '<th scope="col">Đúng hạn, bình quân tỉnh</th><th scope="col">Trực tuyến của xã</th>'
        f'<th scope="col">Trực tuyến, bình quân tỉnh</th></tr></thead><tbody>{rows}</tbody></table></div></section>')


# --- directives ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Received:
    """A directive this commune received, with its row and whether the directive as a whole is closed."""

    document_id: str
    row: dict[str, Any]
    closed: bool


def received(snap: FeedSnapshot, code: str, now_ms: int) -> list[Received]:
    """The directives sent to ``code``, the latest sent first: every open one, and the closed ones sent in the
    last DEFAULT_DAYS days (older closed ones are history: the directives page has them)."""
    since = now_ms - directives.DEFAULT_DAYS * pr.DAY_MS
    out = []
    for doc in snap.directive_ids():
        recipients = snap.directive(doc)
        row = recipients.get(code)
        if row is None:
            continue
        is_closed = directives.closed(recipients, now_ms)
        if not is_closed or (row.get("sent_at") or 0) >= since:
            out.append(Received(doc, row, is_closed))
    return out


def _directive_rows(items: list[Received]) -> str:
    rows = []
    for d in items:
        r, overdue = d.row, bool(directives.still_overdue(d.row))
        accepted = acceptance_met(r)
        rows.append(
            f'<tr data-document="{_e(d.document_id)}" data-accepted="{str(accepted).lower()}" '
            f'data-overdue="{str(overdue).lower()}"><td><a href="{_e(directives.link(d.document_id))}"><strong>'
            f'{_e(r.get("code_notation") or d.document_id)}</strong></a></td>'
            f'<td data-label="Ngày gửi">{vn_time(r.get("sent_at"))}</td>'
            f'<td data-label="Hạn tiếp nhận">{vn_time(r.get("acceptance_deadline"))}</td>'
            f'<td data-label="Đã tiếp nhận">{"Đã tiếp nhận" if accepted else "Chưa tiếp nhận"}</td>'
            f'<td data-label="Tình trạng" class="{"late" if overdue else ""}">'
            f'{_e(directives.status_text(r))}</td></tr>')
    return ('<div class="scroll"><table class="directives"><thead><tr><th>Văn bản</th><th>Ngày gửi</th>'
            '<th>Hạn tiếp nhận</th><th>Tiếp nhận</th><th>Tình trạng của xã</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def directives_section(items: list[Received]) -> str:
    open_items = [d for d in items if not d.closed]
    closed_items = [d for d in items if d.closed]
    late = sum(1 for d in open_items if directives.still_overdue(d.row))
    out = [f'<section id="directives"><h2>Văn bản chỉ đạo gửi xã ({len(open_items)} đang mở, {late} đang quá '
           'hạn)</h2>']
    out.append(_directive_rows(open_items) if open_items
               else '<p class="ok">Xã không có văn bản chỉ đạo nào đang mở.</p>')
    if closed_items:
        out.append(f'<h3>Đã đóng, gửi trong {directives.DEFAULT_DAYS} ngày qua ({len(closed_items)})</h3>'
                   + _directive_rows(closed_items))
    out.append('<p><a href="/dashboard/directives">Tất cả văn bản chỉ đạo của tỉnh</a></p></section>')
    return "".join(out)


# --- the page --------------------------------------------------------------------------------------
def place_line(month: pr.Period, place: int | None, ranked: int, in_scope: int, min_volume: int,
               code: str | None = None) -> str:
    """The commune's place in the month's ranking, linked to its own row of the overview's ranking
    (``hub.dashboard.html._rank_item`` gives every ranked or too-small commune ``id="rank-<code>"``). A commune
    without dossiers in scope has no row there: the link goes to the ranking's top, as it does without ``code``."""
    anchor = f"rank-{_e(code)}" if code and (place is not None or in_scope) else "timeliness"
    href = f"/dashboard?month={month.at}#{anchor}"
    if place is not None:
        text = f"Xếp thứ {place}/{ranked} xã về tỷ lệ đúng hạn trong {html.period_label(month)}"
    elif in_scope:
        text = f"Chưa xếp hạng trong {html.period_label(month)}: dưới {min_volume} hồ sơ trong phạm vi đánh giá"
    else:
        text = f"Chưa xếp hạng trong {html.period_label(month)}: chưa có hồ sơ trong phạm vi đánh giá"
    return f'<p class="place">{_e(text)} — <a href="{href}">xem bảng xếp hạng tỉnh</a></p>'


def page(unit: reference.Commune, month: pr.Period, row: dict[str, Any] | None,
         days: list[tuple[int, dict[str, Any] | None]], fresh: dict[str, Any] | None, *, top: str, now_ms: int,
         place: str, trend_points: list[MonthPoint], received_items: list[Received],
         target_year: int, target_rows: list[dict[str, Any]], refresh_s: int = 0) -> str:
    """A commune's page; ``top`` is its data time and warnings (:func:`hub.dashboard.attention.as_of_line`),
    ``target_rows`` the commune's progress rows of ``target_year`` (:mod:`hub.dashboard.targets` draws
    them)."""
    crumbs = (f'<nav class="crumbs" aria-label="Vị trí trang"><a href="/dashboard?month={month.at}">Toàn tỉnh — '
              f'{html.period_label(month)}</a> › <span aria-current="page">{_e(html.unit_name(unit))}</span></nav>')
    jump = ('<nav class="jump" aria-label="Trong trang này"><a href="#month">Tháng</a><a href="#trend">Xu hướng 12 '
            'tháng</a><a href="#directives">Văn bản chỉ đạo</a><a href="#targets">Chỉ tiêu</a>'
            '<a href="#daily">30 ngày</a><a href="#systems">Hệ thống</a></nav>')
    body = (f'{crumbs}<h1>{_e(html.unit_name(unit))} <small>({_e(unit.code)})</small></h1>{top}{place}{jump}'
            f'{html.month_nav(f"/dashboard/communes/{unit.code}", month, now_ms)}'
            f'{html.commune_month(month, row)}{trend_section(trend_points)}{directives_section(received_items)}'
            f'{dashboard_targets.commune_section(target_year, target_rows)}{html.commune_days(days, fresh)}')
    return html.page(f"{html.unit_name(unit)} — Trung tâm điều hành", body, refresh_s=refresh_s)


# --- search ----------------------------------------------------------------------------------------
def fold(text: str) -> str:
    """Lower case without diacritics, single spaces: "Xã Chư Păh" -> "xa chu pah" (đ is a letter, not a mark)."""
    bare = "".join(ch for ch in unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
                   if not unicodedata.combining(ch))
    return " ".join(bare.lower().split())


def _bare_name(c: reference.Commune) -> str:
    """The name without its kind: "Ia Ly" of "Xã Ia Ly"."""
    kind, _sep, rest = c.name.partition(" ")
    return rest if rest and fold(kind) in ("xa", "phuong") else c.name


def search(query: str, communes: Iterable[reference.Commune]) -> list[reference.Commune]:
    """The communes whose code or name matches: an exact name or code alone when there is one ("ia le" is Ia Le,
    not also Ia Lê…), otherwise every name containing the words, by name."""
    q = fold(query)
    pool = list(communes)
    exact = [c for c in pool if q in (c.code, fold(c.name), fold(_bare_name(c)))]
    if exact:
        return exact
    found = [c for c in pool if q in fold(c.name) or (q.isdigit() and c.code.startswith(q))]
    return sorted(found, key=lambda c: (fold(_bare_name(c)), c.code))


def search_page(query: str, found: list[reference.Commune]) -> str:
    if not found:
        body = (f'<p class="nodata" role="status">Không tìm thấy xã, phường nào khớp với “{_e(query)}”. Hãy thử '
                'gõ một phần tên (không cần dấu), ví dụ “ia ly”, hoặc mã xã gồm 5 chữ số.</p>')
    else:
        links = "".join(f'<li><a href="/dashboard/communes/{_e(c.code)}">{_e(c.name)}</a> <small>({_e(c.code)})'
                        '</small></li>' for c in found)
        body = f'<p role="status">{len(found)} xã, phường khớp với “{_e(query)}”:</p><ul class="found">{links}</ul>'
    return html.page("Tìm xã — Trung tâm điều hành", f'<h1>Tìm xã</h1>{body}'
                     '<p><a href="/dashboard">Về trang toàn tỉnh</a></p>')


async def search_route(request: Request, q: str | None = None) -> Response:
    """``GET /dashboard/search?q=``: one match goes to its page (303), several are listed, none is said (200);
    an empty or over-long query is 400. A commune account finds only its own commune (the others' pages are 403)."""
    from hub.dashboard import pages as dashboard  # here: dashboard imports this module and mounts this route

    if dashboard._viewer(request) is None:
        return dashboard._to_login(request)
    query = (q or "").strip()
    if not query or len(query) > MAX_QUERY:
        return dashboard._html(html.message("Từ khóa không hợp lệ", f"Hãy nhập tên hoặc mã xã, từ 1 đến "
                                            f"{MAX_QUERY} ký tự."), 400)
    province = request.app.state.settings.province
    found = [c for c in search(query, reference.province_communes(province)) if auth.may_see_commune(request, c.code)]
    if len(found) == 1:
        return RedirectResponse(f"/dashboard/communes/{found[0].code}", status_code=303, headers=dashboard.HEADERS)
    return dashboard._html(search_page(query, found))

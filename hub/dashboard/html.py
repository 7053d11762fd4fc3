"""The dashboard's HTML: pure functions from feed rows to one page (Vietnamese labels, inline SVG charts).

No template engine and no script: the pages are small, every value is escaped here (``_e``) —
document ids, notations and system ids come from publishers — and the Content-Security-Policy
(see :mod:`hub.dashboard.pages`) allows nothing but this server's stylesheet and icon.
Numbers are written the Vietnamese way (``54,5%``), times in Vietnam time (``14/11/2025 16:00``).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from hub import reference
from hub.analytics import periods as pr
from hub.dashboard import export  # the module, not its names: it imports this one
from hub.read.queries import acceptance_met

_DATA_KIND = {"dossier": "hồ sơ", "document": "văn bản"}
DAY_MS = pr.DAY_MS
SEARCH_MAX = 100  # characters of a commune search: a name is under 30


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def pct(rate: float | None) -> str:
    """54,5% (one decimal, Vietnamese comma); a dash for no rate."""
    return "—" if rate is None else f"{rate * 100:.1f}".replace(".", ",") + "%"


def vn_time(ms: int | None) -> str:
    """dd/mm/yyyy HH:MM in Vietnam time."""
    if ms is None:
        return "—"
    local = ms + pr.VN_OFFSET_MS
    y, m, d = pr.civil_from_days(local // DAY_MS)
    minutes = local % DAY_MS // 60_000
    return f"{d:02d}/{m:02d}/{y:04d} {minutes // 60:02d}:{minutes % 60:02d}"


def vn_date(day: int) -> str:
    y, m, d = pr.civil_from_days(day)
    return f"{d:02d}/{m:02d}/{y:04d}"


def period_label(p: pr.Period) -> str:
    if p.kind == "month":
        return f"Tháng {int(p.at[5:]):d}/{p.at[:4]}"
    if p.kind == "quarter":
        return f"Quý {p.at[-1]}/{p.at[:4]}"
    return f"Ngày {vn_date(pr.vn_day(p.start))}"


def duration(ms: int) -> str:
    hours = ms // 3_600_000
    return f"{hours // 24} ngày {hours % 24} giờ" if hours >= 24 else f"{hours} giờ"


def unit_name(unit: reference.Commune) -> str:
    return unit.name  # the national list's names carry their kind: "Xã Ia Ly", "Phường Pleiku"


def _name(code: str) -> str:
    unit = reference.communes().get(code)
    return unit_name(unit) if unit else code


e, commune_name = _e, _name  # for the section modules (hub.dashboard.attention, hub.dashboard.targets)


def number1(value: float) -> str:
    """62,5 (one decimal at most, Vietnamese comma)."""
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")


def duration_fine(ms: int) -> str:
    """Like :func:`duration`, to the minute under a day (a stale-data warning speaks of minutes)."""
    minutes = ms // 60_000
    if minutes >= 24 * 60:
        return duration(ms)
    return f"{minutes // 60} giờ {minutes % 60} phút" if minutes >= 60 else f"{minutes} phút"


# The logout form's CSRF token for the page being rendered: set by hub.dashboard.pages once it has checked the
# session (a context variable: each request runs in its own task), so the page functions need no extra argument.
LOGOUT_TOKEN: ContextVar[str] = ContextVar("logout_token", default="")


@dataclass(frozen=True)
class Reload:
    """A viewer's automatic-reload choice (a cookie, off unless they turned it on) and the page to come back to.

    Off by default: a page that reloads itself on a timer the user cannot stop fails WCAG 2.2.1 (axe-core's
    ``meta-refresh``); a wall screen in the province's office turns it on once, with the link on every page."""

    on: bool
    here: str


RELOAD: ContextVar[Reload | None] = ContextVar("reload", default=None)


def _reload(refresh_s: int) -> tuple[str, str]:
    """(the meta refresh, the link that turns it on or off) for this request's viewer; none without one."""
    choice = RELOAD.get()
    if refresh_s <= 0 or choice is None:
        return "", ""
    back = quote(choice.here, safe="/")
    if choice.on:
        return (f'<meta http-equiv="refresh" content="{int(refresh_s)}">',
                f'<p class="reload">Trang tự tải lại mỗi {int(refresh_s)} giây. '
                f'<a href="/dashboard/autoreload?on=0&amp;next={back}">Tắt tự động tải lại</a></p>')
    return "", (f'<p class="reload"><a href="/dashboard/autoreload?on=1&amp;next={back}">'
                f'Tự động tải lại mỗi {int(refresh_s)} giây</a> (cho màn hình theo dõi)</p>')


def page(title: str, body: str, *, logged_in: bool = True, refresh_s: int = 0) -> str:
    """A whole page; with ``refresh_s`` > 0 (HUB_DASHBOARD_REFRESH_S) a viewer who turned automatic reload on
    gets a meta refresh after that many seconds (no script), everyone the link to turn it on or off."""
    meta, toggle = _reload(refresh_s) if logged_in else ("", "")
    logout = ('<form method="post" action="/dashboard/logout" class="logout">'
              f'<input type="hidden" name="csrf" value="{_e(LOGOUT_TOKEN.get())}">'
              '<button type="submit">Đăng xuất</button></form>') if logged_in else ""
    # every page after login can jump to a commune (GET: the search is a link one can keep)
    search = ('<form class="search" method="get" action="/dashboard/search" role="search">'
              '<label for="search-q">Tìm xã</label><input id="search-q" name="q" type="search" required '
              f'maxlength="{SEARCH_MAX}" placeholder="Tên hoặc mã xã" autocomplete="off">'
              '<button type="submit">Tìm</button></form>') if logged_in else ""
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        + meta +
        f'<title>{_e(title)}</title><link rel="stylesheet" href="/dashboard/static/dashboard.css">'
        '<link rel="icon" href="/dashboard/static/icon.svg" type="image/svg+xml"></head><body>'
        '<a class="skip" href="#main">Bỏ qua, đến nội dung chính</a>'
        f'<header><a class="home" href="/dashboard">Trung tâm điều hành tỉnh</a>{search}{logout}{toggle}</header>'
        f'<main id="main">{body}</main>'
        '<footer>Số liệu do hub tổng hợp từ hệ thống một cửa, văn bản điều hành và báo cáo '
        'chỉ tiêu của các xã; chỉ số theo Quyết định 766/QĐ-TTg.</footer>'
        '</body></html>')


def login(error: str | None = None, next_path: str = "/dashboard", *, csrf: str = "") -> str:
    message = f'<p class="error" role="alert">{_e(error)}</p>' if error else ""
    return page("Đăng nhập", (
        '<section class="login"><h1>Đăng nhập</h1>'
        '<p>Dùng khóa đọc (reader key) do quản trị viên cấp bằng <code>hub systems add --role reader</code>.</p>'
        f'{message}<form method="post" action="/dashboard/login">'
        f'<input type="hidden" name="next" value="{_e(next_path)}">'
        f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
        '<label for="key">Khóa đọc</label>'
        '<input id="key" name="key" type="password" autocomplete="off" required maxlength="128">'
        '<button type="submit">Đăng nhập</button></form></section>'), logged_in=False)


def message(title: str, text: str) -> str:
    return page(title, f'<section><h1>{_e(title)}</h1><p>{_e(text)}</p>'
                       '<p><a href="/dashboard">Về trang chính</a></p></section>')


def month_nav(base: str, month: pr.Period, now_ms: int, keep: str = "") -> str:
    """« the previous month, and the next one only up to the current month (a future month has no data)."""
    previous, following = pr.containing("month", month.start - 1), pr.following(month)
    nxt = (f'<a href="{base}?month={following.at}{keep}">{period_label(following)} »</a>'
           if following.start <= now_ms else "")
    return (f'<nav class="months" aria-label="Chọn tháng"><a href="{base}?month={previous.at}{keep}">'
            f'« {period_label(previous)}</a>{nxt}</nav>')


# --- charts ----------------------------------------------------------------------------------------
def _bar(rate: float | None) -> str:
    """A horizontal 0-100% bar (scales with its container)."""
    width = 0.0 if rate is None else max(0.0, min(1.0, rate)) * 100
    tone = "none" if rate is None else "good" if rate >= 0.9 else "mid" if rate >= 0.7 else "bad"
    return ('<svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">'
            '<rect class="track" width="100" height="8"/>'
            f'<rect class="fill {tone}" width="{width:.2f}" height="8"/></svg>')


def daily_chart(days: list[tuple[int, dict[str, Any] | None]]) -> str:
    """Bars of daily timeliness (one per day, oldest left), 0-100% axis; days without a rate are marked.

    The axis labels are HTML next to and under the SVG, not SVG text: text in a viewBox shrinks with the chart
    (11 px drawn at ~6 px on a 390 px phone), HTML keeps the page's font size. A date every ``every`` days
    (five labels for 30 days) leaves room for each at 12 px on a phone; the day table below has every value."""
    n = max(1, len(days))
    every = -(-n // 5)
    first, last = (vn_date(days[0][0]), vn_date(days[-1][0])) if days else ("", "")
    label = f"Tỷ lệ giải quyết đúng hạn theo ngày, {first} – {last}; số liệu từng ngày ở bảng dưới"
    # one viewBox unit per percent in height and ten per day in width; the CSS stretches it to its box
    parts = [f'<figure class="daily"><div class="plot"><div class="yaxis" aria-hidden="true">'
             '<span class="y100">100%</span><span class="y50">50%</span><span class="y0">0%</span></div>'
             f'<svg class="chart" viewBox="0 0 {n * 10} 100" preserveAspectRatio="none" role="img" '
             f'aria-label="{_e(label)}"><title>{_e(label)}</title>']
    for level in (0, 50, 100):
        parts.append(f'<line class="grid" x1="0" y1="{100 - level}" x2="{n * 10}" y2="{100 - level}" '
                     'vector-effect="non-scaling-stroke"/>')
    ticks = []
    for i, (day, row) in enumerate(days):
        rate = None if row is None else row.get("timeliness_rate")
        date = vn_date(day)
        if rate is None or row is None:
            parts.append(f'<rect class="nodata" x="{i * 10 + 2}" y="98" width="6" height="2">'
                         f'<title>{date}: không có dữ liệu</title></rect>')
        else:
            # a day at 0 % is a result, not a gap: a stub of the bar's colour, unlike a day without data
            bar_h = max(2.0, 100 * max(0.0, min(1.0, rate)))
            tip = f"{date}: {pct(rate)} ({row['dossiers_on_time']}/{row['dossiers_in_scope']})"
            parts.append(f'<rect class="day" x="{i * 10 + 1.5}" y="{100 - bar_h:.1f}" width="7" '
                         f'height="{bar_h:.1f}"><title>{_e(tip)}</title></rect>')
        # one cell per day under its bar (the CSP allows no style attribute to place a label by hand)
        ticks.append(f"<span><span>{date[:5]}</span></span>" if i % every == 0 else "<span></span>")
    parts.append(f'</svg></div><div class="xaxis" aria-hidden="true">{"".join(ticks)}</div></figure>')
    return "".join(parts)


# --- the province page -----------------------------------------------------------------------------
def _rank_item(n: str, c: reference.Commune, row: dict[str, Any]) -> str:
    return (f'<li id="rank-{_e(c.code)}" data-commune="{_e(c.code)}"><span class="rank">{n}</span>'
            f'<a href="/dashboard/communes/{_e(c.code)}">{_e(unit_name(c))}</a>{_bar(row["timeliness_rate"])}'
            f'<span class="value">{pct(row["timeliness_rate"])}</span>'
            f'<span class="detail">{row["dossiers_on_time"]}/{row["dossiers_in_scope"]} hồ sơ</span></li>')


def _average_item(average: tuple[int, int]) -> str:
    rate = average[0] / average[1]
    return (f'<li class="average" data-average="{rate:.6f}"><span class="rank">TB</span>'
            f'<strong>Bình quân tỉnh</strong>{_bar(rate)}<span class="value">{pct(rate)}</span>'
            f'<span class="detail">{average[0]}/{average[1]} hồ sơ của cả tỉnh (mọi xã)</span></li>')


def ranking(rated, small, empty, average: tuple[int, int], *, worst_first: bool, min_volume: int) -> str:
    """The ranked communes (``rated`` in the order to show, each with its place counted from the best),
    the province average marked where it falls, then the communes with too few dossiers and those with none.
    ``rated`` holds (place, commune, row)."""
    avg = average[0] / average[1] if average[1] else None
    items = []
    marked = avg is None
    for n, c, row in rated:
        rate = row["timeliness_rate"]
        if not marked and (rate > avg if worst_first else rate < avg):
            items.append(_average_item(average))
            marked = True
        items.append(_rank_item(str(n), c, row))
    if not marked:
        items.append(_average_item(average))
    order = "worst" if worst_first else "best"
    out = (f'<ol class="ranking" data-order="{order}">{"".join(items)}</ol>' if rated
           else f'<p>Chưa có xã nào có từ {min_volume} hồ sơ trở lên trong kỳ.</p>')
    if small:
        out += (f'<h3 id="unranked">{len(small)} xã có dưới {min_volume} hồ sơ — không xếp hạng</h3>'
                f'<ol class="ranking unranked">{"".join(_rank_item("–", c, r) for c, r in small)}</ol>')
    if empty:
        links = ", ".join(f'<a href="/dashboard/communes/{_e(c.code)}">{_e(unit_name(c))}</a>' for c in empty)
        out += (f'<details class="nodata"><summary>{len(empty)} xã chưa có hồ sơ trong phạm vi đánh giá</summary>'
                f'<p>{links}</p></details>')
    return out


def _directives(overdue: list[tuple[str, dict[str, dict[str, Any]]]]) -> str:
    if not overdue:
        return '<p class="ok">Không có văn bản chỉ đạo quá hạn.</p>'
    rows = []
    for doc, recipients in overdue:
        first = recipients[min(recipients)]
        waiting = [c for c, r in recipients.items() if not acceptance_met(r)]
        late = [c for c, r in recipients.items() if r.get("overdue")]
        names = ", ".join(_e(_name(c)) for c in waiting) or "—"
        rows.append(
            f'<tr data-document="{_e(doc)}"><td><strong>{_e(first.get("code_notation") or "")}</strong>'
            f'<br><small>{_e(doc)}</small></td><td>{vn_time(first.get("sent_at"))}</td>'
            f'<td>{vn_time(first.get("acceptance_deadline"))}</td><td class="waiting">{names}</td>'
            f'<td>{len(late)}/{len(recipients)}</td></tr>')
    return ('<div class="scroll"><table><thead><tr><th>Văn bản</th><th>Ngày gửi</th><th>Hạn tiếp nhận</th>'
            '<th>Xã chưa tiếp nhận</th><th>Xã quá hạn</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _silent(systems: list[dict[str, Any]], now_ms: int) -> str:
    if not systems:
        return '<p class="ok">Tất cả hệ thống đều đang gửi dữ liệu.</p>'
    rows = "".join(
        f'<tr><td><a href="/dashboard/communes/{_e(s["commune_code"])}">{_e(_name(s["commune_code"]))}</a></td>'
        f'<td>{_e(s["source_system"])}</td><td>{_e(_DATA_KIND.get(s["kind"], s["kind"]))}</td>'
        f'<td>{vn_time(s["last_ingest_time"])}</td><td>{duration(max(0, now_ms - s["last_ingest_time"]))}</td></tr>'
        for s in systems)
    return ('<div class="scroll"><table><thead><tr><th>Xã</th><th>Hệ thống</th><th>Loại</th>'
            f'<th>Lần nhận cuối</th><th>Đã ngừng gửi</th></tr></thead><tbody>{rows}</tbody></table></div>')


def province(province_name: str, month: pr.Period, *, top: str, ranking_html: str, ranked_count: int,
             total: int, overdue, silent, now_ms: int, targets: str = "", worst_first: bool = True,
             refresh_s: int = 0, directives: tuple[str, str] | None = None) -> str:
    """The province page: ``top`` is the data time and the attention cards
    (:mod:`hub.dashboard.attention`), ``ranking_html`` the ranking (:func:`ranking`), ``targets`` the
    targets section (:mod:`hub.dashboard.targets`), ``directives`` the directives section's title and
    body (:func:`hub.dashboard.directives.section`; without it, the overdue ones)."""
    title, listing = directives or ("Văn bản chỉ đạo quá hạn", _directives(overdue))
    nav = month_nav("/dashboard", month, now_ms, "" if worst_first else "&amp;order=best")
    toggle = (f'<a href="/dashboard?month={month.at}&amp;order=best">Xếp từ cao đến thấp</a>' if worst_first else
              f'<a href="/dashboard?month={month.at}">Xếp từ thấp đến cao</a>')
    said = "từ thấp đến cao" if worst_first else "từ cao đến thấp"
    # a keyboard user reaches any section in a few Tab presses (the issue counted 137 to the targets)
    toc = ('<nav class="toc" aria-label="Các phần của trang"><a href="#timeliness">Xếp hạng đúng hạn</a>'
           '<a href="#directives">Văn bản chỉ đạo</a>' + ('<a href="#targets">Chỉ tiêu và giải ngân</a>' if targets
                                                            else "") +
           '<a href="#silent">Hệ thống ngừng gửi</a></nav>')
    body = (
        f'<h1>{_e(province_name)}</h1>{toc}{top}'
        f'<section id="timeliness"><h2>Tỷ lệ giải quyết hồ sơ đúng hạn — {period_label(month)}</h2>{nav}'
        f'{export.links("ranking", month=month.at)}'
        f'<p class="order">{ranked_count} / {total} xã được xếp hạng, {said}. {toggle}</p>{ranking_html}</section>'
        f'<section id="directives"><h2>{title}</h2>{export.links("directives")}'
        f'{listing}</section>'
        f'{targets}<section id="silent"><h2>Hệ thống ngừng gửi dữ liệu</h2>{_silent(silent, now_ms)}</section>')
    return page(f"Trung tâm điều hành — {province_name}", body, refresh_s=refresh_s)


# --- a commune's page ------------------------------------------------------------------------------
def _card(label: str, value: str, detail: str = "") -> str:
    return (f'<div class="card"><span class="label">{_e(label)}</span><span class="big">{_e(value)}</span>'
            f'<span class="detail">{_e(detail)}</span></div>')


def _counts(row: dict[str, Any] | None) -> str:
    return "—" if row is None else f"{row['dossiers_on_time']}/{row['dossiers_in_scope']}"


def commune_month(month: pr.Period, row: dict[str, Any] | None) -> str:
    """A commune's month in cards (hub.dashboard.commune builds the rest of its page)."""
    r = row or {}
    cards = "".join((
        _card("Tỷ lệ đúng hạn", pct(r.get("timeliness_rate")),
              f"{r.get('dossiers_on_time', 0)}/{r.get('dossiers_in_scope', 0)} hồ sơ"),
        _card("Hồ sơ tiếp nhận", str(r.get("dossiers_received", 0))),
        _card("Tỷ lệ trực tuyến", pct(r.get("online_rate")), f"{r.get('online_dossiers', 0)} hồ sơ"),
        _card("Thanh toán trực tuyến", pct(r.get("online_payment_rate")),
              f"{r.get('paid_online_dossiers', 0)}/{r.get('fee_bearing_dossiers', 0)} hồ sơ có phí"),
        _card("Quá hạn đang giải quyết", str(r.get("overdue_open_dossiers", 0))),
    ))
    note = "" if row is not None else '<p class="nodata">Chưa có số liệu của xã trong kỳ này.</p>'
    return f'<section id="month"><h2>{period_label(month)}</h2>{note}<div class="cards">{cards}</div></section>'


def commune_days(days: list[tuple[int, dict[str, Any] | None]], fresh: dict[str, Any] | None) -> str:
    """A commune's last 30 days (chart and table) and the systems that send its data."""
    table = "".join(
        f'<tr><td>{vn_date(day)}</td><td>{pct(None if d is None else d.get("timeliness_rate"))}</td>'
        f'<td>{_counts(d)}</td></tr>' for day, d in reversed(days))
    systems = (fresh or {}).get("systems") or []
    fresh_rows = "".join(
        f'<tr><td>{_e(s["source_system"])}</td><td>{_e(_DATA_KIND.get(s["kind"], s["kind"]))}</td>'
        f'<td>{vn_time(s["last_event_time"])}</td><td>{vn_time(s["last_ingest_time"])}</td>'
        f'<td>{"Ngừng gửi dữ liệu" if s["silent"] else "Đang gửi"}</td></tr>' for s in systems)
    fresh_html = ('<div class="scroll"><table><thead><tr><th>Hệ thống</th><th>Loại</th><th>Sự kiện cuối</th>'
                  f'<th>Nhận cuối</th><th>Trạng thái</th></tr></thead><tbody>{fresh_rows}</tbody></table></div>'
                  if systems else '<p class="nodata">Chưa hệ thống nào gửi dữ liệu của xã.</p>')
    first, last = days[0][0], days[-1][0]
    return (
        f'<section id="daily"><h2>Tỷ lệ đúng hạn theo ngày — 30 ngày ({vn_date(first)} – {vn_date(last)})</h2>'
        f'{daily_chart(days)}<div class="scroll"><table class="days"><thead><tr><th>Ngày</th><th>Tỷ lệ</th>'
        f'<th>Đúng hạn / trong phạm vi</th></tr></thead><tbody>{table}</tbody></table></div></section>'
        f'<section id="systems"><h2>Hệ thống gửi dữ liệu</h2>{fresh_html}</section>')

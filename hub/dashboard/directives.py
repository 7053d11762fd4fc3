"""The dashboard's directives (văn bản chỉ đạo, hub issue 23): open and closed apart, the communes that are
overdue or have not accepted **named**, a page per directive with each recipient commune's timeline, and a
filter by the period the directive was sent in (the last 30 days by default).

Definitions (also written in each page's legend, :data:`LEGEND`):

* a recipient is **done** when it completed the directive (status 06) or answered it with a report
  (văn bản trả lời), or when the province revoked the directive;
* a recipient is **still overdue** when a deadline has passed and the milestone is still not met: not arrived
  after the arrival deadline, not accepted after the acceptance deadline, not done after the due day. Done late
  is not "still overdue": the issue's complaint was that such directives stayed listed for ever;
* a directive is **closed** when every recipient is done, or when its due day has passed and no recipient is
  still overdue; otherwise it is **open**.

Each directive is named by its number and notation (``code_notation``) with its subject (trích yếu,
DirectiveReach v4 ``subject``) under it, as the document feed carries it: scrubbed, and null when withheld
(the document may name citizens) or absent, shown as :data:`NO_SUBJECT`; rows written before v4 have none.

A commune account (:func:`hub.gateway.auth.may_see_commune`) sees only its own commune's row: the list holds
only the directives its commune received, and a directive it did not receive answers 403 (its recipients are
not its business; a 404 would hide nothing since the id is in the province's own document).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hub.analytics import periods as pr
from hub.dashboard import html
from hub.gateway import auth
from hub.read.model import FeedSnapshot
from hub.read.queries import acceptance_met

router = APIRouter(include_in_schema=False, dependencies=[Depends(auth.follow_users)])
DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years: more is a typing error, not a question
_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_DAYS = re.compile(r"^[0-9]{1,5}$")  # ASCII only: str.isdigit() accepts "²", which int() refuses
_e, _name, vn_time = html.e, html.commune_name, html.vn_time
PRIORITY = {"NORMAL": "Thường", "URGENT": "Khẩn", "VERY_URGENT": "Thượng khẩn", "EXPRESS": "Hỏa tốc",
            "EXPRESS_FIXED_TIME": "Hỏa tốc hẹn giờ"}
LEGEND = ('<p class="legend">Văn bản <strong>đã đóng</strong> khi mọi xã nhận đã hoàn thành hoặc đã có văn bản trả '
          'lời (hoặc văn bản đã bị thu hồi), hoặc khi đã qua hạn xử lý mà không còn xã nào đang quá hạn; còn lại là '
          '<strong>đang mở</strong>. Một xã <strong>đang quá hạn</strong> khi đã qua một hạn (đến, tiếp nhận, xử '
          'lý) mà việc đó vẫn chưa làm; xã đã làm nhưng trễ được ghi “trễ hạn” và không còn tính là đang quá hạn. '
          'Trích yếu đã được che số giấy tờ, số điện thoại, thư điện tử; văn bản có thể nêu tên công dân thì '
          'không hiển thị trích yếu.</p>')
NO_SUBJECT = "(không có trích yếu)"


class PeriodRefused(ValueError):
    """A period filter that cannot be read; the message is the Vietnamese sentence shown to the user."""


@dataclass(frozen=True)
class Window:
    """Directives sent in [start, end) (ms, UTC); ``label`` says it in words."""

    start: int
    end: int
    label: str


def _day(text: str, what: str) -> int:
    match = _DATE.match(text.strip())
    try:
        if match is None:
            raise ValueError
        y, m, d = (int(g) for g in match.groups())
        day = pr.days_from_civil(y, m, d)
        if pr.civil_from_days(day) != (y, m, d):  # 2025-02-30 is not a day
            raise ValueError
    except ValueError:
        raise PeriodRefused(f"Tham số {what} phải là một ngày có dạng YYYY-MM-DD, ví dụ 2025-09-01.") from None
    return day


def window(now_ms: int, days: str | None, start: str | None, end: str | None) -> Window:
    """The period asked for: ``days`` (the last N days up to now), ``from``/``to`` (Vietnam calendar days, both
    included; ``to`` defaults to today), or the last 30 days."""
    if days is not None and (start is not None or end is not None):
        raise PeriodRefused("Chỉ dùng một cách lọc: hoặc days, hoặc from và to.")
    if start is None and end is not None:
        raise PeriodRefused("Thiếu tham số from (ngày bắt đầu, dạng YYYY-MM-DD).")
    if start is not None:
        first = _day(start, "from")
        last = pr.vn_day(now_ms) if end is None else _day(end, "to")
        if first > last:
            raise PeriodRefused("Ngày bắt đầu (from) phải trước hoặc trùng ngày kết thúc (to).")
        label = f"gửi từ {html.vn_date(first)} đến {html.vn_date(last)}"
        return Window(pr.day_start(first), pr.day_start(last + 1), label)
    if days is None:
        n = DEFAULT_DAYS
    elif _DAYS.match(days.strip()) and 1 <= int(days) <= MAX_DAYS:
        n = int(days)
    else:
        raise PeriodRefused(f"Tham số days phải là số ngày nguyên từ 1 đến {MAX_DAYS}.")
    return Window(now_ms - n * pr.DAY_MS, now_ms + 1, f"gửi trong {n} ngày qua")


# --- rules -----------------------------------------------------------------------------------------
def done(row: dict[str, Any]) -> bool:
    return any(row.get(t) is not None for t in ("completed_at", "replied_at", "revoked_at"))


def still_overdue(row: dict[str, Any]) -> list[str]:
    """The milestones whose deadline passed and that are still not met (names as the legend says them)."""
    out = []
    if row.get("arrival_overdue") and row.get("arrived_at") is None and row.get("last_status") is None:
        out.append("chưa đến")
    if row.get("acceptance_overdue") and not acceptance_met(row):
        out.append("chưa tiếp nhận")
    if row.get("completion_overdue") and not done(row):
        out.append("chưa hoàn thành")
    return out


def closed(recipients: dict[str, dict[str, Any]], now_ms: int) -> bool:
    rows = list(recipients.values())
    if all(done(r) for r in rows):
        return True
    due = next((r.get("completion_deadline") for r in rows if r.get("completion_deadline") is not None), None)
    return due is not None and now_ms >= due and not any(still_overdue(r) for r in rows)


def status_text(row: dict[str, Any]) -> str:
    """A recipient's state in words."""
    if row.get("revoked_at") is not None:
        return "Văn bản đã thu hồi"
    late = " (trễ hạn)" if row.get("overdue") else ""
    if row.get("completed_at") is not None:
        return "Đã hoàn thành" + late
    if row.get("replied_at") is not None:
        return "Đã trả lời" + late
    missing = still_overdue(row)
    if missing:
        return "Quá hạn: " + ", ".join(missing)
    return "Đang xử lý" + late if acceptance_met(row) else "Chưa tiếp nhận, còn trong hạn"


# --- what a viewer sees ----------------------------------------------------------------------------
def visible(request: Request, recipients: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The recipients the viewer may see: all of them, or a commune account's own."""
    return {c: r for c, r in recipients.items() if auth.may_see_commune(request, c)}


def listed(request: Request, snap: FeedSnapshot, win: Window) -> list[tuple[str, dict[str, dict[str, Any]]]]:
    """(document id, visible recipients) of the directives first sent in the window, the latest first."""
    out = []
    for doc in snap.directive_ids():
        recipients = visible(request, snap.directive(doc))
        sent = [r["sent_at"] for r in recipients.values() if r.get("sent_at") is not None]
        if sent and win.start <= min(sent) < win.end:
            out.append((doc, recipients))
    return out


def link(doc: str) -> str:
    # %2F keeps a document id's slashes inside one path segment for the browser; the gateway decodes it.
    return f"/dashboard/directives/{quote(doc, safe='')}"


def subject(row: dict[str, Any]) -> str:
    """The directive's subject as a paragraph under its number (escaped), or the placeholder."""
    text = row.get("subject")
    if not text:
        return f'<p class="subject none">{_e(NO_SUBJECT)}</p>'
    return f'<p class="subject">{_e(text)}</p>'


def _names(codes: list[str]) -> str:
    return ", ".join(_e(_name(c)) for c in codes) or "—"


def table(items: list[tuple[str, dict[str, dict[str, Any]]]], now_ms: int, *, empty: str) -> str:
    """One row per directive: number and notation (a link to its page), sent, acceptance deadline, the communes
    that have not accepted, the communes still overdue, and how many recipients are done."""
    if not items:
        return f'<p class="ok">{_e(empty)}</p>'
    rows = []
    for doc, recipients in items:
        first = recipients[min(recipients)]
        waiting = [c for c, r in recipients.items() if not acceptance_met(r)]
        late = [c for c, r in recipients.items() if still_overdue(r)]
        finished = sum(done(r) for r in recipients.values())
        rows.append(
            f'<tr data-document="{_e(doc)}"><td><a href="{_e(link(doc))}"><strong>'
            f'{_e(first.get("code_notation") or doc)}</strong></a>{subject(first)}<small>{_e(doc)}</small></td>'
            f'<td data-label="Ngày gửi">{vn_time(first.get("sent_at"))}</td>'
            f'<td data-label="Hạn tiếp nhận">{vn_time(first.get("acceptance_deadline"))}</td>'
            f'<td class="waiting" data-label="Chưa tiếp nhận">{_names(waiting)}</td>'
            f'<td class="late" data-label="Đang quá hạn">{_names(late)}</td>'
            f'<td class="count" data-label="Tiến độ">{len(late)}/{len(recipients)} quá hạn; '
            f'{finished}/{len(recipients)} xong</td></tr>')
    return ('<div class="scroll"><table class="directives"><thead><tr><th>Văn bản</th><th>Ngày gửi</th>'
            '<th>Hạn tiếp nhận</th><th>Xã chưa tiếp nhận</th><th>Xã đang quá hạn</th><th>Tiến độ</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def section(request: Request, snap: FeedSnapshot, now_ms: int) -> tuple[str, str]:
    """The overview's directives section (title, body): the open directives of the last 30 days, and a link to
    the rest (:func:`hub.dashboard.html.province` places it)."""
    win = window(now_ms, None, None, None)
    items = listed(request, snap, win)
    open_items = [(d, r) for d, r in items if not closed(r, now_ms)]
    body = (f'{table(open_items, now_ms, empty="Không có văn bản chỉ đạo nào đang mở trong 30 ngày qua.")}'
            f'<p><a href="/dashboard/directives">Tất cả văn bản chỉ đạo: đang mở, đã đóng, lọc theo thời gian</a>'
            f' ({len(items) - len(open_items)} văn bản đã đóng trong 30 ngày qua)</p>')
    return f"Văn bản chỉ đạo đang mở — {_e(win.label)}", body


# --- pages -----------------------------------------------------------------------------------------
def _filter_form(win: Window) -> str:
    return ('<form class="period" method="get" action="/dashboard/directives">'
            '<label for="days">Số ngày gần nhất</label><input id="days" name="days" inputmode="numeric" size="4">'
            '<span>hoặc</span><label for="from">từ ngày</label><input id="from" name="from" type="date">'
            '<label for="to">đến ngày</label><input id="to" name="to" type="date">'
            f'<button type="submit">Lọc</button></form><p class="asof">Đang xem: văn bản {_e(win.label)}.</p>')


def list_page(request: Request, snap: FeedSnapshot, now_ms: int, win: Window, refresh_s: int) -> str:
    items = listed(request, snap, win)
    open_items = [(d, r) for d, r in items if not closed(r, now_ms)]
    closed_items = [(d, r) for d, r in items if closed(r, now_ms)]
    body = (f'<h1>Văn bản chỉ đạo</h1>{_filter_form(win)}{LEGEND}'
            f'<section id="open"><h2>Đang mở ({len(open_items)})</h2>'
            f'{table(open_items, now_ms, empty="Không có văn bản đang mở trong kỳ này.")}</section>'
            f'<section id="closed"><h2>Đã đóng ({len(closed_items)})</h2>'
            f'{table(closed_items, now_ms, empty="Không có văn bản đã đóng trong kỳ này.")}</section>')
    return html.page("Văn bản chỉ đạo — Trung tâm điều hành", body, refresh_s=refresh_s)


def _step(label: str, at: int | None, deadline: int | None = None, late: bool = False) -> str:
    mark = ' class="late"' if late else ""
    due = f' <span class="due">hạn {vn_time(deadline)}</span>' if deadline is not None else ""
    flag = ' <strong class="flag">quá hạn</strong>' if late else ""
    return f'<li{mark}><span class="what">{_e(label)}</span> <time>{vn_time(at)}</time>{due}{flag}</li>'


def timeline(code: str, row: dict[str, Any]) -> str:
    """One recipient's milestones in order, each with its deadline and overdue flag."""
    steps = [
        _step("Gửi", row.get("sent_at")),
        _step("Đến", row.get("arrived_at"), row.get("arrival_deadline"), bool(row.get("arrival_overdue"))),
        _step("Tiếp nhận", row.get("accepted_at"), row.get("acceptance_deadline"),
              bool(row.get("acceptance_overdue"))),
        _step("Phân công", row.get("assigned_at")),
        _step("Hoàn thành", row.get("completed_at"), row.get("completion_deadline"),
              bool(row.get("completion_overdue"))),
        _step("Trả lời", row.get("replied_at")),
    ]
    if row.get("rejected_at") is not None:
        steps.insert(2, _step("Từ chối nhận", row.get("rejected_at")))
    if row.get("revoked_at") is not None:
        steps.append(_step("Tỉnh thu hồi văn bản", row.get("revoked_at")))
    tone = "bad" if still_overdue(row) else "good" if done(row) else "mid"
    flags = (f'data-overdue="{str(bool(row.get("overdue"))).lower()}" '
             f'data-accepted="{str(acceptance_met(row)).lower()}" data-done="{str(done(row)).lower()}"')
    return (f'<article class="reach" data-commune="{_e(code)}" {flags}><h3><a href="/dashboard/communes/{_e(code)}">'
            f'{_e(_name(code))}</a> <span class="state {tone}">{_e(status_text(row))}</span></h3>'
            f'<ol class="timeline">{"".join(steps)}</ol></article>')


def directive_page(doc: str, recipients: dict[str, dict[str, Any]], everyone: dict[str, dict[str, Any]],
                   now_ms: int, refresh_s: int) -> str:
    """``recipients``: the rows the viewer may see; ``everyone``: all of them (the open/closed state is the
    directive's, whoever looks)."""
    first = everyone[min(everyone)]
    state = "Đã đóng" if closed(everyone, now_ms) else "Đang mở"
    facts = [("Số, ký hiệu", first.get("code_notation") or "—"), ("Mã văn bản", doc),
             ("Cơ quan ban hành", first.get("issuer_organ_id") or "—"),
             ("Độ khẩn", PRIORITY.get(first.get("priority") or "", "Thường")),
             ("Ngày ban hành", vn_time(first.get("promulgated_at"))), ("Hạn xử lý", vn_time(first.get("due_at"))),
             ("Thời hạn đến / tiếp nhận", f'{first.get("arrival_sla") or "—"} / {first.get("acceptance_sla") or "—"}'),
             ("Tình trạng", state)]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    late = [c for c, r in recipients.items() if still_overdue(r)]
    waiting = [c for c, r in recipients.items() if not acceptance_met(r)]
    summary = (f'<p class="names"><strong>Xã đang quá hạn:</strong> <span class="late">{_names(late)}</span><br>'
               f'<strong>Xã chưa tiếp nhận:</strong> <span class="waiting">{_names(waiting)}</span></p>')
    body = (f'<p><a href="/dashboard/directives">« Văn bản chỉ đạo</a></p>'
            f'<h1>Văn bản {_e(first.get("code_notation") or doc)}</h1>{subject(first)}<dl class="facts">{dl}</dl>'
            f'{summary}{LEGEND}'
            f'<section id="recipients"><h2>Các xã nhận ({len(recipients)})</h2>'
            f'{"".join(timeline(c, r) for c, r in recipients.items())}</section>')
    return html.page(f"Văn bản {first.get('code_notation') or doc} — Trung tâm điều hành", body,
                     refresh_s=refresh_s)


def _refusal(title: str, text: str, status: int) -> Response:
    from hub.dashboard.pages import _html  # here: dashboard imports this module for the overview section

    return _html(html.message(title, text), status)


def _ready(request: Request) -> FeedSnapshot | Response:
    """The read model's snapshot, or the response that says why there is none (login, not caught up)."""
    from hub.dashboard import pages as dashboard

    try:
        return dashboard._context(request, None)[1]
    except dashboard._Refused as refused:
        return refused.response


@router.get("/dashboard/directives")
async def directives(request: Request) -> Response:
    from hub.dashboard.pages import _html

    snap = _ready(request)
    if isinstance(snap, Response):
        return snap
    q, now = request.query_params, request.app.state.now()
    try:
        # the filter form sends its empty fields too (days=7&from=&to=): empty is "not given"
        win = window(now, q.get("days") or None, q.get("from") or None, q.get("to") or None)
    except PeriodRefused as bad:
        return _refusal("Khoảng thời gian không hợp lệ", str(bad), 400)
    return _html(list_page(request, snap, now, win, request.app.state.settings.dashboard_refresh_s))


@router.get("/dashboard/directives/{document_id:path}")
async def directive(request: Request, document_id: str) -> Response:
    from hub.dashboard.pages import _html

    snap = _ready(request)
    if isinstance(snap, Response):
        return snap
    everyone = snap.directive(document_id)
    if not everyone:
        return _refusal("Không tìm thấy", "Hub không có văn bản chỉ đạo với mã này.", 404)
    mine = visible(request, everyone)
    if not mine:
        return _refusal("Không có quyền", "Xã của tài khoản này không nhận văn bản chỉ đạo này.", 403)
    return _html(directive_page(document_id, mine, everyone, request.app.state.now(),
                                request.app.state.settings.dashboard_refresh_s))

"""The overview's first screen: who to call today and why, and how old the numbers are (hub issue 23).

Pure functions from read-model rows to HTML (no I/O, no clock of their own: ``now_ms`` is the hub's).

- **Ranking**: communes with at least ``HUB_KPI_MIN_VOLUME`` dossiers in scope are ranked; those with
  fewer are listed apart — one late dossier out of one is no signal. The province average is the
  province's own rate (all its communes' on-time dossiers over all their dossiers in scope, small
  communes included), not a mean of rates.
- **Attention**: the worst ranked communes (timeliness under 90 %, the bar's "good" line) and the one
  with the lowest Decision 766 score; overdue directives with the communes that have not accepted them;
  systems that stopped sending; targets behind. Each with its reason in words.
- **Focal contact**: each commune named carries the contact registered with a system covering it
  (``hub systems add --contact-*``), so the official knows whom to call.
- **Data time**: "Số liệu đến" is the newest ``computed_at`` of the rows the page shows, never later than
  when the read model last took a change (``built_ms``). The worker rewrites the current period's rows
  every ``HUB_KPI_REFRESH_S``; data older than :func:`stale_after_ms` means the worker is behind or stopped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from hub import reference
from hub.dashboard import html
from hub.read.queries import acceptance_met
from hub.systems import PUBLISHER, Contact, System

Ranked = list[tuple[reference.Commune, dict[str, Any]]]
SHOWN = 3  # items per attention card: the first screen has room for three each at 1440×900
LOW_RATE = 0.9  # under it a commune is worth a call (the ranking bar turns from green at the same line)
_KIND = {"dossier": "hồ sơ", "document": "văn bản", "target": "chỉ tiêu"}
NO_CONTACT = "Chưa đăng ký đầu mối liên hệ"
_NOT_DIALED = re.compile(r"[^0-9+]")


def stale_after_ms(kpi_refresh_s: int, read_model_interval_ms: int) -> int:
    """Data older than this is a warning: two recomputations missed (3 × the refresh), plus the read model's
    own interval for the gateway to pick the last one up."""
    return 3 * kpi_refresh_s * 1000 + read_model_interval_ms


def data_as_of(built_ms: int, rows: Iterable[dict[str, Any] | None]) -> int | None:
    """The newest ``computed_at`` of ``rows``, capped by ``built_ms`` (data cannot be newer than its reading);
    ``built_ms`` alone when no row has one; None before the read model was ever built."""
    newest = max((r["computed_at"] for r in rows if r and r.get("computed_at") is not None), default=None)
    if newest is None:
        return built_ms or None
    return min(newest, built_ms) if built_ms else newest


def split(ranked: list[tuple[reference.Commune, dict[str, Any] | None]], min_volume: int
          ) -> tuple[Ranked, Ranked, list[reference.Commune]]:
    """(ranked best first, too few dossiers, no dossier in scope) from :func:`province_ranking`'s order."""
    rated: Ranked = []
    small: Ranked = []
    empty: list[reference.Commune] = []
    for c, row in ranked:
        volume = (row or {}).get("dossiers_in_scope") or 0
        if row is None or volume == 0 or row.get("timeliness_rate") is None:
            empty.append(c)
        elif volume < min_volume:
            small.append((c, row))
        else:
            rated.append((c, row))
    return rated, small, empty


def worst_first(rated: Ranked) -> Ranked:
    """Lowest rate first; at the same rate the commune with more dossiers first (more people waited)."""
    return sorted(rated, key=lambda cr: (cr[1]["timeliness_rate"], -cr[1]["dossiers_in_scope"], cr[0].code))


def summed(rows: Iterable[dict[str, Any] | None], part: str, whole: str) -> tuple[int, int]:
    """(Σ part, Σ whole) over the rows that exist: a province's rate is its summed counts, not a mean of rates."""
    a = b = 0
    for r in rows:
        if r:
            a += r.get(part) or 0
            b += r.get(whole) or 0
    return a, b


def province_average(rows: Iterable[dict[str, Any] | None]) -> tuple[int, int]:
    """(on time, in scope) summed over every commune's row."""
    return summed(rows, "dossiers_on_time", "dossiers_in_scope")


def _rate_of(pair: tuple[int, int]) -> float | None:
    return pair[0] / pair[1] if pair[1] else None


# --- attention ---------------------------------------------------------------------------------------
def _score(row: dict[str, Any]) -> str:
    score, out_of = row.get("score_766"), row.get("score_766_measured_max")
    if score is None:
        return ""
    return f"; điểm 766: {html.number1(score)}" + (f"/{html.number1(out_of)}" if out_of else "")


def low_communes(rated: Ranked, average: tuple[int, int]) -> list[tuple[reference.Commune, str]]:
    """The worst ranked communes under LOW_RATE (SHOWN at most) and the lowest by 766 score, with reasons."""
    avg = html.pct(_rate_of(average))
    chosen = [(c, r) for c, r in worst_first(rated) if r["timeliness_rate"] < LOW_RATE][:SHOWN]
    scored = [(c, r) for c, r in rated if r.get("score_766") is not None]
    if scored:
        lowest = min(scored, key=lambda cr: (cr[1]["score_766"], cr[0].code))
        if lowest[0].code not in {c.code for c, _r in chosen}:
            chosen.append(lowest)
    out = []
    position = {c.code: n for n, (c, _r) in enumerate(rated, 1)}
    for c, r in chosen:
        reason = (f"Đúng hạn {html.pct(r['timeliness_rate'])} ({r['dossiers_on_time']}/{r['dossiers_in_scope']} "
                  f"hồ sơ), xếp {position[c.code]}/{len(rated)}; bình quân tỉnh {avg}")
        if r.get("overdue_open_dossiers"):
            reason += f"; {r['overdue_open_dossiers']} hồ sơ quá hạn chưa giải quyết"
        out.append((c, reason + _score(r)))
    return out


def waiting_directives(overdue: list[tuple[str, dict[str, dict[str, Any]]]], now_ms: int
                       ) -> list[tuple[str, str, list[str], int]]:
    """(document id, notation, communes that have not accepted it, ms past its acceptance deadline) of every
    overdue directive some commune has not accepted, the longest overdue first."""
    out = []
    for doc, recipients in overdue:
        waiting = {c: r for c, r in recipients.items() if r.get("overdue") and not acceptance_met(r)}
        if not waiting:
            continue
        deadline = min((r.get("acceptance_deadline") or now_ms) for r in waiting.values())
        notation = next((r.get("code_notation") for r in recipients.values() if r.get("code_notation")), None)
        out.append((doc, notation or doc, sorted(waiting), max(0, now_ms - deadline)))
    return sorted(out, key=lambda d: (-d[3], d[0]))


# --- focal contacts ----------------------------------------------------------------------------------
def contacts(registered: Iterable[System]) -> dict[str, Contact]:
    """Commune code -> the contact of the first active publisher (by system id) covering it that has one.
    Revoked systems are skipped: their office may have changed since."""
    out: dict[str, Contact] = {}
    for s in sorted(registered, key=lambda s: s.id):
        if s.active and s.role == PUBLISHER and s.contact is not None:
            for code in s.communes:
                out.setdefault(code, s.contact)
    return out


def contact_html(contact: Contact | None, prefix: str = "") -> str:
    """"Đầu mối: name · phone (a tel: link) · e-mail (a mailto: link)", or the line saying there is none."""
    if contact is None:
        return f'<span class="detail contact no-contact">{html.e(prefix + NO_CONTACT)}</span>'
    parts = [html.e(contact.name)] if contact.name else []
    if contact.phone:
        parts.append(f'<a href="tel:{html.e(_NOT_DIALED.sub("", contact.phone))}">{html.e(contact.phone)}</a>')
    if contact.email:
        parts.append(f'<a href="mailto:{html.e(contact.email)}">{html.e(contact.email)}</a>')
    return f'<span class="detail contact">{html.e(prefix)}Đầu mối: {" · ".join(parts)}</span>'


def _item(kind: str, value: str, title: str, reason: str, href: str, contact: str) -> str:
    # data-call, not data-commune: the ranking below names the same communes, and tests tell them apart
    return (f'<li data-kind="{kind}" data-call="{html.e(value)}"><a href="{html.e(href)}">{html.e(title)}</a>'
            f'<br><span class="detail">{html.e(reason)}</span><br>{contact}</li>')


def _directive_contacts(names: list[str], known: Mapping[str, Contact]) -> str:
    """One contact line per waiting commune, SHOWN at most (the reason above already names them all)."""
    lines = [contact_html(known.get(c), f"{html.commune_name(c)} — ") for c in names[:SHOWN]]
    if len(names) > SHOWN:
        lines.append(f'<span class="detail">và {len(names) - SHOWN} xã khác</span>')
    return "<br>".join(lines)


def _card(label: str, items: list[str], total: int, anchor: str, none: str) -> str:
    more = (f'<a class="detail" href="#{anchor}">Xem tất cả ({total})</a>' if total > len(items) else "")
    body = f'<ol>{"".join(items)}</ol>{more}' if items else f'<span class="detail ok">{html.e(none)}</span>'
    return f'<div class="card" id="attention-{anchor}"><span class="label">{html.e(label)}</span>{body}</div>'


def section(rated: Ranked, average: tuple[int, int], overdue, silent: list[dict[str, Any]],
            targets: list[dict[str, Any]], now_ms: int, known: Mapping[str, Contact] | None = None) -> str:
    """"Cần quan tâm hôm nay": four cards, each the few items most in need with their reasons and, for each
    commune named, its focal contact from ``known`` (see :func:`contacts`)."""
    known = known or {}
    low = low_communes(rated, average)
    communes = [_item("commune", c.code, html.unit_name(c), reason, f"/dashboard/communes/{c.code}",
                      contact_html(known.get(c.code))) for c, reason in low]
    waiting = waiting_directives(overdue, now_ms)
    directives = [_item("directive", doc, notation,
                        f"Quá hạn tiếp nhận {html.duration(late)}; chưa tiếp nhận: "
                        + ", ".join(html.commune_name(c) for c in names), "#directives",
                        _directive_contacts(names, known))
                  for doc, notation, names, late in waiting[:SHOWN]]
    quiet = [_item("silent", s["commune_code"], html.commune_name(s["commune_code"]),
                   f"{s['source_system']} ngừng gửi dữ liệu {_KIND.get(s['kind'], s['kind'])} từ "
                   f"{html.vn_time(s['last_ingest_time'])} ({html.duration(max(0, now_ms - s['last_ingest_time']))})",
                   f"/dashboard/communes/{s['commune_code']}", contact_html(known.get(s["commune_code"])))
             for s in silent[:SHOWN]]
    behind = [r for r in targets if r["status"] == "behind"]
    late_targets = [_item("target", r["commune_code"], html.commune_name(r["commune_code"]),
                          f"{r['indicator_name'] or r['indicator_code']}: đạt {html.pct(r['completion_rate'])}, "
                          f"phải đạt {html.pct(r['expected_share'])}", f"/dashboard/communes/{r['commune_code']}",
                          contact_html(known.get(r["commune_code"])))
                    for r in behind[:SHOWN]]
    cards = "".join((
        _card("Xã có tỷ lệ đúng hạn thấp", communes, len(communes), "timeliness",
              "Không xã nào dưới 90% trong số xã đủ hồ sơ."),
        _card("Văn bản chỉ đạo quá hạn chưa tiếp nhận", directives, len(waiting), "directives",
              "Không có văn bản quá hạn chưa tiếp nhận."),
        _card("Hệ thống ngừng gửi dữ liệu", quiet, len(silent), "silent", "Tất cả hệ thống đều đang gửi dữ liệu."),
        _card("Chỉ tiêu chậm tiến độ", late_targets, len(behind), "targets", "Không có chỉ tiêu chậm tiến độ."),
    ))
    return f'<section id="attention"><h2>Cần quan tâm hôm nay</h2><div class="cards">{cards}</div></section>'


# --- data time ---------------------------------------------------------------------------------------
def as_of_line(as_of: int | None, now_ms: int, stale_ms: int, silent: int) -> str:
    """"Số liệu đến HH:MM ngày dd/mm/yyyy", and a warning when the data is older than ``stale_ms`` or a
    source stopped sending."""
    if as_of is None:
        text = '<p class="asof">Chưa có số liệu.</p>'
    else:
        time_, day = html.vn_time(as_of)[11:], html.vn_time(as_of)[:10]
        text = f'<p class="asof" data-as-of="{as_of}">Số liệu đến {time_} ngày {day}</p>'
    warnings = []
    if as_of is not None and now_ms - as_of > stale_ms:
        age = now_ms - as_of
        # with a short HUB_KPI_REFRESH_S the warning comes within a minute: "0 phút" would read as "just now"
        age_text = f"{age // 1000} giây" if age < 60_000 else html.duration_fine(age)
        warnings.append(f"Số liệu chưa được cập nhật trong {age_text}: bộ xử lý số liệu "
                        "đang chậm hoặc đã dừng; các con số dưới đây có thể đã cũ.")
    if silent:
        warnings.append(f"{silent} hệ thống đã ngừng gửi dữ liệu: số liệu của các xã đó có thể thiếu.")
    return text + "".join(f'<p class="error stale" role="alert">{html.e(w)}</p>' for w in warnings)

"""The dashboard's "Chỉ tiêu và giải ngân" (targets and disbursement) sections: pure HTML from progress rows.

The province overview (:func:`section`) answers first "how far is the province": one table row per program
and indicator with the province's totals (:func:`hub.analytics.targets.rollup`, the same totals as
``GET /v1/targets/province``), money in tỷ đồng. Below it, per indicator, only the communes that need the
province's attention are listed (behind, then no_report, the largest gap first:
:func:`hub.analytics.targets.attention_key`); the others are folded in a ``<details>``, so a province of 135
communes × four indicators is a few lines per indicator rather than 540. Links filter it by program.

The commune page (:func:`commune_section`) lists all of one commune's targets. Each bar: the filled part is
what was done (completion rate), the dark mark what should have been done by today (expected share,
docs/targets.md). Inline SVG and ``<details>``, no script: the page's Content-Security-Policy stays as it is.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

from hub.analytics import targets as tg
from hub.dashboard import export
from hub.dashboard.html import _e, _name, pct
from hub.errors import Rejected
from hub.read import targets as read_targets

PROGRAMS = {
    "NTM": "Chương trình MTQG xây dựng nông thôn mới",
    "GNBV": "Chương trình MTQG giảm nghèo bền vững",
    "DTTS": "Chương trình MTQG phát triển KT-XH vùng đồng bào dân tộc thiểu số và miền núi",
}
STATUS = {"behind": "Chậm tiến độ", "no_report": "Chưa báo cáo", "on_track": "Đúng tiến độ", "done": "Hoàn thành",
          "unassigned": "Chưa giao chỉ tiêu"}
UNITS = {"VND": "đồng", "million_VND": "triệu đồng", "household": "hộ", "criterion": "tiêu chí", "percent": "%",
         "person": "người", "project": "dự án"}
# Money is read in tỷ đồng at the province (1 tỷ = 10^9 đồng): đồng per unit of each money unit.
MONEY = {"VND": 1, "million_VND": 1_000_000}
_TY = Decimal(1_000_000_000)
ATTENTION = ("behind", "no_report")  # listed; the other statuses are folded


def program_name(code: str) -> str:
    return PROGRAMS.get(code, f"Chương trình của tỉnh ({code})")


def _vn(text: str) -> str:
    """1,234.5 (Python's grouping) → 1.234,5 (Vietnamese)."""
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def number(value: float | None) -> str:
    """2.000.000.000 or 12,5 — as a Vietnamese spreadsheet writes it; a dash for no value."""
    if value is None:
        return "—"
    return _vn(f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0"))


def _ty(value: float, unit: str) -> str:
    """The number of tỷ đồng, two decimals rounded half up (0,95), plain 0 for nothing."""
    if value == 0:
        return "0"
    # Decimal(float) is exact, so 2.315 tỷ rounds up as a person would, not down as its binary double does.
    ty = (Decimal(value) * MONEY[unit] / _TY).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return _vn(f"{ty:,.2f}")


def money(value: float | None, unit: str = "VND") -> str:
    """2.316.000.000 đồng → "2,32 tỷ đồng"; 950 triệu đồng (``million_VND``) → "0,95 tỷ đồng"."""
    return "—" if value is None else f"{_ty(value, unit)} tỷ đồng"


def unit_label(unit: str | None) -> str:
    return "tỷ đồng" if unit in MONEY else UNITS.get(unit or "", unit or "")


def amount(value: float | None, unit: str | None) -> str:
    """A value in its unit as the province reads it: money in tỷ đồng, the rest as assigned (40 hộ)."""
    if unit in MONEY:
        return money(value, unit)
    return f"{number(value)} {unit_label(unit)}".rstrip()


def _pair(actual: float | None, target: float | None, unit: str | None) -> str:
    """"2 / 5 tiêu chí", "1,50 / 3,00 tỷ đồng": done over planned, the unit once."""
    if unit in MONEY and actual is not None and target is not None:
        return f"{_ty(actual, unit)} / {money(target, unit)}"
    return f"{number(actual)} / {amount(target, unit)}"


def _date(iso_date: str | None) -> str:
    return "—" if not iso_date else f"{iso_date[8:10]}/{iso_date[5:7]}/{iso_date[0:4]}"


def progress_bar(row: dict[str, Any]) -> str:
    """Done (filled, coloured by status) against expected by today (the mark), on a 0-100% track."""
    done = max(0.0, min(1.0, row["completion_rate"] or 0.0)) * 100
    expected = max(0.0, min(1.0, row["expected_share"] or 0.0)) * 100
    tip = f"Đã thực hiện {pct(row['completion_rate'])}, phải đạt {pct(row['expected_share'])} theo tiến độ"
    return ('<svg class="progress" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" '
            f'aria-label="{_e(tip)}"><title>{_e(tip)}</title><rect class="track" width="100" height="10"/>'
            f'<rect class="done {_e(row["status"])}" width="{done:.2f}" height="10"/>'
            f'<rect class="expected" x="{max(0.0, expected - 0.6):.2f}" width="1.2" height="10"/></svg>')


def _detail(row: dict[str, Any]) -> str:
    if row["actual_value"] is None:
        detail = f"Chưa báo cáo; kế hoạch {amount(row['target_value'], row['unit'])}"
    else:
        detail = (f"{_pair(row['actual_value'], row['target_value'], row['unit'])}, "
                  f"số liệu đến {_date(row['actual_as_of'])}")
    if row["status"] == "no_report" and row["days_since_report"] is not None:
        detail += f" ({row['days_since_report']} ngày không báo cáo)"
    if "unit_mismatch" in (row["flags"] or ()):
        detail += "; báo cáo mới nhất sai đơn vị tính"
    return detail


def _item(row: dict[str, Any], label: str) -> str:
    """One target as a list item: ``label`` (already HTML), its bar, done / expected, status, details."""
    return (f'<li data-commune="{_e(row["commune_code"])}" data-status="{_e(row["status"])}" '
            f'data-indicator="{_e(row["indicator_code"])}">{label}{progress_bar(row)}'
            f'<span class="value">{pct(row["completion_rate"])} / {pct(row["expected_share"])}</span>'
            f'<span class="status {_e(row["status"])}">{STATUS.get(row["status"], row["status"])}</span>'
            f'<span class="detail">{_e(_detail(row))}</span></li>')


def _commune_item(row: dict[str, Any]) -> str:
    code = row["commune_code"]
    return _item(row, f'<a href="/dashboard/communes/{_e(code)}">{_e(_name(code))}</a>')


def _program_order(programs: set[str]) -> list[str]:
    order = {p: i for i, p in enumerate(PROGRAMS)}  # the national programs first, in the usual order
    return sorted(programs, key=lambda p: (order.get(p, len(order)), p))


def _chosen(program: str | None, present: list[str]) -> tuple[str | None, bool]:
    """(the program asked for in canonical form, whether it has rows); no program: (None, True)."""
    if program is None or program == "":
        return None, True
    try:
        code = read_targets.program_of(program)
    except Rejected:
        return None, False
    return code, code in present


def _filter(present: list[str], chosen: str | None) -> str:
    """"Tất cả · NTM · GNBV …": links to the overview filtered by one program (only those with rows)."""
    links = []
    for code, label in [(None, "Tất cả"), *((p, p) for p in present)]:
        href = "/dashboard" + (f"?program={quote(code, safe='')}" if code else "") + "#targets"
        title = "Mọi chương trình" if code is None else program_name(code)
        current = ' aria-current="page"' if code == chosen else ""
        links.append(f'<a href="{_e(href)}" title="{_e(title)}"{current}>{_e(label)}</a>')
    return f'<nav class="programs" aria-label="Lọc theo chương trình">Chương trình: {" · ".join(links)}</nav>'


_TOTALS_HEAD = ("Chỉ tiêu", "Đơn vị", "Kế hoạch", "Đã thực hiện", "Phải đạt đến nay", "Đã đạt / phải đạt",
                "Xã chậm tiến độ", "Xã chưa báo cáo")


def _totals_row(group: dict[str, Any]) -> str:
    unit, statuses = group["unit"], group["statuses"]
    name = group["indicator_name"] or group["indicator_code"]
    cells = [f'{_e(name)} <small>({_e(group["indicator_code"])})</small>', _e(unit_label(unit)),
             _e(amount(group["total_target"], unit)), _e(amount(group["total_actual"], unit)),
             _e(amount(group["total_expected"], unit)),
             f'{pct(group["completion_rate"])} / {pct(group["expected_share"])}',
             f'{statuses["behind"]} / {group["communes"]}', f'{statuses["no_report"]} / {group["communes"]}']
    tds = "".join(f'<td data-label="{_e(h)}">{c}</td>' for h, c in zip(_TOTALS_HEAD, cells, strict=True))
    return f'<tr data-program="{_e(group["program"])}" data-indicator="{_e(group["indicator_code"])}">{tds}</tr>'


def totals_table(rolled: dict[str, Any]) -> str:
    """The province's totals per program and indicator (:func:`hub.analytics.targets.rollup`'s groups)."""
    by_program: dict[str, list[dict[str, Any]]] = {}
    for group in rolled["indicators"]:
        by_program.setdefault(group["program"], []).append(group)
    head = "".join(f"<th scope=\"col\">{_e(h)}</th>" for h in _TOTALS_HEAD)
    bodies = "".join(
        f'<tbody data-program="{_e(p)}"><tr class="program"><th colspan="{len(_TOTALS_HEAD)}" scope="rowgroup">'
        f'{_e(program_name(p))}</th></tr>{"".join(_totals_row(g) for g in by_program[p])}</tbody>'
        for p in _program_order(set(by_program)))
    return (f'<table class="target-totals"><caption>Tổng toàn tỉnh (số xã chậm, chưa báo cáo trên số xã được '
            f'giao)</caption><thead><tr>{head}</tr></thead>{bodies}</table>')


def _indicator(name: str, indicator: str, members: list[dict[str, Any]]) -> str:
    """The communes of one indicator that need attention, listed; the others folded in a <details>."""
    members = sorted(members, key=tg.attention_key)
    listed = [m for m in members if m["status"] in ATTENTION]
    rest = [m for m in members if m["status"] not in ATTENTION]
    out = [f'<h4 data-indicator="{_e(indicator)}">{_e(name)} <small>({_e(indicator)})</small></h4>']
    if listed:
        out.append(f'<ol class="targets" data-indicator="{_e(indicator)}">'
                   f'{"".join(_commune_item(m) for m in listed)}</ol>')
    else:
        out.append(f'<p class="ok" data-indicator="{_e(indicator)}">Không xã nào chậm tiến độ hay chưa báo cáo.</p>')
    if rest:
        kinds = ", ".join(f"{n} {STATUS[s].lower()}" for s in ("on_track", "done")
                          if (n := sum(m["status"] == s for m in rest)))
        out.append(f'<details class="targets-rest" data-indicator="{_e(indicator)}"><summary>Các xã còn lại: '
                   f'{len(rest)} xã ({kinds})</summary><ol class="targets" data-indicator="{_e(indicator)}">'
                   f'{"".join(_commune_item(m) for m in rest)}</ol></details>')
    return "".join(out)


def _unassigned(members: list[dict[str, Any]]) -> str:
    items = "".join(_item(r, f'<a href="/dashboard/communes/{_e(r["commune_code"])}">{_e(_name(r["commune_code"]))}'
                             f'</a>') for r in sorted(members, key=lambda r: (r["indicator_code"], r["commune_code"])))
    return (f'<details class="targets-rest unassigned"><summary>{len(members)} báo cáo cho chỉ tiêu tỉnh chưa '
            f'giao</summary><ol class="targets">{items}</ol></details>')


def section(year: int, rows: list[dict[str, Any]], program: str | None = None) -> str:
    """The overview's section for a plan year's progress rows (as of the hub's today), optionally one program
    (``?program=`` as typed: an unknown one is said so on the page)."""
    head = f'<section id="targets"><h2>Chỉ tiêu và giải ngân — năm {year}</h2>'
    if not rows:
        return head + f'<p class="nodata">Chưa có chỉ tiêu nào được giao cho năm {year}.</p></section>'
    present = _program_order({r["program"] for r in rows})
    chosen, known = _chosen(program, present)
    parts = [head, _filter(present, chosen)]
    if not known:
        shown = (program or "")[:40]
        parts.append(f'<p class="error">Năm {year} không có chỉ tiêu nào của chương trình “{_e(shown)}”. '
                     'Chọn một chương trình ở trên.</p></section>')
        return "".join(parts)
    rows = [r for r in rows if chosen is None or r["program"] == chosen]
    day = max(r["evaluated_for"] for r in rows)
    counts = {s: sum(r["status"] == s for r in rows) for s in tg.STATUSES}
    summary = ", ".join(f"{counts[s]} {STATUS[s].lower()}" for s in tg.STATUSES if counts[s])
    scope = "" if chosen is None else f" của {program_name(chosen)}"
    parts += [export.links("targets", year=str(year)),
              f'<p class="asof">Đánh giá ngày {_date(day)}{_e(scope)}: {len(rows)} chỉ tiêu của các xã: {summary}. '
              'Tiền tính bằng tỷ đồng (1 tỷ = 1.000.000.000 đồng). Thanh màu là phần đã thực hiện, vạch đậm là '
              'mức phải đạt theo tiến độ.</p>']
    rolled = tg.rollup(rows, year, chosen)  # the read API's totals (read_targets.province_json), not re-added here
    if rolled["indicators"]:
        parts.append(f'<div class="scroll">{totals_table(rolled)}</div>')
    groups: dict[str, dict[tuple[str, str | None], list[dict[str, Any]]]] = {}
    unassigned: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["target_value"] is None:
            unassigned.setdefault(r["program"], []).append(r)
        else:  # grouped as rollup groups them: an indicator assigned in two units is two totals
            groups.setdefault(r["program"], {}).setdefault((r["indicator_code"], r["unit"]), []).append(r)
    names = {(g["program"], g["indicator_code"], g["unit"]): g["indicator_name"] for g in rolled["indicators"]}
    for prog in _program_order(set(groups) | set(unassigned)):
        parts.append(f'<div class="program" data-program="{_e(prog)}"><h3>{_e(program_name(prog))}</h3>')
        mine = groups.get(prog, {})
        for indicator, unit in sorted(mine, key=lambda k: (k[0], k[1] or "")):
            members = mine[(indicator, unit)]
            parts.append(_indicator(names.get((prog, indicator, unit)) or indicator, indicator, members))
        if prog in unassigned:
            parts.append(_unassigned(unassigned[prog]))
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


def commune_section(year: int, rows: list[dict[str, Any]]) -> str:
    """A commune page's section: every target of that commune for a plan year (``rows``: that commune's rows),
    grouped by program, each with its bar, done over planned in its unit (money in tỷ đồng), status in words."""
    head = f'<section id="targets"><h2>Chỉ tiêu và giải ngân — năm {year}</h2>'
    if not rows:
        return head + f'<p class="nodata">Xã chưa được giao chỉ tiêu nào cho năm {year}.</p></section>'
    code = rows[0]["commune_code"]
    day = max(r["evaluated_for"] for r in rows)
    counts = {s: sum(r["status"] == s for r in rows) for s in tg.STATUSES}
    summary = ", ".join(f"{counts[s]} {STATUS[s].lower()}" for s in tg.STATUSES if counts[s])
    parts = [head, export.links("targets", year=str(year), commune=code),
             f'<p class="asof">Đánh giá ngày {_date(day)}: {len(rows)} chỉ tiêu: {summary}. Thanh màu là phần đã '
             'thực hiện, vạch đậm là mức phải đạt theo tiến độ.</p>']
    by_program: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_program.setdefault(r["program"], []).append(r)
    for prog in _program_order(set(by_program)):
        items = "".join(
            _item(r, f'<span class="name">{_e(r["indicator_name"] or r["indicator_code"])} '
                     f'<small>({_e(r["indicator_code"])})</small></span>')
            for r in sorted(by_program[prog], key=lambda r: (r["indicator_code"], r["unit"] or "")))
        parts.append(f'<div class="program" data-program="{_e(prog)}"><h3>{_e(program_name(prog))}</h3>'
                     f'<ol class="targets commune">{items}</ol></div>')
    parts.append("</section>")
    return "".join(parts)

"""The dashboard's "Chỉ tiêu và giải ngân" (targets and disbursement) section: pure HTML from progress rows.

Per program, per indicator, one bar per commune: the filled part is what the commune has done
(completion rate), the dark mark what it should have done by today (expected share, docs/targets.md).
Communes that need the province's attention come first (:func:`hub.analytics.targets.attention_key`:
behind, then no_report, the largest gap first). Inline SVG, no script: the page's
Content-Security-Policy stays as it is.
"""

from __future__ import annotations

from typing import Any

from hub.analytics import targets as tg
from hub.gateway import dashboard_export as export
from hub.gateway.dashboard_html import _e, _name, pct

PROGRAMS = {
    "NTM": "Chương trình MTQG xây dựng nông thôn mới",
    "GNBV": "Chương trình MTQG giảm nghèo bền vững",
    "DTTS": "Chương trình MTQG phát triển KT-XH vùng đồng bào dân tộc thiểu số và miền núi",
}
STATUS = {"behind": "Chậm tiến độ", "no_report": "Chưa báo cáo", "on_track": "Đúng tiến độ", "done": "Hoàn thành",
          "unassigned": "Chưa giao chỉ tiêu"}
UNITS = {"VND": "đồng", "million_VND": "triệu đồng", "household": "hộ", "criterion": "tiêu chí", "percent": "%",
         "person": "người", "project": "dự án"}


def program_name(code: str) -> str:
    return PROGRAMS.get(code, f"Chương trình của tỉnh ({code})")


def number(value: float | None) -> str:
    """2.000.000.000 or 12,5 — as a Vietnamese spreadsheet writes it; a dash for no value."""
    if value is None:
        return "—"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


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


def _item(row: dict[str, Any]) -> str:
    unit = UNITS.get(row["unit"] or "", row["unit"] or "")
    if row["actual_value"] is None:
        detail = f"Chưa báo cáo; kế hoạch {number(row['target_value'])} {unit}"
    else:
        detail = (f"{number(row['actual_value'])} / {number(row['target_value'])} {unit}, "
                  f"số liệu đến {_date(row['actual_as_of'])}")
    if row["status"] == "no_report" and row["days_since_report"] is not None:
        detail += f" ({row['days_since_report']} ngày không báo cáo)"
    if "unit_mismatch" in row["flags"]:
        detail += "; báo cáo mới nhất sai đơn vị tính"
    code = row["commune_code"]
    return (f'<li data-commune="{_e(code)}" data-status="{_e(row["status"])}">'
            f'<a href="/dashboard/communes/{_e(code)}">{_e(_name(code))}</a>{progress_bar(row)}'
            f'<span class="value">{pct(row["completion_rate"])} / {pct(row["expected_share"])}</span>'
            f'<span class="status {_e(row["status"])}">{STATUS.get(row["status"], row["status"])}</span>'
            f'<span class="detail">{_e(detail)}</span></li>')


def section(year: int, rows: list[dict[str, Any]]) -> str:
    """The section for a plan year's progress rows (as of the hub's today)."""
    head = f'<section id="targets"><h2>Chỉ tiêu và giải ngân — năm {year}</h2>'
    if not rows:
        return head + f'<p class="nodata">Chưa có chỉ tiêu nào được giao cho năm {year}.</p></section>'
    day = max(r["evaluated_for"] for r in rows)
    counts = {s: sum(r["status"] == s for r in rows) for s in tg.STATUSES}
    summary = ", ".join(f"{counts[s]} {STATUS[s].lower()}" for s in tg.STATUSES if counts[s])
    parts = [head + export.links("targets", year=str(year)),
             f'<p class="asof">Đánh giá ngày {_date(day)}: thanh màu là phần đã thực hiện, vạch đậm là '
             f'mức phải đạt theo tiến độ. {len(rows)} chỉ tiêu: {summary}.</p>']
    by_program: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in rows:
        by_program.setdefault(r["program"], {}).setdefault(r["indicator_code"], []).append(r)
    order = {p: i for i, p in enumerate(PROGRAMS)}  # the national programs first, in the usual order
    for program in sorted(by_program, key=lambda p: (order.get(p, len(order)), p)):
        parts.append(f'<div class="program" data-program="{_e(program)}"><h3>{_e(program_name(program))}</h3>')
        for indicator, members in sorted(by_program[program].items()):
            members = sorted(members, key=tg.attention_key)
            name = next((m["indicator_name"] for m in members if m["indicator_name"]), indicator)
            parts.append(f'<h4 data-indicator="{_e(indicator)}">{_e(name)} <small>({_e(indicator)})</small></h4>'
                         f'<ol class="targets" data-indicator="{_e(indicator)}">'
                         f'{"".join(_item(m) for m in members)}</ol>')
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)

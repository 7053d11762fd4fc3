"""The one-screen text of ``hub status`` from the report :func:`hub.admin.status.collect` builds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.admin import verdict


def _render_glance(g: dict[str, Any], limit: int) -> list[str]:
    out = ["", f"province at a glance (month {g['month']}; feeds feed.kpi.commune.v1, feed.directive.v1, "
               "feed.freshness.v1)"]
    if "error" in g:
        return [*out, f"  error: {g['error']}"]
    worst = ", ".join(f"{w['code']} {w['name']} {w['timeliness'] * 100:.1f}% ({w['on_time']}/{w['in_scope']})"
                      for w in g["worst"]) or "no commune has a rate yet"
    out.append(f"  worst timeliness ({g['communes_rated']} communes rated): {worst}")
    out.append(f"  overdue directives: {len(g['overdue_directives'])}")
    for d in g["overdue_directives"][:limit]:
        waiting = ", ".join(d["not_accepted"]) or "-"
        out.append(f"    {d['code_notation'] or '-'} ({d['document_id']}): {len(d['overdue'])}/{d['recipients']} "
                   f"communes overdue; not accepted: {waiting}")
    out.append(f"  silent systems: {len(g['silent_systems'])}")
    out += [f"    {s['code']} {s['name']}: {s['source_system']} ({s['kind']}), last record {s['last']}"
            for s in g["silent_systems"][:limit]]
    hidden = max(0, len(g["overdue_directives"]) - limit) + max(0, len(g["silent_systems"]) - limit)
    if hidden:
        out.append(f"    … {hidden} more (--json lists all)")
    return out


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def render(report: dict[str, Any], *, max_silent: int = 12) -> str:
    """The one-screen text of ``hub status``."""
    out = [f"broker      {report['bootstrap']}: reachable ({report['brokers']} broker(s))", "", "topics"]
    rows = [("TOPIC", "PARTITIONS", "MESSAGES", "END OFFSETS")]
    for name, t in report["topics"].items():
        if not t.get("exists"):
            rows.append((name, "-", "-", "missing (run `hub topics create`)"))
            continue
        rows.append((name, str(t["partitions"]), str(t["messages"]),
                     ",".join(str(v) for _, v in sorted(t["end_offsets"].items()))))
    out += _table(rows)
    out += ["", "worker groups"] + _render_groups(report["groups"])
    s = report["systems"]
    out += ["", "systems     " + (f"error: {s['error']}" if "error" in s
                                  else f"{s['active']} active, {s['revoked']} revoked")]
    d = report["dlq"]
    if "error" in d:
        out.append(f"dead letters error: {d['error']}")
    else:
        out.append(f"dead letters {d['total']} ({d['pending']} pending replay, {d['recent']['pending']} of them "
                   f"from the last {d['recent']['window_h']:g} h)")
        out += [f"  {r}: {c['total']} ({c['pending']} pending)" for r, c in d["by_reason"].items()]
    out += _render_attention(report)
    out += _render_calendar(report["calendar"]) if "calendar" in report else []
    out += _render_freshness(report, max_silent)
    out += _render_glance(report["province_glance"], max_silent) if "province_glance" in report else []
    if "verdict" in report:
        out += ["", verdict.last_line(report["verdict"])]
    return "\n".join(out) + "\n"


def _render_groups(groups: dict[str, Any]) -> list[str]:
    out = []
    for name, g in groups.items():
        if "error" in g:
            out.append(f"  {g.get('group', name)}: error: {g['error']}")
            continue
        parts = ", ".join(f"{t} {v['lag']}" + ("" if v["committed"] else " (nothing committed yet)")
                          for t, v in g["topics"].items())
        before = "" if g.get("lag_before") is None else f" (was {g['lag_before']} {g['sample_s']:g} s before)"
        out.append(f"  {g['group']}: {g['state']}, {g['members']} member(s); lag {g['lag']}{before}: {parts}")
        out += [f"    STUCK {st['topic']} partition {st['partition']} at offset {st['offset']} since {st['since']} "
                f"({st['waiting']} waiting): see docs/operations.md" for st in g.get("stuck") or ()]
    return out


def _render_attention(report: dict[str, Any], shown: int = 10) -> list[str]:
    out = [""]
    s = report.get("silent_systems", {})
    if "error" in s:
        out.append(f"silent systems error: {s['error']}")
    else:
        rows = s.get("silent", [])
        out.append(f"silent systems {len(rows)} (system, kind and commune without a feed record for longer than "
                   "HUB_FRESHNESS_SILENT_HOURS of the kind; revoked systems left out)")
        out += [f"  {r['source_system']} ({r['kind']}) at {r['commune_code']}: silent {r['silent_h']:.0f} h, last "
                f"{r['last']}" for r in rows[:shown]]
    d = report.get("directives", {})
    if "error" in d:
        out.append(f"overdue directives error: {d['error']}")
    else:
        rows = d.get("overdue", [])
        out.append(f"overdue directives {len(rows)} open milestone(s) past their SLA ({d.get('rows', 0)} reach rows)")
        out += [f"  {r['document_id']} at {r['commune_code']}: {r['milestone']} due {r['deadline']}"
                for r in rows[:shown]]
    return out


def _render_calendar(c: dict[str, Any]) -> list[str]:
    if "error" in c:
        return [f"working calendar error: {c['error']}"]
    years = ", ".join(str(y) for y in c["scheduled_years"]) or "none"
    missing = "; NO official schedule for " + ", ".join(str(y) for y in c["stale_years"]) + " (calendar_stale)"
    return [f"working calendar official schedule for {years}{missing if c['stale_years'] else ''}"]


def _render_freshness(report: dict[str, Any], max_silent: int) -> list[str]:
    f = report["freshness"]
    out = [""]
    if "error" in f:
        return out + [f"freshness   error: {f['error']}"]
    out.append(f"freshness   last {report['tail']} records per feed partition; silent = no feed record "
               f"for more than {f['silent_after_h']:g}h")
    rows = [("COMMUNE", "NAME", "LAST FEED RECORD", "SOURCES", "")]
    rows += [(code, c["name"], c["last"] or "-", ",".join(c["sources"]) or "-", "SILENT" if c["silent"] else "")
             for code, c in f["communes"].items()]
    if len(rows) > 1:
        out += _table(rows)
    silent = f["silent"]
    covered = sum(1 for c in silent if c["registered"])
    out.append(f"  silent: {len(silent)} of {f['province_communes']} communes of province {report['province']}"
               f" ({covered} covered by a registered system)")
    if silent:
        shown = ", ".join(f"{c['code']} {c['name']}{'*' if c['registered'] else ''}" for c in silent[:max_silent])
        more = f" … and {len(silent) - max_silent} more (--json lists all)" if len(silent) > max_silent else ""
        out.append(f"    {shown}{more}" + ("  (* covered by a registered system)" if covered else ""))
    return out

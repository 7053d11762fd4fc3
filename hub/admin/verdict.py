"""Whether the hub needs an operator: the verdict of ``hub status``. Pure: reads a status report.

``hub status`` exits 0 when nothing needs attention and 1 when something does, and prints the
reasons on its last line; ``--json`` carries the same verdict. Each reason has a stable code
(what scripts and alert hooks match on) and a message naming what and how much:

| code | when |
|---|---|
| ``broker_unreachable`` | Kafka does not answer at the bootstrap |
| ``topics_missing`` | a hub topic does not exist (``hub topics create``) |
| ``worker_group_empty`` | a processor's consumer group has no member: no worker runs it |
| ``worker_lag_growing`` | a group's lag grew during the sample and is above ``max_lag`` |
| ``worker_not_consuming`` | a group is more than ``max_lag`` behind and committed nothing during the sample |
| ``dead_letters_pending`` | dead letters of the last ``dlq_window_h`` hours were not replayed yet |
| ``system_silent`` | an active source system sent nothing to a commune for longer than its kind's threshold |
| ``directive_overdue`` | a directive is past an SLA milestone at a commune and the milestone is still open |
| ``section_unreadable`` | a part of the report could not be read (its error says why) |

Lag thresholds: the engines commit a batch every few tens of milliseconds, so a healthy group's
lag stays near zero; ``max_lag`` (default 1,000 records, a batch) keeps a burst that is being
worked off from being called trouble, and absorbs the transaction markers that follow each
committed batch on the feeds (one offset per partition that is no record).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

CODES = ("broker_unreachable", "topics_missing", "worker_group_empty", "worker_lag_growing", "worker_not_consuming",
         "partition_stuck", "dead_letters_pending", "system_silent", "directive_overdue", "calendar_stale",
         "section_unreadable")
_SHOWN = 5  # names listed in one reason's message; the report lists all


# --- what needs attention, from feed rows ---------------------------------------------------------
def _iso(ms: int | None) -> str | None:
    return None if ms is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def silent_rows(freshness_rows: Iterable[dict[str, Any]], now_ms: int, active: frozenset[str]) -> list[dict]:
    """(system, kind, commune) entries of the latest ``CommuneFreshness`` rows that are silent now.

    Judged on the hub's ingest time against the threshold the row carries (the worker's
    ``HUB_FRESHNESS_SILENT_HOURS``), at ``now_ms`` — a row written before the threshold passed still
    counts. Systems that are not active (revoked) are expected to be silent and are left out.
    """
    out = []
    for row in freshness_rows:
        for sys_ in row.get("systems") or ():
            last, limit = sys_.get("last_ingest_time"), sys_.get("silent_after_ms")
            if sys_["source_system"] not in active or last is None or limit is None or now_ms - last <= limit:
                continue
            out.append({"source_system": sys_["source_system"], "kind": sys_["kind"],
                        "commune_code": row["commune_code"], "last": _iso(last),
                        "silent_h": round((now_ms - last) / 3_600_000, 1)})
    return sorted(out, key=lambda r: (-r["silent_h"], r["source_system"], r["commune_code"]))


_MILESTONES = (("arrival", "arrived_at"), ("acceptance", "accepted_at"), ("completion", "completed_at"))


def overdue_rows(reach_rows: Iterable[dict[str, Any]], now_ms: int) -> list[dict]:
    """Milestones of the latest ``DirectiveReach`` rows that are past their deadline and still open.

    Open: the milestone has not happened and the directive was not revoked. A milestone met late is
    history (the row's ``*_overdue`` flag stays), not something to act on.
    """
    out = []
    for row in reach_rows:
        if row.get("revoked_at") is not None:
            continue
        for milestone, done in _MILESTONES:
            deadline = row.get(f"{milestone}_deadline")
            late = bool(row.get(f"{milestone}_overdue")) or (deadline is not None and deadline < now_ms)
            if late and row.get(done) is None:
                out.append({"document_id": row["document_id"], "commune_code": row["commune_code"],
                            "milestone": milestone, "deadline": _iso(deadline)})
    return sorted(out, key=lambda r: (r["deadline"] or "", r["document_id"], r["commune_code"]))


def group_report(group: str, state: str, members: int, lags: dict[str, dict[str, Any]], lag_before: int | None,
                 committed_before: dict, committed_after: dict, sample_s: float) -> dict[str, Any]:
    """One worker group's section: members, lag now (per input topic) and at the sample's start."""
    return {"group": group, "state": state, "members": members, "topics": lags,
            "lag": sum(v["lag"] for v in lags.values()), "lag_before": lag_before, "sample_s": round(sample_s, 1),
            "progressed": committed_after != committed_before}


# --- the verdict ----------------------------------------------------------------------------------
def _reason(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _names(items: list[str]) -> str:
    more = f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


def unreachable(error: str) -> dict[str, Any]:
    """The verdict when the broker does not answer (no report can be made)."""
    return {"ok": False, "reasons": [_reason("broker_unreachable", error)]}


def groups(report_groups: dict[str, Any], max_lag: int) -> list[dict[str, str]]:
    out = []
    for name, g in report_groups.items():
        if "error" in g:
            out.append(_reason("section_unreadable", f"worker group {g.get('group', name)}: {g['error']}"))
            continue
        if not g["members"]:
            out.append(_reason("worker_group_empty", f"worker group {g['group']} has no member (state "
                               f"{g['state']}): no worker runs the {name} processor"))
        before, after, window = g.get("lag_before"), g["lag"], g.get("sample_s")
        if before is None or after <= max_lag:
            continue
        if after > before:
            out.append(_reason("worker_lag_growing", f"worker group {g['group']}: lag grew from {before} to {after} "
                               f"records in {window:g} s"))
        elif not g.get("progressed", True):
            out.append(_reason("worker_not_consuming", f"worker group {g['group']}: {after} records behind and no "
                               f"offset committed in {window:g} s"))
    return out


def dead_letters(dlq: dict[str, Any]) -> list[dict[str, str]]:
    recent = dlq.get("recent") or {}
    if not recent.get("pending"):
        return []
    by = ", ".join(f"{r}: {n}" for r, n in sorted(recent["by_reason"].items(), key=lambda kv: (-kv[1], kv[0])))
    return [_reason("dead_letters_pending", f"{recent['pending']} dead letter(s) from the last "
                    f"{recent['window_h']:g} h pending replay ({by}); see `hub dlq list --show 20`")]


def silent_systems(section: dict[str, Any]) -> list[dict[str, str]]:
    rows = section.get("silent") or []
    if not rows:
        return []
    by_system: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        by_system.setdefault((r["source_system"], r["kind"]), []).append(r)
    names = [f"{system} ({kind}: {len(rs)} commune(s), {min(r['silent_h'] for r in rs):.0f} h)"
             for (system, kind), rs in sorted(by_system.items())]
    return [_reason("system_silent", f"{len(by_system)} source system(s) silent: {_names(names)}")]


def overdue_directives(section: dict[str, Any]) -> list[dict[str, str]]:
    rows = section.get("overdue") or []
    if not rows:
        return []
    docs = sorted({r["document_id"] for r in rows})
    return [_reason("directive_overdue", f"{len(rows)} directive milestone(s) overdue and open at "
                    f"{len({r['commune_code'] for r in rows})} commune(s), {len(docs)} directive(s): {_names(docs)}")]


def judge(report: dict[str, Any], *, max_lag: int = 1000) -> dict[str, Any]:
    """The verdict of a status report: ``{"ok": bool, "reasons": [{"code", "message"}, ...]}``."""
    reasons = []
    missing = [name for name, t in report.get("topics", {}).items() if not t.get("exists")]
    if missing:
        reasons.append(_reason("topics_missing", f"{len(missing)} hub topic(s) missing: {_names(missing)}; run "
                               "`hub topics create`"))
    reasons += groups(report.get("groups", {}), max_lag)
    for section, check in (("dlq", dead_letters), ("silent_systems", silent_systems),
                           ("directives", overdue_directives)):
        part = report.get(section) or {}
        if "error" in part:
            reasons.append(_reason("section_unreadable", f"{section}: {part['error']}"))
        else:
            reasons += check(part)
    return {"ok": not reasons, "reasons": reasons}


def last_line(verdict: dict[str, Any]) -> str:
    """The line ``hub status`` ends with: ``ok: ...`` or ``attention: <code>: <message>; ...``."""
    if verdict["ok"]:
        return "ok: nothing needs attention"
    return "attention: " + "; ".join(f"{r['code']}: {r['message']}" for r in verdict["reasons"])

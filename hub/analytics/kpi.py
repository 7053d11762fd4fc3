"""Commune service-quality indicators after Decision 766/QĐ-TTg (Bộ chỉ số chỉ đạo, điều hành và
đánh giá chất lượng phục vụ người dân, doanh nghiệp) — the ONE place the formulas live.

Timeliness (tỷ lệ giải quyết đúng hạn) for a period P, as DESIGN §3 states it:

- *in scope* (thuộc phạm vi đánh giá): dossiers received in P, plus dossiers received earlier and
  not finished before P starts; a dossier not accepted (status 3, không được tiếp nhận) is out of
  scope, and so is one only registered online (status 1) until it is accepted (2 or later);
- *finished* (đã giải quyết): status 7 withdrawn, 9 processing finished, 10 result returned;
- *finished on time* (giải quyết đúng hạn): finished within P with NgayKetThucXuLy on or before
  NgayHenTra, compared by calendar day in Vietnam time;
- *in progress in time* (đang giải quyết trong hạn): not finished at the end of P (or now, for the
  current period) and due on or after that moment, or paused (5, 6, 8: the clock stops), or
  without a due date;
- timeliness = (finished on time + in progress in time) / in scope.

Where the rule is silent (docs/kpi.md says why):

- a dossier received before P and finished in P after its due day is in scope and *late*;
- paused counts as in time only when the pause began on or before the due date: a dossier
  already overdue when it was paused stays overdue (a supplement request cannot clear a delay);
- "due on or after that moment" compares instants (the end of P, or now), literally;
- finished on time without a due date: on time (no deadline was set, as for open dossiers);
- the due date is the one in force (:func:`hub.analytics.dossier.due_in_force`): an appointment issued
  after it passed does not move it, unless it restarts the clock after a supplement or financial-obligation
  pause that began in time; ``rescheduled_after_due`` counts in-scope dossiers given one before the instant;
- fully online = channel 2 AND level 4 (a level-4 service filed at the counter is not): <= received_online;
- received / online / fully-online / fee / payment / digitization counts cover dossiers received
  in P (NgayTiepNhan in P) that were accepted (status 3, or 1 alone, is not a received dossier);
- sync latency (độ trễ đồng bộ) covers every dossier event whose event time lies in P, status 3
  included: it measures the commune's system, not the dossier;
- workload per handler (khối lượng công việc) counts open dossiers at the end of P by the handler
  last reported before that moment.

Rates are fractions 0..1, None when the denominator is 0. Percentiles are nearest-rank.
``compute`` is the reference for one period; ``compute_many`` gives the same rows for many
periods in one pass over the dossiers (the engine's hot path).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from hub.analytics import bounds, score766
from hub.analytics import periods as pr
from hub.analytics.dossier import (
    PAUSED,
    State,
    accepted,
    arrived_at,
    as_of,
    due_in_force,
    event_times,
    finished_ms,
    finishing_event,
    handler_at,
    latest,
    pause_start,
    received_ms,
    status_at,
    value,
)
from hub.analytics.periods import Period

TRACE_IDS = 3  # trace ids of the latest contributing events a row names
_first = itemgetter(0)


class _Acc:
    """Counters of one (commune, period) while dossiers are classified."""

    __slots__ = ("commune", "period", "instant", "closed", "n", "latencies", "handlers", "traces")

    def __init__(self, commune: str, period: Period, now_ms: int):
        self.commune, self.period = commune, period
        self.instant = min(period.end, now_ms)  # "the end of P, or now for the current period"
        self.closed = period.end <= now_ms
        self.n = dict.fromkeys(("in_scope", "finished", "finished_on_time", "finished_late", "open",
                                "in_progress_in_time", "overdue_open", "received", "received_online",
                                "fully_online", "fee_bearing", "paid_online", "digitized",
                                "rescheduled_after_due", "finished_reported_late"), 0)
        self.latencies: list[int] = []
        self.handlers: dict[str, int] = {}
        self.traces: list[list] = []

    def received(self, online: bool, level4: bool, fee: bool, paid: bool, digitized: bool) -> None:
        n = self.n
        n["received"] += 1
        n["received_online"] += online
        n["fully_online"] += online and level4  # toàn trình: filed online for a fully online service
        n["fee_bearing"] += fee
        n["paid_online"] += fee and paid
        n["digitized"] += digitized

    def row(self, now_ms: int) -> dict[str, Any]:
        n, p = self.n, self.period
        lat = sorted(self.latencies)
        handlers = self.handlers.values()
        with_handler = sum(handlers)
        traces = sorted(self.traces, reverse=True)
        return {
            "commune_code": self.commune, "period": p.kind, "at": p.at, "period_key": p.key(self.commune),
            "period_start": p.start, "period_end": p.end, "evaluated_at": self.instant, "final": p.end <= now_ms,
            **n,
            "on_time": n["finished_on_time"] + n["in_progress_in_time"],
            "late": n["finished_late"] + n["overdue_open"],
            "timeliness": _rate(n["finished_on_time"] + n["in_progress_in_time"], n["in_scope"]),
            "online_rate": _rate(n["received_online"], n["received"]),
            "fully_online_rate": _rate(n["fully_online"], n["received"]),
            "online_payment_rate": _rate(n["paid_online"], n["fee_bearing"]),
            "digitization_rate": _rate(n["digitized"], n["received"]),
            "sync_latency_p50_ms": _rank(lat, 50), "sync_latency_p90_ms": _rank(lat, 90),
            "sync_latency_p95_ms": _rank(lat, 95), "sync_latency_count": len(lat),
            "distinct_handlers": len(self.handlers), "open_with_handler": with_handler,
            "open_per_handler_mean": _rate(with_handler, len(self.handlers)),
            "open_per_handler_max": max(handlers, default=0),
            "computed_at": now_ms,
            # Checked here, not only at merge: a state written before trace ids were validated may hold
            # 450 KB ones, and three of them make a row larger than a Kafka record may be.
            "trace_ids": bounds.traces((t for _, t in traces[:TRACE_IDS]), TRACE_IDS),
        }

    def trace(self, state: State) -> None:
        """Remember the dossier's latest traces before the evaluation instant (the row names the newest)."""
        for entry in state["tr"]:
            if entry[0] < self.instant:
                self.traces.append(entry)
        if len(self.traces) > 4 * TRACE_IDS:
            self.traces = sorted(self.traces)[-TRACE_IDS:]


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _rank(ordered: list[int], pct: int) -> int | None:
    """Nearest-rank percentile of sorted values (p50 is the lower median)."""
    if not ordered:
        return None
    return ordered[max(0, (pct * len(ordered) + 99) // 100 - 1)]


def in_progress_in_time(state: State, instant: int) -> bool:
    """Open at ``instant``: paused since on or before its due date, or due on or after ``instant``, or no due
    date (đang giải quyết trong hạn). The due date is the one in force (:func:`due_in_force`)."""
    due = due_in_force(state)[0]
    if due is None:
        return True
    if status_at(state, instant) in PAUSED:
        start = pause_start(state, instant)
        assert start is not None  # both read the events before instant: a paused status has a start
        return start <= due
    return due >= instant


def finished_on_time(fin: int, due: int | None) -> bool:
    """NgayKetThucXuLy on or before NgayHenTra by calendar day in Vietnam time; no due date is on time."""
    return due is None or pr.vn_day(fin) <= pr.vn_day(due)


def compute(dossiers: Iterable[State], commune_code: str, period: Period, now_ms: int) -> dict[str, Any]:
    """The indicators of one commune for one period, evaluated at ``now_ms`` (the reference): each dossier
    read as of the period's evaluation instant (:func:`hub.analytics.dossier.as_of`)."""
    acc = _Acc(commune_code, period, now_ms)
    for whole in dossiers:
        if whole["c"] != commune_code:
            continue
        s = as_of(whole, acc.instant)
        acc.latencies += [lat for t, lat in s["lat"] if period.start <= t < period.end]
        if not accepted(s):
            continue
        rcv = received_ms(s)
        if rcv is None:
            continue
        received_in_p = period.start <= rcv < period.end
        if received_in_p:
            acc.received(value(s, "ch") == "ONLINE", value(s, "lvl") == 4, value(s, "fee") is True,
                         value(s, "paid") is True, value(s, "dig") is True)
        fin = finished_ms(s)
        in_scope = rcv < period.end and (fin is None or fin >= period.start)
        if in_scope or received_in_p:
            acc.trace(s)
        if not in_scope:
            continue
        n = acc.n
        n["in_scope"] += 1
        due, ignored = due_in_force(s)
        n["rescheduled_after_due"] += bool(ignored) and ignored[0] < acc.instant
        if fin is not None and fin < period.end:
            n["finished"] += 1
            n["finished_on_time" if finished_on_time(fin, due) else "finished_late"] += 1
            n["finished_reported_late"] += acc.closed and _reported_late(s, acc.instant)
            continue
        n["open"] += 1
        n["in_progress_in_time" if in_progress_in_time(s, acc.instant) else "overdue_open"] += 1
        handler = handler_at(s, acc.instant)
        if handler is not None:
            acc.handlers[handler] = acc.handlers.get(handler, 0) + 1
    return acc.row(now_ms)


def _reported_late(s: State, instant: int) -> bool:
    """Whether the event that finished the dossier (as of ``instant``) first reached the hub at or after it."""
    t = finishing_event(s)
    arrived = None if t is None else arrived_at(s, t)
    return arrived is not None and arrived >= instant


def compute_many(dossiers: Iterable[State], keys: Sequence[str], now_ms: int) -> dict[str, dict[str, Any]]:
    """Rows for many period keys (``23734|month|2025-11``) in one pass over the dossiers; equal to
    :func:`compute` for each key. Dossiers of communes without a requested key are skipped."""
    by_commune: dict[str, list[_Acc]] = {}
    accs: dict[str, _Acc] = {}
    for k in keys:
        commune, period = pr.parse_key(k)
        if k not in accs:
            accs[k] = _Acc(commune, period, now_ms)
            by_commune.setdefault(commune, []).append(accs[k])
    earliest = min((acc.instant for acc in accs.values()), default=0)
    for s in dossiers:
        targets = by_commune.get(s["c"])
        if targets is not None:
            _classify(s, targets, earliest)
    return {k: acc.row(now_ms) for k, acc in accs.items()}


class _Facts:
    """What the rows read from one dossier as of one instant, computed once for every period that shares it."""

    __slots__ = ("s", "ok", "rcv", "fin", "due", "first_ignored", "flags", "fin_on_time", "tr", "tr_times",
                 "timeline", "open_at", "late_report")

    def __init__(self, s: State) -> None:
        self.s = s
        self.ok = accepted(s)
        self.rcv = received_ms(s) if self.ok else None
        if self.rcv is None:
            return
        self.fin = finished_ms(s)
        self.due, ignored = due_in_force(s)
        self.first_ignored = ignored[0] if ignored else None
        self.flags: tuple[bool, ...] | None = None
        self.fin_on_time = self.fin is not None and finished_on_time(self.fin, self.due)
        self.tr = s["tr"]
        self.tr_times = [t for t, _ in self.tr]
        self.timeline: tuple | None = None  # (times, statuses, pause-run starts), built when an open period needs it
        self.open_at: dict[int, tuple[bool, str | None]] = {}  # current periods share "now": classify once
        self.late_report: dict[int, bool] = {}

    def received_flags(self) -> tuple[bool, ...]:
        if self.flags is None:
            s = self.s
            self.flags = (value(s, "ch") == "ONLINE", value(s, "lvl") == 4, value(s, "fee") is True,
                          value(s, "paid") is True, value(s, "dig") is True)
        return self.flags


def _classify(whole: State, targets: list[_Acc], earliest: int) -> None:
    """One dossier into every requested period of its commune; per-dossier values computed once per
    evaluation instant the dossier has events at or after (else once for all).

    Timeline lookups (status, pause start, handler as of an instant) are bisections over arrays built
    once per view, and only a dossier's newest traces before an instant can reach a row, so
    each (dossier, period) pair costs a few comparisons — the same numbers as :func:`compute`.
    """
    lat = whole["lat"]
    if lat:
        lat_times = [t for t, _ in lat]  # sorted by event time
        for acc in targets:
            p = acc.period
            lo = bisect_left(lat_times, p.start)
            if lo < len(lat_times) and lat_times[lo] < p.end:
                hi = bisect_left(lat_times, min(p.end, acc.instant), lo)
                acc.latencies.extend(ms for _, ms in lat[lo:hi])
    # The view as of B only changes where B passes one of the dossier's event times: all the B between two
    # of them share one view (a dossier with 4 events has at most 5, however many periods are asked for).
    times = event_times(whole) if latest(whole) >= earliest else []
    views: dict[int, _Facts] = {}
    for acc in targets:
        k = bisect_left(times, acc.instant)  # events before B: times[:k]
        f = views.get(k)
        if f is None:
            f = views[k] = _Facts(whole if k == len(times) else as_of(whole, times[k]))
        if f.rcv is None:
            continue
        _count(f, acc)


def _count(f: _Facts, acc: _Acc) -> None:
    p = acc.period
    rcv, fin = f.rcv, f.fin
    assert rcv is not None  # the caller skips dossiers not received
    received_in_p = p.start <= rcv < p.end
    if received_in_p:
        acc.received(*f.received_flags())
    in_scope = not (rcv >= p.end or (fin is not None and fin < p.start))
    if in_scope or received_in_p:
        k = bisect_left(f.tr_times, acc.instant)
        if k:
            acc.traces.extend(f.tr[max(0, k - TRACE_IDS):k])
            if len(acc.traces) > 4 * TRACE_IDS:
                acc.traces = sorted(acc.traces)[-TRACE_IDS:]
    if not in_scope:
        return
    n = acc.n
    n["in_scope"] += 1
    if f.first_ignored is not None and f.first_ignored < acc.instant:
        n["rescheduled_after_due"] += 1
    instant = acc.instant
    if fin is not None and fin < p.end:
        n["finished"] += 1
        n["finished_on_time" if f.fin_on_time else "finished_late"] += 1
        if acc.closed:
            late = f.late_report.get(instant)
            if late is None:
                late = f.late_report[instant] = _reported_late(f.s, instant)
            n["finished_reported_late"] += late
        return
    n["open"] += 1
    verdict = f.open_at.get(instant)
    if verdict is None:
        if f.timeline is None:
            f.timeline = _timeline(f.s["tl"])
        verdict = f.open_at[instant] = (_in_time(f.timeline, f.due, instant), handler_at(f.s, instant))
    n["in_progress_in_time" if verdict[0] else "overdue_open"] += 1
    if verdict[1] is not None:
        acc.handlers[verdict[1]] = acc.handlers.get(verdict[1], 0) + 1


def _timeline(tl: list[list]) -> tuple[list[int], list[int], list[int | None]]:
    """Times, statuses and, for each entry, when the run of pauses it belongs to began (None: not paused)."""
    times, codes, runs = [], [], []
    start = None
    for t, code in tl:
        start = (t if start is None else start) if code in PAUSED else None
        times.append(t)
        codes.append(code)
        runs.append(start)
    return times, codes, runs


def _in_time(timeline: tuple[list[int], list[int], list[int | None]], due: int | None, instant: int) -> bool:
    """:func:`in_progress_in_time` over a prepared timeline."""
    if due is None:
        return True
    times, codes, runs = timeline
    j = bisect_left(times, instant) - 1
    if j >= 0 and codes[j] in PAUSED:
        start = runs[j]
        assert start is not None  # _timeline sets it for every paused entry
        return start <= due
    return due >= instant


def to_avro(row: dict[str, Any], province_code: str) -> dict[str, Any]:
    """A CommuneKpi v3 record (feed.kpi.commune.v1) from a row of :func:`compute` (``revision`` and
    ``revised_at``, when the row has them, are the KPI processor's: see hub.processors.kpi)."""
    return {
        "commune_code": row["commune_code"], "province_code": province_code,
        "period": row["period"].upper(), "period_start": row["period_start"], "period_end": row["period_end"],
        "dossiers_in_scope": row["in_scope"], "dossiers_finished": row["finished"],
        "dossiers_finished_on_time": row["finished_on_time"],
        "dossiers_in_progress_in_time": row["in_progress_in_time"], "timeliness_rate": row["timeliness"],
        "dossiers_received": row["received"], "online_dossiers": row["received_online"],
        "online_rate": row["online_rate"], "fully_online_dossiers": row["fully_online"],
        "fully_online_rate": row["fully_online_rate"], "fee_bearing_dossiers": row["fee_bearing"],
        "paid_online_dossiers": row["paid_online"], "online_payment_rate": row["online_payment_rate"],
        "digitized_dossiers": row["digitized"], "digitization_rate": row["digitization_rate"],
        "sync_latency_p50_ms": row["sync_latency_p50_ms"], "sync_latency_p95_ms": row["sync_latency_p95_ms"],
        "sync_latency_count": row["sync_latency_count"], "overdue_open_dossiers": row["overdue_open"],
        "open_dossiers": row["open"], "distinct_handlers": row["distinct_handlers"],
        "open_dossiers_per_handler": row["open_per_handler_mean"], "computed_at": row["computed_at"],
        # v2
        "period_key": row["period_key"], "at": row["at"], "evaluated_at": row["evaluated_at"],
        "final": row["final"], "dossiers_finished_late": row["finished_late"],
        "dossiers_on_time": row["on_time"], "dossiers_late": row["late"],
        "sync_latency_p90_ms": row["sync_latency_p90_ms"], "open_dossiers_with_handler": row["open_with_handler"],
        "open_dossiers_per_handler_max": row["open_per_handler_max"], "trace_ids": row["trace_ids"],
        # v3
        "finished_reported_late": row["finished_reported_late"], "rescheduled_after_due": row["rescheduled_after_due"],
        "revision": row.get("revision", 0), "revised_at": row.get("revised_at"),
        **score766.feed_fields(row),
    }

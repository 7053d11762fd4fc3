"""Per-dossier state (trạng thái hồ sơ) folded from feed.dossier.v1 records.

``merge(state | None, record) -> state`` is idempotent (the same record twice changes nothing)
and order-insensitive (the state is a function of the SET of records: shuffled input gives an
identical state), so publishers that re-send and late, out-of-order records are harmless. Every
part of the state is a join of sets:

- ``f``: last-writer-wins registers ``{name: [value, event_time]}`` for received_at (rcv),
  due_at (due), finished_at (fin), returned_at (ret), channel (ch), service_level (lvl),
  fee_bearing (fee), paid_online (paid), has_digitized_components (dig). The value of the record
  with the latest ``event_time`` wins; equal times are broken by the value's text, so the
  winner never depends on arrival order. A null never overwrites (PROGRESS records are partial).
- ``tl``: status timeline ``[[event_time, status code 1..10], ...]``, sorted, unique.
- ``hd``: handler pseudonym timeline ``[[event_time, pseudonym], ...]``.
- ``lat``: sync latencies ``[[event_time, ingest_time - event_time], ...]``, one per event time,
  the smallest kept: a copy re-published later under a new source id is the same change and
  must not count twice (the first arrival is the real sync). Negative delays (source clock
  ahead of the hub's) count as 0.
- ``tr``: trace ids ``[[event_time, trace_id], ...]``.
- ``fh``: every register's reports ``{name: [[event_time, value], ...]}`` (the newest 12, ordered like the
  register), so that :func:`as_of` can read a register as the events before any instant report it — a
  period's row reads only those (hub issue 22). ``m``: the newest event time the state holds.
- ``du``: appointments (NgayHenTra) ``[[issued, due_at], ...]``: each due date the dossier was given,
  with the earliest event time that reported it (when it was issued), sorted by that time. Per due
  value the minimum time, then the earliest 16 kept: a join (the earliest entries of a set only
  get earlier as records arrive), so still idempotent and order-free. :func:`due_in_force` reads it:
  an appointment issued after the due date in force had passed does not move it (docs/kpi.md).

Bounds (hub.analytics.bounds): handler pseudonyms are cut at 128 characters and trace ids over
64 characters are not kept. Each list keeps its newest entries only — 32 statuses, 8 handlers, 32 latencies,
4 traces — which is "the top N of the union", still order-insensitive; appointments keep their
16 earliest (the original due date first: later ones are the suspect ones). A dossier with more
changes loses its oldest ones: its status at the end of a long-past period may then be unknown
(treated as not paused) and its oldest events leave the sync-latency percentiles.
A state is about 1 KB as JSON (orjson) and merge is O(size of the state).
"""

from __future__ import annotations

from bisect import insort
from typing import Any

from hub.analytics import bounds
from hub.analytics.periods import vn_day

STATUS_CODE = {name: i for i, name in enumerate(
    ("NEWLY_REGISTERED", "ACCEPTED", "NOT_ACCEPTED", "PROCESSING", "SUPPLEMENT_REQUESTED",
     "FINANCIAL_OBLIGATION_REQUESTED", "WITHDRAWN", "STOPPED", "PROCESSING_FINISHED", "RESULT_RETURNED"), 1)}
REGISTERED = 1  # registered online, not (yet) accepted: not a received dossier
NOT_ACCEPTED = 3
FINISHED = frozenset({7, 9, 10})  # withdrawn, processing finished, result returned
PAUSED = frozenset({5, 6, 8})  # supplement requested, financial obligation requested, stopped
# A pause after which Decree 61/2018 (am. 107/2021) restarts the processing time: a new appointment issued
# when it ends moves the due date even though the old one has passed. Stopped (8) is not one.
RESTARTS = frozenset({5, 6})
CAPS = {"tl": 32, "hd": 8, "lat": 32, "tr": 4, "du": 16, "fh": 12}

# record field -> register name
REGISTERS = (("received_at", "rcv"), ("due_at", "due"), ("finished_at", "fin"), ("returned_at", "ret"),
             ("channel", "ch"), ("service_level", "lvl"), ("fee_bearing", "fee"), ("paid_online", "paid"),
             ("has_digitized_components", "dig"))

State = dict[str, Any]


def key(record: dict[str, Any]) -> str:
    """Table key of a dossier: ``<commune>|<dossier code>``."""
    return f"{record['commune_code']}|{record['dossier_code']}"


def merge(state: State | None, record: dict[str, Any]) -> State:
    """Fold one canonical DossierEvent into the dossier's state (a new dict; the input is untouched)."""
    t = record["event_time"]
    if state is None:
        state = {"c": record["commune_code"], "p": record.get("province_code"), "d": record["dossier_code"],
                 "f": {}, "fh": {}, "tl": [], "hd": [], "lat": [], "tr": [], "du": [], "m": t}
    regs = state["f"]
    hist = history(state)
    hist_out = hist
    for src, name in REGISTERS:
        value = record.get(src)
        if value is None:
            continue
        cur = regs.get(name)
        if cur is None or (t, str(value)) > (cur[1], str(cur[0])):
            if regs is state["f"]:
                regs = dict(regs)
            regs[name] = [value, t]
        entries = _add_report(hist.get(name, []), t, value)
        if entries is not hist.get(name):
            if hist_out is hist:
                hist_out = dict(hist)
            hist_out[name] = entries
    out = dict(state)
    out["f"] = regs
    out["fh"] = hist_out
    out["m"] = max(t, latest(state))
    status = STATUS_CODE.get(record.get("status") or "")
    if status is not None:
        out["tl"] = _add(state["tl"], [t, status], CAPS["tl"])
    if record.get("handler_pseudonym"):
        out["hd"] = _add(state["hd"], [t, bounds.ident(record["handler_pseudonym"])], CAPS["hd"])
    if bounds.trace(record.get("trace_id")):  # an oversized one is dropped: the state stays small
        out["tr"] = _add(state["tr"], [t, record["trace_id"]], CAPS["tr"])
    if record.get("ingest_time") is not None:
        out["lat"] = _add_latency(state["lat"], t, max(0, record["ingest_time"] - t))
    if record.get("due_at") is not None:
        du = _add_appointment(appointments(state), t, record["due_at"])
        if du is not state.get("du"):
            out["du"] = du
    return out


def _add_report(entries: list[list], t: int, value: Any) -> list[list]:
    """A register's reports ``[[event_time, value], ...]`` ordered like the register (time, then the
    value's text): the set of reports, its newest ``CAPS["fh"]`` kept."""
    entry = [t, value]
    if entry in entries:
        return entries
    out = list(entries)
    out.append(entry)
    out.sort(key=_report_order)
    return out[-CAPS["fh"]:]


def _report_order(entry: list) -> tuple[int, str]:
    return entry[0], str(entry[1])


def history(state: State) -> dict[str, list[list]]:
    """The reports of every register. A state stored before reports were kept has only each register's
    winner: that one report, at its time."""
    fh = state.get("fh")
    if fh is None:
        return {name: [[reg[1], reg[0]]] for name, reg in state["f"].items()}
    return fh


def latest(state: State) -> int:
    """The newest event time the state holds (``m``; computed for a state stored before it was kept)."""
    m = state.get("m")
    return _newest(state) if m is None else m


def _newest(state: State) -> int:
    times = [entries[-1][0] for name in ("tl", "hd", "lat", "tr") if (entries := state[name])]
    times += [t for _, t in state["f"].values()]
    times += [t for t, _ in state.get("du") or ()]
    return max(times, default=0)


def event_times(state: State) -> list[int]:
    """Every distinct event time the state holds, sorted: the instants where :func:`as_of` changes."""
    times = {e[0] for name in ("tl", "hd", "lat", "tr") for e in state[name]}
    times.update(e[0] for e in appointments(state))
    times.update(e[0] for entries in history(state).values() for e in entries)
    return sorted(times)


def as_of(state: State, instant: int) -> State:
    """The dossier as the events with event time before ``instant`` describe it — every register,
    timeline, appointment, handler, trace and latency (hub issue 22: a period's row reads only the
    events before its end, so an event dated after it cannot rewrite a closed period). The state
    itself when it holds nothing as new as ``instant``."""
    if latest(state) < instant:
        return state
    regs = {}
    for name, entries in history(state).items():
        found = None
        for entry in entries:
            if entry[0] >= instant:
                break
            found = entry
        if found is not None:
            regs[name] = [found[1], found[0]]
    out = {"c": state["c"], "p": state.get("p"), "d": state["d"], "f": regs}
    for name in ("tl", "hd", "lat", "tr"):
        out[name] = [e for e in state[name] if e[0] < instant]
    out["du"] = [e for e in appointments(state) if e[0] < instant]
    out["fh"] = {}  # a view is read, never merged into
    out["m"] = _newest(out)
    return out


def arrived_at(state: State, event_time: int) -> int | None:
    """When the first copy of the event at ``event_time`` reached the hub (its ingest time), if known."""
    for t, latency in state["lat"]:
        if t == event_time:
            return t + latency
    return None


def finishing_event(state: State) -> int | None:
    """Event time of the event that reported the finished status the dossier is in (the first of the
    trailing run of 7/9/10 in the timeline); None when not finished."""
    tl = state["tl"]
    if not tl or tl[-1][1] not in FINISHED:
        return None
    i = len(tl) - 1
    while i > 0 and tl[i - 1][1] in FINISHED:
        i -= 1
    return tl[i][0]


def _add(entries: list[list], entry: list, cap: int) -> list[list]:
    if entry in entries:
        return entries
    out = list(entries)
    insort(out, entry)
    return out[-cap:]


def _add_latency(entries: list[list], t: int, latency: int) -> list[list]:
    for i, (et, old) in enumerate(entries):
        if et == t:
            if latency >= old:
                return entries
            out = list(entries)
            out[i] = [t, latency]
            return out
    return _add(entries, [t, latency], CAPS["lat"])


def _add_appointment(entries: list[list], issued: int, due: int) -> list[list]:
    """The due date ``due`` reported at ``issued``: per due value the earliest report, the earliest kept."""
    out = entries
    for i, (t, d) in enumerate(entries):
        if d == due:
            if t <= issued:
                return entries
            out = entries[:i] + entries[i + 1:]
            break
    out = list(out)
    insort(out, [issued, due])
    return out[:CAPS["du"]]


def appointments(state: State) -> list[list]:
    """``[[issued, due_at], ...]`` by issue time. A state stored before appointments were kept has
    only its latest due date (the register), taken as issued when it was last reported."""
    du = state.get("du")
    if du is None:
        reg = state["f"].get("due")
        return [] if reg is None else [[reg[1], reg[0]]]
    return du


def due_in_force(state: State) -> tuple[int | None, list[int]]:
    """The due date timeliness is judged by, and the issue times of the appointments it ignored.

    Appointments are read in the order they were issued. The first sets the due date. A later one
    moves it when issued on or before the Vietnam calendar day of the due date in force (the day
    has not passed: finishing then would still be on time), or when it restarts the clock after a
    pause (5 supplement requested, 6 financial obligation requested) that began while that due date
    was in force and on or before it — Decree 61/2018/NĐ-CP as amended by Decree 107/2021/NĐ-CP:
    the time restarts when the supplement arrives. Any other appointment is an extension after the
    deadline (Phiếu xin lỗi và hẹn lại ngày trả kết quả): the dossier stays judged by the due date
    it missed, and the appointment is reported apart (``rescheduled_after_due``).
    """
    in_force: int | None = None
    issued = 0
    ignored: list[int] = []
    for t, due in appointments(state):
        if in_force is None or vn_day(t) <= vn_day(in_force) or _restarts(state["tl"], issued, in_force, t):
            in_force, issued = due, t
        else:
            ignored.append(t)
    return in_force, ignored


def _restarts(tl: list[list], issued: int, due: int, at: int) -> bool:
    """Whether a supplement or financial-obligation pause began between the issue of the due date in
    force and that due date (in time), and no later than ``at`` (the new appointment)."""
    return any(code in RESTARTS and issued <= t <= min(due, at) for t, code in tl)


def accepted(state: State) -> bool:
    """Whether the dossier counts at all: it reached status 2 or later (accepted, processing, ...) and is
    not, as of its latest status, not accepted (3). Registered online only (1) is not a received
    dossier: the one-stop office has not accepted it, and it has no due date yet."""
    tl = state["tl"]
    return bool(tl) and tl[-1][1] != NOT_ACCEPTED and any(code not in (REGISTERED, NOT_ACCEPTED) for _, code in tl)


def value(state: State, name: str) -> Any:
    """Current value of a register (None when never given)."""
    reg = state["f"].get(name)
    return None if reg is None else reg[0]


def status(state: State) -> int | None:
    """Latest status code (the newest timeline entry)."""
    return state["tl"][-1][1] if state["tl"] else None


def received_ms(state: State) -> int | None:
    """NgayTiepNhan; without it, the first event past registration and refusal (the acceptance: a
    dossier is received when it is accepted), else the first event seen."""
    rcv = value(state, "rcv")
    if rcv is None and state["tl"]:
        return next((t for t, code in state["tl"] if code not in (REGISTERED, NOT_ACCEPTED)), state["tl"][0][0])
    return rcv


def finished_ms(state: State) -> int | None:
    """When the dossier finished, if its latest status is 7, 9 or 10; else None.

    NgayKetThucXuLy (finished_at) when given; else, for 10, NgayTra (returned_at); else the time
    of the event that reported the finished status (the start of the trailing run of 7/9/10 in
    the timeline) — this is what a withdrawal (7) has, since no date field records it.
    """
    tl = state["tl"]
    if not tl or tl[-1][1] not in FINISHED:
        return None
    fin = value(state, "fin")
    if fin is not None:
        return fin
    if tl[-1][1] == 10 and (ret := value(state, "ret")) is not None:
        return ret
    return finishing_event(state)


def status_at(state: State, instant: int) -> int | None:
    """Status reached by events strictly before ``instant`` (None: nothing known yet)."""
    return _last_before(state["tl"], instant)


def _last_before(entries: list[list], instant: int) -> Any:
    found = None
    for t, item in entries:
        if t >= instant:
            break
        found = item
    return found


def pause_start(state: State, instant: int) -> int | None:
    """If paused (5, 6, 8) just before ``instant``: when the current pause began; else None."""
    start = None
    for t, code in state["tl"]:
        if t >= instant:
            break
        if code in PAUSED:
            if start is None:
                start = t
        else:
            start = None
    return start


def handler_at(state: State, instant: int) -> str | None:
    """Handler pseudonym last reported strictly before ``instant``."""
    return _last_before(state["hd"], instant)

"""Which KPI rows a change to a dossier can move (docs/kpi.md, "What to recompute").

A row reads the dossier as of its period's evaluation instant B (hub.analytics.dossier.as_of), so a
change whose earliest event time is h leaves every row evaluated at or before h as it was: the KPI
processor keeps one mark per commune, the earliest h, and recomputes the periods from it to now.
"""

from __future__ import annotations

from hub.analytics import periods as pr
from hub.analytics.dossier import State, appointments, history


def affected_periods(old: State | None, new: State, now_ms: int) -> list[str]:
    """Period keys of the dossier's commune whose rows may differ after ``old`` became ``new``.

    A row reads the dossier as of the period's evaluation instant (its end, or now): an entry first
    visible at event time ``h`` (:func:`changed_since`) changes no row evaluated at or before ``h``.
    So the periods that end after ``h`` and have started by ``now_ms``. Sorted keys, no duplicates.
    """
    h = changed_since(old, new)
    if h is None:
        return []
    commune = new["c"]
    out = {p for kind in pr.KINDS for p in pr.spanning(kind, h, max(h, now_ms)) if p.end > h and p.start <= now_ms}
    return sorted(p.key(commune) for p in out)


def changed_since(old: State | None, new: State) -> int | None:
    """The earliest event time of what ``old`` and ``new`` hold differently — a report, status, handler,
    trace, appointment or latency (None: nothing). Every view :func:`hub.analytics.dossier.as_of` gives at
    an instant up to it is the same for both, so only rows evaluated after it can change: "every period
    overlapping [changed_since, now]" is what the KPI processor's one mark per commune recomputes."""
    old = old or {"f": {}, "tl": [], "hd": [], "lat": [], "tr": []}
    found = [e[0] for name in ("tl", "hd", "tr", "lat") for e in _changed(old[name], new[name])]
    found += [e[0] for e in _changed(appointments(old), appointments(new))]
    ho, hn = history(old), history(new)
    for name in ho.keys() | hn.keys():
        found += [e[0] for e in _changed(ho.get(name, []), hn.get(name, []))]
    return min(found) if found else None


def _changed(a: list[list], b: list[list]) -> list[list]:
    """Entries in exactly one of two timelines."""
    return [e for e in a if e not in b] + [e for e in b if e not in a]

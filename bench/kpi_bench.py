"""``kpi``: the KPI rows of one commune — every day, month and quarter of the last 90 days — from its dossier
states, as the KPI processor's timer computes them (``hub.analytics.kpi.compute_many``).

Each dossier is read as of each period's evaluation instant (hub issue 22: a row reads only the events
before its end), so the cost grows with how many of a dossier's events fall after a period's end. The
baseline in the same process is the reference, ``compute`` once per period (what the one-pass
``compute_many`` exists to beat). CPU time per (dossier, period) pair is the number that holds when the
machine is shared.
"""

from __future__ import annotations

import random
import time

from bench.measure import TIMES, Row, Stat
from hub.analytics import dossier, kpi
from hub.analytics import periods as pr

COMMUNE = "23734"
_HOUR = 3_600_000
_STATUSES = list(dossier.STATUS_CODE)


def states(n: int, now_ms: int, seed: int = 5) -> list[dict]:
    """``n`` dossiers received over the 95 days before ``now_ms``, four or five events each, in time order."""
    rng = random.Random(seed)
    out: dict[str, dict] = {}
    base = now_ms - 100 * 24 * _HOUR
    for d in range(n):
        t = base + rng.randint(0, 95 * 24) * _HOUR
        received, due = t, t + rng.randint(3, 20) * 24 * _HOUR
        for i, status in enumerate((2, 4, rng.choice((4, 5, 9, 10)), rng.choice((9, 10, 4)))):
            t += rng.randint(1, 5 * 24) * _HOUR
            rec = {"commune_code": COMMUNE, "province_code": "52", "dossier_code": f"D{d}",
                   "status": _STATUSES[status - 1], "event_time": t, "ingest_time": t + rng.randint(10, 3000) * 1000,
                   "received_at": received, "due_at": due, "channel": rng.choice(("ONLINE", "IN_PERSON")),
                   "service_level": rng.choice((2, 3, 4)), "handler_pseudonym": rng.choice(("h1", "h2", "h3")),
                   "fee_bearing": True, "paid_online": rng.random() < 0.5,
                   "has_digitized_components": rng.random() < 0.5, "trace_id": f"t{d}-{i}",
                   "finished_at": t if status in (9, 10) else None}
            key = dossier.key(rec)
            out[key] = dossier.merge(out.get(key), rec)
    return list(out.values())


def _cpu(fn, runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        started = time.process_time()
        pairs = fn()
        out.append((time.process_time() - started) / pairs * 1e6)
    return out


def run(*, quick: bool, runs: int) -> list[Row]:
    now = pr.containing("day", int(time.time() * 1000)).end
    data = states(500 if quick else 3000, now)
    keys = sorted({p.key(COMMUNE) for kind in pr.KINDS for p in pr.spanning(kind, now - 90 * 24 * _HOUR, now - 1)})
    periods = [pr.parse_key(k)[1] for k in keys]
    pairs = len(data) * len(keys)

    def many() -> int:
        kpi.compute_many(data, keys, now)
        return pairs

    def one_by_one() -> int:
        for period in periods:
            kpi.compute(data, COMMUNE, period, now)
        return pairs

    hub = Stat("µs CPU per dossier-period", _cpu(many, runs))
    base = Stat("µs CPU per dossier-period", _cpu(one_by_one, max(1, runs // 2)))
    extra = {"dossiers": len(data), "periods": len(keys)}
    return [Row("kpi", "compute_many (as of each period's end)", hub, "compute per period", base, TIMES, extra)]

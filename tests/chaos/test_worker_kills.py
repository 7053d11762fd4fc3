"""Chaos: a worker SIGKILLed again and again during a backlog, restarted each time (the same HUB_WORKER_ID
and new ones); nothing is lost, nothing duplicated, every dossier's events keep their order, and the KPI
rows at the end equal those of an uninterrupted run over the same events (HUB_CLOCK frozen).

Size: 10 kills in a backlog topped up from a pool of 2,500 dossiers (about 11,000 events, 1 in 60
invalid) while needed; ``HUB_CHAOS_SCALE=N`` makes the pool N times bigger and kills up to 30 times.
"""

from __future__ import annotations

import collections
import dataclasses
import os

import pytest

from chaos.checker import Ledger, verify
from chaos.traffic import SdkSender, Watch, drained, settled
from chaos.workload import CLOCK, COMMUNES, dossier_events, size
from hub import systems
from hub.contract import codec, topics
from hub.testing import group_lag, read_topic, wait_for

pytestmark = pytest.mark.integration

SCALE = max(1.0, float(os.environ.get("HUB_CHAOS_SCALE", "1")))
DOSSIERS = size(2500, SCALE)
KILLS = min(30, max(10, int(10 * SCALE)))
SYSTEM = "chaos-onestop"
# Record times are the workload's (2025): raw topics must keep them whatever today's date is.
BATCH = 200  # records per transaction: many transactions in the backlog, so kills land between and inside them
OPTIONS = dict(clock=CLOCK, worker_session_timeout_s=6, worker_transaction_timeout_ms=5000, worker_batch_max=BATCH,
               raw_retention_hours=24 * 365 * 20)
# when a row was computed, and how often a closed one was rewritten while the backlog was read: differ
# between any two runs (the numbers do not)
_VOLATILE = ("computed_at", "evaluated_at", "revision", "revised_at")


def _kpi_rows(s) -> dict[str, dict]:
    schemas = codec.load(s.schemas_dir)
    rows = {r.key.decode(): codec.decode_plain(schemas, r.value)
            for r in read_topic(s, s.topic(topics.FEED_KPI), timeout_s=30)}
    return {k: {f: v for f, v in row.items() if f not in _VOLATILE} for k, row in rows.items()}


def _assigned(worker) -> bool:
    return any('"partitions_assigned"' in line and '"processor":"normalize"' in line
               for line in worker.output().splitlines())


def _publish(s, events, ledger: Ledger) -> None:
    sender = SdkSender(s, SYSTEM, events, ledger, chunk=1000, timestamps=True)
    sender.run()  # in this thread: returns when every event is acknowledged
    if sender.error is not None:
        raise sender.error


def _wait_all_consumed(s) -> None:
    feed = s.topic(topics.FEED_DOSSIER)
    wait_for(lambda: drained(s, s.topic(topics.INGEST_DOSSIER)) and group_lag(s, feed, s.group("kpi")) == 0,
             timeout_s=300, interval_s=1, what="ingest and feed consumed")


def _diagnosis(folder, lost: list[str]) -> str:
    """What every life of the worker said that bears on a lost record: decisions other than the
    normal ones, counted, and every log line naming one of the first lost ids (why it went missing)."""
    counts: collections.Counter = collections.Counter()
    about: list[str] = []
    for path in sorted(folder.glob("worker-*.log")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if '"level":"error"' in line or '"level":"warning"' in line or "event_duplicate" in line:
                event = line.split('"event":"', 1)[-1].split('"', 1)[0]
                reason = line.split('"reason":"', 1)[-1].split('"', 1)[0] if '"reason":"' in line else ""
                counts[(path.name.split("-")[1], event, reason)] += 1
            if any(i.split(".", 1)[-1] in line for i in lost[:3]):  # the ledger's G52.<source id>
                about.append(f"{path.name}: {line[:400]}")
    return "\n".join([f"{n} x life {life} {event} {reason}" for (life, event, reason), n in sorted(counts.items())]
                     + about[:20])


def test_a_worker_killed_ten_times_during_a_backlog_loses_and_repeats_nothing(make_settings, hub_process,
                                                                             record_property, tmp_path):
    """≥ 10 SIGKILLs mid-backlog: 0 lost, 0 duplicated, per-dossier order kept, KPIs equal an uninterrupted run."""
    pool = dossier_events(DOSSIERS, tag="k", bad_every=60)
    portion = len(pool) // (2 * KILLS)
    s = make_settings(**OPTIONS)
    systems.add(s, SYSTEM, list(COMMUNES), ["dossier"])
    ledger = Ledger()
    published = 0
    feed, ingest = s.topic(topics.FEED_DOSSIER), s.topic(topics.INGEST_DOSSIER)
    feed_end, backlog = Watch(s, feed, s.group("kpi")), Watch(s, ingest, s.group("normalize"))
    # A kill counts when it lands while the backlog is not consumed; the backlog is topped up from the
    # pool between lives, so the count does not depend on how fast a life works through it.
    kills: list[tuple[str, str, int]] = []  # (worker id, when, ingest records not yet committed at the kill)
    lives = 0
    try:
        while len(kills) < KILLS:
            assert lives < 3 * KILLS, f"only {len(kills)} of {lives} kills landed in a backlog: {kills}"
            if backlog.behind() < portion and published < len(pool):
                _publish(s, pool[published:published + portion], ledger)
                published += portion
            worker_id = "w1" if lives % 2 == 0 else f"w-{lives}"  # the same id back (fences at once) and new ones
            worker = hub_process(["worker"], dataclasses.replace(s, worker_id=worker_id), name=f"worker-{lives}")
            if lives % 3 == 2:  # right after it took the partitions over: while it restores and starts
                wait_for(lambda w=worker: _assigned(w), timeout_s=180, interval_s=0.02,
                         what=f"life {lives} assigned ({worker.log_path})")
                when = "at assignment"
            else:  # after a committed batch or so: mid-transaction, mid-restore of another processor
                before = feed_end.end()
                wait_for(lambda b=before: feed_end.end() >= b + BATCH, timeout_s=180, interval_s=0.02,
                         what=f"life {lives} making progress ({worker.log_path})")
                when = "mid-stream"
            behind = backlog.behind()
            worker.kill()
            lives += 1
            if behind > 0:
                kills.append((worker_id, when, behind))
    finally:
        feed_end.close()
        backlog.close()
    events = pool[:published]  # what was published; the rest of the pool was not needed

    last = hub_process(["worker"], dataclasses.replace(s, worker_id="w1"), name="worker-last")
    _wait_all_consumed(s)
    verdict = verify(s, ledger)
    line = (f"worker SIGKILLed {lives} times ({len(kills)} with a backlog, "
            f"{sum(1 for k in kills if k[1] == 'at assignment')} right at assignment): {verdict.line()}")
    record_property("chaos_worker_kills", line)
    print(line)
    assert verdict.ok, verdict.detail() + "\n" + _diagnosis(tmp_path, verdict.lost) + "\n" + last.output()[-2000:]
    assert verdict.acknowledged == len(events) and verdict.invalid > 0

    # The analytics state: KPI rows after the chaos equal an uninterrupted run's over the same events.
    chaos_kpis = settled(lambda: _kpi_rows(s), timeout_s=120, interval_s=s.analytics_timer_s * 2 + 1)
    calm = make_settings(**OPTIONS)
    systems.add(calm, SYSTEM, list(COMMUNES), ["dossier"])
    _publish(calm, events, Ledger())
    hub_process(["worker"], dataclasses.replace(calm, worker_id="calm"), name="worker-calm")
    _wait_all_consumed(calm)
    calm_kpis = settled(lambda: _kpi_rows(calm), timeout_s=120, interval_s=calm.analytics_timer_s * 2 + 1)
    assert len(calm_kpis) > 100
    differing = sorted(k for k in set(calm_kpis) | set(chaos_kpis) if calm_kpis.get(k) != chaos_kpis.get(k))
    kpi_line = f"KPI rows after {len(kills)} kills: {len(chaos_kpis)}, uninterrupted run: {len(calm_kpis)}, " \
               f"differing: {len(differing)}"
    record_property("chaos_kpi", kpi_line)
    print(kpi_line)
    assert not differing, differing[:5]

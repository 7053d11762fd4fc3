"""The directive-reach processor: feed.document.v1 -> reach per (directive, commune) -> feed.directive.v1.

For every directive the province sends (SteeringType 1) and each recipient commune, the ``reach``
store keeps what :mod:`hub.analytics.directives` folds from the records (the directive, the
commune's status notifications, its reply); each change writes the reach row, keyed
``<document id>|<commune>``, in the same transaction. SLA deadlines are watched by a timer: a
per-partition heap of (next deadline, key), rebuilt from the store whenever it may be stale, so
"not accepted within the SLA" is flagged — a ``directive_overdue`` log line and an updated row
— although no further event ever arrives.

A missing answer is alerted only ``HUB_DIRECTIVE_ALERT_GRACE`` after its deadline (or after the
directive was first read, for a back-fill) and only for a partition read to its end (the engine's
lag is 0): a back-filled directive is read before the statuses published right after it, and
must not be alerted for deadlines those statuses met (issue 22, defect 7).
"""

from __future__ import annotations

import heapq

import orjson

from hub import clock, log
from hub.analytics import directives
from hub.analytics.config import AnalyticsConfig
from hub.contract import codec, topics
from hub.engine.processor import TP, BaseProcessor, Batch, StoreSpec
from hub.processors.metrics import PipelineMetrics
from hub.settings import Settings

logger = log.get("hub.directives")


class DirectivesProcessor(BaseProcessor):
    name = "directives"

    def __init__(self, settings: Settings, systems, *, metrics: PipelineMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics
        self.systems = systems
        self.cfg = AnalyticsConfig.from_settings(settings)
        self.backdate_tolerance_ms = directives.parse_tolerance(settings.status_backdate_tolerance)
        self.grace_ms = settings.directive_alert_grace_ms()
        self.schemas = codec.load(settings.schemas_dir)
        self.now = clock.from_setting(settings.clock)
        self.writer = self.schemas.latest(topics.FEED_DIRECTIVE + "-value")
        self.inputs = (settings.topic(topics.FEED_DOCUMENT),)
        self.output = settings.topic(topics.FEED_DIRECTIVE)
        self.stores = tuple(StoreSpec.of(st) for st in topics.stores_of(settings, self.name))
        self.punctuate_every_s = float(settings.analytics_timer_s)
        self._due: dict[TP, list[tuple[int, str]]] = {}
        self._stale: set[TP] = set()

    def _from_province(self, rec: dict) -> bool:
        code = self.systems.snapshot.organs.get(rec.get("from_organ_id") or "")
        return code is not None and len(code) == 2

    # -- records ---------------------------------------------------------------------------------
    def process(self, batch: Batch) -> None:
        now = self.now()
        breaches: list[dict] = []
        for m in batch.messages:
            rec = codec.decode_plain(self.schemas, m.value())
            keys = directives.route(rec, self.cfg, from_province=self._from_province(rec))
            if not keys:
                continue
            tp = (m.topic(), m.partition())
            store = batch.store("reach", tp)
            for key in keys:
                kb = key.encode()
                raw = store.get(kb)
                old = orjson.loads(raw) if raw is not None else None
                merged = directives.arrive(directives.merge(old, rec, key, self.backdate_tolerance_ms), now,
                                           self.cfg)
                new, found = directives.overdue_transitions(merged, now, self.cfg, grace_ms=self.grace_ms,
                                                            caught_up=_caught_up(batch, tp))
                if new == old:
                    continue
                store.put(kb, orjson.dumps(new))
                self._write_row(batch, kb, new, now)
                breaches.extend(found)
                self._schedule(tp, key, new, now)
        if breaches:
            batch.after_commit(lambda: _log_breaches(breaches, self.metrics))

    def _write_row(self, batch: Batch, key: bytes, state: dict, now: int) -> None:
        row = directives.row(state, now, self.cfg)
        if row is None:
            return  # statuses of a directive not seen yet: no row until the directive itself arrives
        headers = [("hub.trace_id", row["trace_id"].encode())] if row.get("trace_id") else None
        batch.send(self.output, key, codec.encode(self.writer, directives.to_avro(row)), headers)

    def _schedule(self, tp: TP, key: str, state: dict, now: int) -> None:
        deadline = directives.next_deadline(state, now, self.cfg, self.grace_ms)
        if deadline is not None:  # never at or before now: the timer's loop must end
            heapq.heappush(self._due.setdefault(tp, []), (max(deadline, now + 1), key))

    # -- timer: deadlines that pass with no event -------------------------------------------------
    def punctuate(self, batch: Batch, _engine_now_ms: int) -> None:
        now_ms = self.now()
        breaches: list[dict] = []
        for tp, store in batch.stores("reach").items():
            if tp in self._stale:
                self._rebuild(tp, store, now_ms)
            if not _caught_up(batch, tp):
                continue  # records still to read may answer these deadlines: the heap waits
            heap = self._due.get(tp, [])
            while heap and heap[0][0] <= now_ms:
                _deadline, key = heapq.heappop(heap)
                kb = key.encode()
                raw = store.get(kb)
                if raw is None:
                    continue
                state = orjson.loads(raw)
                new, found = directives.overdue_transitions(state, now_ms, self.cfg, grace_ms=self.grace_ms)
                if found:
                    store.put(kb, orjson.dumps(new))
                    self._write_row(batch, kb, new, now_ms)
                    breaches.extend(found)
                self._schedule(tp, key, new, now_ms)
        if breaches:
            batch.after_commit(lambda: _log_breaches(breaches, self.metrics))

    def _rebuild(self, tp: TP, store, now_ms: int) -> None:
        heap = []
        for kb, raw in store.items():
            deadline = directives.next_deadline(orjson.loads(raw), now_ms, self.cfg, self.grace_ms)
            if deadline is not None:
                heap.append((deadline, kb.decode()))
        heapq.heapify(heap)
        self._due[tp] = heap
        self._stale.discard(tp)

    # -- the heap is a cache of the store: rebuilt after anything that may have desynchronised it --
    def assigned(self, tps: list[TP], batch: Batch) -> None:
        self._stale.update(tps)

    def revoked(self, tps: list[TP]) -> None:
        for tp in tps:
            self._due.pop(tp, None)
            self._stale.discard(tp)

    def aborted(self) -> None:
        self._stale.update(self._due)


def _caught_up(batch: Batch, tp: TP) -> bool:
    """Whether the partition was read to its end at the engine's last look (≤ 1 s old). A batch without a
    lag view (unit tests) or a partition the engine has no figure for yet counts as caught up."""
    lag = getattr(batch, "lag", None)
    return (lag() if lag is not None else {}).get(tp, 0) == 0


def _log_breaches(breaches: list[dict], metrics: PipelineMetrics | None) -> None:
    if metrics is not None:
        metrics.alerted("directive_overdue", len(breaches))
    for b in breaches:
        logger.warning("directive_overdue", document_id=b["document_id"], commune_code=b["commune_code"],
                       milestone=b["milestone"], deadline=b["deadline"], met_at=b["met_at"], priority=b["priority"],
                       trace_id=b["trace_id"], arrived_overdue=b["arrived_overdue"],
                       reason=f"{b['milestone']}_sla_passed")

"""The freshness processor: every feed record -> last event per commune and system -> feed.freshness.v1.

One state per commune (:mod:`hub.analytics.freshness`), fed by every feed topic. The feeds are
keyed by commune and have the same partition count, so partition p of each feed holds the same
communes: the ``communes`` store is co-partitioned (one per partition number, the engine assigns
partition p of every feed to the same worker). Each batch writes one row per commune it changed;
a timer finds systems that fell silent (no record for longer than ``HUB_FRESHNESS_SILENT_HOURS``
of their kind) and writes their row, a ``system_silent`` log line and the Prometheus gauges, once
per silence.
"""

from __future__ import annotations

import orjson
from prometheus_client import CollectorRegistry, Gauge

from hub import clock, log
from hub.analytics import freshness
from hub.analytics.config import AnalyticsConfig
from hub.contract import codec, topics
from hub.engine.processor import BaseProcessor, Batch, StoreSpec
from hub.processors.metrics import PipelineMetrics
from hub.settings import Settings

logger = log.get("hub.freshness")


class FreshnessProcessor(BaseProcessor):
    name = "freshness"

    def __init__(self, settings: Settings, registry: CollectorRegistry | None = None, *,
                 metrics: PipelineMetrics | None = None) -> None:
        self.metrics = metrics
        self.cfg = AnalyticsConfig.from_settings(settings)
        self.schemas = codec.load(settings.schemas_dir)
        self.now = clock.from_setting(settings.clock)
        self.writer = self.schemas.latest(topics.FEED_FRESHNESS + "-value")
        self.kind_of = {settings.topic(t): kind for kind, t in topics.FEED_BY_KIND.items()}
        self.inputs = tuple(self.kind_of)
        self.output = settings.topic(topics.FEED_FRESHNESS)
        self.stores = tuple(StoreSpec.of(st) for st in topics.stores_of(settings, self.name))
        self.punctuate_every_s = float(settings.analytics_timer_s)
        registry = registry or CollectorRegistry(auto_describe=True)
        self.age = Gauge("hub_source_last_record_age_seconds", "Seconds since a source system last sent a "
                         "record of a kind (any of its communes), as seen by this worker",
                         ["source_system", "kind"], registry=registry)
        self.silent = Gauge("hub_source_silent_communes", "Communes where a source system and kind is silent",
                            ["source_system", "kind"], registry=registry)

    def process(self, batch: Batch) -> None:
        changed: dict[tuple[int, bytes], dict] = {}
        for m in batch.messages:
            rec = codec.decode_plain(self.schemas, m.value())
            tp = (m.topic(), m.partition())
            store = batch.store("communes", tp)
            key = rec["commune_code"].encode()
            raw = store.get(key)
            old = orjson.loads(raw) if raw is not None else None
            new = freshness.merge(old, rec, self.kind_of[m.topic()])
            if new is not old and new != old:
                store.put(key, orjson.dumps(new))
                changed[(m.partition(), key)] = new
        now = self.now()
        for (_p, key), state in changed.items():
            self._write_row(batch, key, state, now)

    def _write_row(self, batch: Batch, key: bytes, state: dict, now: int) -> None:
        batch.send(self.output, key, codec.encode(self.writer, freshness.to_avro(freshness.row(state, now, self.cfg))))

    def punctuate(self, batch: Batch, _engine_now_ms: int) -> None:
        now_ms = self.now()
        alerts: list[dict] = []
        ages: dict[tuple[str, str], int] = {}
        silent: dict[tuple[str, str], int] = {}
        for store in batch.stores("communes").values():
            for key, raw in store.items():
                state = orjson.loads(raw)
                new, found = freshness.silent_transitions(state, now_ms, self.cfg)
                if found:
                    store.put(key, orjson.dumps(new))
                    self._write_row(batch, key, new, now_ms)
                    alerts.extend(found)
                for s in freshness.silent(new, now_ms, self.cfg):
                    name = (s["source_system"], s["kind"])
                    ages[name] = min(ages.get(name, s["silent_for_ms"]), s["silent_for_ms"])
                    silent[name] = silent.get(name, 0) + int(s["silent"])
        for (system, kind), age in ages.items():
            self.age.labels(system, kind).set(age / 1000)
            self.silent.labels(system, kind).set(silent[(system, kind)])
        if alerts:
            batch.after_commit(lambda: _log_silence(alerts, self.metrics))


def _log_silence(alerts: list[dict], metrics: PipelineMetrics | None) -> None:
    if metrics is not None:
        metrics.alerted("system_silent", len(alerts))
    for a in alerts:
        logger.warning("system_silent", commune_code=a["commune_code"], source_system=a["source_system"],
                       kind=a["kind"], last_ingest_time=a["last_ingest_time"], silent_for_ms=a["silent_for_ms"],
                       reason="no_records_within_threshold")

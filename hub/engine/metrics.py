"""Prometheus metrics of the engines of one worker process, on their own registry.

Counted once per batch, never per record: a counter increment with labels costs about a
microsecond, which is a tenth of the per-record budget.
"""

from __future__ import annotations

import contextlib
from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from hub.engine.processor import TP


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records_in = Counter("hub_worker_records_in", "Records consumed and committed, by processor and topic",
                                  ["processor", "topic"], registry=r)
        self.records_out = Counter("hub_worker_records_out", "Records written in committed transactions",
                                   ["processor", "topic"], registry=r)
        self.changelog_out = Counter("hub_worker_changelog_records", "State changes written to changelogs",
                                     ["processor"], registry=r)
        self.batches = Counter("hub_worker_batches", "Transactions by outcome", ["processor", "outcome"], registry=r)
        self.batch_size = Histogram("hub_worker_batch_size", "Records per committed batch", ["processor"],
                                    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000), registry=r)
        self.batch_seconds = Histogram("hub_worker_batch_seconds", "Processing plus commit time of one batch",
                                       ["processor"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                               1, 2.5, 5, 10), registry=r)
        self.lag = Gauge("hub_worker_consumer_lag", "Records behind the end of each assigned input partition",
                         ["processor", "topic", "partition"], registry=r)
        self.isolated = Counter("hub_worker_records_isolated", "Records dead-lettered by the engine because they "
                                "failed alone (unwritable, internal_error)", ["processor", "reason"], registry=r)
        self.stuck = Gauge("hub_worker_partition_stuck", "1 while an input partition cannot move for longer than "
                           "HUB_PARTITION_STUCK_S", ["processor", "topic", "partition"], registry=r)

    def batch_done(self, processor: str, data: list, sent: dict[str, int], changelogs: int, seconds: float) -> None:
        if data:
            for topic, n in Tally(m.topic() for m in data).items():
                self.records_in.labels(processor, topic).inc(n)
            self.batch_size.labels(processor).observe(len(data))
        for topic, n in sent.items():
            self.records_out.labels(processor, topic).inc(n)
        if changelogs:
            self.changelog_out.labels(processor).inc(changelogs)
        self.batches.labels(processor, "committed").inc()
        self.batch_seconds.labels(processor).observe(seconds)

    def batch_aborted(self, processor: str) -> None:
        self.batches.labels(processor, "aborted").inc()

    def set_lag(self, processor: str, lag: dict[TP, int]) -> None:
        for (topic, partition), n in lag.items():
            self.lag.labels(processor, topic, str(partition)).set(n)

    def record_isolated(self, processor: str, reason: str) -> None:
        self.isolated.labels(processor, reason).inc()

    def set_stuck(self, processor: str, tp: TP, stuck: bool | None) -> None:
        """1 stuck, 0 moving again, None: the partition is not ours any more."""
        if stuck is None:
            with contextlib.suppress(KeyError):
                self.stuck.remove(processor, tp[0], str(tp[1]))
            return
        self.stuck.labels(processor, tp[0], str(tp[1])).set(1 if stuck else 0)

    def forget_partitions(self, processor: str, tps: list[TP]) -> None:
        for topic, partition in tps:
            with contextlib.suppress(KeyError):
                self.lag.remove(processor, topic, str(partition))

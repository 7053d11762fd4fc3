"""Prometheus view of an outbox, registered only on the registry the host system passes in.

A collector rather than module-level gauges: the values are read from the outbox when the host
is scraped (never stale), nothing lands in prometheus_client's global registry behind the host's
back, and two outboxes in one process are two label values (``outbox`` = the file's path).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class OutboxCollector(Collector):
    def __init__(self, outbox):
        self._outbox = outbox

    def describe(self) -> list[Metric]:
        # Names only: describing must not touch the outbox file (registration happens in its constructor).
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        stats = self._outbox.stats()
        yield from self._families(stats)

    def _families(self, stats=None) -> Iterator[Metric]:
        label = [str(self._outbox.path)]
        values = {
            "depth": (GaugeMetricFamily, "hub_outbox_depth",
                      "Events stored in the outbox, not yet acknowledged by Kafka"),
            "oldest_age_s": (GaugeMetricFamily, "hub_outbox_oldest_age_seconds",
                             "Age of the oldest event waiting in the outbox"),
            "forwarded_total": (CounterMetricFamily, "hub_outbox_forwarded",
                                "Events this process forwarded and Kafka acknowledged"),
            "retries_total": (CounterMetricFamily, "hub_outbox_retries",
                              "Failed forwarding attempts (broker unreachable or not acknowledging)"),
        }
        for field, (family, name, doc) in values.items():
            metric = family(name, doc, labels=["outbox"])
            if stats is not None:
                metric.add_metric(label, getattr(stats, field))
            yield metric

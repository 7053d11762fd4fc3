"""Counters of the worker's processors, by kind, source system and reason; counted per batch.

Normalize counts events in, out, rejected and duplicate; the analytics processors count the alerts
they raise (``directive_overdue``, ``system_silent``), so that an alert rule needs no log search.

Label values never come from a record: a header is whatever its publisher wrote, and each distinct
value would be a new series (20,000 random ``hub.source`` values made /metrics 85 MB). The caller
passes registered system ids only (:data:`UNKNOWN` otherwise), the verified writer of a dead
letter (:data:`UNVERIFIED` when no signature proves it), kinds and reason codes.
"""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter

from hub.admin.dead_letters import UNVERIFIED  # no valid signature proves which system wrote the record

ALERTS = ("directive_overdue", "system_silent")
UNKNOWN = "unknown"  # the record names no registered system


class PipelineMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry(auto_describe=True)
        self.events_in = Counter("hub_worker_events_in", "Ingest records read, by kind and source system",
                                 ["kind", "source_system"], registry=r)
        self.events_out = Counter("hub_worker_events_out", "Canonical records written to a feed, by kind and "
                                  "source system", ["kind", "source_system"], registry=r)
        self.rejected = Counter("hub_worker_events_rejected", "Ingest records dead-lettered, by kind, reason and "
                                "verified writer (the system whose signature the record carries, else "
                                "'unverified'; never the name it claims)", ["kind", "reason", "writer"], registry=r)
        self.duplicates = Counter("hub_worker_events_duplicate", "Records dropped as already published, by kind",
                                  ["kind"], registry=r)
        self.alerts = Counter("hub_worker_alerts", "Alerts raised by the analytics processors: directive_overdue "
                              "(an SLA milestone passed), system_silent (a source system stopped at a commune)",
                              ["alert"], registry=r)
        self.log_suppressed = Counter("hub_worker_log_lines_suppressed", "Per-record log lines not written "
                                      "because their (writer, reason) exceeded the rate limit",
                                      ["event", "writer", "reason"], registry=r)
        for name in ALERTS:  # present at 0 from the start, so that increase() sees the first alert
            self.alerts.labels(name)
        # Running totals for worker_stats lines (read by the stats timer, written per batch).
        self.totals: Tally = Tally()

    def tally(self) -> BatchTally:
        return BatchTally(self)

    def alerted(self, alert: str, n: int = 1) -> None:
        """Count ``n`` alerts of one kind (called after the transaction that raised them committed)."""
        self.alerts.labels(alert).inc(n)
        self.totals[("alerts", alert)] += n


class BatchTally:
    """Counts of one batch, added to the Prometheus counters once, after the batch."""

    __slots__ = ("m", "seen_", "out", "rej", "dup")

    def __init__(self, metrics: PipelineMetrics) -> None:
        self.m = metrics
        self.seen_: Tally = Tally()
        self.out: Tally = Tally()
        self.rej: Tally = Tally()
        self.dup: Tally = Tally()

    def seen(self, kind: str, system: str) -> None:
        """``system``: a registered system id or UNKNOWN, never a header value."""
        self.seen_[(kind, system)] += 1

    def published(self, kind: str, system: str) -> None:
        self.out[(kind, system)] += 1

    def rejected(self, kind: str, reason: str, writer: str = UNVERIFIED) -> None:
        self.rej[(kind, reason, writer)] += 1

    def duplicate(self, kind: str) -> None:
        self.dup[kind] += 1

    def flush(self) -> None:
        m, totals = self.m, self.m.totals
        for (kind, source), n in self.seen_.items():
            m.events_in.labels(kind, source).inc(n)
            totals[("in", kind)] += n
        for (kind, source), n in self.out.items():
            m.events_out.labels(kind, source).inc(n)
            totals[("out", kind)] += n
        for (kind, reason, writer), n in self.rej.items():
            m.rejected.labels(kind, reason, writer).inc(n)
            totals[("rejected", kind)] += n
        for kind, n in self.dup.items():
            m.duplicates.labels(kind).inc(n)
            totals[("duplicate", kind)] += n

"""``hub worker``: run the stream processors (normalize, and the analytics: kpi, directives, freshness, targets)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub import _native, log
from hub.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run the stream processors (batched Kafka transactions)",
                       description="Consumes the ingest topics in batches, normalizes, deduplicates and writes "
                       "feeds, dead letters, state and offsets in one Kafka transaction per batch. Serves /metrics, "
                       "/healthz and /readyz on HUB_WORKER_METRICS_HOST:HUB_WORKER_METRICS_PORT.")
    p.add_argument("--processors", help="comma separated processors to run (default HUB_WORKER_PROCESSORS)")
    p.set_defaults(func=run)


def _few_malloc_arenas() -> None:
    """glibc gives busy threads their own malloc arenas (up to 8 per core): the engines', librdkafka's
    and RocksDB's threads then keep freed memory apart and the worker's RSS creeps up over a long
    backfill. Two arenas keep it flat (M_ARENA_MAX, set before the threads start)."""
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # -8 = M_ARENA_MAX


def _freeze_startup_heap() -> None:
    """Move everything imported and built so far (faust, the processors, the schemas) out of the
    garbage collector's sight. Those objects live as long as the process, yet every full collection
    walked them again while the batches' short-lived objects triggered collections: ~10% of the
    worker's CPU on a backlog (docs/benchmarks.md)."""
    import gc

    gc.collect()
    gc.freeze()


def run(args: argparse.Namespace, settings: Settings) -> int:
    from prometheus_client import CollectorRegistry

    from hub.errors import ConfigError
    from hub.processors import worker
    from hub.processors.directives import DirectivesProcessor
    from hub.processors.freshness import FreshnessProcessor
    from hub.processors.kpi import KpiProcessor
    from hub.processors.metrics import PipelineMetrics
    from hub.processors.normalize import NormalizeProcessor
    from hub.processors.targets import TargetsProcessor
    from hub.systems import SystemsFollower

    settings.effective_pseudonym_key()  # refuse to start without a key outside dev mode
    _few_malloc_arenas()
    names = [n.strip() for n in (args.processors or settings.worker_processors).split(",") if n.strip()]
    available = ("normalize", "kpi", "directives", "freshness", "targets")
    unknown = sorted(set(names) - set(available))
    if unknown or not names:
        raise ConfigError(f"unknown processors {unknown}; available: {', '.join(available)}")
    Path(settings.worker_data_dir).mkdir(parents=True, exist_ok=True)
    registry = CollectorRegistry(auto_describe=True)
    systems = SystemsFollower(settings).start()
    pipeline_metrics = PipelineMetrics(registry)
    build = {
        "normalize": lambda: NormalizeProcessor(settings, systems, metrics=pipeline_metrics),
        "kpi": lambda: KpiProcessor(settings),
        "directives": lambda: DirectivesProcessor(settings, systems, metrics=pipeline_metrics),
        "freshness": lambda: FreshnessProcessor(settings, registry, metrics=pipeline_metrics),
        "targets": lambda: TargetsProcessor(settings),
    }
    processors = [build[name]() for name in available if name in names]
    app, _engines = worker.build(settings, processors, registry, lambda: pipeline_metrics.totals)
    log.get().info("worker_starting", app_id=settings.app_id, bootstrap=settings.kafka_bootstrap,
                   processors=names, store=settings.worker_store, compiled=_native.in_use())
    _freeze_startup_heap()
    try:
        worker.execute(app, settings)  # bounded stop on SIGTERM / SIGINT: HUB_WORKER_SHUTDOWN_S
    finally:
        systems.stop()
    return 0

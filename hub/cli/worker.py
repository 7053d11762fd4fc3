"""``hub worker``: run the stream processors (normalize, dedupe, feeds, DLQ)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub import log
from hub.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run the stream processors (a faust worker in the hub's consumer group)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import faust

    from hub.pipeline.app import Pipeline
    from hub.systems import SystemsFollower

    settings.effective_pseudonym_key()  # refuse to start without a key outside dev mode
    Path(settings.worker_data_dir).mkdir(parents=True, exist_ok=True)
    systems = SystemsFollower(settings).start()
    pipeline = Pipeline(settings, systems)
    pipeline.recover()  # before consuming: what a killed predecessor wrote is already on the feed
    log.get().info("worker_starting", app_id=settings.app_id, bootstrap=settings.kafka_bootstrap,
                   partitions=settings.partitions, store=settings.worker_store)
    # override_logging=False keeps our structlog JSON handler; quiet drops faust's banner on stdout.
    worker = faust.Worker(pipeline.app, loglevel=settings.log_level, override_logging=False,
                          redirect_stdouts=False, quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        systems.stop()
    return 0

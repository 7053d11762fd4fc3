"""A ``hub worker`` process whose one processor never returns from its first batch (run as
``python -m tests.stream.stuck_worker`` with the HUB_ environment of the settings under test).

The processor stands for a client call that blocks past its timeout: the worker's watcher must
notice that the engine stopped beating and end the process with exit 1.
"""

from __future__ import annotations

import threading
from pathlib import Path

import faust
from prometheus_client import CollectorRegistry

from hub import log
from hub.contract import topics
from hub.engine import BaseProcessor
from hub.processors import worker
from hub.settings import Settings


class StuckProcessor(BaseProcessor):
    name = "stuck"

    def __init__(self, s: Settings) -> None:
        self.inputs = (s.topic(topics.INGEST_DOSSIER),)

    def process(self, batch) -> None:
        _wait_for_an_answer_that_never_comes()


def _wait_for_an_answer_that_never_comes() -> None:
    threading.Event().wait()


def main() -> None:
    s = Settings.from_env()
    log.configure(s.log_level)
    Path(s.worker_data_dir).mkdir(parents=True, exist_ok=True)  # as `hub worker` does
    app, _engines = worker.build(s, [StuckProcessor(s)], CollectorRegistry(), dict)
    w = faust.Worker(app, loglevel="INFO", override_logging=False, redirect_stdouts=False, quiet=True)
    w.spinner = None
    w.execute_from_commandline()


if __name__ == "__main__":
    main()

"""A ``hub worker`` process (run through :func:`hub.processors.worker.execute`, as ``hub worker`` is) whose
one processor never returns from its first batch and whose stall bound is far away: only a SIGTERM
can end it. Run as ``python -m tests.stream.stuck_shutdown_worker`` with the HUB_ environment of the
settings under test; logs ``test_processor_stuck`` once the engine thread is inside the batch.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from hub import log
from hub.processors import worker
from hub.settings import Settings
from tests.stream.stuck_worker import StuckProcessor, _wait_for_an_answer_that_never_comes


class _LoudStuckProcessor(StuckProcessor):
    def process(self, batch) -> None:
        log.get().info("test_processor_stuck")
        _wait_for_an_answer_that_never_comes()


def main() -> None:
    s = Settings.from_env()
    log.configure(s.log_level)
    Path(s.worker_data_dir).mkdir(parents=True, exist_ok=True)
    app, _engines = worker.build(s, [_LoudStuckProcessor(s)], CollectorRegistry(), dict)
    worker.execute(app, s)


if __name__ == "__main__":
    main()

"""The hand-built targets dataset (tests/analytics/target_datasets.py) through a real worker and a real
gateway, at one of its three "today" dates, for the read API and browser tests.

The events a today knows of go in as the province's and the communes' systems send them (hub-json,
helpers of tests/pipeline/test_targets.py); the worker runs normalize and the targets processor with
HUB_CLOCK at that today, and the gateway — same clock — is started once the progress feed holds the
reference rows, so that its read model has them when it first catches up.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from hub import systems
from hub.contract import topics
from hub.gateway.server import ServerThread
from hub.settings import Settings
from hub.testing import delete_prefixed, wait_for
from tests.analytics import target_datasets as d
from tests.conftest import KEEP_FIXTURE_TIMES, ROOT, Proc
from tests.gateway.read_scenario import READER, Scenario, _iso
from tests.pipeline.test_targets import PROCESSORS, _publish, _wait_rows


def serve(s: Settings, reader_key: str, publisher_key: str) -> contextlib.AbstractContextManager[Scenario]:
    """A gateway on ``s``, yielded once its read model has read the feeds to their end."""

    @contextlib.contextmanager
    def served() -> Iterator[Scenario]:
        with ServerThread(s) as gateway:
            wait_for(lambda: httpx.get(f"{gateway.url}/readyz", timeout=10).status_code == 200, timeout_s=60,
                     what="gateway ready (read model caught up)")
            yield Scenario(s, gateway.url, reader_key, publisher_key, gateway)

    return served()


@contextlib.contextmanager
def province(kafka_bootstrap: str, log_dir: Path, today: str) -> Iterator[Scenario]:
    """The dataset as known at ``today`` (T1, T2, T3) through a worker, then a gateway on the same clock."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    s = Settings.from_env(env={}, kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, partitions=3, dev_mode=True,
                          worker_data_dir=str(ROOT / "var" / "test-worker" / prefix), worker_store="memory://",
                          worker_metrics_port=0, clock=_iso(d.TODAY[today]), analytics_timer_s=1,
                          **KEEP_FIXTURE_TIMES)
    worker = None
    try:
        topics.create(s)
        systems.add(s, d.PROVINCE_SYSTEM, list(d.COMMUNES), ["target"])
        publisher_key = systems.add(s, d.REPORTER, list(d.COMMUNES), ["target"])
        reader_key = systems.add(s, READER, role="reader")
        _publish(s, d.known_at(today))
        worker = Proc(PROCESSORS, s, log_dir / "worker.log")
        _wait_rows(s, d.expected_rows(today), worker)
        with serve(s, reader_key, publisher_key) as scenario:
            yield scenario
    finally:
        if worker is not None:
            worker.stop()
        delete_prefixed(s)

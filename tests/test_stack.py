"""The whole local stack: simulator → SDK and HTTP gateway → worker → feeds, counts as announced."""

from __future__ import annotations

import subprocess
import sys

import httpx
import orjson
import pytest
from conftest import ROOT, settings_env

from hub.contract import topics
from hub.testing import free_port, read_topic, wait_for

pytestmark = pytest.mark.integration


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_simulated_province_through_sdk_and_gateway_reaches_the_feeds_in_the_announced_counts(
        make_settings, hub_process):
    """`hub simulate --communes 135 --rate 200 --duration 20` through SDK and gateway: feeds match its summary.

    Only counts and equality are asserted: how many events the simulator managed to send depends on
    how busy the machine is (rates belong in bench/), what the pipeline makes of them does not.
    """
    s = make_settings(partitions=6, outbox_path=str(ROOT / "var" / "test-outbox" / "stack.sqlite3"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    hub_process(["worker"], s)
    gateway = hub_process(["gateway", "--port", str(port)], s)
    wait_for(lambda: _healthy(url), timeout_s=60, what=f"gateway healthy ({gateway.log_path})")

    sim = subprocess.run(
        [sys.executable, "-m", "hub", "simulate", "--province", "52", "--communes", "135", "--rate", "200",
         "--duration", "20", "--seed", "7", "--gateway", url, "--outbox", str(ROOT / "var" / "test-outbox" /
                                                                                 f"{s.topic_prefix}sim.sqlite3")],
        env=settings_env(s), cwd=ROOT, capture_output=True, timeout=600)
    assert sim.returncode == 0, sim.stderr[-3000:]
    summary = orjson.loads(sim.stdout)
    expected = summary["expected"]
    assert summary["forwarded"] and not summary["interrupted"], summary
    assert summary["sent"] == summary["good"] + summary["bad"] and summary["bad"] > 0, summary
    assert summary["by_path"].get("gateway", 0) > 0 and summary["by_path"].get("sdk", 0) > 0, summary
    assert expected[topics.DLQ] == summary["bad"], summary
    ingested = sum(len(read_topic(s, s.topic(name), timeout_s=60))
                   for name in (topics.INGEST_DOSSIER, topics.INGEST_DOCUMENT, topics.INGEST_TARGET))
    assert ingested == summary["sent"], summary

    counts = {}
    for name in (topics.FEED_DOSSIER, topics.FEED_DOCUMENT, topics.FEED_TARGET, topics.DLQ):
        counts[name] = len(read_topic(s, s.topic(name), expect=expected[name], timeout_s=300, idle_s=5))
    assert counts == expected, (summary, counts)

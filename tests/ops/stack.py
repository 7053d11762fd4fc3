"""A worker and a gateway as real processes on one test's topics, and what their /metrics export."""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from hub.settings import Settings
from hub.testing import free_port, wait_for

# Sample names a metric family of each type exports (prometheus_client's text format).
_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum", "_created"),
             "summary": ("", "_count", "_sum", "_created"), "info": ("_info",), "unknown": ("",)}


@dataclass
class Stack:
    settings: Settings  # what the processes run with (ports included)
    gateway_url: str
    worker_url: str
    worker: object
    gateway: object

    def logs(self) -> dict[str, str]:
        return {"worker": self.worker.output(), "gateway": self.gateway.output()}


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def start(s: Settings, hub_process) -> Stack:
    """`hub worker` (metrics on a free port) and `hub gateway` on a free port, both ready."""
    s = dataclasses.replace(s, worker_metrics_port=free_port())
    worker_url = f"http://127.0.0.1:{s.worker_metrics_port}"
    gw_port = free_port()
    worker = hub_process(["worker"], s)
    gateway = hub_process(["gateway", "--port", str(gw_port)], s)
    url = f"http://127.0.0.1:{gw_port}"
    wait_for(lambda: get(url + "/readyz")[0] == 200, timeout_s=90, what=f"gateway ready ({gateway.log_path})")
    wait_for(lambda: get(worker_url + "/readyz")[0] == 200, timeout_s=120, what=f"worker ready ({worker.log_path})")
    return Stack(s, url, worker_url, worker, gateway)


def families(text: str) -> list:
    return list(text_string_to_metric_families(text))


def exported_names(text: str) -> set[str]:
    """Every sample name a /metrics text can carry, whether or not a labelled child exists yet."""
    names = set()
    for fam in families(text):
        names.add(fam.name)
        names.update(fam.name + suffix for suffix in _SUFFIXES.get(fam.type, ("",)))
        names.update(sample.name for sample in fam.samples)
    return names


def counters(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of the ``_total`` samples."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for fam in families(text) for sample in fam.samples if sample.name.endswith("_total")}


ROOT = Path(__file__).resolve().parents[2]

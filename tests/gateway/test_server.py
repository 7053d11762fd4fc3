"""`hub gateway` as a process: uvicorn serves the app and logs JSON lines."""

from __future__ import annotations

import httpx
import orjson

from hub.testing import free_port, wait_for


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_hub_gateway_command_serves_and_logs_json(make_settings, hub_process):
    """`hub gateway --port P` answers /healthz and every log line it prints is JSON."""
    s = make_settings()
    port = free_port()
    proc = hub_process(["gateway", "--host", "127.0.0.1", "--port", str(port)], s)
    wait_for(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), timeout_s=60, what="gateway /healthz")
    r = httpx.post(f"http://127.0.0.1:{port}/v1/events/dossier", json={})
    assert r.status_code == 401
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal: -15, never the fixture's SIGKILL (-9)
    assert proc.stop() == -15
    lines = [line for line in proc.output().splitlines() if line.strip()]
    events = [orjson.loads(line)["event"] for line in lines]
    assert "gateway_started" in events and "gateway_rejected" in events

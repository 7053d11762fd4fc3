"""A gateway whose broker goes away degrades fast: 503 with Retry-After, live /healthz, /readyz not ready.

Times are measured by bench/gateway_degrade.py, not asserted here.
"""

from __future__ import annotations

import httpx
import orjson

from bench.gateway_degrade import DOSSIER, OwnBroker
from hub import systems
from hub.contract import topics
from hub.gateway.server import ServerThread
from hub.testing import wait_for


def test_broker_stopped_under_the_gateway(make_settings, tmp_path):
    """Broker up: 202. Broker stopped: POST 503 unavailable + Retry-After, /healthz 200, /readyz 503. Back: 202."""
    broker = OwnBroker(tmp_path / "kafka").up()
    try:
        s = make_settings(create_topics=False, kafka_bootstrap=broker.bootstrap, gateway_delivery_timeout_ms=2000)
        topics.create(s)
        key = systems.add(s, "ialy", ["23734"], ["dossier"])
        auth = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        with ServerThread(s) as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
            wait_for(lambda: client.get("/readyz").status_code == 200, timeout_s=60, what="gateway ready")
            assert client.post("/v1/events/dossier", content=orjson.dumps(DOSSIER), headers=auth).status_code == 202
            broker.down()
            r = client.post("/v1/events/dossier", content=orjson.dumps({**DOSSIER, "MaHoSo": "D-2"}), headers=auth)
            assert r.status_code == 503 and r.headers["retry-after"] == "2"
            assert r.json()["error"] == "unavailable" and "nothing is accepted" in r.json()["message"]
            assert client.get("/healthz").status_code == 200
            ready = wait_for(lambda: (x := client.get("/readyz")).status_code == 503 and x, timeout_s=30,
                             what="/readyz says not ready")
            assert ready.json()["status"] == "unavailable" and ready.json()["kafka"]["reachable"] is False
            broker.up()
            back = wait_for(lambda: (x := client.post("/v1/events/dossier", headers=auth,
                                                      content=orjson.dumps({**DOSSIER, "MaHoSo": "D-3"})))
                            .status_code == 202 and x, timeout_s=120, what="writes accepted again")
            assert back.json()["accepted"][0]["commune_code"] == "23734"
    finally:
        broker.down()

"""``gateway``: POST /v1/events/dossier through an in-process uvicorn server on 127.0.0.1.

One httpx client sends a bounded number of requests one after another (keep-alive), so the rate
is per connection: the latency of a request, inverted. Baselines in the same run: ``GET /healthz``
on the same server (the HTTP and framework floor, no Kafka write) for single events, and the
Kafka SDK (``connectors.publisher.Publisher``, 100 events then flush) for batches — the route a
publisher would take instead of HTTP.
"""

from __future__ import annotations

import time
import uuid

import httpx
import orjson

from bench import kafka_env
from bench.measure import RATE, Row, Stat
from bench.records import communes, dvcqg
from connectors.publisher import Publisher
from hub import systems, topics
from hub.gateway.server import ServerThread
from hub.settings import Settings

SYSTEM = "bench-gateway"
BATCH = 100


def _timed(fn, count: int) -> float:
    """Calls per second of ``fn(i)`` over ``count`` calls."""
    start = time.perf_counter()
    for i in range(count):
        fn(i)
    return count / (time.perf_counter() - start)


def run(*, quick: bool, runs: int) -> list[Row]:
    singles, batches = (100, 5) if quick else (500, 30)
    samples: dict[str, list[float]] = {"one": [], "health": [], "batch": [], "sdk": []}
    with kafka_env.broker() as bootstrap:
        s = Settings.from_env(kafka_bootstrap=bootstrap, topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
                              dev_mode=True)
        try:
            topics.create(s)
            codes = communes(s.province)
            key = systems.add(s, SYSTEM, codes, ["dossier"])
            auth = {"authorization": f"Bearer {key}", "content-type": "application/json"}
            seq = iter(range(10**9))  # unique dossier codes across runs

            def body(n: int) -> bytes:
                items = [dvcqg(next(seq), codes[j % len(codes)], salt="G") for j in range(n)]
                return orjson.dumps(items[0] if n == 1 else items)

            with ServerThread(s) as srv, httpx.Client(base_url=srv.url, timeout=60) as client, \
                    Publisher(SYSTEM, s) as pub:
                def post(n: int) -> None:
                    r = client.post("/v1/events/dossier", content=body(n), headers=auth)
                    if r.status_code != 202:
                        raise RuntimeError(f"gateway answered {r.status_code}: {r.text[:300]}")

                def health(_i: int) -> None:
                    client.get("/healthz").raise_for_status()

                def sdk(_i: int) -> None:
                    for j in range(BATCH):
                        i = next(seq)
                        pub.send_async("dossier", orjson.dumps(dvcqg(i, codes[j % len(codes)], salt="G")),
                                       format="dvcqg-json", commune=codes[j % len(codes)])
                    pub.flush()

                post(1), post(BATCH), health(0), sdk(0)  # warm-up: connections, metadata, caches
                for _ in range(runs):
                    samples["one"].append(_timed(lambda _i: post(1), singles))
                    samples["health"].append(_timed(health, singles))
                    samples["batch"].append(_timed(lambda _i: post(BATCH), batches) * BATCH)
                    samples["sdk"].append(_timed(sdk, batches) * BATCH)
        finally:
            kafka_env.delete_prefixed(s)
    extra = {"single_requests_per_run": singles, "batch_requests_per_run": batches, "batch_size": BATCH}
    return [
        Row("gateway", "POST 1 event (sequential)", Stat("req/s", samples["one"]), "GET /healthz",
            Stat("req/s", samples["health"]), RATE, extra),
        Row("gateway", f"POST {BATCH}-event batch (sequential)", Stat("events/s", samples["batch"]),
            f"Publisher SDK, {BATCH} + flush", Stat("events/s", samples["sdk"]), RATE),
    ]

"""``memory``: the worker's resident memory over a long backlog (default 1,000,000 DVCQG events).

One run: N events are pre-loaded with a fast librdkafka producer (dossier lifecycles, distinct
source event ids, so the dedupe store grows by one entry per event), then ``hub worker`` (all
processors, the production store ``rocksdb://`` unless HUB_WORKER_STORE says otherwise) consumes
them while its RSS is sampled every second from /proc. Reported: RSS at the first feed record
(start), after warm-up (when 10% of the events are on the feed), the peak, and at the end; the
acceptance reads "end <= 1.2 x after warm-up".
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid

import orjson
from confluent_kafka import Producer

from bench import kafka_env
from bench.measure import TIMES, Row, Stat
from bench.pipeline_bench import SYSTEM, FeedReader, settings_for
from bench.procstat import rss_mb
from bench.records import communes, dvcqg_lifecycle
from hub import log, systems
from hub.contract import headers as h
from hub.contract import topics
from hub.settings import ROOT


def _preload(s, n: int, codes: list[str]) -> None:
    # murmur2 like the SDK and Kafka's Java clients: the worker refuses a record on another partition than
    # its key's (wrong_partition), and librdkafka's default partitioner is CRC32
    producer = Producer({"bootstrap.servers": s.kafka_bootstrap, "linger.ms": 20, "compression.type": "lz4",
                         "queue.buffering.max.messages": 200_000, "partitioner": "murmur2_random"})
    topic = s.topic(topics.INGEST_DOSSIER)
    for i in range(n):
        commune = codes[i // 4 % len(codes)]
        value = orjson.dumps(dvcqg_lifecycle(i, n, commune, salt="M"))
        headers = [(h.SOURCE, SYSTEM.encode()), (h.FORMAT, b"dvcqg-json"), (h.COMMUNE, commune.encode()),
                   (h.SOURCE_EVENT_ID, f"m-{i}".encode()), (h.TRACE_ID, uuid.uuid4().hex.encode())]
        while True:
            try:
                producer.produce(topic, value, commune.encode(), headers=headers)
                break
            except BufferError:
                producer.poll(0.1)
        if i % 10_000 == 0:
            producer.poll(0)
    producer.flush(300)


def _one_run(s, n: int) -> dict[str, float]:
    """Pre-load, run the worker, sample its RSS every second; the figures of one run."""
    codes = communes(s.province)
    systems.add(s, SYSTEM, codes, ["dossier"])
    _preload(s, n, codes)
    reader = FeedReader(s, s.topic(topics.FEED_DOSSIER))
    worker = kafka_env.Worker(s, ROOT / "var" / "bench" / "logs" / f"memory-{s.topic_prefix}log")
    rss: list[tuple[int, float]] = []  # (feed records seen, RSS MB)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            try:
                rss.append((reader.count, rss_mb(worker.popen.pid)))
            except OSError:
                return

    threading.Thread(target=sample, daemon=True).start()
    try:
        reader.wait(lambda: reader.count >= 1, timeout_s=300, alive=worker.check_alive)
        start = rss_mb(worker.popen.pid)
        t0 = time.monotonic()
        reader.wait(lambda: reader.count >= n, timeout_s=60 + n / 200, alive=worker.check_alive)
        elapsed = time.monotonic() - t0
        end = rss_mb(worker.popen.pid)
    finally:
        stop.set()
        worker.stop()
        reader.close()
    warm = next((mb for seen, mb in rss if seen >= n // 10), start)
    return {"start": start, "warm": warm, "peak": max([mb for _seen, mb in rss] + [end]), "end": end,
            "rate": n / elapsed}


def run(*, quick: bool, runs: int, events: int | None = None) -> list[Row]:
    n = events or (100_000 if quick else 1_000_000)
    logger = log.get()
    samples: dict[str, list[float]] = {"start": [], "warm": [], "peak": [], "end": [], "rate": []}
    with kafka_env.broker() as bootstrap:
        for i in range(runs):
            s = settings_for(bootstrap, worker_processors="normalize,kpi,directives,freshness")
            try:
                topics.create(s)
                got = _one_run(s, n)
            finally:
                kafka_env.delete_prefixed(s)
                shutil.rmtree(s.worker_data_dir, ignore_errors=True)
            for k, v in got.items():
                samples[k].append(v)
            logger.info("bench_memory_run", run=i + 1, events=n, **{f"rss_{k}_mb": v for k, v in got.items()
                                                                     if k != "rate"})
    extra = {"events": n, "store": s.worker_store, "processors": s.worker_processors}
    return [
        Row("memory", f"worker RSS at the end of {n:,} events", Stat("MB", samples["end"]),
            "RSS after warm-up (10% of the events)", Stat("MB", samples["warm"]), TIMES, extra),
        Row("memory", "worker RSS at the first feed record", Stat("MB", samples["start"])),
        Row("memory", "worker RSS peak", Stat("MB", samples["peak"])),
        Row("memory", "throughput over the whole backlog", Stat("events/s", samples["rate"])),
    ]

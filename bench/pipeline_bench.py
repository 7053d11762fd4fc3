"""``pipeline``: end-to-end throughput and latency of ``hub worker`` on a real broker.

Each run gets its own topic prefix. It pre-loads N DVCQG payloads on the ingest topic, then:

1. baseline: a plain kafka-python consume -> produce copy loop (acks=all, like the worker) reads
   the same ingest topic and writes the same bytes to a copy topic: the floor any Python consumer
   of this broker pays;
2. hub: ``python -m hub worker`` starts as a subprocess; throughput is N / (last feed record's
   timestamp - the moment the process was started), so start-up and the consumer-group join are
   counted, as an operator restarting a worker would see them. A steady-state rate (first to last
   feed record) is reported too;
3. latency: with the worker caught up, M more payloads are trickled one at a time; latency is the
   feed record's timestamp minus the ingest record's timestamp, matched by trace id.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from bench import kafka_env
from bench.measure import RATE, Row, Stat, percentile
from bench.records import communes, dvcqg_bytes
from connectors.publisher import Publisher
from hub import headers as h
from hub import log, systems, topics
from hub.settings import ROOT, Settings

SYSTEM = "bench-onestop"
COPY_TOPIC = "bench.copy"


def _settings(bootstrap: str) -> Settings:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    # The user's HUB_* (partitions, log level, store) apply; identity and isolation are ours.
    return Settings.from_env(kafka_bootstrap=bootstrap, topic_prefix=prefix, dev_mode=True,
                             worker_data_dir=str(ROOT / "var" / "bench" / "worker" / prefix))


def _preload(s: Settings, n: int, codes: list[str]) -> None:
    with Publisher(SYSTEM, s) as pub:
        for i in range(n):
            commune = codes[i % len(codes)]
            pub.send_async("dossier", dvcqg_bytes(i, commune, salt="L"), format="dvcqg-json", commune=commune)
        pub.flush(timeout_s=120)


def _copy_loop(s: Settings, n: int, timeout_s: float) -> tuple[float, float]:
    """(events/s from the loop's start, events/s from its first record) of a bare copy loop."""
    src, dst = s.topic(topics.INGEST_DOSSIER), s.topic(COPY_TOPIC)
    start = time.monotonic()
    consumer = KafkaConsumer(src, bootstrap_servers=s.kafka_bootstrap, group_id=s.topic_prefix + "bench-copy",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", linger_ms=5)
    copied, first = 0, None
    deadline = start + timeout_s
    try:
        while copied < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"copy loop copied {copied}/{n} within {timeout_s:.0f}s")
            for msgs in consumer.poll(timeout_ms=200).values():
                for m in msgs:
                    first = first or time.monotonic()
                    producer.send(dst, key=m.key, value=m.value, headers=m.headers)
                    copied += 1
        producer.flush(timeout=60)
        consumer.commit()
        end = time.monotonic()
    finally:
        producer.close(timeout=10)
        consumer.close()
    return n / (end - start), (n - 1) / max(end - (first or start), 1e-9)


def _hub(s: Settings, n: int, m: int, timeout_s: float, log_dir) -> dict:
    feed, dlq = s.topic(topics.FEED_DOSSIER), s.topic(topics.DLQ)
    consumer = kafka_env.tail_consumer(s, feed, dlq)
    seen = {"feed": 0, "dlq": 0, "first": None, "last": 0}
    trickled: dict[str, int] = {}  # trace id -> ingest timestamp (ms)
    latencies: list[float] = []

    def on_record(rec) -> None:
        if rec.topic == dlq:
            seen["dlq"] += 1
            return
        seen["feed"] += 1
        seen["first"] = min(seen["first"] or rec.timestamp, rec.timestamp)
        seen["last"] = max(seen["last"], rec.timestamp)
        sent = trickled.get(h.to_dict(rec.headers).get(h.TRACE_ID, ""))
        if sent is not None:
            latencies.append(rec.timestamp - sent)

    Path(s.worker_data_dir).parent.mkdir(parents=True, exist_ok=True)  # faust creates only the last level
    started_ms = time.time() * 1000
    worker = kafka_env.Worker(s, log_dir / f"worker-{s.topic_prefix}log")
    try:
        kafka_env.poll_until(consumer, lambda: seen["feed"] + seen["dlq"] >= n, timeout_s=timeout_s,
                             on_record=on_record, alive=worker.check_alive)
        if seen["dlq"]:
            raise RuntimeError(f"{seen['dlq']} benchmark payloads were dead-lettered; see {worker.log_path}")
        bulk_first, bulk_last = seen["first"], seen["last"]
        with Publisher(SYSTEM, s) as pub:
            codes = communes(s.province)
            for i in range(m):
                trace = f"{s.topic_prefix}lat-{i}"
                trickled[trace] = now = int(time.time() * 1000)
                commune = codes[i % len(codes)]
                pub.send("dossier", dvcqg_bytes(i, commune, salt="T"), format="dvcqg-json", commune=commune,
                         trace_id=trace, timestamp_ms=now)
                time.sleep(0.02)  # pacing, so each event meets an idle worker (not a readiness wait)
        kafka_env.poll_until(consumer, lambda: len(latencies) >= m, timeout_s=60, on_record=on_record,
                             alive=worker.check_alive)
    finally:
        worker.stop()
        consumer.close()
    worker.log_path.unlink(missing_ok=True)  # kept only when the run failed
    return {"from_start": n / max((bulk_last - started_ms) / 1000, 1e-9),
            "steady": (n - 1) / max((bulk_last - bulk_first) / 1000, 1e-9),
            "startup_s": (bulk_first - started_ms) / 1000,
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95)}


def run(*, quick: bool, runs: int, events: int | None = None) -> list[Row]:
    n = events or (2_000 if quick else 20_000)
    m = 50 if quick else 200
    timeout_s = 120 + n / 50  # generous: a failed run should say so, not hang
    logger = log.get()
    samples: dict[str, list[float]] = {k: [] for k in
                                       ("from_start", "steady", "startup_s", "p50", "p95", "copy", "copy_steady")}
    log_dir = ROOT / "var" / "bench" / "logs"
    with kafka_env.broker() as bootstrap:
        for i in range(runs):
            s = _settings(bootstrap)
            try:
                topics.create(s)
                kafka_env.create_topic(s, s.topic(COPY_TOPIC))
                codes = communes(s.province)
                systems.add(s, SYSTEM, codes, ["dossier"])
                _preload(s, n, codes)
                copy, copy_steady = _copy_loop(s, n, timeout_s)
                hub = _hub(s, n, m, timeout_s, log_dir)
            finally:
                kafka_env.delete_prefixed(s)
                shutil.rmtree(s.worker_data_dir, ignore_errors=True)
            samples["copy"].append(copy)
            samples["copy_steady"].append(copy_steady)
            for k, v in hub.items():
                samples[k].append(v)
            logger.info("bench_pipeline_run", run=i + 1, events=n, topic=s.topic(topics.FEED_DOSSIER),
                        hub_events_per_s=round(hub["from_start"]), copy_events_per_s=round(copy))
    extra = {"events": n, "trickled": m, "partitions": s.partitions, "log_level": s.log_level,
             "store": s.worker_store, "worker_startup_s": Stat("s", samples["startup_s"]).to_json()}
    return [
        Row("pipeline", f"throughput, {n} events from worker start", Stat("events/s", samples["from_start"]),
            "kafka-python copy loop", Stat("events/s", samples["copy"]), RATE, extra),
        Row("pipeline", "steady throughput (first to last feed record)", Stat("events/s", samples["steady"]),
            "copy loop, first record on", Stat("events/s", samples["copy_steady"]), RATE),
        Row("pipeline", f"latency p50, {m} trickled events", Stat("ms", samples["p50"])),
        Row("pipeline", f"latency p95, {m} trickled events", Stat("ms", samples["p95"])),
    ]

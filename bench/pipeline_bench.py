"""``pipeline``: throughput, CPU per event and latency of ``hub worker`` on a real broker.

Each run gets its own topic prefix and pre-loads N DVCQG payloads on ``ingest.dossier``. Then, in
the same run and on the same records:

1. baselines, each in its own process (bench/passthrough.py) so that its CPU is its own: a
   kafka-python copy loop, a bare aiokafka passthrough (``getmany`` -> ``send`` without awaiting
   each, acks=all, linger 5 ms) and the engine's floor (librdkafka consume -> produce -> commit
   in one transaction, no processing);
2. the hub: ``python -m hub worker`` as a subprocess; a ``read_committed`` reader counts the feed.
   Steady rate = records between the first and the last feed record seen / that time; worker and
   broker CPU per event = their /proc CPU time over the same span / records. Start-up = first feed
   record seen - process start;
3. latency: with the worker caught up, events are published at 100, 1,000 and 5,000 events/s for
   a few seconds each; latency = the moment a ``read_committed`` reader sees the feed record - the
   moment the event was handed to the producer (p50, p99, max).

CPU per event is the figure that stays stable when the machine is shared; events/s does not.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from bench import kafka_env
from bench.measure import RATE, TIMES, Row, Stat, percentile
from bench.procstat import CpuMeter, listener_pid
from bench.records import communes, dvcqg_bytes, dvcqg_lifecycle, lifecycle_clock
from connectors.publisher import Publisher
from hub import log, systems
from hub.contract import headers as h
from hub.contract import topics
from hub.kafka import config as kafka_config
from hub.settings import ROOT, Settings

SYSTEM = "bench-onestop"
LOOPS = ("kafka-python", "aiokafka", "confluent-txn")
RATES = (100, 1000, 5000)


def settings_for(bootstrap: str, **overrides) -> Settings:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    # The user's HUB_* (partitions, log level, store) apply; identity and isolation are ours.
    base = dict(kafka_bootstrap=bootstrap, topic_prefix=prefix, dev_mode=True, worker_metrics_port=0,
                worker_data_dir=str(ROOT / "var" / "bench" / "worker" / prefix), worker_processors="normalize")
    return Settings.from_env(**{**base, **overrides})


def preload(s: Settings, n: int, codes: list[str], salt: str = "L") -> None:
    """``n`` DVCQG events: dossiers with realistic lifecycles (bench.records.dvcqg_lifecycle)."""
    with Publisher(SYSTEM, s) as pub:
        for i in range(n):
            commune = codes[i // 4 % len(codes)]  # the four events of a dossier belong to one commune
            payload = orjson.dumps(dvcqg_lifecycle(i, n, commune, salt=salt))
            pub.send_async("dossier", payload, format="dvcqg-json", commune=commune)
        pub.flush(timeout_s=300)


def _broker_meter(s: Settings) -> CpuMeter:
    return CpuMeter(listener_pid(int(s.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])))


def _baseline(s: Settings, loop: str, n: int, timeout_s: float) -> dict:
    dst = s.topic(f"bench.copy.{loop}")
    kafka_env.create_topic(s, dst)
    for attempt in (1, 2):
        broker = _broker_meter(s)
        broker.start()
        try:
            proc = subprocess.run([sys.executable, "-m", "bench.passthrough", loop, "--bootstrap", s.kafka_bootstrap,
                                   "--src", s.topic(topics.INGEST_DOSSIER), "--dst", dst, "--events", str(n),
                                   "--group", f"{s.topic_prefix}bench-{loop}-{attempt}",
                                   "--compression", s.worker_compression],
                                  capture_output=True, text=True, timeout=timeout_s, cwd=ROOT)
            break
        except subprocess.TimeoutExpired as exc:
            # kafka-python's first group join on a fresh broker has hung now and then: one more try
            # with a new group (it reads the source from the start), then the run fails as before.
            err = exc.stderr or b""  # partial output: bytes on POSIX even with text=True
            log.get().warning("bench_baseline_retry", loop=loop, attempt=attempt, timeout_s=timeout_s,
                              stderr=(err.decode(errors="replace") if isinstance(err, bytes) else err)[-500:])
            if attempt == 2:
                raise
        finally:
            broker.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"baseline {loop} failed: {proc.stderr[-2000:]}")
    got = orjson.loads(proc.stdout.strip().splitlines()[-1])
    return {"rate": n / got["steady_s"], "cpu_us": got["cpu_s"] / n * 1e6,
            "broker_us": broker.seconds / n * 1e6 if broker.seconds is not None else None}


class FeedReader:
    """A read_committed reader of the feed in a thread: counts records, notes when trace ids arrive."""

    def __init__(self, s: Settings, topic: str, *, from_end: bool = False) -> None:
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None
        self.arrived: dict[bytes, float] = {}
        self._stop = threading.Event()
        self._c = Consumer(kafka_config.librdkafka(s, {"group.id": f"{s.topic_prefix}bench-reader",
                                                       "isolation.level": "read_committed", "enable.auto.commit": False,
                                                       "fetch.wait.max.ms": 10, "fetch.min.bytes": 1}))
        parts = self._c.list_topics(topic, timeout=10).topics[topic].partitions
        tps = []
        for p in parts:
            low, high = self._c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            tps.append(TopicPartition(topic, p, high if from_end else low))
        self._c.assign(tps)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for m in self._c.consume(1000, 0.05):
                if m.error() is not None:
                    continue
                now = time.monotonic()
                self.first = self.first or now
                self.last = now
                self.count += 1
                for k, v in m.headers() or ():
                    if k == h.TRACE_ID:
                        self.arrived[v] = now

    def wait(self, predicate, timeout_s: float, alive=None) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"benchmark target not reached within {timeout_s:.0f}s (saw {self.count})")
            if alive is not None:
                alive()
            time.sleep(0.01)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._c.close()


def _latency(s: Settings, reader: FeedReader, rate: int, seconds: float, codes: list[str], alive) -> dict:
    # murmur2 like the SDK: the worker refuses a record on another partition than its key's (wrong_partition)
    producer = Producer(kafka_config.librdkafka(s, {"linger.ms": 0, "acks": "all", "partitioner": "murmur2_random"}))
    topic = s.topic(topics.INGEST_DOSSIER)
    sent: dict[bytes, float] = {}
    n = int(rate * seconds)
    start = time.monotonic()
    for i in range(n):
        due = start + i / rate
        while (delay := due - time.monotonic()) > 0:
            time.sleep(min(delay, 0.001) if delay < 0.002 else delay - 0.001)
        commune = codes[i % len(codes)]
        trace = f"{s.topic_prefix}r{rate}-{i}".encode()
        producer.produce(topic, dvcqg_bytes(i, commune, salt=f"R{rate}-"), commune.encode(),
                         headers=[(h.SOURCE, SYSTEM.encode()), (h.FORMAT, b"dvcqg-json"), (h.TRACE_ID, trace)])
        sent[trace] = time.monotonic()
        producer.poll(0)
    producer.flush(30)
    reader.wait(lambda: all(t in reader.arrived for t in sent), timeout_s=60 + seconds, alive=alive)
    lat = [(reader.arrived[t] - t0) * 1000 for t, t0 in sent.items()]
    return {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": max(lat)}


def _hub(s: Settings, n: int, timeout_s: float, codes: list[str], latency_s: float) -> dict:
    reader = FeedReader(s, s.topic(topics.FEED_DOSSIER))
    broker = _broker_meter(s)
    started = time.monotonic()
    worker = kafka_env.Worker(s, ROOT / "var" / "bench" / "logs" / f"worker-{s.topic_prefix}log")
    meter = CpuMeter(worker.popen.pid)
    try:
        reader.wait(lambda: reader.count >= 1, timeout_s=timeout_s, alive=worker.check_alive)
        meter.start()
        broker.start()
        first_seen, counted_from = reader.first, reader.count
        reader.wait(lambda: reader.count >= n, timeout_s=timeout_s, alive=worker.check_alive)
        meter.stop()
        broker.stop()
        events = reader.count - counted_from
        span = max(reader.last - first_seen, 1e-9)
        out = {"steady": events / span, "startup_s": first_seen - started,
               "cpu_us": meter.seconds / events * 1e6 if events else None,
               "broker_us": broker.seconds / events * 1e6 if broker.seconds is not None and events else None}
        for rate in RATES:
            for k, v in _latency(s, reader, rate, latency_s, codes, worker.check_alive).items():
                out[f"lat{rate}_{k}"] = v
        return out
    finally:
        worker.stop()
        reader.close()
    worker.log_path.unlink(missing_ok=True)


def _committed(s: Settings, topic: str, group: str) -> int:
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP

    consumer = KafkaConsumer(**kafka_config.kafka_python(s), group_id=group, enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or ()
        return sum(consumer.committed(KTP(topic, p)) or 0 for p in parts)
    finally:
        consumer.close()


def _kpi(s: Settings, timeout_s: float, clock: str) -> dict:
    """The KPI processor alone over the feed the hub run wrote: records/s and CPU per record.

    Progress is the kpi group's committed offsets (one commit per transaction); the span runs from
    its first commit to the one that covers the whole feed. Offsets also count transaction markers
    (one per partition and transaction of the writer, ~0.1% here), which this rate includes.
    """
    import dataclasses

    feed = s.topic(topics.FEED_DOSSIER)
    end = _feed_end(s, feed)
    worker = kafka_env.Worker(dataclasses.replace(s, worker_processors="kpi", clock=clock),
                              ROOT / "var" / "bench" / "logs" / f"kpi-{s.topic_prefix}log")
    meter = CpuMeter(worker.popen.pid)
    try:
        deadline = time.monotonic() + timeout_s
        first = None
        while True:
            worker.check_alive()
            done = _committed(s, feed, s.group("kpi"))
            if done and first is None:
                first, first_done = time.monotonic(), done
                meter.start()
            if done >= end:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"kpi processor consumed {done}/{end} offsets within {timeout_s:.0f}s")
            time.sleep(0.05)
        meter.stop()
        events = done - first_done
        span = max(time.monotonic() - first, 1e-9)
        return {"rate": events / span, "cpu_us": meter.seconds / events * 1e6 if events else None}
    finally:
        worker.stop()


def _feed_end(s: Settings, topic: str) -> int:
    """Offsets a consumer of ``topic`` passes once it read everything: the end offsets less the last
    transaction marker of each partition (never passed)."""
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP

    reader = KafkaConsumer(**kafka_config.kafka_python(s), client_id="bench-ends")
    try:
        tps = [KTP(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
        ends = reader.end_offsets(tps)
        return sum(ends.values()) - sum(1 for v in ends.values() if v)
    finally:
        reader.close()


def _shipped(s: Settings, n: int, timeout_s: float, clock: str) -> dict:
    """``hub worker`` as shipped (every processor) over the same kind of backlog: CPU per ingest event from
    the first feed record until normalize wrote all ``n`` and the KPI and freshness groups have read the
    whole dossier feed (their committed offsets at its end). Issue 26's "whole worker" figure."""
    import dataclasses

    shipped = dataclasses.replace(s, worker_processors=Settings.worker_processors, clock=clock)
    reader = FeedReader(shipped, shipped.topic(topics.FEED_DOSSIER))
    worker = kafka_env.Worker(shipped, ROOT / "var" / "bench" / "logs" / f"shipped-{s.topic_prefix}log")
    meter = CpuMeter(worker.popen.pid)
    feed = shipped.topic(topics.FEED_DOSSIER)
    try:
        reader.wait(lambda: reader.count >= 1, timeout_s=timeout_s, alive=worker.check_alive)
        meter.start()
        first = reader.first
        reader.wait(lambda: reader.count >= n, timeout_s=timeout_s, alive=worker.check_alive)
        end = _feed_end(shipped, feed)
        deadline = time.monotonic() + timeout_s
        while min(_committed(shipped, feed, shipped.group(g)) for g in ("kpi", "freshness")) < end:
            worker.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the analytics processors did not read the feed's {end} offsets in time")
            time.sleep(0.05)
        meter.stop()
        span = max(time.monotonic() - first, 1e-9)
        return {"rate": n / span, "cpu_us": meter.seconds / n * 1e6}
    finally:
        worker.stop()
        reader.close()


@contextlib.contextmanager
def _backlog(bootstrap: str, n: int, codes: list[str]) -> Iterator[Settings]:
    """Settings on topics of their own holding ``n`` preloaded DVCQG events; topics and state removed after."""
    s = settings_for(bootstrap)
    try:
        topics.create(s)
        systems.add(s, SYSTEM, codes, ["dossier"])
        preload(s, n, codes)
        yield s
    finally:
        kafka_env.delete_prefixed(s)
        shutil.rmtree(s.worker_data_dir, ignore_errors=True)


def run(*, quick: bool, runs: int, events: int | None = None) -> list[Row]:
    n = events or (2_000 if quick else 20_000)
    latency_s = 1.0 if quick else 4.0
    timeout_s = 120 + n / 200
    logger = log.get()
    samples: dict[str, list[float]] = {}

    def add(key: str, value: float | None) -> None:
        if value is not None:
            samples.setdefault(key, []).append(value)

    with kafka_env.broker() as bootstrap:
        base = settings_for(bootstrap)  # the user's HUB_* as every run applies them (the table's notes)
        codes = communes(base.province)
        for i in range(runs):
            with _backlog(bootstrap, n, codes) as s:
                for loop in LOOPS:
                    for k, v in _baseline(s, loop, n, timeout_s).items():
                        add(f"{loop}.{k}", v)
                for k, v in _hub(s, n, timeout_s, codes, latency_s).items():
                    add(f"hub.{k}", v)
                for k, v in _kpi(s, timeout_s, lifecycle_clock(n)).items():
                    add(f"kpi.{k}", v)
            # the worker as shipped, on a fresh backlog of its own (its own topics, nothing read yet)
            with _backlog(bootstrap, n, codes) as whole:
                for k, v in _shipped(whole, n, timeout_s, lifecycle_clock(n)).items():
                    add(f"shipped.{k}", v)
            logger.info("bench_pipeline_run", run=i + 1, events=n, hub_events_per_s=round(samples["hub.steady"][-1]),
                        aiokafka_events_per_s=round(samples["aiokafka.rate"][-1]))
    extra = {"events": n, "partitions": base.partitions, "log_level": base.log_level, "store": base.worker_store,
             "compression": base.worker_compression, "batch_max": base.worker_batch_max}

    def stat(key: str, unit: str) -> Stat | None:
        return Stat(unit, samples[key]) if key in samples else None

    rows = [
        Row("pipeline", f"steady throughput, {n} DVCQG events", stat("hub.steady", "events/s"),
            "aiokafka passthrough", stat("aiokafka.rate", "events/s"), RATE, extra),
        Row("pipeline", "steady throughput", stat("hub.steady", "events/s"),
            "librdkafka txn passthrough", stat("confluent-txn.rate", "events/s"), RATE),
        Row("pipeline", "steady throughput", stat("hub.steady", "events/s"),
            "kafka-python copy loop", stat("kafka-python.rate", "events/s"), RATE),
        Row("pipeline", "worker CPU per event", stat("hub.cpu_us", "µs"),
            "aiokafka passthrough", stat("aiokafka.cpu_us", "µs"), TIMES),
        Row("pipeline", "worker CPU per event", stat("hub.cpu_us", "µs"),
            "librdkafka txn passthrough", stat("confluent-txn.cpu_us", "µs"), TIMES),
        Row("pipeline", "broker CPU per event", stat("hub.broker_us", "µs"),
            "aiokafka passthrough", stat("aiokafka.broker_us", "µs"), TIMES),
        Row("pipeline", "start to first feed record", stat("hub.startup_s", "s")),
        Row("pipeline", "worker as shipped (all processors): CPU per event", stat("shipped.cpu_us", "µs"),
            "aiokafka passthrough", stat("aiokafka.cpu_us", "µs"), TIMES),
        Row("pipeline", "worker as shipped (all processors): CPU per event", stat("shipped.cpu_us", "µs"),
            "normalize alone, same run", stat("hub.cpu_us", "µs"), TIMES),
        Row("pipeline", "worker as shipped (all processors): throughput", stat("shipped.rate", "events/s"),
            "aiokafka passthrough", stat("aiokafka.rate", "events/s"), RATE),
        Row("pipeline", "KPI processor rate over the feed", stat("kpi.rate", "events/s"),
            "normalize pipeline, same run", stat("hub.steady", "events/s"), RATE),
        Row("pipeline", "KPI processor CPU per event", stat("kpi.cpu_us", "µs"),
            "normalize pipeline, same run", stat("hub.cpu_us", "µs"), TIMES),
    ]
    for rate in RATES:
        for q in ("p50", "p99", "max"):
            rows.append(Row("pipeline", f"latency {q} at {rate} events/s", stat(f"hub.lat{rate}_{q}", "ms")))
    return [r for r in rows if r.value is not None]

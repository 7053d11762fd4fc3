"""Baseline loops for the pipeline benchmark, each run as its own process so its CPU is its own.

``python -m bench.passthrough LOOP --bootstrap B --src T --dst T2 --group G --events N`` reads N
records of T and writes their bytes unchanged to T2, then prints one JSON line:
``{"loop", "events", "steady_s", "cpu_s"}`` — wall time and process CPU time from the first record
received to the last write acknowledged (or the last transaction committed).

Loops (acks=all everywhere, like the worker):

* ``kafka-python``: poll -> send, flush at the end (the floor of a Python consumer of this broker);
* ``aiokafka``: ``getmany`` -> ``send`` without awaiting each, linger 5 ms, await the batch;
* ``confluent-txn``: the engine's own floor — consume a batch, produce it, commit it with the
  offsets in one transaction (librdkafka, exactly-once v2), without any processing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import orjson


def _kafka_python(a: argparse.Namespace) -> tuple[float, float]:
    from kafka import KafkaConsumer, KafkaProducer

    consumer = KafkaConsumer(a.src, bootstrap_servers=a.bootstrap, group_id=a.group, auto_offset_reset="earliest",
                             enable_auto_commit=False)
    producer = KafkaProducer(bootstrap_servers=a.bootstrap, acks="all", linger_ms=5)
    n, t0, c0 = 0, None, None
    while n < a.events:
        for msgs in consumer.poll(timeout_ms=200).values():
            if t0 is None:
                t0, c0 = time.monotonic(), time.process_time()
            for m in msgs:
                producer.send(a.dst, key=m.key, value=m.value, headers=m.headers)
                n += 1
    producer.flush(timeout=60)
    consumer.commit()
    return time.monotonic() - t0, time.process_time() - c0


def _aiokafka(a: argparse.Namespace) -> tuple[float, float]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    async def run() -> tuple[float, float]:
        consumer = AIOKafkaConsumer(a.src, bootstrap_servers=a.bootstrap, group_id=a.group,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        producer = AIOKafkaProducer(bootstrap_servers=a.bootstrap, acks="all", linger_ms=5)
        await consumer.start()
        await producer.start()
        n, t0, c0 = 0, None, None
        try:
            while n < a.events:
                batch = await consumer.getmany(timeout_ms=200, max_records=1000)
                if not batch:
                    continue
                if t0 is None:
                    t0, c0 = time.monotonic(), time.process_time()
                futures = []
                for msgs in batch.values():
                    for m in msgs:
                        futures.append(await producer.send(a.dst, key=m.key, value=m.value,
                                                           headers=list(m.headers or ())))
                        n += 1
                await asyncio.gather(*futures)
                await consumer.commit()
            return time.monotonic() - t0, time.process_time() - c0
        finally:
            await producer.stop()
            await consumer.stop()

    return asyncio.run(run())


def _confluent_txn(a: argparse.Namespace) -> tuple[float, float]:
    from confluent_kafka import Consumer, Producer, TopicPartition

    consumer = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    consumer.subscribe([a.src])
    producer = Producer({"bootstrap.servers": a.bootstrap, "transactional.id": a.group + "-txn",
                         "linger.ms": 5, "compression.type": a.compression})
    producer.init_transactions(30)
    n, t0, c0 = 0, None, None
    while n < a.events:
        msgs = [m for m in consumer.consume(1000, 0.2) if m.error() is None]
        if not msgs:
            continue
        if t0 is None:
            t0, c0 = time.monotonic(), time.process_time()
        producer.begin_transaction()
        last = {}
        for m in msgs:
            producer.produce(a.dst, m.value(), m.key(), headers=m.headers())
            last[(m.topic(), m.partition())] = m.offset()
        producer.send_offsets_to_transaction([TopicPartition(t, p, o + 1) for (t, p), o in last.items()],
                                             consumer.consumer_group_metadata(), 30)
        producer.commit_transaction(30)
        n += len(msgs)
    consumer.close()
    return time.monotonic() - t0, time.process_time() - c0


LOOPS = {"kafka-python": _kafka_python, "aiokafka": _aiokafka, "confluent-txn": _confluent_txn}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.passthrough", description=__doc__.split("\n\n")[0])
    p.add_argument("loop", choices=sorted(LOOPS))
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--events", type=int, required=True)
    p.add_argument("--compression", default="lz4")
    a = p.parse_args(argv)
    steady_s, cpu_s = LOOPS[a.loop](a)
    print(orjson.dumps({"loop": a.loop, "events": a.events, "steady_s": steady_s, "cpu_s": cpu_s}).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

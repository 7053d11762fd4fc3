"""``hub tail <feed>``: decoded feed records as JSON lines on stdout."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

import orjson
from kafka import KafkaConsumer, TopicPartition

from hub import codec, topics
from hub.errors import HubError, SchemaError
from hub.settings import Settings

FEEDS = (topics.FEED_DOSSIER, topics.FEED_DOCUMENT, topics.FEED_KPI, topics.FEED_DIRECTIVE)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tail", help="print decoded feed records as JSON lines")
    p.add_argument("feed", choices=FEEDS, help="feed topic (without HUB_TOPIC_PREFIX)")
    p.add_argument("--from-beginning", action="store_true", help="start at the oldest retained record")
    p.add_argument("--max", type=int, default=0, help="stop after this many records (0: follow)")
    p.add_argument("--timeout", type=float, default=0, help="stop after this many idle seconds (0: never)")
    p.set_defaults(func=run, quiet_logs=True)


def _default(obj):
    if isinstance(obj, datetime):
        return obj.isoformat()
    raise TypeError


def run(args: argparse.Namespace, settings: Settings) -> int:
    schemas = codec.load(settings.schemas_dir)
    topic = settings.topic(args.feed)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             client_id="hub-tail", consumer_timeout_ms=500)
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            raise HubError(f"topic {topic} does not exist (run `hub topics create`)")
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        (consumer.seek_to_beginning if args.from_beginning else consumer.seek_to_end)(*tps)
        count, idle_since = 0, time.monotonic()
        while True:
            batch = consumer.poll(timeout_ms=500)
            for msgs in batch.values():
                for m in msgs:
                    try:
                        rec = codec.decode(schemas, m.value)
                    except SchemaError as exc:
                        rec = {"_error": str(exc)}
                    line = {"partition": m.partition, "offset": m.offset,
                            "key": m.key.decode() if m.key else None, "value": rec}
                    sys.stdout.write(orjson.dumps(line, default=_default).decode() + "\n")
                    count += 1
                    idle_since = time.monotonic()
                    if args.max and count >= args.max:
                        return 0
            sys.stdout.flush()
            if args.timeout and time.monotonic() - idle_since >= args.timeout:
                return 0
    finally:
        consumer.close()

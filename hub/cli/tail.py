"""``hub tail <feed>``: decoded feed records as JSON lines on stdout."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

import orjson

from hub.contract import codec, topics
from hub.errors import SchemaError
from hub.kafka import read as kafka_read
from hub.settings import Settings

FEEDS = (topics.FEED_DOSSIER, topics.FEED_DOCUMENT, topics.FEED_KPI, topics.FEED_DIRECTIVE, topics.FEED_TARGET,
         topics.FEED_TARGET_PROGRESS)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tail", help="print decoded feed records as JSON lines",
                       description="Print the records of a feed, decoded from Avro, as JSON lines. Reads with "
                       "isolation.level=read_committed: feeds are written in Kafka transactions, so only "
                       "committed records are shown (never those of an aborted or still open transaction).")
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
    with kafka_read.Reader(settings, settings.topic(args.feed), client="tail",
                           from_end=not args.from_beginning) as reader:
        count, idle_since = 0, time.monotonic()
        while True:
            for m in reader.poll(0.5):
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

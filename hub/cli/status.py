"""``hub status``: broker, topics, worker lag, systems, dead letters and commune freshness."""

from __future__ import annotations

import argparse
import logging
import sys

import orjson

from hub import status
from hub.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="one screen for operators: broker, topics, lag, systems, DLQ, freshness",
                       description="Exit status 0 when the broker is reachable, 1 when it is not.")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--silent-after", type=float, default=24.0, metavar="HOURS",
                   help="flag communes without a feed record for more than this many hours (default 24)")
    p.add_argument("--tail", type=int, default=1000, metavar="N",
                   help="records read from the end of each feed partition for freshness (default 1000)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="how long to wait for the broker and for each read (default 10)")
    p.set_defaults(func=run, quiet_logs=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    # The client library logs every failed connection attempt; the report (or its one-line
    # error) already says what an operator needs, so keep stderr readable.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    try:
        report = status.collect(settings, silent_after_h=args.silent_after, tail=max(0, args.tail),
                                timeout_s=args.timeout)
    except status.BrokerUnreachable as exc:
        if args.json:
            print(orjson.dumps({"bootstrap": settings.kafka_bootstrap, "reachable": False,
                                "error": str(exc)}).decode())
        print(f"hub status: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_NON_STR_KEYS).decode())
    else:
        sys.stdout.write(status.render(report))
    return 0

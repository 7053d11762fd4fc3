"""``hub status``: broker, topics, worker groups, systems, dead letters, silent systems, overdue directives,
freshness — and whether any of it needs attention (exit status 1, the reasons on the last line)."""

from __future__ import annotations

import argparse
import logging
import sys

import orjson

from hub.admin import status, status_text, verdict
from hub.settings import Settings

DESCRIPTION = """\
One bounded look at the hub. Exit status 0 when nothing needs attention; 1 when something does:
the broker is unreachable, a hub topic is missing, a worker group has no member or its lag grows
(or does not move) above --max-lag during the --lag-sample window, dead letters of the last
--dlq-window hours are pending replay, a partition is stuck (partition_stuck: a worker marked it
as unable to move for HUB_PARTITION_STUCK_S and its offset did not move during the sample), an
active source system is silent, a directive milestone
is overdue and still open, or a section could not be read. The last line says `ok: ...` or
`attention: <code>: <message>; ...`; --json carries the same verdict (verdict.ok, verdict.reasons)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="operator overview; exit 1 with the reasons when something needs attention",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="one JSON object on stdout (with `verdict`)")
    p.add_argument("--silent-after", type=float, default=24.0, metavar="HOURS",
                   help="flag communes without a feed record for more than this many hours (default 24)")
    p.add_argument("--tail", type=int, default=1000, metavar="N",
                   help="records read from the end of each feed partition for freshness (default 1000)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="how long to wait for the broker and for each read (default 10)")
    p.add_argument("--lag-sample", type=float, default=3.0, metavar="SECONDS",
                   help="seconds between the two lag samples of every worker group (default 3)")
    p.add_argument("--max-lag", type=int, default=1000, metavar="RECORDS",
                   help="lag at or below this is never a problem, growing or not (default 1000: one batch)")
    p.add_argument("--dlq-window", type=float, default=1.0, metavar="HOURS",
                   help="dead letters younger than this and not replayed need attention (default 1)")
    p.set_defaults(func=run, quiet_logs=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    # The client library logs every failed connection attempt; the report (or its one-line
    # error) already says what an operator needs, so keep stderr readable.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    try:
        report = status.collect(settings, silent_after_h=args.silent_after, tail=max(0, args.tail),
                                timeout_s=args.timeout, lag_sample_s=max(0.0, args.lag_sample),
                                dlq_window_h=args.dlq_window, max_lag=max(0, args.max_lag))
    except status.BrokerUnreachable as exc:
        report = {"bootstrap": settings.kafka_bootstrap, "reachable": False, "error": str(exc),
                  "verdict": verdict.unreachable(str(exc))}
        if args.json:
            print(orjson.dumps(report).decode())
        else:
            print(verdict.last_line(report["verdict"]))
        return 1
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_NON_STR_KEYS).decode())
    else:
        sys.stdout.write(status_text.render(report))
    return 0 if report["verdict"]["ok"] else 1
